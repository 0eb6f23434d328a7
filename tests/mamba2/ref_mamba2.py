"""ref_mamba2.py <dirs>: a PyTorch float64 reference of Zoology's Mamba2 mixer
(zoology/mixers/mamba2.py, the mamba_ssm Mamba2 layer; docs/mixers.md, mamba2) with the
same module tree, so its state_dict keys are the names zoo gives its parameters. Each
dump directory (from test_mamba2.c) is loaded with load_state_dict(strict=True); the
output is computed in the recurrent step form (a conv window and one d_state x headdim
state per head, carried token to token), and the forward output, the gradient of x and
of every parameter are compared with zoo's. The same module's parallel form (nn.Conv1d
over the sequence, then SSD's quadratic form y = (M o C B^T)(dt x) with the decay mask
M[t, s] = prod_{s < r <= t} exp(dt_r A)) must agree with the step form, and the floats
the step form carries per batch row must equal zoo's state_size.
Exit 0 pass, 1 mismatch, 77 torch missing.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("SKIP: torch is not importable", file=sys.stderr)
    sys.exit(zt.SKIP)


class RMSNormGated(nn.Module):
    """mamba_ssm's gated RMSNorm: norm_before_gate False: rmsnorm(x * silu(z)) * weight;
    True: rmsnorm(x) * weight * silu(z); the mean square is taken per group of group_size
    channels."""

    def __init__(self, d, eps, norm_before_gate, group_size):
        super().__init__()
        self.eps, self.norm_before_gate, self.group_size = eps, norm_before_gate, group_size
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x, z):
        if not self.norm_before_gate:
            x = x * F.silu(z)
        xg = x.reshape(*x.shape[:-1], -1, self.group_size)
        out = (xg * torch.rsqrt(xg.square().mean(-1, keepdim=True) + self.eps)).reshape(x.shape) * self.weight
        if self.norm_before_gate:
            out = out * F.silu(z)
        return out


class Mamba2(nn.Module):
    def __init__(self, d_model, d_state, d_conv, expand, headdim, d_ssm, ngroups, D_has_hdim, rmsnorm,
                 norm_before_gate, bias, conv_bias):
        super().__init__()
        self.d_inner = expand * d_model
        self.d_ssm = d_ssm or self.d_inner
        self.d_state, self.d_conv, self.headdim, self.ngroups = d_state, d_conv, headdim, ngroups
        self.nheads = self.d_ssm // headdim
        self.D_has_hdim, self.rmsnorm = D_has_hdim, rmsnorm
        # in_proj's output, in order: [z0, x0 (the gated MLP), z, x, B, C, dt]
        d_in_proj = 2 * self.d_inner + 2 * ngroups * d_state + self.nheads
        self.in_proj = nn.Linear(d_model, d_in_proj, bias=bias)
        self.conv_dim = self.d_ssm + 2 * ngroups * d_state
        self.conv1d = nn.Conv1d(self.conv_dim, self.conv_dim, d_conv, groups=self.conv_dim, padding=d_conv - 1,
                                bias=conv_bias)
        self.dt_bias = nn.Parameter(torch.zeros(self.nheads))
        self.A_log = nn.Parameter(torch.zeros(self.nheads))
        self.D = nn.Parameter(torch.ones(self.d_ssm if D_has_hdim else self.nheads))
        if rmsnorm:
            self.norm = RMSNormGated(self.d_ssm, 1e-5, norm_before_gate, self.d_ssm // ngroups)
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=bias)

    def _split(self, u):
        d_mlp = self.d_inner - self.d_ssm
        return torch.split(self.in_proj(u), [d_mlp, d_mlp, self.d_ssm, self.conv_dim, self.nheads], dim=-1)

    def _heads(self, x, Bm, Cm, dt):
        """(..., d_ssm), (..., G N) x 2, (..., H) -> per head: x (..., H, P), B and C
        (..., H, N) (head h reads group h // (H / G)), dt = softplus(dt + dt_bias)."""
        H, G, N = self.nheads, self.ngroups, self.d_state
        rep = lambda m: m.reshape(*m.shape[:-1], G, N).repeat_interleave(H // G, dim=-2)  # noqa: E731
        return x.reshape(*x.shape[:-1], H, self.headdim), rep(Bm), rep(Cm), F.softplus(dt + self.dt_bias)

    def _skip(self, x):
        """D x with D per head (broadcast over its channels) or per channel; x (..., H, P)."""
        return x * (self.D.reshape(self.nheads, self.headdim) if self.D_has_hdim else self.D[:, None])

    def _finish(self, y, z0, x0, z):
        if self.rmsnorm:
            y = self.norm(y, z)
        else:
            y = y * F.silu(z)
        if z0.shape[-1] > 0:
            y = torch.cat([F.silu(z0) * x0, y], dim=-1)
        return self.out_proj(y)

    def forward_steps(self, u):
        """One token at a time; returns the output and the floats carried per batch row."""
        z0, x0, z, xBC, dt = self._split(u)
        Bsz, L, _ = u.shape
        A = -torch.exp(self.A_log)
        w = self.conv1d.weight[:, 0, :]  # (conv_dim, d_conv); the last tap takes the current token
        conv_state = u.new_zeros(Bsz, self.conv_dim, self.d_conv - 1)
        ssm_state = u.new_zeros(Bsz, self.nheads, self.d_state, self.headdim)
        ys = []
        for t in range(L):
            window = torch.cat([conv_state, xBC[:, t, :, None]], dim=-1)
            conv_state = window[..., 1:]
            c = (window * w).sum(-1)
            if self.conv1d.bias is not None:
                c = c + self.conv1d.bias
            x, Bm, Cm = torch.split(F.silu(c), [self.d_ssm, self.ngroups * self.d_state, self.ngroups * self.d_state],
                                    dim=-1)
            x, Bh, Ch, dth = self._heads(x, Bm, Cm, dt[:, t])
            decay = torch.exp(dth * A)  # (B, H)
            ssm_state = decay[..., None, None] * ssm_state + Bh[..., :, None] * (dth[..., None] * x)[..., None, :]
            y = (ssm_state * Ch[..., :, None]).sum(-2) + self._skip(x)  # (B, H, P)
            ys.append(y.reshape(Bsz, self.d_ssm))
        carried = conv_state[0].numel() + ssm_state[0].numel()
        return self._finish(torch.stack(ys, dim=1), z0, x0, z), carried

    def forward(self, u):
        """The parallel form: the conv over the sequence, SSD's quadratic form."""
        z0, x0, z, xBC, dt = self._split(u)
        L = u.shape[1]
        xBC = F.silu(self.conv1d(xBC.transpose(1, 2))[..., :L].transpose(1, 2))
        x, Bm, Cm = torch.split(xBC, [self.d_ssm, self.ngroups * self.d_state, self.ngroups * self.d_state], dim=-1)
        x, Bh, Ch, dth = self._heads(x, Bm, Cm, dt)  # (B, L, H, P), (B, L, H, N) x 2, (B, L, H)
        cum = torch.cumsum(dth * -torch.exp(self.A_log), dim=1)  # (B, L, H)
        seg = cum[:, :, None, :] - cum[:, None, :, :]  # (B, t, s, H): sum of dt A over s < r <= t
        causal = torch.tril(torch.ones(L, L, dtype=torch.bool))[None, :, :, None]
        M = torch.where(causal, torch.exp(torch.where(causal, seg, torch.zeros_like(seg))), torch.zeros_like(seg))
        scores = torch.einsum("bthn,bshn->btsh", Ch, Bh) * M
        y = torch.einsum("btsh,bshp->bthp", scores, dth[..., None] * x) + self._skip(x)
        return self._finish(y.reshape(*y.shape[:2], self.d_ssm), z0, x0, z)




def make(cfg):
    k = zt.knobs_of(cfg["knobs"])
    return Mamba2(cfg["D"], int(k["d_state"]), int(k["d_conv"]), int(k["expand"]), int(k["headdim"]),
                  int(k["d_ssm"]), int(k["ngroups"]), zt.truth(k["D_has_hdim"]), zt.truth(k["rmsnorm"]),
                  zt.truth(k["norm_before_gate"]), zt.truth(k["bias"]), zt.truth(k["conv_bias"]))



def run(model, x, cfg, what):
    """The step form is compared with zoo; the parallel (SSD quadratic) form must agree with it."""
    out, carried = model.forward_steps(x)
    with torch.no_grad():
        par = model(x)
    ok = zt.compare("%s: parallel (SSD quadratic) form vs step form" % what, par.numpy(), out.detach().numpy(),
                    1e-12, 1e-9)
    return out, ok & zt.check_carried(carried, cfg, what, "the step form")


if __name__ == "__main__":  # importable: a benchmark can build the PyTorch module from make()
    zt.mixer_main(lambda path: zt.check_mixer(path, make, run))
