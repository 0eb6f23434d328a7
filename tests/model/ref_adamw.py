"""ref_adamw.py: torch.optim.AdamW (float32, the optimizer the Zoology code uses) on the
parameters and gradients test_adamw dumped; compares zoo's parameters after each step.
usage: ref_adamw.py <dump dir>; exit 0 pass, 1 mismatch, 77 torch missing."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def main():
    try:
        import torch
    except ImportError:
        print("SKIP: torch is not importable", file=sys.stderr)
        sys.exit(zt.SKIP)
    case = zt.Dump(sys.argv[1])
    p = torch.nn.Parameter(torch.tensor(case["p0"], dtype=torch.float32))
    opt = torch.optim.AdamW([p], lr=case.attr("lr"), betas=(case.attr("beta1"), case.attr("beta2")),
                            eps=case.attr("eps"), weight_decay=case.attr("weight_decay"))
    ok = True
    for t in range(1, int(case.attr("steps")) + 1):
        p.grad = torch.tensor(case["grad%d" % t], dtype=torch.float32)
        opt.step()
        # float32 on both sides, same order of operations: a few ulps at most
        ok &= zt.compare("parameters after step %d" % t, case["p%d" % t], p.detach().numpy(), 1e-7, 2e-6)
    print("%s %s" % ("ok  " if ok else "FAIL", case.path))
    sys.exit(0 if ok else 1)


main()
