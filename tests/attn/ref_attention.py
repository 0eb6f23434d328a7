"""ref_attention.py: PyTorch float64 reference for zoo_attention, written as the Zoology
MHA computes it (scores + additive -10000 mask, softmax over keys, dropout on the
probabilities, probabilities times values), with the op's documented dropout mask
("keep", dumped by the test) in place of torch's random one."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def forward(case, torch):
    q, k, v = case.param("q"), case.param("k"), case.param("v")
    B, L, C = q.shape
    H = int(case.attr("heads"))
    w = int(case.attr("window"))
    q, k, v = (x.view(B, L, H, C // H) for x in (q, k, v))
    scores = torch.einsum("bthd,bshd->bhts", q, k) * case.attr("scale")
    t = torch.arange(L).view(L, 1)
    s = torch.arange(L).view(1, L)
    masked = s > t
    if w >= 0:
        masked = masked | (s < t - w)  # a query sees keys t-w .. t (w+1 keys)
    scores = scores + masked.to(scores.dtype) * -10000.0
    attn = torch.softmax(scores, dim=-1)
    if case.attr("training") and case.attr("p") > 0:
        attn = attn * case.tensor("keep") / (1.0 - case.attr("p"))
    out = torch.einsum("bhts,bshd->bthd", attn, v)
    return out.reshape(B, L, C)


zt.main(forward)
