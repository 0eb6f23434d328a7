"""ref_ce_head.py: PyTorch float64 reference for zoo_ce_head. With distinct positions it
is the FULL tied head: logits at all B*L positions and F.cross_entropy over them with
the labels scattered in and -100 everywhere else (ignore_index=-100), so the loss and
the gradients for h and E must equal the op's supervised-rows computation. With
repeated positions (which one label per row cannot express) it gathers the rows.
Also checks the op's logits (valid prefix) and its valid/correct counts (argmax == label).
No valid label: the op's loss is 0 with zero gradients (torch's mean would be NaN)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def forward(case, torch):
    F = torch.nn.functional
    h, E = case.param("h"), case.param("E")
    pos, lab = case.tensor("pos"), case.tensor("labels")
    B, L, D = h.shape
    rows = h.reshape(B * L, D)
    if case.attr("distinct"):
        full = torch.full((B * L,), -100, dtype=torch.long)
        full[pos] = lab
        logits_all = rows @ E.t()  # (B*L, V): the head everywhere
        loss = F.cross_entropy(logits_all, full, ignore_index=-100)
        logits = logits_all[pos]
    else:
        logits = rows[pos] @ E.t()
        loss = F.cross_entropy(logits, lab, ignore_index=-100)
    valid = lab != -100
    if int(valid.sum()) == 0:
        loss = (logits * 0).sum()  # the op's documented convention
    case.extra = (logits.detach().numpy(), lab.numpy(), valid.numpy())
    return loss.reshape(1)


def check_stats(case):
    logits, lab, valid = case.extra
    ok = True
    m = int(case.attr("m"))
    last = np.nonzero(valid)[0]
    want_m = int(last[-1]) + 1 if last.size else 0
    if m != want_m:
        print("FAIL %s: the op computed %d logit rows, the last valid entry is %d" % (case.path, m, want_m - 1),
              file=sys.stderr)
        ok = False
    if m > 0 and m == want_m:
        ok &= zt.compare("%s: logits" % case.path, case["logits"], logits[:m], *zt.tol("fwd"))
    n_valid = int(valid.sum())
    n_correct = int(((logits.argmax(axis=1) == lab) & valid).sum())
    for name, want in (("n_valid", n_valid), ("n_correct", n_correct)):
        if int(case.attr(name)) != want:
            print("FAIL %s: %s %d, reference %d" % (case.path, name, int(case.attr(name)), want), file=sys.stderr)
            ok = False
    return ok


def main():
    try:
        import torch
    except ImportError:
        print("SKIP: torch is not importable", file=sys.stderr)
        sys.exit(zt.SKIP)
    torch.set_num_threads(1)
    dirs = []
    for a in sys.argv[1:]:
        if os.path.exists(os.path.join(a, "manifest.json")):
            dirs.append(a)
        elif os.path.isdir(a):
            dirs += [os.path.join(a, s) for s in sorted(os.listdir(a))
                     if os.path.exists(os.path.join(a, s, "manifest.json"))]
    if not dirs:
        print("FAIL: no dump (manifest.json) under %s" % " ".join(sys.argv[1:]), file=sys.stderr)
        sys.exit(1)
    ok = True
    for d in dirs:
        case = zt.Dump(d)
        good = zt.check_case(case, forward, torch)
        good = check_stats(case) and good
        print("%s %s" % ("ok  " if good else "FAIL", d))
        ok &= good
    sys.exit(0 if ok else 1)


main()
