"""ref_add.py: PyTorch float64 reference for zoo_add (broadcast b over a's leading dims)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def forward(case, torch):
    return case.param("a") + case.param("b")


zt.main(forward)
