"""ref_fill.py: PyTorch float64 reference for zoo_fill (added to x, broadcast as zoo_add)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def forward(case, torch):
    x = case.param("x")
    return x + torch.full(x.shape, float(case.attr("value", 0.0)), dtype=x.dtype)


zt.main(forward)
