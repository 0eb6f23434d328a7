"""ref_compositional_mqar.py: the compositional_mqar task plugin against a reference
written from its definition (docs/tasks.md, Zoology's compositional_mqar).

Vocabulary in thirds, t = V // 3: first keys K1 of [1, t), second keys K2 of [t, 2t),
values of [2t, V). With g = sqrt(K), example e draws from its stream: g distinct K1,
then g distinct K2 (each: below(n) until g different came, in draw order); the order of
the K grid cells in the context, a Fisher-Yates shuffle of 0..K-1 (for i = K-1 down to 1,
swap i with below(i+1)); cell c is (K1[c // g], K2[c % g]); K distinct values, value j
for the j-th cell in context order; the K query slots of S = (L - 3K) // 3 by mqar's
clocks; with random_non_queries, below(V) per blank of the query region in order.
Context: (K1, K2, value) per cell at 3j; pair j asked as K1 K2 at 3K + 3 g_j, the label
(its value) on K2. Usage: ref_compositional_mqar.py TASK_DUMP. Exit 0 pass, 1 fail, 77 skip.
"""
import math
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
try:
    import numpy as np
    from ref_mqar import distinct, fill_blanks, slots
    from taskref import Checker, Stream, dump
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

SALT = 0x636D7161722D7631


def example(V, L, K, a, noise, seed, e):
    r = Stream(seed, SALT, e)
    t = V // 3
    g = math.isqrt(K)
    k1 = distinct(r, 1, t - 1, g)
    k2 = distinct(r, t, t, g)
    cells = list(range(K))
    for i in range(K - 1, 0, -1):
        j = r.below(i + 1)
        cells[i], cells[j] = cells[j], cells[i]
    vals = distinct(r, 2 * t, V - 2 * t, K)
    C = 3 * K
    gap = slots(r, (L - C) // 3, K, a)
    x = [0] * L
    y = [-100] * L
    for j, c in enumerate(cells):
        a1, a2 = k1[c // g], k2[c % g]
        x[3 * j : 3 * j + 3] = [a1, a2, vals[j]]
        q = C + 3 * gap[j]
        x[q], x[q + 1], y[q + 1] = a1, a2, vals[j]
    if noise:
        fill_blanks(r, x, C, V)
    return x, y


def main():
    exe = sys.argv[1]
    check = Checker()
    for V, L, K, a, noise, seed, n in [
        (8192, 64, 4, 0.01, False, 0, 40),
        (8192, 128, 9, 0.01, True, 7, 30),
        (150, 30, 4, 1.0, False, 42, 30),
        (300, 256, 16, 0.5, True, 11, 10),
        (20, 6, 1, 0.01, False, 2, 20),
    ]:
        knobs = {"kv_pairs": K, "power_a": a, "random_non_queries": "true" if noise else "false"}
        got = dump(exe, "compositional_mqar", V, L, n, seed, seed, "train", knobs)
        if isinstance(got[0], int):
            check(False, f"compositional_mqar V={V} L={L} K={K}: task_dump failed: {got[1]}")
            continue
        x, y, tags = got
        ref = [example(V, L, K, a, noise, seed, e) for e in range(n)]
        rx = np.array([r[0] for r in ref], dtype=np.int32)
        ry = np.array([r[1] for r in ref], dtype=np.int32)
        check(np.array_equal(x, rx) and np.array_equal(y, ry) and tags is None,
              f"compositional_mqar V={V} L={L} K={K} a={a} noise={noise} seed={seed}: {n} examples equal the reference")
        # The definition's promises, read off the plugin's bytes: the context is a full
        # grid K1 x K2 with distinct values, and each query (K1, K2) is labelled with the
        # value of that cell.
        ok = True
        g, t = math.isqrt(K), V // 3
        for xi, yi in zip(x, y):
            ctx = xi[: 3 * K].reshape(K, 3)
            cell = {(int(p), int(q)): int(v) for p, q, v in ctx}
            ones, twos = {p for p, _ in cell}, {q for _, q in cell}
            ok &= len(cell) == K and len(ones) == g and len(twos) == g and len(set(cell.values())) == K
            ok &= all(1 <= p < t for p in ones) and all(t <= q < 2 * t for q in twos)
            lab = np.nonzero(yi != -100)[0]
            ok &= len(lab) == K and all(cell.get((int(xi[p - 1]), int(xi[p]))) == yi[p] for p in lab)
        check(ok, f"compositional_mqar K={K}: a full {g}x{g} grid, every cell asked once with its value")
    # Refusals, each naming the knob or field at fault.
    for V, L, K, a, want in [
        (8192, 64, 5, 0.01, "perfect square"),
        (8192, 64, 16, 0.01, "kv_pairs"),
        (64, 64, 4, 0.01, "vocab"),
        (8192, 63, 4, 0.01, "seq_len"),
        (8192, 64, 0, 0.01, "kv_pairs"),
        (8192, 64, 4, 0.0, "power_a"),
    ]:
        got = dump(exe, "compositional_mqar", V, L, 1, 0, 0, "train", {"kv_pairs": K, "power_a": a})
        check(isinstance(got[0], int) and got[0] == 3 and want in got[1],
              f"compositional_mqar V={V} L={L} K={K} a={a} refused naming {want}")
    check.exit()


if __name__ == "__main__":
    main()
