"""ref_wkv.py: PyTorch float64 reference for zoo_wkv, written in the attention-like form
of the WKV formula in docs/mixers.md, rwkv (not as a recurrence): for query t, key i < t has logit
(t-1-i) w + k_i, key t has u + k_t, later keys none; y_t is the softmax-weighted sum of v."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def forward(case, torch):
    w, u, k, v = case.param("w"), case.param("u"), case.param("k"), case.param("v")
    T = k.shape[1]
    pos = torch.arange(T)
    dist = (pos[:, None] - 1 - pos[None, :]).to(torch.float64)          # (t, i)
    past = dist[None, :, :, None] * w + k[:, None, :, :]                 # (B, t, i, C)
    now = (u + k)[:, :, None, :].expand_as(past)                         # u + k_t on the diagonal
    before = (pos[None, :] < pos[:, None])[None, :, :, None]
    same = (pos[None, :] == pos[:, None])[None, :, :, None]
    logits = torch.where(before, past, torch.where(same, now, torch.full_like(past, float("-inf"))))
    a = torch.softmax(logits, dim=2)
    return (a * v[:, None, :, :]).sum(dim=2)


zt.main(forward)
