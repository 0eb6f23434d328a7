"""ref_unary.py: PyTorch float64 reference for the elementwise ops of ZOO_UNARY_OPS."""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import zt  # noqa: E402

TABLE = os.path.join(HERE, "..", "..", "core", "src", "ops", "unary.h")


def table_names():
    """Op names in the table's order: test_unary.c sends an op as its index there."""
    with open(TABLE) as f:
        text = f.read()
    rows = text[text.index("#define ZOO_UNARY_OPS(X)"):]
    return re.findall(r"X\((\w+),", rows[: rows.index("\n\n")])


def forward(case, torch):
    F = torch.nn.functional
    ref = {"sin": torch.sin, "exp": torch.exp, "relu": F.relu, "silu": F.silu,
           "sigmoid": torch.sigmoid, "softplus": F.softplus}
    name = table_names()[int(case.attr("op", -1))]
    return ref[name](case.param("x"))


zt.main(forward)
