"""ref_fftconv.py: PyTorch float64 reference for zoo_fftconv, written as Zoology's
fft_conv (rfft of u and k padded to 2L, k's spectrum / 2L, irfft with norm="forward",
keep the first L, + skip * u), with grouped filters repeated over their channels."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def forward(case, torch):
    u, k = case.param("u"), case.param("k")  # (B, L, D), (G, L)
    B, L, D = u.shape
    r = D // int(case.attr("groups"))
    kk = k.repeat_interleave(r, dim=0)  # (D, L)
    ut = u.transpose(1, 2)  # (B, D, L)
    n = 2 * L
    k_f = torch.fft.rfft(kk, n=n) / n
    u_f = torch.fft.rfft(ut, n=n)
    y = torch.fft.irfft(u_f * k_f, n=n, norm="forward")[..., :L]
    if "skip" in case:
        y = y + ut * case.param("skip").repeat_interleave(r)[:, None]
    return y.transpose(1, 2)


zt.main(forward)
