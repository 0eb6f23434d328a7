"""ref_head_ops.py: PyTorch float64 reference for zoo_head_outer / zoo_head_contract,
written with H3's rearranges: kv = k 'b (h d1) l -> b d1 1 h l' * v 'b (h d2) l -> b 1 d2 h l',
y = sum_d1 q * kv -> 'b d2 h l -> b (d2 h) l'. Our kv layout is (h, d1, d2) per token."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def forward(case, torch):
    k, v = case.param("k"), case.param("v")  # (B, T, H*hd)
    B, T, D = k.shape
    H = int(case.attr("heads"))
    hd = D // H
    k5 = k.reshape(B, T, H, hd, 1)
    v5 = v.reshape(B, T, H, 1, hd)
    kv = k5 * v5  # (B, T, H, d1, d2)
    if not int(case.attr("contract", -1)):
        return kv.reshape(B, T, H * hd * hd)
    q = case.param("q").reshape(B, T, H, hd, 1)
    y = (q * kv).sum(dim=3)  # (B, T, H, d2)
    return y.transpose(2, 3).reshape(B, T, hd * H)  # channel d2*H + h


zt.main(forward)
