"""ref_gelu.py: PyTorch float64 reference for zoo_gelu (exact erf GELU)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def forward(case, torch):
    return torch.nn.functional.gelu(case.param("x"), approximate="none")


zt.main(forward)
