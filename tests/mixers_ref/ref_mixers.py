"""ref_mixers.py <dirs>: PyTorch float64 references of the Zoology mixers BaseConv,
Hyena, H3, Based (and plain linear attention), SlidingAttn and RWKV (v4), written after the Zoology
modules (docs/mixers.md) with the same module tree, so that their
state_dict keys are the names zoo gives its parameters. Each dump directory (from
test_mixers_ref.c) is loaded with load_state_dict(strict=True); then the forward output,
the gradient of x and of every parameter are compared, and the set of trainable
parameters must match zoo's. Exit 0 pass, 1 mismatch, 77 torch missing.
"""
import math
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


# ---- shared pieces (zoology/mixers/convolution.py, hyena.py) --------------------------
def fft_conv(u, k, D=None):
    """Causal conv of u (b, d, l) with k (d, l): rfft over 2L, k's spectrum / 2L, irfft
    with norm="forward", first L; + u (BaseConv's helper) or + u * D (Hyena's)."""
    L = u.shape[-1]
    n = 2 * L
    k_f = torch.fft.rfft(k, n=n) / n
    u_f = torch.fft.rfft(u, n=n)
    y = torch.fft.irfft(u_f * k_f, n=n, norm="forward")[..., :L]
    return y + (u if D is None else u * D.unsqueeze(-1))


def positional_z(emb_dim, seq_len):
    t = torch.linspace(0, 1, seq_len, dtype=torch.float64)[None, :, None]
    bands = (emb_dim - 1) // 2
    t_rescaled = torch.linspace(0, seq_len - 1, seq_len, dtype=torch.float64)[None, :, None]
    w = 2 * math.pi * t_rescaled / seq_len
    f = torch.linspace(1e-4, bands - 1, bands, dtype=torch.float64)[None, None]
    z = torch.exp(-1j * f * w)
    return torch.cat([t, z.real, z.imag], dim=-1), t


class ShortConvolution(nn.Module):
    def __init__(self, d_model, kernel_size):
        super().__init__()
        self.conv = nn.Conv1d(d_model, d_model, kernel_size, groups=d_model, padding=kernel_size - 1)

    def forward(self, x):
        return self.conv(x.transpose(1, 2))[..., :x.size(1)].transpose(1, 2)


class ConvPositionalEmbedding(nn.Module):
    def __init__(self, emb_dim, seq_len):
        super().__init__()
        z, _ = positional_z(emb_dim, seq_len)
        self.z = nn.Parameter(z, requires_grad=False)


class ImplicitLongConvolution(nn.Module):
    """BaseConv's implicit filter: MLP(Linear(3, 16), ReLU, Linear(16, D)) of frozen z."""

    def __init__(self, d_model, l_max, d_emb=3, d_hidden=16):
        super().__init__()
        self.pos_emb = ConvPositionalEmbedding(d_emb, l_max)
        self.mlp = nn.Sequential(nn.Linear(d_emb, d_hidden), nn.ReLU(), nn.Linear(d_hidden, d_model))

    def forward(self, x):
        L = x.shape[1]
        k = self.mlp(self.pos_emb.z[:, :L])[0].transpose(0, 1)  # (D, L)
        return fft_conv(x.transpose(1, 2), k).transpose(1, 2)


class LongConvolution(nn.Module):
    def __init__(self, d_model, l_max):
        super().__init__()
        self.filter = nn.Parameter(torch.randn(d_model, l_max))

    def forward(self, x):
        # taps past L cannot reach the first L outputs when l_max <= L + 1 (the tests' case)
        return fft_conv(x.transpose(1, 2), self.filter[:, :x.shape[1]]).transpose(1, 2)


