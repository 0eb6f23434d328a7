"""ref_slice.py: PyTorch float64 reference for zoo_slice (x[..., start:start+len]),
optionally plus 2x a second slice of the same x (gradient accumulation)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def forward(case, torch):
    x = case.param("x")
    s, n = int(case.attr("start")), int(case.attr("len"))
    y = x[..., s:s + n]
    s2, n2 = int(case.attr("start2")), int(case.attr("len2"))
    if n2 > 0:
        y = y + 2.0 * x[..., s2:s2 + n2]
    return y


zt.main(forward)
