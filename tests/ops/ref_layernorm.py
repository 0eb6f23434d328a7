"""ref_layernorm.py: PyTorch float64 reference for zoo_layernorm (nn.LayerNorm semantics)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def forward(case, torch):
    x, w, b = case.param("x"), case.param("weight"), case.param("bias")
    return torch.nn.functional.layer_norm(x, w.shape, w, b, case.attr("eps"))


zt.main(forward)
