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


def example(V, L, K, a, noise, seed, e):
    r = Stream(seed, SALT, e)
    half = V // 2
    keys = distinct(r, 1, half - 1, K)
    vals = distinct(r, half, V - half, K)
    S = (L - 2 * K) // 2
    clocks = []
    for i in range(S):
        u = r.uniform()
        clocks.append((-math.log(1.0 - u) / (a * (i + 1) ** (a - 1.0)), i))
    slots = [i for _, i in sorted(clocks)[:K]]
    x = [0] * L
    y = [-100] * L
    for j in range(K):
        x[2 * j], x[2 * j + 1] = keys[j], vals[j]
        q = 2 * K + 2 * slots[j]
        x[q], y[q] = keys[j], vals[j]
    if noise:
        for t in range(2 * K, L):
            if x[t] == 0:
                x[t] = r.below(V)
    return x, y


def main():
    exe = sys.argv[1]
    check = Checker()
    for V, L, K, a, noise, seed, n in [
        (8192, 64, 4, 0.01, False, 0, 40),
        (8192, 128, 8, 0.01, True, 7, 30),
        (64, 32, 8, 1.0, False, 3, 30),
        (300, 256, 64, 0.5, True, 11, 10),
    ]:
        knobs = {"kv_pairs": K, "power_a": a, "random_non_queries": "true" if noise else "false"}
        got = dump(exe, "mqar", V, L, n, seed, seed, "train", knobs)
        if isinstance(got[0], int):
            check(False, f"mqar V={V} L={L} K={K}: task_dump failed: {got[1]}")
            continue
        x, y, tags = got
        ref = [example(V, L, K, a, noise, seed, e) for e in range(n)]
        rx = np.array([r[0] for r in ref], dtype=np.int32)
        ry = np.array([r[1] for r in ref], dtype=np.int32)
        check(np.array_equal(x, rx) and np.array_equal(y, ry) and tags is None,
              f"mqar V={V} L={L} K={K} a={a} noise={noise} seed={seed}: {n} examples equal the reference")
    # Refusals, each naming the knob.
    for V, L, K, want in [(8192, 63, 4, "seq_len"), (8192, 64, 17, "kv_pairs"), (64, 64, 4, "vocab")]:
        got = dump(exe, "mqar", V, L, 1, 0, 0, "train", {"kv_pairs": K})
        check(isinstance(got[0], int) and got[0] == 3 and want in got[1], f"mqar V={V} L={L} K={K} refused naming {want}")
    check.exit()


if __name__ == "__main__":
    main()
