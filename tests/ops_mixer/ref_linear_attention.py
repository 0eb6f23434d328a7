"""ref_linear_attention.py: PyTorch float64 reference for zoo_linear_attention, written as
Zoology's Based: feature maps TaylorExp / identity / PosELU / ReLU(clamp eps), the "linear"
view by cumsum of phi(k) v^T and phi(k), the "quadratic" view by a lower-triangular
phi(Q) phi(K)^T, both divided by (denominator + eps)."""
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def feature_map(x, fm, torch):
    F = torch.nn.functional
    if fm == 0:  # TaylorExp
        f = x.shape[-1]
        x2 = (x.unsqueeze(-1) * x.unsqueeze(-2)).flatten(start_dim=-2) / math.sqrt(2)
        return torch.cat([torch.ones_like(x[..., :1]), x / math.sqrt(math.sqrt(f)), x2 / math.sqrt(f)], dim=-1)
    if fm == 1:
        return x
    if fm == 2:
        return F.elu(x) + 1
    return F.relu(x).clamp(min=1e-12)


def forward(case, torch):
    q, k, v = case.param("q"), case.param("k"), case.param("v")
    B, L, _ = q.shape
    H = int(case.attr("heads"))
    fm, eps = int(case.attr("fmap", -1)), case.attr("eps")
    q = q.view(B, L, H, -1).transpose(1, 2)
    k = k.view(B, L, H, -1).transpose(1, 2)
    v = v.view(B, L, H, -1).transpose(1, 2)
    q, k = feature_map(q, fm, torch), feature_map(k, fm, torch)
    if int(case.attr("quadratic", -1)):
        A = torch.einsum("bhnd,bhmd->bhnm", q, k).tril()
        y = torch.einsum("bhnm,bhme->bhne", A, v) / (A.sum(-1, keepdim=True) + eps)
    else:
        q, k, v = q.unsqueeze(-2), k.unsqueeze(-2), v.unsqueeze(-1)
        y = (q * (k * v).cumsum(dim=2)).sum(dim=-1) / ((q * k.cumsum(dim=2)).sum(dim=-1) + eps)
    return y.transpose(1, 2).reshape(B, L, -1)


zt.main(forward)
