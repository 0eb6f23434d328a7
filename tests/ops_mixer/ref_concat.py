"""ref_concat.py: PyTorch float64 reference for zoo_concat (torch.cat on the last dim)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def forward(case, torch):
    n = int(case.attr("n"))
    return torch.cat([case.param("x%d" % i) for i in range(n)], dim=-1)


zt.main(forward)
