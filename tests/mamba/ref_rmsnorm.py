"""ref_rmsnorm.py: PyTorch float64 reference for zoo_rmsnorm, written as Mamba's
rms_norm_ref: x * rsqrt(mean(x^2) + eps) * weight, no bias (no weight parameter: 1)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def forward(case, torch):
    x = case.param("x")
    y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + case.attr("eps"))
    return y * case.param("weight") if "weight" in case else y


zt.main(forward)
