"""zoology_ref.py: a PyTorch reference of the Zoology language model (docs/model.md with
the MHA of docs/mixers.md), written to check zoo's C model, not to train anything. Module and
parameter names follow the Zoology code, so its state_dict keys are the names zoo's
checkpoints use. Only the attention mixer is implemented here; cfg["make_mixer"] lets a
caller put another mixer's module (e.g. from tests/mixers_ref/ref_mixers.py) in each layer.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class MHA(nn.Module):
    """Zoology's MHA: fused qkv projection (columns q | k | v, heads contiguous),
    scores scaled by 1/sqrt(head_dim) plus an additive -10000 causal mask (not -inf),
    softmax, dropout on the probabilities, weighted sum, output projection."""

    def __init__(self, d_model, num_heads=1, dropout=0.0, bias=True):
        super().__init__()
        assert d_model % num_heads == 0
        self.d_model, self.num_heads, self.head_dim = d_model, num_heads, d_model // num_heads
        self.Wqkv = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)
        self.dropout_p = dropout

    def forward(self, x):
        B, L, D = x.shape
        H, dh = self.num_heads, self.head_dim
        qkv = self.Wqkv(x).view(B, L, 3, H, dh)
        q, k, v = qkv.unbind(dim=2)  # (B, L, H, dh) each
        scores = torch.einsum("bthd,bshd->bhts", q, k * (1.0 / math.sqrt(dh)))
        mask = torch.triu(torch.full((L, L), -10000.0, dtype=x.dtype, device=x.device), 1)
        att = torch.softmax(scores + mask, dim=-1)
        att = F.dropout(att, self.dropout_p, self.training)
        out = torch.einsum("bhts,bshd->bthd", att, v).reshape(B, L, D)
        return self.out_proj(out)


class MLP(nn.Module):
    """The optional state mixer: fc1 D -> 4D, exact-erf GELU, fc2 4D -> D."""

    def __init__(self, d_model):
        super().__init__()
        self.fc1 = nn.Linear(d_model, 4 * d_model)
        self.fc2 = nn.Linear(4 * d_model, d_model)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class TransformerBlock(nn.Module):
    """Pre-norm block with the residual carried separately (docs/model.md). With the
    Identity state mixer the block still returns LN2(r), which the next block (or the
    backbone's end) adds to the residual: the identity is not a no-op."""

    def __init__(self, d_model, mixer, state_mixer, dropout1):
        super().__init__()
        self.sequence_mixer = mixer
        self.state_mixer = state_mixer
        self.dropout1 = nn.Dropout(dropout1)
        self.norm1 = nn.LayerNorm(d_model, eps=1e-5)
        self.dropout2 = nn.Dropout(0.0)
        self.norm2 = nn.LayerNorm(d_model, eps=1e-5)

    def forward(self, h, r):
        a = self.dropout1(h)
        r = a if r is None else a + r
        h = self.sequence_mixer(self.norm1(r))
        r = self.dropout2(h) + r
        h = self.state_mixer(self.norm2(r))
        return h, r


class TokenEmbeddings(nn.Module):
    def __init__(self, d_model, vocab, max_positions):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, d_model)
        self.max_positions = max_positions
        if max_positions > 0:
            self.position_embeddings = nn.Embedding(max_positions, d_model)

    def forward(self, x):
        h = self.word_embeddings(x)
        if self.max_positions > 0:
            h = h + self.position_embeddings(torch.arange(x.shape[1], device=x.device))
        return h


class LMBackbone(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D = cfg["d_model"]
        self.embeddings = TokenEmbeddings(D, cfg["vocab"], cfg["seq_len"] if cfg["pos_emb"] else 0)
        layers = []
        make_mixer = cfg.get("make_mixer")  # optional: layer index -> another mixer's module
        for l in range(cfg["n_layers"]):
            mixer = make_mixer(l) if make_mixer else MHA(D, cfg["num_heads"], cfg["attn_dropout"], cfg["attn_bias"])
            state = MLP(D) if cfg["state_mixer"] == "mlp" else nn.Identity()
            layers.append(TransformerBlock(D, mixer, state, cfg["embed_dropout"] if l == 0 else 0.0))
        self.layers = nn.ModuleList(layers)
        self.drop_f = nn.Dropout(0.0)
        self.ln_f = nn.LayerNorm(D, eps=1e-5)

    def forward(self, x):
        h, r = self.embeddings(x), None
        for layer in self.layers:
            h, r = layer(h, r)
        r = self.drop_f(h) + r
        return self.ln_f(r)


class LanguageModel(nn.Module):
    """Backbone + tied head; loss = CE over every position, ignore_index -100 (the full
    head: zoo computes only the supervised rows, which must give the same numbers)."""

    def __init__(self, cfg):
        super().__init__()
        self.backbone = LMBackbone(cfg)
        self.lm_head = nn.Linear(cfg["d_model"], cfg["vocab"], bias=False)
        self.lm_head.weight = self.backbone.embeddings.word_embeddings.weight

    def forward(self, x):
        return self.lm_head(self.backbone(x))

    def loss(self, x, y):
        logits = self(x)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=-100)


def _attr_str(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def config_from_attrs(attrs):
    """Model settings from a zoo checkpoint's spec attributes (attention only)."""
    a = {k: _attr_str(v) for k, v in attrs.items()}
    if a.get("mixer") != "attention":
        raise ValueError("zoology_ref implements the attention mixer only (checkpoint has mixer=%s)" % a.get("mixer"))

    def knob(name, default):
        return a.get("mixer.0." + name, default)

    pos = a.get("pos_emb", "auto")
    return {
        "vocab": int(a["vocab"]),
        "seq_len": int(a["seq_len"]),
        "d_model": int(a["d_model"]),
        "n_layers": int(a["n_layers"]),
        "state_mixer": a.get("state_mixer", "identity"),
        "pos_emb": pos in ("on", "auto", "1", "true"),  # auto = on for attention
        "embed_dropout": float(a.get("embed_dropout", "0.1")),
        "num_heads": int(knob("num_heads", "1")),
        "attn_dropout": float(knob("dropout", "0.1")),
        "attn_bias": knob("bias", "true").lower() in ("true", "1", "yes", "on"),
    }


def load_checkpoint(path, dtype=torch.float64):
    """(model, cfg) built from a zoo checkpoint: the spec from the root attributes, the
    weights by state_dict name. Raises when the checkpoint's datasets and the model's
    state_dict keys differ in names or shapes."""
    import h5py

    with h5py.File(path, "r") as f:
        cfg = config_from_attrs(dict(f.attrs))
        state = {k: torch.tensor(np.asarray(f[k]), dtype=dtype) for k in f.keys()}
    model = LanguageModel(cfg).to(dtype)
    want = model.state_dict()
    missing = sorted(set(want) - set(state))
    extra = sorted(set(state) - set(want))
    if missing or extra:
        raise ValueError("%s: state_dict names differ: missing %s, unexpected %s" % (path, missing, extra))
    for k, v in want.items():
        if tuple(v.shape) != tuple(state[k].shape):
            raise ValueError("%s: %s has shape %s, the reference expects %s" % (path, k, tuple(state[k].shape), tuple(v.shape)))
    model.load_state_dict(state, strict=True)
    return model, cfg
