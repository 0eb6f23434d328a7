"""ref_shape_ops.py: PyTorch float64 reference for zoo_transpose and zoo_reshape."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def forward(case, torch):
    x = case.param("x")
    if int(case.attr("reshape", -1)):
        A, R, C = x.shape
        x = x.reshape(R, A * C)
    return x.transpose(-1, -2)


zt.main(forward)
