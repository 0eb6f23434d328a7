"""check_mamba_model.py <dir>: what test_mamba_model.c wrote in <dir> (ckpt.h5, data.h5,
ref.h5) against a PyTorch reference of the Zoology Mamba model: MambaBlocks (residual
add, RMSNorm eps 1e-5, mixer; no MLP, no dropout) around the Mamba v1 mixer
(docs/mixers.md, mamba), written as mamba_simple.Mamba's slow path with selective_scan_ref's loop,
then LN_f (a LayerNorm) and the tied head. Module and parameter names are Zoology's
state_dict names. The comparison itself is tests/torchmodel/check_model.py's, run with
this reference's loader. Exit 0 pass, 1 mismatch, 77 when torch or h5py is missing.
"""
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "torchmodel"))

try:
    import h5py
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:
    print("SKIP: %s" % e, file=sys.stderr)
    sys.exit(77)

import check_model  # noqa: E402
import zoology_ref  # noqa: E402

DEFAULTS = {"d_state": "16", "d_conv": "4", "expand": "2", "dt_rank": "0", "conv_bias": "true", "bias": "false"}


def truthy(v):
    return str(v).lower() in ("true", "1", "yes", "on")


class Mamba(nn.Module):
    """[x, z] = in_proj(u); x = SiLU(conv1d(x)); [dt, B, C] = x_proj(x);
    delta = softplus(dt_proj(dt)); the selective scan with A = -exp(A_log) and the D
    skip; y * SiLU(z); out_proj."""

    def __init__(self, d_model, d_state, d_conv, expand, dt_rank, conv_bias, bias):
        super().__init__()
        self.d_inner = expand * d_model
        self.d_state = d_state
        self.dt_rank = math.ceil(d_model / 16) if dt_rank == 0 else dt_rank
        Di = self.d_inner
        self.in_proj = nn.Linear(d_model, 2 * Di, bias=bias)
        self.conv1d = nn.Conv1d(Di, Di, d_conv, groups=Di, padding=d_conv - 1, bias=conv_bias)
        self.x_proj = nn.Linear(Di, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, Di, bias=True)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(Di, 1))
        self.D = nn.Parameter(torch.ones(Di))
        self.out_proj = nn.Linear(Di, d_model, bias=bias)

    def forward(self, u):
        Bn, L, _ = u.shape
        x, z = self.in_proj(u).chunk(2, dim=-1)  # (B, L, Di) each
        x = F.silu(self.conv1d(x.transpose(1, 2))[..., :L]).transpose(1, 2)
        dt, Bm, Cm = torch.split(self.x_proj(x), [self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.softplus(self.dt_proj(dt))  # (B, L, Di)
        A = -torch.exp(self.A_log)  # (Di, N)
        h = torch.zeros(Bn, self.d_inner, self.d_state, dtype=u.dtype, device=u.device)
        ys = []
        for t in range(L):
            h = torch.exp(delta[:, t, :, None] * A) * h + (delta[:, t] * x[:, t])[..., None] * Bm[:, t, None, :]
            ys.append((h * Cm[:, t, None, :]).sum(-1))
        y = torch.stack(ys, dim=1) + x * self.D
        return self.out_proj(y * F.silu(z))


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class MambaBlock(nn.Module):
    """Add -> RMSNorm -> mixer, returning (mixer output, residual)."""

    def __init__(self, d_model, mixer):
        super().__init__()
        self.mixer = mixer
        self.norm = RMSNorm(d_model)

    def forward(self, h, r):
        r = h if r is None else h + r
        return self.mixer(self.norm(r)), r


class Backbone(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D = cfg["d_model"]
        self.embeddings = zoology_ref.TokenEmbeddings(D, cfg["vocab"], 0)
        self.layers = nn.ModuleList([MambaBlock(D, Mamba(D, **cfg["mamba"])) for _ in range(cfg["n_layers"])])
        self.ln_f = nn.LayerNorm(D, eps=1e-5)

    def forward(self, x):
        h, r = self.embeddings(x), None
        for layer in self.layers:
            h, r = layer(h, r)
        return self.ln_f(h + r)


class LanguageModel(zoology_ref.LanguageModel):
    def __init__(self, cfg):
        nn.Module.__init__(self)
        self.backbone = Backbone(cfg)
        self.lm_head = nn.Linear(cfg["d_model"], cfg["vocab"], bias=False)
        self.lm_head.weight = self.backbone.embeddings.word_embeddings.weight


def config_from_attrs(attrs):
    a = {k: zoology_ref._attr_str(v) for k, v in attrs.items()}
    if a.get("mixer") != "mamba":
        raise ValueError("check_mamba_model expects mixer=mamba (checkpoint has mixer=%s)" % a.get("mixer"))
    k = {n: a.get("mixer.0." + n, d) for n, d in DEFAULTS.items()}
    return {
        "vocab": int(a["vocab"]), "seq_len": int(a["seq_len"]), "d_model": int(a["d_model"]),
        "n_layers": int(a["n_layers"]),
        "mamba": {"d_state": int(k["d_state"]), "d_conv": int(k["d_conv"]), "expand": int(k["expand"]),
                  "dt_rank": int(k["dt_rank"]), "conv_bias": truthy(k["conv_bias"]), "bias": truthy(k["bias"])},
    }


def load_checkpoint(path, dtype=torch.float64):
    """(model, cfg) from a zoo checkpoint, strict by name and shape."""
    with h5py.File(path, "r") as f:
        cfg = config_from_attrs(dict(f.attrs))
        state = {k: torch.tensor(np.asarray(f[k]), dtype=dtype) for k in f.keys()}
    model = LanguageModel(cfg).to(dtype)
    want = model.state_dict()
    missing, extra = sorted(set(want) - set(state)), sorted(set(state) - set(want))
    if missing or extra:
        raise ValueError("%s: state_dict names differ: missing %s, unexpected %s" % (path, missing, extra))
    for k, v in want.items():
        if tuple(v.shape) != tuple(state[k].shape):
            raise ValueError("%s: %s has shape %s, the reference expects %s" % (path, k, tuple(state[k].shape),
                                                                              tuple(v.shape)))
    model.load_state_dict(state, strict=True)
    return model, cfg


if __name__ == "__main__":
    check_model.zoology_ref.load_checkpoint = load_checkpoint
    sys.exit(check_model.main())
