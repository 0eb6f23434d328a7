"""ref_scale.py: PyTorch float64 reference for zoo_scale (y = c x)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def forward(case, torch):
    return case.attr("c") * case.param("x")


zt.main(forward)
