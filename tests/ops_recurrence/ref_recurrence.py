"""ref_recurrence.py: PyTorch float64 reference for zoo_recurrence, the plain step loop of
the formula in docs/mixers.md, recurrence, per batch row and head with S_0 = 0:
S_t = diag(w_t) S_{t-1} + a_t (b_t^T S_{t-1}) + k_t v_t^T, o_t = S_t^T q_t.
Gradients come from autograd through the loop (no hand-written backward here)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def forward(case, torch):
    H = int(case.attr("heads"))
    q, k, v = case.param("q"), case.param("k"), case.param("v")
    B, L, HK = q.shape
    dk, dv = HK // H, v.shape[2] // H
    q4, k4, v4 = q.reshape(B, L, H, dk), k.reshape(B, L, H, dk), v.reshape(B, L, H, dv)
    w4 = case.param("w").reshape(B, L, H, -1) if "w" in case else None  # last dim 1 (per head) or dk
    a4 = b4 = None
    if "a" in case:
        a4 = case.param("a").reshape(B, L, H, dk)
        b4 = k4 if case.attr("b_is_k", 0) else case.param("b").reshape(B, L, H, dk)
    S = torch.zeros(B, H, dk, dv, dtype=torch.float64)
    outs = []
    for t in range(L):
        new = k4[:, t, :, :, None] * v4[:, t, :, None, :]
        new = new + (w4[:, t, :, :, None] * S if w4 is not None else S)
        if a4 is not None:
            c = torch.einsum("bhi,bhij->bhj", b4[:, t], S)
            new = new + a4[:, t, :, :, None] * c[:, :, None, :]
        S = new
        outs.append(torch.einsum("bhi,bhij->bhj", q4[:, t], S))
    return torch.stack(outs, dim=1).reshape(B, L, H * dv)


zt.main(forward)
