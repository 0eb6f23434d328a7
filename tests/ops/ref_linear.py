"""ref_linear.py: PyTorch float64 reference for zoo_linear (y = x W^T + b, b optional)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def forward(case, torch):
    b = case.param("bias") if "bias" in case else None
    return torch.nn.functional.linear(case.param("x"), case.param("weight"), b)


zt.main(forward)
