"""ref_rwkv7.py <dirs>: a PyTorch float64 reference of Zoology's RWKV7Attention (the
RWKV-7 time mix, docs/mixers.md, rwkv7), written from the RWKV-7 equations and the
module's code with the same module tree, so its state_dict keys are the names zoo gives
its parameters. The fla pieces it calls are written out: LoRA (Linear, activation,
Linear), the per-head l2 norm x / sqrt(|x|^2 + 1e-6), the GroupNorm over heads, and the
generalized delta rule as its naive recurrence in RWKV's orientation (state dv x dk):
    S_t = S_{t-1} diag(exp(w_t)) + (S_{t-1} a_t) b_t^T + v_t k_t^T,  o_t = S_t r_t
with w the log decay, a = -kk, b = kk * a_gate. Each dump directory (test_rwkv7.c) is
loaded with load_state_dict(strict=True); the forward output, the gradient of x and of
every parameter are compared, the trainable sets must be equal, and the state the
recurrent form carries from step to step (per batch row: S and the previous token)
must have zoo's state_size elements. Exit 0 pass, 1 mismatch, 77 torch missing.
"""
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


class LoRA(nn.Module):
    def __init__(self, d_in, d_out, rank, activation, bias=True):
        super().__init__()
        act = {None: nn.Identity(), "tanh": nn.Tanh(), "sigmoid": nn.Sigmoid()}[activation]
        self.lora = nn.Sequential(nn.Linear(d_in, rank, bias=False), act, nn.Linear(rank, d_out, bias=bias))

    def forward(self, x):
        return self.lora(x)


class GroupNorm(nn.Module):
    """Normalise each of `groups` contiguous channel groups (biased variance, eps inside
    the root), then a per-channel weight and bias."""

    def __init__(self, groups, hidden, affine, eps):
        super().__init__()
        self.groups, self.eps = groups, eps
        if affine:
            self.weight = nn.Parameter(torch.ones(hidden))
            self.bias = nn.Parameter(torch.zeros(hidden))
        else:
            self.weight = self.bias = None

    def forward(self, x):
        xs = x.reshape(*x.shape[:-1], self.groups, -1)
        xs = xs - xs.mean(-1, keepdim=True)
        xs = xs / torch.sqrt(xs.square().mean(-1, keepdim=True) + self.eps)
        y = xs.reshape(x.shape)
        return y * self.weight + self.bias if self.weight is not None else y


def l2_norm(x, eps=1e-6):
    return x / torch.sqrt(x.square().sum(-1, keepdim=True) + eps)


class RWKV7Attention(nn.Module):
    def __init__(self, hidden, head_dim, num_heads, decay_rank, gate_rank, a_rank, v_rank, affine, norm_eps,
                 layer_idx):
        super().__init__()
        if head_dim and num_heads:
            raise ValueError("Cannot specify both head_dim and num_heads")
        self.head_dim = head_dim if head_dim else hidden // num_heads
        self.num_heads = hidden // self.head_dim
        self.layer_idx = layer_idx
        self.x_x = nn.Parameter(torch.zeros(6, hidden))
        self.k_k = nn.Parameter(torch.zeros(hidden))
        self.k_a = nn.Parameter(torch.zeros(hidden))
        self.r_k = nn.Parameter(torch.zeros(self.num_heads, self.head_dim))
        self.r_proj = nn.Linear(hidden, hidden, bias=False)
        self.k_proj = nn.Linear(hidden, hidden, bias=False)
        self.v_proj = nn.Linear(hidden, hidden, bias=False)
        self.o_proj = nn.Linear(hidden, hidden, bias=False)
        self.w_lora = LoRA(hidden, hidden, decay_rank, "tanh")
        if layer_idx != 0:
            self.v_lora = LoRA(hidden, hidden, v_rank, None)
        self.a_lora = LoRA(hidden, hidden, a_rank, None)
        self.g_lora = LoRA(hidden, hidden, gate_rank, "sigmoid", bias=False)
        self.g_norm = GroupNorm(self.num_heads, hidden, affine, self.head_dim * norm_eps)
        self.carried = 0  # floats per batch row the recurrence carried (set by forward)

    def recurrence(self, r, w, k, v, a, b):
        """(B, T, H, N) each; w the log decay. Returns o (B, T, H, N)."""
        B, T, H, N = r.shape
        S = torch.zeros(B, H, N, N, dtype=r.dtype)  # [b, h, value i, key j]
        out = []
        for t in range(T):
            sa = torch.einsum("bhij,bhj->bhi", S, a[:, t])
            S = (S * torch.exp(w[:, t])[:, :, None, :] + sa[..., None] * b[:, t][:, :, None, :]
                 + v[:, t][..., None] * k[:, t][:, :, None, :])
            out.append(torch.einsum("bhij,bhj->bhi", S, r[:, t]))
        self.carried = S[0].numel()
        return torch.stack(out, dim=1)

    def forward(self, x):
        B, T, D = x.shape
        shifted = nn.functional.pad(x, (0, 0, 1, -1))  # ZeroPad2d((0, 0, 1, -1)): x_{t-1}, zero at t = 0
        self.carried_shift = shifted[0, -1].numel()  # the previous token, carried to the next step
        delta = shifted - x
        xr, xw, xk, xv, xa, xg = x.addcmul(delta, self.x_x.view(6, 1, 1, -1)).unbind(0)
        r = self.r_proj(xr)
        w = -math.exp(-0.5) * torch.sigmoid(self.w_lora(xw))
        k = self.k_proj(xk)
        v = self.v_proj(xv)  # v_first is never passed by Zoology's blocks: every layer is "first"
        a = torch.sigmoid(self.a_lora(xa))
        g = self.g_lora(xg)
        kk = l2_norm((k * self.k_k).view(B, T, self.num_heads, -1)).view(B, T, -1)
        k = k.addcmul(k * (a - 1), self.k_a)
        heads = [z.view(B, T, self.num_heads, self.head_dim) for z in (r, w, k, v, kk, a)]
        r4, w4, k4, v4, kk4, a4 = heads
        o = self.recurrence(r4, w4, k4, v4, -kk4, kk4 * a4)
        o = self.g_norm(o.reshape(B, T, D))
        o = o + ((r4 * k4 * self.r_k).sum(-1, keepdim=True) * v4).view(B, T, D)
        return self.o_proj(o * g)



def make(cfg):
    k = zt.knobs_of(cfg["knobs"])
    hidden = int(k["d_state"]) or cfg["D"]
    return RWKV7Attention(hidden, int(k["head_dim"]), int(k["num_heads"]), int(k["decay_low_rank_dim"]),
                          int(k["gate_low_rank_dim"]), int(k["a_low_rank_dim"]), int(k["v_low_rank_dim"]),
                          k["elementwise_affine"] in ("true", "1", "yes"), float(k["norm_eps"]), cfg["layer_idx"])



def run(model, x, cfg, what):
    """The WKV state and the previous token (v_lora is never reached: its gradient is 0)."""
    out = model(x)
    return out, zt.check_carried(model.carried + model.carried_shift, cfg, what,
                                 "the recurrent form (S %d + previous token %d)" % (model.carried, model.carried_shift))


if __name__ == "__main__":  # importable: a benchmark can build the PyTorch module from make()
    zt.mixer_main(lambda path: zt.check_mixer(path, make, run))
