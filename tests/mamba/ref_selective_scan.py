"""ref_selective_scan.py: PyTorch float64 reference for zoo_selective_scan, written as
the loop form of Mamba's selective_scan_ref (docs/mixers.md, mamba) without the D skip:
h_t = exp(delta_t A) h_{t-1} + delta_t B_t x_t, y_t = C_t . h_t."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def forward(case, torch):
    x, dl, A, bc = case.param("x"), case.param("delta"), case.param("A"), case.param("BC")
    Bn, L, Di = x.shape
    N = A.shape[1]
    Bt, Ct = bc[..., :N], bc[..., N:]
    h = torch.zeros(Bn, Di, N, dtype=x.dtype)
    ys = []
    for t in range(L):
        dA = torch.exp(dl[:, t, :, None] * A)  # (B, Di, N)
        h = dA * h + (dl[:, t] * x[:, t])[..., None] * Bt[:, t, None, :]
        ys.append((h * Ct[:, t, None, :]).sum(-1))
    return torch.stack(ys, dim=1)


zt.main(forward)
