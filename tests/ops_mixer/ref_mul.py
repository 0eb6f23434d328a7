"""ref_mul.py: PyTorch float64 reference for zoo_mul (broadcast product)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def forward(case, torch):
    return case.param("a") * case.param("b")


zt.main(forward)
