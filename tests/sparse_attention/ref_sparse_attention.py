"""ref_sparse_attention.py <dirs>: PyTorch float64 references of Zoology's selective.py
modules (the section 5 sparse attention, docs/mixers.md, sparse_attention), written from
the published description and the modules' structure: the same module tree (Wqkv,
selecting, out_proj; the inner attention has no parameters), so their state_dict keys
are zoo's parameter names. SelectiveLookups ("softmax"): selection = softmax over the
sequence of the score, times sqrt(D)/8; SigmoidLookups ("sigmoid"): sigmoid of a
bias-free score. Training mode: y = attn * selection + x; eval mode: only the k
(n_lookups, else ceil(sqrt(L))) positions with the largest selection get attn *
selection added (a gather and a scatter-add, out of place here so x keeps its
gradient). SigmoidLookups' auxiliary loss is not part of y (the C test checks it). The
rule "gate" (zoo's causal alternative) gates each position by sigmoid(score) * sqrt(D)/8
in both modes. Each dump directory (from test_sparse_attention.c) is loaded with
load_state_dict(strict=True); output, x.grad and every parameter gradient are compared.
Exit 0 pass, 1 mismatch, 77 torch missing."""
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402

try:
    import torch
    import torch.nn as nn
except ImportError:
    print("SKIP: torch is not importable", file=sys.stderr)
    sys.exit(zt.SKIP)


class CausalSelfAttention(nn.Module):
    """Multi-head softmax attention with the additive -10000 causal mask; no parameters."""

    def forward(self, q, k, v):  # (B, L, H, hd) each
        L, hd = q.shape[1], q.shape[-1]
        scores = torch.einsum("bthd,bshd->bhts", q, k / math.sqrt(hd))
        mask = torch.triu(torch.full((L, L), -10000.0, dtype=scores.dtype), 1)
        att = torch.softmax(scores + mask, dim=-1)
        return torch.einsum("bhts,bshd->bthd", att, v)


class SelectiveLookups(nn.Module):
    def __init__(self, d_model, num_heads=1, bias=True, selection="softmax", n_lookups=0):
        super().__init__()
        self.d_model, self.num_heads, self.selection, self.n_lookups = d_model, num_heads, selection, n_lookups
        self.Wqkv = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.selecting = nn.Linear(d_model, 1, bias=selection != "sigmoid")
        self.inner_attn = CausalSelfAttention()
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        B, L, D = x.shape
        H = self.num_heads
        q, k, v = self.Wqkv(x).reshape(B, L, 3, H, D // H).unbind(dim=2)
        attn = self.out_proj(self.inner_attn(q, k, v).reshape(B, L, D))
        score = self.selecting(x)  # (B, L, 1)
        if self.selection == "gate":
            return attn * (torch.sigmoid(score) * math.sqrt(D) / 8) + x
        if self.selection == "sigmoid":
            sel = torch.sigmoid(score)
        else:
            sel = torch.softmax(score, dim=1) * math.sqrt(D) / 8
        if self.training:
            return attn * sel + x
        n = self.n_lookups if self.n_lookups > 0 else math.ceil(math.sqrt(L))
        top = torch.topk(sel, k=n, dim=1, sorted=False).indices.repeat(1, 1, D)
        return x.clone().scatter_add(1, top, torch.gather(attn * sel, 1, top))


def make(cfg):
    k = zt.knobs_of(cfg["knobs"])
    return SelectiveLookups(cfg["D"], int(k["num_heads"]), zt.truth(k["bias"]), k["selection"], int(k["n_lookups"]))


def make_case(cfg):
    """SelectiveLookups in the dump's mode (training: softmax weights; eval: top-k)."""
    model = make(cfg)
    model.train(bool(cfg["training"]))
    return model


if __name__ == "__main__":  # importable: a benchmark can build the PyTorch module
    zt.mixer_main(lambda path: zt.check_mixer(path, make_case))
