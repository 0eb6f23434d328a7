"""ref_shortconv.py: PyTorch float64 reference for zoo_shortconv, written as Zoology's
ShortConvolution: Conv1d(groups=C, padding=k-1) on (B, C, L), first L outputs."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def forward(case, torch):
    x, w = case.param("x"), case.param("weight")
    b = case.param("bias") if "bias" in case else None
    L, C, k = x.shape[1], x.shape[2], w.shape[2]
    y = torch.nn.functional.conv1d(x.transpose(1, 2), w, b, padding=k - 1, groups=C)[..., :L]
    return y.transpose(1, 2)


zt.main(forward)
