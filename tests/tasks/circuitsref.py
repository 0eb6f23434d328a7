"""circuitsref.py: what the circuits references (ref_parity.py, ref_majority.py,
ref_cumulative_parity.py, ref_cumulative_majority.py) share: the bits, drawn as below(2)
per position in order, and one test run: byte-equal data on a few sets of both splits,
the Zoology shape of each example, and the refusals of too small a vocab or length.
"""
import numpy as np

from taskref import Checker, Stream, dump


def bits(seed, salt, e, n):
    r = Stream(seed, salt, e)
    return [r.below(2) for _ in range(n)]


def run(exe, task, example, end):
    """example(seed, e, L) -> (x, y); end: the task answers on an end token 2 (V >= 3, L >= 2)."""
    check = Checker()
    min_v, min_l = (3, 2) if end else (2, 1)
    for V, L, n, seed, split in [(8, 32, 60, 0, "train"), (3, 17, 60, 10, "test"), (min_v, min_l, 20, 5, "train"),
                                 (8192, 128, 20, 7, "train")]:
        got = dump(exe, task, V, L, n, seed, seed, split)
        if isinstance(got[0], int):
            check(False, f"{task} V={V} L={L}: task_dump failed: {got[1]}")
            continue
        x, y, tags = got
        ref = [example(seed, e, L) for e in range(n)]
        rx = np.array([r[0] for r in ref], dtype=np.int32)
        ry = np.array([r[1] for r in ref], dtype=np.int32)
        check(np.array_equal(x, rx) and np.array_equal(y, ry) and tags is None,
              f"{task} V={V} L={L} seed={seed} {split}: {n} examples equal the reference")
        if end:
            shape = ((x[:, :-1] <= 1).all() and (x[:, -1] == 2).all() and (y[:, :-1] == -100).all()
                     and np.isin(y[:, -1], [0, 1]).all())
            check(shape, f"{task} L={L}: L-1 bits, the end token 2, one 0/1 label on it")
        else:
            check(np.isin(x, [0, 1]).all() and np.isin(y, [0, 1]).all(), f"{task} L={L}: bits, a 0/1 label everywhere")
    if end:  # both answers occur (a constant answer would pass the shape check)
        x, y, _ = dump(exe, task, 8, 32, 200, 1, 1, "train")
        check(set(np.unique(y[:, -1])) == {0, 1}, f"{task}: both answers occur in 200 examples")
    for V, L, want in [(min_v - 1, 32, "vocab"), (8, min_l - 1, "seq_len")]:
        got = dump(exe, task, V, L, 1, 0, 0, "train")
        check(isinstance(got[0], int) and got[0] == 3 and want in got[1], f"{task} V={V} L={L} refused naming {want}")
    # No knobs: any knob is refused by the loader.
    got = dump(exe, task, 8, 32, 1, 0, 0, "train", {"kv_pairs": 4})
    check(isinstance(got[0], int), f"{task}: knob kv_pairs refused")
    check.exit()
