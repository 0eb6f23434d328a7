"""ref_ssm_kernels.py: PyTorch float64 reference for zoo_ssm_shift_kernel and
zoo_ssm_diag_kernel, written as H3's SSKernelShift (irfft(conj(rfft B) rfft C) over 2N,
first min(N, L), zero-padded) and SSKernelDiag (real_type exp, bilinear, the naive
Vandermonde 2 Re sum_n C' exp(log(dA) t)) in complex128."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def forward(case, torch):
    L = int(case.attr("L"))
    if not int(case.attr("diag", -1)):
        B, C = case.param("B"), case.param("C")  # (H, N), (1, H, N)
        N = B.shape[-1]
        k = torch.fft.irfft(torch.fft.rfft(B, n=2 * N).conj() * torch.fft.rfft(C, n=2 * N), n=2 * N)[..., :min(N, L)]
        if N < L:
            k = torch.nn.functional.pad(k, (0, L - N))
        return k[0]
    C = torch.view_as_complex(case.param("C"))  # (1, H, N2)
    B = torch.view_as_complex(case.param("B"))  # (H, N2)
    dt = torch.exp(case.param("log_dt"))  # (H)
    A = -torch.exp(case.param("inv_A_real")) + 1j * case.param("A_imag")
    dtA = A * dt.unsqueeze(-1)
    C = (B[None] * C).view(-1, B.shape[0], B.shape[1])
    C = C * (1.0 - dtA / 2).reciprocal() * dt.unsqueeze(-1)
    dA = (1.0 + dtA / 2) / (1.0 - dtA / 2)
    t = torch.arange(L, dtype=torch.float64)
    K = 2 * torch.einsum("chn,hnl->chl", C, torch.exp(dA.log().unsqueeze(-1) * t)).real
    return K[0]


zt.main(forward)
