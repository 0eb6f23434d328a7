"""ref_memorization.py: the memorization plugin against MAD's definition.

m = V - 1 - noise_vocab_size; keys [0, m/2), values [m/2, m). The map, from the
stream (task_seed, MAP_SALT, 0): value slots [m/2 .. m), for key i = 0 .. m/2 - 1 swap
slot i with slot i + below(m - m/2 - i); key i gets slot i. Example: keep = below(L/2);
each pair i is noise (two tokens m + below(noise_vocab_size)) when frac_noise > 0,
i != keep and uniform() < frac_noise, else key below(m/2) then the insert token V-1,
labelled with the key's value. No shift and no difference between training and test;
the map is the same for every seed of one task_seed (checked: train and test share it).
Usage: ref_memorization.py TASK_DUMP. Exit 0 pass, 1 fail, 77 skip.
"""
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
try:
    import numpy as np
    from madref import IGN, compare, refusals
    from taskref import Checker, Stream, dump
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

SALT = 0x6D61646D656D6F00
MAP_SALT = 0x6D61646D6D617000


def kv_map(m, task_seed):
    r = Stream(task_seed, MAP_SALT, 0)
    half = m // 2
    slots = list(range(half, m))
    for i in range(half):
        j = i + r.below(m - half - i)
        slots[i], slots[j] = slots[j], slots[i]
    return slots[:half]


def example(V, L, nv, frac, seed, task_seed, e, train):
    m = V - 1 - nv
    val = kv_map(m, task_seed)
    r = Stream(seed, SALT, e)
    keep = r.below(L // 2)
    x, y = [], []
    for i in range(L // 2):
        if frac > 0 and i != keep and r.uniform() < frac:
            x += [m + r.below(nv), m + r.below(nv)]
            y += [IGN, IGN]
        else:
            k = r.below(m // 2)
            x += [k, V - 1]
            y += [IGN, val[k]]
    return x, y


def main():
    exe = sys.argv[1]
    check = Checker()
    compare(check, exe, "memorization", example,
            [(256, 32, 0, 0.0, 0, 40), (8192, 32, 0, 0.0, 3, 20), (40, 64, 8, 0.4, 7, 30), (4, 2, 1, 1.0, 11, 20)],
            ["noise_vocab_size", "frac_noise"])
    # One map per run: train (seed 0) and test (seed 10) of task_seed 0 agree on every key.
    tr = dump(exe, "memorization", 256, 32, 200, 0, 0, "train")
    te = dump(exe, "memorization", 256, 32, 200, 10, 0, "test")
    other = dump(exe, "memorization", 256, 32, 200, 0, 1, "train")
    maps = []
    for got in (tr, te, other):
        pairs = {}
        if not isinstance(got[0], int):
            x, y, _ = got
            for k, v in zip(x[:, 0::2].ravel(), y[:, 1::2].ravel()):
                pairs.setdefault(int(k), set()).add(int(v))
        maps.append(pairs)
    one = all(len(v) == 1 for mp in maps for v in mp.values())
    shared = [k for k in maps[0] if k in maps[1]]
    check(one and len(shared) > 50 and all(maps[0][k] == maps[1][k] for k in shared),
          f"memorization: train and test sets share one map ({len(shared)} keys in both)")
    shared = [k for k in maps[0] if k in maps[2]]
    check(sum(maps[0][k] != maps[2][k] for k in shared) > len(shared) // 2,
          "memorization: another task_seed gives another map")
    refusals(check, exe, "memorization",
             [(256, 31, {}, "seq_len"), (2, 32, {}, "vocab"), (256, 32, {"frac_noise": 0.5}, "noise_vocab_size"),
              (256, 32, {"noise_vocab_size": 4, "frac_noise": 1.5}, "frac_noise")])
    check.exit()


if __name__ == "__main__":
    main()
