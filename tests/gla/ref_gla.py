"""ref_gla.py <dirs>: a PyTorch float64 reference of Zoology's GatedLinearAttention
(zoology/mixers/gla.py, docs/mixers.md, gla), with the same module tree so that its
state_dict keys are the names zoo gives its parameters. The fla kernels it calls do not
run here; this module runs the plain recurrent form (fla's naive_recurrent_gla: q scaled
by head_k_dim^-0.5, S_t = diag(exp(gk_t)) S_{t-1} + k_t v_t^T, o_t = S_t^T q_t) one token at
a time, short convolutions included, and counts the floats it carries from one token to
the next per batch row, which must equal the plugin's state_size.

Each dump directory (from test_gla.c) is loaded with load_state_dict(strict=True); then
the forward output and the gradients of x and of every parameter are compared, and the
set of trainable parameters must match zoo's. Exit 0 pass, 1 mismatch, 77 torch missing.
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

FMAPS = {"relu": F.relu, "swish": F.silu, "silu": F.silu, "sigmoid": torch.sigmoid}


class ShortConvolution(nn.Conv1d):
    """fla's ShortConvolution (depthwise, causal, then SiLU), run as its decoding step:
    a cache of the previous kernel_size - 1 inputs per channel."""

    def __init__(self, hidden_size, kernel_size, bias):
        super().__init__(hidden_size, hidden_size, kernel_size, groups=hidden_size, bias=bias,
                         padding=kernel_size - 1)

    def init_cache(self, b, like):
        return like.new_zeros(b, self.in_channels, self.kernel_size[0] - 1)

    def step(self, x, cache):
        """x (b, C), cache (b, C, k-1) -> y (b, C), the new cache."""
        window = torch.cat([cache, x.unsqueeze(-1)], dim=-1)  # oldest first: w[..., k-1] meets x_t
        y = (window * self.weight[:, 0, :]).sum(-1)
        if self.bias is not None:
            y = y + self.bias
        return F.silu(y), window[..., 1:]


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class GatedLinearAttention(nn.Module):
    def __init__(self, d_model, expand_k, expand_v, num_heads, feature_map, use_short_conv, conv_size, conv_bias,
                 use_output_gate, norm_eps, gate_logit_normalizer, gate_low_rank_dim, clamp_min):
        super().__init__()
        self.key_dim, self.value_dim = int(d_model * expand_k), int(d_model * expand_v)
        self.H = num_heads
        self.dk, self.dv = self.key_dim // num_heads, self.value_dim // num_heads
        self.fmap = FMAPS.get(feature_map)
        self.use_short_conv, self.use_output_gate = use_short_conv, use_output_gate
        self.normalizer, self.clamp_min = gate_logit_normalizer, clamp_min
        self.q_proj = nn.Linear(d_model, self.key_dim, bias=False)
        self.k_proj = nn.Linear(d_model, self.key_dim, bias=False)
        self.v_proj = nn.Linear(d_model, self.value_dim, bias=False)
        if use_output_gate:
            self.g_proj = nn.Linear(d_model, self.value_dim, bias=False)
        if use_short_conv:
            self.q_conv1d = ShortConvolution(self.key_dim, conv_size, conv_bias)
            self.k_conv1d = ShortConvolution(self.key_dim, conv_size, conv_bias)
            self.v_conv1d = ShortConvolution(self.value_dim, conv_size, conv_bias)
        self.gk_proj = nn.Sequential(nn.Linear(d_model, gate_low_rank_dim, bias=False),
                                     nn.Linear(gate_low_rank_dim, self.key_dim, bias=True))
        self.o_proj = nn.Linear(self.value_dim, d_model, bias=False)
        if use_output_gate:
            self.g_norm_swish_gate = RMSNorm(self.dv, norm_eps)
        else:
            self.g_norm = RMSNorm(self.dv, norm_eps)

    def forward(self, x):
        """The output, and the floats carried between tokens per batch row."""
        b, L, _ = x.shape
        q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        gk = F.logsigmoid(self.gk_proj(x)) / self.normalizer
        if self.clamp_min is not None:
            gk = torch.clamp_min(gk, self.clamp_min)
        S = x.new_zeros(b, self.H, self.dk, self.dv)
        convs = [self.q_conv1d, self.k_conv1d, self.v_conv1d] if self.use_short_conv else []
        caches = [c.init_cache(b, x) for c in convs]
        carried = S[0].numel() + sum(c[0].numel() for c in caches)
        scale = self.dk ** -0.5
        outs = []
        for t in range(L):
            qt, kt, vt = q[:, t], k[:, t], v[:, t]
            if convs:
                (qt, caches[0]), (kt, caches[1]), (vt, caches[2]) = (
                    c.step(u, cache) for c, u, cache in zip(convs, (qt, kt, vt), caches))
            if self.fmap is not None:
                qt, kt = self.fmap(qt), self.fmap(kt)
            qt = qt.view(b, self.H, self.dk) * scale
            kt = kt.view(b, self.H, self.dk)
            vt = vt.view(b, self.H, self.dv)
            w = gk[:, t].view(b, self.H, self.dk).exp()
            S = S * w.unsqueeze(-1) + kt.unsqueeze(-1) * vt.unsqueeze(-2)
            outs.append((qt.unsqueeze(-1) * S).sum(-2))  # (b, H, dv)
        o = torch.stack(outs, dim=1)  # (b, L, H, dv)
        if self.use_output_gate:
            g = self.g_proj(x).view(b, L, self.H, self.dv)
            o = self.g_norm_swish_gate(o) * F.silu(g)
        else:
            o = self.g_norm(o)
        return self.o_proj(o.reshape(b, L, self.value_dim)), carried




def make(cfg):
    k = zt.knobs_of(cfg["knobs"])
    cm = float(k["clamp_min"])
    return GatedLinearAttention(cfg["D"], float(k["expand_k"]), float(k["expand_v"]), int(k["num_heads"]),
                                k["feature_map"], zt.truth(k["use_short_conv"]), int(k["conv_size"]),
                                zt.truth(k["conv_bias"]), zt.truth(k["use_output_gate"]), float(k["norm_eps"]),
                                float(k["gate_logit_normalizer"]), int(k["gate_low_rank_dim"]),
                                cm if cm < 0 else None)



def run(model, x, cfg, what):
    out, carried = model(x)
    return out, zt.check_carried(carried, cfg, what)


if __name__ == "__main__":  # importable: a benchmark can build the PyTorch module from make()
    zt.mixer_main(lambda path: zt.check_mixer(path, make, run))
