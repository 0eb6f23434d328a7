"""ref_forgetting_mqar.py: the forgetting_mqar task plugin against a reference written
from its definition (docs/tasks.md, Zoology's forgetting_mqar).

Keys of [1, V // 2), values of [V // 2, V). Example e draws from its stream: K distinct
keys, K distinct values (each: below(n) until K different came, in draw order); the
pairs updated, an ordered subset of U of the K by partial Fisher-Yates (order = 0..K-1;
for j < U swap j with j + below(K - j)); per update j in order, its new value
below(V - V//2 - 1) over the values other than that key's current one (skip it by adding
1 at or above it); the K query slots of S = (L - 2(K + U)) // 2 by mqar's clocks; with
random_non_queries, below(V) per blank of the query region in order. Context: the K
pairs, then (key, new value) per update; key j asked at 2(K + U) + 2 g_j, labelled with
its latest value. Usage: ref_forgetting_mqar.py TASK_DUMP. Exit 0 pass, 1 fail, 77 skip.
"""
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
try:
    import numpy as np
    from ref_mqar import distinct, fill_blanks, slots
    from taskref import Checker, Stream, dump
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

SALT = 0x666D7161722D7631


def example(V, L, K, U, a, noise, seed, e):
    r = Stream(seed, SALT, e)
    half = V // 2
    keys = distinct(r, 1, half - 1, K)
    vals = distinct(r, half, V - half, K)
    x = [0] * L
    y = [-100] * L
    for j in range(K):
        x[2 * j], x[2 * j + 1] = keys[j], vals[j]
    order = list(range(K))
    for j in range(U):
        t = j + r.below(K - j)
        order[j], order[t] = order[t], order[j]
    latest = list(vals)
    for j in range(U):
        k = order[j]
        v = half + r.below(V - half - 1)
        latest[k] = v + 1 if v >= latest[k] else v
        x[2 * K + 2 * j], x[2 * K + 2 * j + 1] = keys[k], latest[k]
    C = 2 * (K + U)
    g = slots(r, (L - C) // 2, K, a)
    for j in range(K):
        q = C + 2 * g[j]
        x[q], y[q] = keys[j], latest[j]
    if noise:
        fill_blanks(r, x, C, V)
    return x, y


def main():
    exe = sys.argv[1]
    check = Checker()
    for V, L, K, U, a, noise, seed, n in [
        (8192, 64, 8, 4, 0.01, False, 0, 40),
        (100, 32, 4, 2, 0.01, True, 42, 40),
        (8192, 128, 8, 8, 0.5, True, 7, 30),
        (300, 256, 32, 0, 1.0, False, 11, 10),
        (6, 4, 1, 0, 0.01, False, 3, 20),
        (9, 6, 1, 1, 0.01, False, 3, 40),
    ]:
        knobs = {"kv_pairs": K, "num_updates": U, "power_a": a, "random_non_queries": "true" if noise else "false"}
        got = dump(exe, "forgetting_mqar", V, L, n, seed, seed, "train", knobs)
        if isinstance(got[0], int):
            check(False, f"forgetting_mqar V={V} L={L} K={K} U={U}: task_dump failed: {got[1]}")
            continue
        x, y, tags = got
        ref = [example(V, L, K, U, a, noise, seed, e) for e in range(n)]
        rx = np.array([r[0] for r in ref], dtype=np.int32)
        ry = np.array([r[1] for r in ref], dtype=np.int32)
        check(np.array_equal(x, rx) and np.array_equal(y, ry) and tags is None,
              f"forgetting_mqar V={V} L={L} K={K} U={U} a={a} noise={noise} seed={seed}: "
              f"{n} examples equal the reference")
        # Read off the plugin's bytes: U distinct keys come back with a value other than
        # their first, and every query is labelled with its key's last value in the context.
        ok = True
        for xi, yi in zip(x, y):
            first = {int(xi[2 * j]): int(xi[2 * j + 1]) for j in range(K)}
            last = dict(first)
            upd = [(int(xi[2 * j]), int(xi[2 * j + 1])) for j in range(K, K + U)]
            for k, v in upd:
                ok &= k in first and v != first[k] and V // 2 <= v < V
                last[k] = v
            ok &= len({k for k, _ in upd}) == U
            lab = np.nonzero(yi != -100)[0]
            ok &= len(lab) == K and sorted(int(xi[p]) for p in lab) == sorted(first)
            ok &= all(last[int(xi[p])] == yi[p] for p in lab)
        check(ok, f"forgetting_mqar K={K} U={U}: {U} keys re-assigned to a new value; the latest is the label")
    # Refusals, each naming the knob or field at fault.
    for V, L, K, U, want in [
        (8192, 64, 4, 5, "num_updates"),
        (8192, 64, 4, -1, "num_updates"),
        (8192, 64, 17, 0, "kv_pairs"),
        (8192, 64, 12, 12, "num_updates"),
        (64, 64, 4, 2, "vocab"),
        (8192, 62 + 1, 4, 2, "seq_len"),
        (8192, 64, 0, 0, "kv_pairs"),
    ]:
        got = dump(exe, "forgetting_mqar", V, L, 1, 0, 0, "train", {"kv_pairs": K, "num_updates": U})
        check(isinstance(got[0], int) and got[0] == 3 and want in got[1],
              f"forgetting_mqar V={V} L={L} K={K} U={U} refused naming {want}")
    check.exit()


if __name__ == "__main__":
    main()
