"""ref_mqar.py: the mqar task plugin against a reference written from docs/task.md.

Each example: K distinct keys from [1, V/2) and K distinct values from [V/2, V), each
drawn uniformly by rejection in draw order; K distinct query slots of S = (L - 2K)/2
drawn by exponential clocks (slot i rings at -log(1 - u_i) / w_i, w_i = a (i+1)^(a-1),
the K earliest in ringing order); pairs at 0..2K-1, query j at 2K + 2 g_j with the
label on the key; with random_non_queries the blanks of the query region get uniform
tokens of [0, V). The reference draws from the same streams, so the bytes must match.
Usage: ref_mqar.py TASK_DUMP. Exit 0 pass, 1 fail, 77 skip.
"""
import math
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
try:
    import numpy as np
    from taskref import Checker, Stream, dump
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

SALT = 0x6D7161722D763100


def distinct(r, lo, n, K):
    out, seen = [], set()
    while len(out) < K:
        t = r.below(n)
        if t not in seen:
            seen.add(t)
            out.append(lo + t)
    return out


def slots(r, S, K, a):
    """K distinct query slots of 0..S-1, weight a (i+1)^(a-1): one clock per slot, in slot
    order, ringing at -log(1 - u) / w_i; the K earliest in ringing order."""
    clocks = []
    for i in range(S):
        u = r.uniform()
        clocks.append((-math.log(1.0 - u) / (a * (i + 1) ** (a - 1.0)), i))
    return [i for _, i in sorted(clocks)[:K]]


def fill_blanks(r, x, start, V):
    for t in range(start, len(x)):
        if x[t] == 0:
            x[t] = r.below(V)


def example(V, L, K, a, noise, seed, e, P=1):
    r = Stream(seed, SALT, e)
    half = V // 2
    keys = distinct(r, 1, half - 1, K)
    vals = distinct(r, half, V - half, K)
    C = 2 * K * P
    g = slots(r, (L - C) // 2, K, a)
    x = [0] * L
    y = [-100] * L
    block = [t for j in range(K) for t in (keys[j], vals[j])]
    x[:C] = block * P
    for j in range(K):
        q = C + 2 * g[j]
        x[q], y[q] = keys[j], vals[j]
    if noise:
        fill_blanks(r, x, C, V)
    return x, y


def main():
    exe = sys.argv[1]
    check = Checker()
    for V, L, K, a, noise, seed, n, P in [
        (8192, 64, 4, 0.01, False, 0, 40, 1),
        (8192, 128, 8, 0.01, True, 7, 30, 1),
        (64, 32, 8, 1.0, False, 3, 30, 1),
        (300, 256, 64, 0.5, True, 11, 10, 1),
        (8192, 64, 4, 0.01, False, 0, 40, 2),
        (8192, 128, 8, 0.01, True, 7, 30, 3),
        (100, 32, 2, 1.0, True, 5, 30, 7),
    ]:
        knobs = {"kv_pairs": K, "power_a": a, "random_non_queries": "true" if noise else "false"}
        if P != 1:
            knobs["num_passes"] = P
        got = dump(exe, "mqar", V, L, n, seed, seed, "train", knobs)
        if isinstance(got[0], int):
            check(False, f"mqar V={V} L={L} K={K} P={P}: task_dump failed: {got[1]}")
            continue
        x, y, tags = got
        ref = [example(V, L, K, a, noise, seed, e, P) for e in range(n)]
        rx = np.array([r[0] for r in ref], dtype=np.int32)
        ry = np.array([r[1] for r in ref], dtype=np.int32)
        check(np.array_equal(x, rx) and np.array_equal(y, ry) and tags is None,
              f"mqar V={V} L={L} K={K} a={a} noise={noise} seed={seed} num_passes={P}: "
              f"{n} examples equal the reference")
        if P > 1:
            # Each pass repeats the first one, and the queries keep the one-pass law.
            C = 2 * K * P
            check(all(np.array_equal(x[:, 2 * K * p:2 * K * (p + 1)], x[:, :2 * K]) for p in range(P))
                  and (y[:, :C] == -100).all() and ((y != -100).sum(axis=1) == K).all(),
                  f"mqar num_passes={P}: {P} equal blocks of pairs, then {K} queries")
    # Refusals, each naming the knob.
    for V, L, K, P, want in [(8192, 63, 4, 1, "seq_len"), (8192, 64, 17, 1, "kv_pairs"), (64, 64, 4, 1, "vocab"),
                             (8192, 64, 11, 2, "num_passes"), (8192, 64, 1, 32, "num_passes"),
                             (8192, 64, 1, 0, "num_passes")]:
        got = dump(exe, "mqar", V, L, 1, 0, 0, "train", {"kv_pairs": K, "num_passes": P})
        check(isinstance(got[0], int) and got[0] == 3 and want in got[1],
              f"mqar V={V} L={L} K={K} num_passes={P} refused naming {want}")
    # The largest pass count that fits is accepted: 2K(P+1) = L.
    got = dump(exe, "mqar", 8192, 64, 2, 0, 0, "train", {"kv_pairs": 4, "num_passes": 7})
    check(not isinstance(got[0], int), "mqar L=64 K=4 num_passes=7 (2K(P+1) = L) accepted")
    check.exit()


if __name__ == "__main__":
    main()
