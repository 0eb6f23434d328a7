"""ref_select.py: PyTorch float64 reference for zoo_softmax_seq and zoo_topk_seq, from
their definitions: softmax over dim 1 of (B, L, C); in eval mode the k largest entries of
each (batch row, channel) along dim 1 kept and the rest zeroed (ties to the lower
position: a stable descending sort), the identity in training mode."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def forward(case, torch):
    x = case.param("x")
    op = int(case.attr("op"))
    if op == 0:
        return torch.softmax(x, dim=1)
    k = int(case.attr("k"))
    if op == 2 or k >= x.shape[1]:
        return x * 1.0
    order = torch.sort(x.detach(), dim=1, descending=True, stable=True).indices
    mask = torch.zeros_like(x).scatter(1, order[:, :k], 1.0)
    return x * mask


zt.main(forward)
