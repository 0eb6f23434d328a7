"""ref_dropout.py: PyTorch float64 reference for zoo_dropout given its documented mask
("keep", from the counter hash, dumped by the test): y = x * keep / (1 - p) in training,
y = x in eval."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def forward(case, torch):
    x = case.param("x")
    if not case.attr("training", 0):
        return x * 1.0
    return x * case.tensor("keep") / (1.0 - case.attr("p"))


zt.main(forward)
