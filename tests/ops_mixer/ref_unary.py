"""ref_unary.py: PyTorch float64 reference for zoo_sin/exp/relu/silu/sigmoid/softplus."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def forward(case, torch):
    F = torch.nn.functional
    x = case.param("x")
    op = [torch.sin, torch.exp, F.relu, F.silu, torch.sigmoid, F.softplus][int(case.attr("op", -1))]
    return op(x)


zt.main(forward)
