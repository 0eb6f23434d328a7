"""madref.py: what the MAD task references share: the in-context recall generator
(in_context_recall and noisy_in_context_recall are one MAD generator with two sets of
defaults) and the check loop. Written from MAD's definition of the task, drawing from
zoo's streams (taskref.Stream) in the order the plugins document.
"""
import numpy as np
from taskref import Stream, dump

IGN = -100


def recall_example(V, L, mq, nv, frac, seed, salt, e, train):
    """MAD in-context recall: pairs from one per-example map, a probe of a shown key."""
    r = Stream(seed, salt, e)
    n = (V if mq else V - 1) - nv
    half = n // 2
    P = L // 2
    keep = r.below(P - 1)
    seq, tgt, kv, order = [], [], {}, []
    for i in range(P - 1):
        if frac > 0 and i != keep and r.uniform() < frac:
            seq += [n + r.below(nv), n + r.below(nv)]
            tgt += [IGN, IGN]
            continue
        k = r.below(half)
        seen = k in kv
        if not seen:
            kv[k] = half + r.below(n - half)
            order.append(k)
        seq += [k, kv[k]]
        tgt += [IGN, kv[k] if seen and mq else IGN]
    kp = order[r.below(len(order))]
    if not mq:
        seq.append(V - 1)
        tgt.append(IGN)
    seq += [kp, kv[kp]]
    tgt += [IGN, kv[kp]]
    lab = seq if train else tgt
    x = seq[:L]
    y = [lab[t + 1] if t + 1 < len(seq) else IGN for t in range(L)]
    return x, y


def compare(check, exe, task, example, cases, knob_names):
    """Each case: (V, L, knob values..., seed, n). Both splits; tags must be None."""
    for case in cases:
        V, L, *kn, seed, n = case
        knobs = {k: ("true" if v is True else "false" if v is False else v) for k, v in zip(knob_names, kn)}
        for split in ("train", "test"):
            got = dump(exe, task, V, L, n, seed, seed + 5, split, knobs)
            label = f"{task} V={V} L={L} {knobs} seed={seed} {split}"
            if isinstance(got[0], int):
                check(False, f"{label}: task_dump failed: {got[1]}")
                continue
            x, y, tags = got
            ref = [example(V, L, *kn, seed, seed + 5, e, split == "train") for e in range(n)]
            rx = np.array([a for a, _ in ref], dtype=np.int32).reshape(n, L)
            ry = np.array([b for _, b in ref], dtype=np.int32).reshape(n, L)
            ok = np.array_equal(x, rx) and np.array_equal(y, ry) and tags is None
            check(ok, f"{label}: {n} examples equal the reference")
            check(((y == IGN) | ((y >= 0) & (y < V))).all() and ((x >= 0) & (x < V)).all(),
                  f"{label}: tokens in [0, V), labels too or -100")


def refusals(check, exe, task, cases):
    """Each case: (V, L, knobs, the word the message must name)."""
    for V, L, knobs, want in cases:
        got = dump(exe, task, V, L, 1, 0, 0, "train", knobs)
        check(isinstance(got[0], int) and got[0] == 3 and want in got[1],
              f"{task} V={V} L={L} {knobs} refused naming {want}" + ("" if isinstance(got[0], int) else ": accepted"))