class BaseConv(nn.Module):
    def __init__(self, d_model, l_max, kernel_size, layer_idx, implicit_long_conv=True, use_act=False):
        super().__init__()
        self.use_act = use_act
        self.projection = nn.Linear(d_model, d_model)
        if isinstance(kernel_size, list):
            kernel_size = kernel_size[layer_idx] if len(kernel_size) > 1 else kernel_size[0]
        if kernel_size == -1:
            self.conv = (ImplicitLongConvolution if implicit_long_conv else LongConvolution)(d_model, l_max)
        else:
            self.conv = ShortConvolution(d_model, kernel_size)

    def forward(self, u):
        u_conv, u_proj = self.conv(u), self.projection(u)
        y = F.silu(u_conv) * F.silu(u_proj) if self.use_act else u_conv * u_proj
        return y + u


# ---- Hyena (zoology/mixers/hyena.py) ---------------------------------------------------
class Sin(nn.Module):
    def __init__(self, dim, w):
        super().__init__()
        self.freq = nn.Parameter(w * torch.ones(1, dim))

    def forward(self, x):
        return torch.sin(self.freq * x)


class HyenaPositionalEmbedding(nn.Module):
    def __init__(self, emb_dim, seq_len):
        super().__init__()
        z, t = positional_z(emb_dim, seq_len)
        self.z = nn.Parameter(z)  # lr 1e-5 in the repo: still a trained Parameter
        self.register_buffer("t", t)


class ExponentialModulation(nn.Module):
    def __init__(self, d_model, fast_decay_pct=0.3, slow_decay_pct=1.5, target=1e-2):
        super().__init__()
        max_decay, min_decay = math.log(target) / fast_decay_pct, math.log(target) / slow_decay_pct
        self.register_buffer("deltas", torch.linspace(min_decay, max_decay, d_model)[None, None])

    def forward(self, t, x):
        return x * torch.exp(-t * self.deltas.abs())


class Filter(nn.Module):
    def __init__(self, d_model, emb_dim, order, seq_len, w, num_inner_mlps, modulate, bias):
        super().__init__()
        self.modulate, self.use_bias = modulate, bias
        self.bias = nn.Parameter(torch.randn(d_model))
        act = Sin(order, w)  # one module at every odd index: a shared frequency
        self.pos_emb = HyenaPositionalEmbedding(emb_dim, seq_len)
        layers = [nn.Linear(emb_dim, order), act]
        for _ in range(num_inner_mlps):
            layers += [nn.Linear(order, order), act]
        layers.append(nn.Linear(order, d_model, bias=False))
        self.implicit_filter = nn.Sequential(*layers)
        self.modulation = ExponentialModulation(d_model)

    def filter(self, L):
        z, t = self.pos_emb.z[:, :L], self.pos_emb.t[:, :L]
        h = self.implicit_filter(z)
        return self.modulation(t, h) if self.modulate else h


