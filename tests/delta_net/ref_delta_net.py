"""ref_delta_net.py <dir>: PyTorch float64 references of Zoology's DeltaNet and Gated
DeltaNet mixers (zoology/mixers/delta_net.py, gated_delta_net.py), with the same module
tree, so their state_dict keys are the names zoo gives its parameters. The fla kernels
those modules call are replaced by the naive recurrent form, run one token at a time,
short convolutions included (each keeps a cache of its last conv_size - 1 inputs): the
form inference would run, whose carried state is counted and compared with the plugin's
state_size. Each case directory (from test_delta_net.c) is loaded with
load_state_dict(strict=True); then the output, the gradient of x and of every
parameter are compared, and the parameters that receive a gradient must be exactly
those zoo trains. Exit 0 pass, 1 mismatch, 77 torch missing.
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

L2_EPS = 1e-6  # fla's l2norm: x / sqrt(sum x^2 + eps)


class ShortConvolution(nn.Conv1d):
    """fla's ShortConvolution: a depthwise causal Conv1d (weight (C, 1, K)), optional
    bias and activation. step() is its decoding form: the cache holds the last K-1
    inputs, so the tap K-1 multiplies the current token."""

    def __init__(self, hidden_size, kernel_size, bias=False, activation=None):
        super().__init__(hidden_size, hidden_size, kernel_size, groups=hidden_size, padding=kernel_size - 1,
                         bias=bias)
        self.activation = activation

    def new_cache(self, batch):
        return self.weight.new_zeros(batch, self.weight.shape[0], self.weight.shape[-1] - 1)

    def step(self, x, cache):
        window = torch.cat([cache, x.unsqueeze(-1)], dim=-1)  # (B, C, K)
        y = (window * self.weight[:, 0, :]).sum(-1)
        if self.bias is not None:
            y = y + self.bias
        if self.activation == "silu":
            y = F.silu(y)
        return y, window[..., 1:]


class RMSNorm(nn.Module):
    def __init__(self, hidden_size, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(hidden_size))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class FusedRMSNormSwishGate(RMSNorm):
    def forward(self, x, g):
        return super().forward(x) * g * torch.sigmoid(g)


def l2norm(x):
    return x / torch.sqrt(x.pow(2).sum(-1, keepdim=True) + L2_EPS)


def qk_map(x, act):
    if act == "relu":
        return F.relu(x)
    if act == "elu":
        return F.elu(x, 1.0) + 1.0
    return x  # silu is applied by the conv (or the no-conv branch); identity


class DeltaNet(nn.Module):
    """Zoology's DeltaNet; gated=True adds Gated DeltaNet's decay (a_proj, A_log, dt_bias, D)."""

    def __init__(self, d_model, num_heads, key_dim, value_dim, use_beta=True, use_gate=False, use_short_conv=True,
                 conv_size=4, conv_bias=False, allow_neg_eigval=False, qk_activation="silu", norm_eps=1e-5,
                 gated=False):
        super().__init__()
        self.H, self.gated, self.use_beta, self.use_gate = num_heads, gated, use_beta, use_gate
        self.use_short_conv, self.allow_neg_eigval, self.qk_activation = use_short_conv, allow_neg_eigval, qk_activation
        self.dk, self.dv = key_dim // num_heads, value_dim // num_heads
        self.q_proj = nn.Linear(d_model, key_dim, bias=False)
        self.k_proj = nn.Linear(d_model, key_dim, bias=False)
        self.v_proj = nn.Linear(d_model, value_dim, bias=False)
        if use_beta:
            self.b_proj = nn.Linear(d_model, num_heads, bias=False)
        if gated:
            self.a_proj = nn.Linear(d_model, num_heads, bias=False)
            self.A_log = nn.Parameter(torch.log(torch.empty(num_heads).uniform_(0, 16)))
            # never read by the forward, so never trained (zoo holds it as a buffer): frozen here
            # too, so that both sides count the same trainable parameters
            self.D = nn.Parameter(torch.ones(num_heads), requires_grad=False)
            self.dt_bias = nn.Parameter(torch.zeros(num_heads))
        if use_short_conv:
            qk_act = "silu" if qk_activation == "silu" else None
            self.q_conv1d = ShortConvolution(key_dim, conv_size, conv_bias, qk_act)
            self.k_conv1d = ShortConvolution(key_dim, conv_size, conv_bias, qk_act)
            self.v_conv1d = ShortConvolution(value_dim, conv_size, conv_bias, "silu")
        if use_gate:
            self.g_proj = nn.Linear(d_model, value_dim, bias=False)
            self.o_norm = FusedRMSNormSwishGate(self.dv, norm_eps)
        else:
            self.o_norm = RMSNorm(self.dv, norm_eps)
        self.o_proj = nn.Linear(value_dim, d_model, bias=False)

    def forward(self, x):
        """Token by token; returns the output and the floats carried per batch row."""
        Bsz, L, _ = x.shape
        H, dk, dv = self.H, self.dk, self.dv
        S = x.new_zeros(Bsz, H, dk, dv)
        caches = None
        if self.use_short_conv:
            caches = [m.new_cache(Bsz) for m in (self.q_conv1d, self.k_conv1d, self.v_conv1d)]
        outs = []
        for t in range(L):
            xt = x[:, t]
            q, k, v = self.q_proj(xt), self.k_proj(xt), self.v_proj(xt)
            if self.use_short_conv:
                q, caches[0] = self.q_conv1d.step(q, caches[0])
                k, caches[1] = self.k_conv1d.step(k, caches[1])
                v, caches[2] = self.v_conv1d.step(v, caches[2])
            else:
                if self.qk_activation == "silu":
                    q, k = F.silu(q), F.silu(k)
                v = F.silu(v)
            q, k = qk_map(q, self.qk_activation), qk_map(k, self.qk_activation)
            q = l2norm(q.reshape(Bsz, H, dk)) * dk ** -0.5
            k = l2norm(k.reshape(Bsz, H, dk))
            v = v.reshape(Bsz, H, dv)
            beta = torch.sigmoid(self.b_proj(xt)) if self.use_beta else x.new_ones(Bsz, H)
            if self.allow_neg_eigval:
                beta = beta * 2.0
            if self.gated:
                gl = -self.A_log.exp() * F.softplus(self.a_proj(xt) + self.dt_bias)
                S = S * gl.exp()[..., None, None]
            # the delta rule: read what S stores under k, write beta (v - that) under k
            v_new = v - torch.einsum("bhkv,bhk->bhv", S, k)
            S = S + beta[..., None, None] * torch.einsum("bhk,bhv->bhkv", k, v_new)
            outs.append(torch.einsum("bhkv,bhk->bhv", S, q))
        o = torch.stack(outs, dim=1)  # (B, L, H, dv)
        if self.use_gate:
            o = self.o_norm(o, self.g_proj(x).reshape(Bsz, L, H, dv))
        else:
            o = self.o_norm(o)
        carried = S.numel() + (sum(c.numel() for c in caches) if caches else 0)
        return self.o_proj(o.reshape(Bsz, L, H * dv)), carried // Bsz




def make(cfg):
    m, k, D = cfg["mixer"], zt.knobs_of(cfg["knobs"]), cfg["D"]
    H, K, cb, gate = int(k["num_heads"]), int(k["conv_size"]), zt.truth(k["conv_bias"]), zt.truth(k["use_gate"])
    conv, eps = zt.truth(k["use_short_conv"]), float(k["norm_eps"])
    if m == "delta_net":
        return DeltaNet(D, H, int(D * float(k["expand_k"])), int(D * float(k["expand_v"])), zt.truth(k["use_beta"]), gate,
                        conv, K, cb, zt.truth(k["allow_neg_eigval"]), k["qk_activation"], eps)
    if m == "gated_delta_net":
        hd = D // H
        return DeltaNet(D, H, H * hd, H * hd * int(k["expand_v"]), True, gate, conv, K, cb, False, "silu", eps,
                        gated=True)
    raise ValueError("no reference for mixer %s" % m)



def run(model, x, cfg, what):
    out, carried = model(x)
    return out, zt.check_carried(carried, cfg, what)


if __name__ == "__main__":  # importable: a benchmark can build its PyTorch models from make()
    # what the reference trains: parameters a gradient reaches (Gated DeltaNet's D never
    # gets one, so PyTorch's optimiser skips it; zoo holds it as a buffer)
    zt.mixer_main(lambda path: zt.check_mixer(path, make, run, trained_by_grad=True))