class Hyena(nn.Module):
    def __init__(self, d_model, l_max, filter_order, short_filter_order, num_inner_mlps, emb_dim, w, modulate, bias):
        super().__init__()
        self.d_model = d_model
        self.in_proj = nn.Linear(d_model, 3 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.short_filter = nn.Conv1d(3 * d_model, 3 * d_model, short_filter_order, groups=3 * d_model,
                                      padding=short_filter_order - 1)
        self.filter_fn = Filter(d_model, emb_dim, filter_order, l_max, w, num_inner_mlps, modulate, bias)

    def forward(self, u):
        L = u.size(1)
        u = self.in_proj(u).transpose(1, 2)
        uc = self.short_filter(u)[..., :L]
        x1, x2, v = uc.split(self.d_model, dim=1)
        v = v * x1
        k = self.filter_fn.filter(L)[0].transpose(0, 1)  # (D, L)
        bias = self.filter_fn.bias if self.filter_fn.use_bias else 0 * self.filter_fn.bias
        v = fft_conv(v, k, bias) * x2
        return self.out_proj(v.transpose(1, 2))


# ---- H3 (zoology/mixers/h3/*.py) ---------------------------------------------------------
class ShiftKernel(nn.Module):
    def __init__(self, H, N):
        super().__init__()
        self.B = nn.Parameter(torch.zeros(H, N))
        self.C = nn.Parameter(torch.zeros(1, H, N))

    def forward(self, L):
        N = self.B.shape[-1]
        k = torch.fft.irfft(torch.fft.rfft(self.B, n=2 * N).conj() * torch.fft.rfft(self.C, n=2 * N), n=2 * N)
        k = k[..., :min(N, L)]
        if N < L:
            k = F.pad(k, (0, L - N))
        return k


class DiagKernel(nn.Module):
    """SSKernelDiag, real_type exp, bilinear, naive Vandermonde."""

    def __init__(self, H, N2):
        super().__init__()
        self.C = nn.Parameter(torch.zeros(1, H, N2, 2))
        self.log_dt = nn.Parameter(torch.zeros(H))
        self.B = nn.Parameter(torch.zeros(H, N2, 2))
        self.inv_A_real = nn.Parameter(torch.zeros(H, N2))
        self.A_imag = nn.Parameter(torch.zeros(H, N2))

    def forward(self, L):
        dt = torch.exp(self.log_dt)
        C = torch.view_as_complex(self.C)
        A = -torch.exp(self.inv_A_real) + 1j * self.A_imag
        B = torch.view_as_complex(self.B)[None]
        dtA = A * dt.unsqueeze(-1)
        C = (B[:, None, :, :] * C).view(-1, A.shape[0], A.shape[1])
        C = C * (1.0 - dtA / 2).reciprocal() * dt.unsqueeze(-1)
        dA = (1.0 + dtA / 2) / (1.0 - dtA / 2)
        # the model's precision (float32 in bench/run.py) and device
        t = torch.arange(L, dtype=self.log_dt.dtype, device=self.log_dt.device)
        return 2 * torch.einsum("chn,hnl->chl", C, torch.exp(dA.log().unsqueeze(-1) * t)).real


class Wrap(nn.Module):
    def __init__(self, kernel):
        super().__init__()
        self.kernel = kernel


class H3(nn.Module):
    def __init__(self, d_model, d_state, l_max, head_dim):
        super().__init__()
        self.d_model, self.head_dim, self.H, self.N, self.L = d_model, head_dim, d_model // head_dim, d_state, l_max
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.ssm_k_kernel = Wrap(ShiftKernel(d_model, d_state))
        self.ssm_k_D = nn.Parameter(torch.randn(d_model))
        self.kernel = Wrap(DiagKernel(self.H, d_state // 2))
        self.D = nn.Parameter(torch.randn(self.H))
        self.output_linear = nn.Linear(d_model, d_model)

    def forward(self, u):
        L = u.size(-2)
        L_kernel = min(L, self.L)
        ssm_kernel = self.kernel.kernel(L_kernel)[0]  # (H, L)
        q, k, v = [p(u).transpose(1, 2) for p in (self.q_proj, self.k_proj, self.v_proj)]  # (b, D, l)
        fft_size = L_kernel + L
        ssm_k_kernel = self.ssm_k_kernel.kernel(L_kernel)[0]
        k = torch.fft.irfft(torch.fft.rfft(ssm_k_kernel, n=fft_size) * torch.fft.rfft(k, n=fft_size),
                            n=fft_size)[..., :L] + self.ssm_k_D[:, None] * k
        b, hd, H = u.shape[0], self.head_dim, self.H
        kv = k.reshape(b, H, hd, 1, L).permute(0, 2, 3, 1, 4) * v.reshape(b, H, 1, hd, L).permute(0, 2, 3, 1, 4)
        kv_f = torch.fft.rfft(kv, n=fft_size) / fft_size
        y = torch.fft.irfft(kv_f * torch.fft.rfft(ssm_kernel, n=fft_size), n=fft_size, norm="forward")[..., :L]
        y = y + kv * self.D.unsqueeze(-1)  # b d1 d2 h l
        q = q.reshape(b, H, hd, 1, L).permute(0, 2, 3, 1, 4)
        y = (y * q).sum(dim=1)  # b d2 h l
        y = y.reshape(b, hd * H, L).transpose(1, 2)  # channel d2*H + h
        return self.output_linear(y)


# ---- Based / linear attention (zoology/mixers/based.py, feature_maps) -------------------
def feature_map(x, name):
    if name == "taylor_exp":
        f = x.shape[-1]
        x2 = (x.unsqueeze(-1) * x.unsqueeze(-2)).flatten(start_dim=-2) / math.sqrt(2)
        return torch.cat([torch.ones_like(x[..., :1]), x / math.sqrt(math.sqrt(f)), x2 / math.sqrt(f)], dim=-1)
    if name == "pos_elu":
        return F.elu(x) + 1
    if name == "relu":
        return F.relu(x).clamp(min=1e-12)
    return x


class Based(nn.Module):
    def __init__(self, d_model, feature_dim, num_heads, feature_name, eps, train_view):
        super().__init__()
        self.f, self.H, self.head_dim = feature_dim, num_heads, d_model // num_heads
        self.feature_name, self.eps, self.train_view = feature_name, eps, train_view
        self.proj_q = nn.Linear(d_model, feature_dim * num_heads, bias=False)
        self.proj_k = nn.Linear(d_model, feature_dim * num_heads, bias=False)
        self.proj_v = nn.Linear(d_model, num_heads * self.head_dim, bias=False)
        self.proj_o = nn.Linear(num_heads * self.head_dim, d_model, bias=False)

    def forward(self, x):
        b, l, _ = x.size()
        q = self.proj_q(x).view(b, l, self.H, self.f).transpose(1, 2)
        k = self.proj_k(x).view(b, l, self.H, self.f).transpose(1, 2)
        v = self.proj_v(x).view(b, l, self.H, self.head_dim).transpose(1, 2)
        q, k = feature_map(q, self.feature_name), feature_map(k, self.feature_name)
        if self.train_view == "quadratic":
            A = torch.einsum("bhnd,bhmd->bhnm", q, k).tril()
            y = torch.einsum("bhnm,bhme->bhne", A, v) / (A.sum(-1, keepdim=True) + self.eps)
        else:
            q, k, v = q.unsqueeze(-2), k.unsqueeze(-2), v.unsqueeze(-1)
            y = (q * (k * v).cumsum(dim=2)).sum(dim=-1) / ((q * k.cumsum(dim=2)).sum(dim=-1) + self.eps)
        return self.proj_o(y.transpose(1, 2).reshape(b, l, -1))


# ---- SlidingAttn (zoology/mixers/slide_attn.py) --------------------------------------------
class SlidingAttn(nn.Module):
    def __init__(self, d_model, block_size, bias=True):
        super().__init__()
        self.block_size = block_size
        self.Wqkv = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        qkv = self.Wqkv(x)
        L, D = qkv.shape[1], qkv.shape[2] // 3
        q, k, v = qkv.split(D, dim=-1)
        scores = torch.matmul(q, k.transpose(-1, -2) / math.sqrt(D))
        mask = torch.zeros(L, L, dtype=scores.dtype, device=scores.device)
        for i in range(L):
            mask[i, 0:max(0, i - self.block_size)] = -10000.0
            mask[i, i + 1:] = -10000.0
        return self.out_proj(torch.matmul(torch.softmax(scores + mask, dim=-1), v))


class RWKVTimeMixer(nn.Module):
    """Zoology's RWKVTimeMixer (v4, docs/mixers.md): its constructor init (n_layer is
    never passed by Zoology, hence 12), and the WKV written as the plain recurrence in
    float64 (no running max) instead of the CUDA kernel; no bf16 cast of the WKV output."""

    def __init__(self, d_model, layer_idx, n_layer=12):
        super().__init__()
        r0 = layer_idx / (n_layer - 1)
        r1 = 1.0 - layer_idx / n_layer
        with torch.no_grad():
            decay = torch.tensor([-5 + 8 * (h / (d_model - 1)) ** (0.7 + 1.3 * r0) for h in range(d_model)])
            self.time_decay = nn.Parameter(decay)
            zigzag = torch.tensor([(i + 1) % 3 - 1 for i in range(d_model)]) * 0.5
            self.time_first = nn.Parameter(torch.ones(d_model) * math.log(0.3) + zigzag)
            x = (torch.arange(d_model, dtype=torch.float32) / d_model).reshape(1, 1, d_model)
            self.time_mix_k = nn.Parameter(torch.pow(x, r1))
            self.time_mix_v = nn.Parameter(torch.pow(x, r1) + 0.3 * r0)
            self.time_mix_r = nn.Parameter(torch.pow(x, 0.5 * r1))
        self.key = nn.Linear(d_model, d_model, bias=False)
        self.value = nn.Linear(d_model, d_model, bias=False)
        self.receptance = nn.Linear(d_model, d_model, bias=False)
        self.output = nn.Linear(d_model, d_model, bias=False)

    def forward(self, x):
        xx = F.pad(x, (0, 0, 1, -1))  # nn.ZeroPad2d((0, 0, 1, -1)): x_{t-1}, zero at t = 0
        xk = x * self.time_mix_k + xx * (1 - self.time_mix_k)
        xv = x * self.time_mix_v + xx * (1 - self.time_mix_v)
        xr = x * self.time_mix_r + xx * (1 - self.time_mix_r)
        k, v, r = self.key(xk), self.value(xv), self.receptance(xr)
        w, u = -torch.exp(self.time_decay), self.time_first
        a = torch.zeros_like(k[:, 0])
        b = torch.zeros_like(k[:, 0])
        ys = []
        for t in range(x.shape[1]):
            cur = torch.exp(u + k[:, t])
            ys.append((a + cur * v[:, t]) / (b + cur))
            a = torch.exp(w) * a + torch.exp(k[:, t]) * v[:, t]
            b = torch.exp(w) * b + torch.exp(k[:, t])
        return self.output(torch.sigmoid(r) * torch.stack(ys, dim=1))




def make(cfg):
    m, k, D, lmax = cfg["mixer"], zt.knobs_of(cfg["knobs"]), cfg["D"], cfg["l_max"]
    if m == "base_conv":
        ks = [int(s) for s in k["kernel_size"].strip("[]").split(",")]
        return BaseConv(D, lmax, ks, cfg["layer_idx"], zt.truth(k["implicit_long_conv"]), zt.truth(k["use_act"]))
    if m == "hyena":
        return Hyena(D, lmax, int(k["filter_order"]), int(k["short_filter_order"]), int(k["num_inner_mlps"]),
                     int(k["emb_dim"]), float(k["w"]), zt.truth(k["modulate"]), zt.truth(k["bias"]))
    if m == "h3":
        N = int(k["d_state"]) or lmax
        return H3(D, N, lmax, int(k["head_dim"]))
    if m in ("based", "linear_attention"):
        f = int(k["feature_dim"]) or D
        return Based(D, f, int(k["num_heads"]), k["feature_name"], float(k["eps"]), k["train_view"])
    if m == "sliding_window":
        return SlidingAttn(D, int(k["block_size"]), zt.truth(k["bias"]))
    if m == "rwkv":
        return RWKVTimeMixer(D, cfg["layer_idx"], int(k["init_n_layer"]) or cfg["n_layers"])
    raise ValueError("no reference for mixer %s" % m)



if __name__ == "__main__":  # importable: bench/run.py builds its PyTorch models from make()
    zt.mixer_main(lambda path: zt.check_mixer(path, make))
