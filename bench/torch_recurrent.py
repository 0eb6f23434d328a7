#!/usr/bin/python3
"""bench/torch_recurrent.py: the PyTorch sides bench/run.py times for the newer recurrent
mixers, in the form a performance-minded PyTorch user runs on a CPU: chunked (quadratic
within a chunk, recurrent across chunks) instead of the references' loop over tokens.

Each fast form takes the reference module (tests/<mixer>/ref_<mixer>.py, built by its
make(cfg)) and computes that module's output from its own parameters, so the model, its
parameter count and its gradients are the reference's; only the order of the arithmetic
differs. `fast_module(name, module)` wraps a reference module for run.py; mixers without
a fast form here keep their reference's forward (a loop over tokens), and run.py labels
their column so.

    /usr/bin/python3 bench/torch_recurrent.py --check    # fast forms vs the token loops, float64

--check builds each reference with random parameters in float64 and compares the fast
form's output and the gradients of the input and of every parameter with the reference's
token loop. Exit 0 agree, 1 differ, 77 torch missing (ctest bench.torch_recurrent).
"""
import importlib
import os
import sys

try:  # run.py's driver reads form_of() without torch; the fast forms and --check need it
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    torch = None

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Where a mixer's PyTorch reference lives when it is not the mixer's own folder.
REF_OF = {"gated_delta_net": "delta_net"}


def ref_path(name):
    """tests/<dir>/ref_<dir>.py, the PyTorch reference of mixer NAME (None when there is none)."""
    d = REF_OF.get(name, name)
    path = os.path.join(ROOT, "tests", d, "ref_%s.py" % d)
    return path if os.path.exists(path) else None


def ref_module(name):
    """The reference module of mixer NAME (its make(cfg) builds the mixer), or None."""
    path = ref_path(name)
    if path is None:
        return None
    sys.path.insert(0, os.path.dirname(path))
    return importlib.import_module(os.path.basename(path)[:-3])


# ---- GLA: chunked gated linear attention -----------------------------------------------
def gla_chunked(q, k, v, g, chunk=64, sub=16):
    """o_t = S_t^T q_t with S_t = diag(exp(g_t)) S_{t-1} + k_t v_t^T, S_0 = 0.
    q, k, g: (b, H, L, dk) (g = log decay <= 0), v: (b, H, L, dv) -> o (b, H, L, dv).

    Within a chunk of CHUNK tokens with G the inclusive cumulative sum of g:
    o_i = sum_{j <= i} (q_i exp(G_i - G_j)) . k_j v_j + (q_i exp(G_i)) S_prev. The decay
    ratios are taken against a reference point so that no exponent is positive (a plain
    q exp(G), k exp(-G) split overflows float32 over 64 tokens of strong decay): between
    sub-chunks of SUB tokens the point is the end of the earlier sub-chunk and the
    products are matmuls; on the diagonal sub-blocks the ratios are formed pairwise."""
    b, H, L, dk = q.shape
    dv = v.shape[-1]
    pad = (-L) % chunk
    if pad:  # zero keys and queries, decay 1: the padded tokens change nothing before them
        q, k, v, g = (F.pad(t, (0, 0, 0, pad)) for t in (q, k, v, g))
    n, C, c = (L + pad) // chunk, chunk, min(sub, chunk)
    if C % c:
        raise ValueError("gla_chunked: chunk %d is not a multiple of the sub-chunk %d" % (C, c))
    s = C // c
    q, k, g = (t.reshape(b, H, n, C, dk) for t in (q, k, g))
    v = v.reshape(b, H, n, C, dv)
    G = torch.cumsum(g, dim=3)  # (b, H, n, C, dk)
    # the diagonal sub-blocks: ratios pairwise, masked before exp (j <= i)
    Gs, qs, ks = (t.reshape(b, H, n, s, c, dk) for t in (G, q, k))
    tri = torch.tril(torch.ones(c, c, dtype=torch.bool, device=q.device))
    diff = Gs[..., :, None, :] - Gs[..., None, :, :]  # (b, H, n, s, c, c, dk): G_i - G_j
    diff = torch.where(tri[:, :, None], diff, torch.zeros_like(diff))
    diag = (qs[..., :, None, :] * ks[..., None, :, :] * torch.exp(diff)).sum(-1) * tri  # (b, H, n, s, c, c)
    # the scores A[i, j] (j <= i), one row of sub-blocks at a time
    rows = []
    for I in range(s):
        parts = []
        for J in range(I):  # keys of sub-chunk J, reference point r at its end
            Gr = Gs[:, :, :, J, -1:, :]
            kj = ks[:, :, :, J] * torch.exp(Gr - Gs[:, :, :, J])
            qi = qs[:, :, :, I] * torch.exp(Gs[:, :, :, I] - Gr)
            parts.append(qi @ kj.transpose(-1, -2))
        parts.append(diag[:, :, :, I])
        if I < s - 1:
            parts.append(q.new_zeros(b, H, n, c, C - (I + 1) * c))
        rows.append(torch.cat(parts, dim=-1))
    A = torch.cat(rows, dim=-2)  # (b, H, n, C, C)
    o = A @ v  # (b, H, n, C, dv)
    # across chunks: the state at each chunk's start
    last = G[:, :, :, -1:, :]  # (b, H, n, 1, dk)
    qd = q * torch.exp(G)
    kd = k * torch.exp(last - G)
    upd = kd.transpose(-1, -2) @ v  # (b, H, n, dk, dv): what a chunk adds to the state
    wl = torch.exp(last).transpose(-1, -2)  # (b, H, n, dk, 1)
    S = q.new_zeros(b, H, dk, dv)
    inter = []
    for i in range(n):
        inter.append(qd[:, :, i] @ S)
        S = wl[:, :, i] * S + upd[:, :, i]
    o = o + torch.stack(inter, dim=2)
    return o.reshape(b, H, n * C, dv)[:, :, :L]


def gla_forward(m, x):
    """ref_gla.GatedLinearAttention's output, its recurrence chunked (gla_chunked)."""
    b, L, _ = x.shape
    q, k, v = m.q_proj(x), m.k_proj(x), m.v_proj(x)
    gk = F.logsigmoid(m.gk_proj(x)) / m.normalizer
    if m.clamp_min is not None:
        gk = gk.clamp_min(m.clamp_min)
    if m.use_short_conv:  # the same causal depthwise conv and SiLU as the step form, over the sequence
        q, k, v = (F.silu(c(t.transpose(1, 2))[..., :L].transpose(1, 2))
                   for c, t in ((m.q_conv1d, q), (m.k_conv1d, k), (m.v_conv1d, v)))
    if m.fmap is not None:
        q, k = m.fmap(q), m.fmap(k)

    def heads(t, d):
        return t.reshape(b, L, m.H, d).transpose(1, 2)

    o = gla_chunked(heads(q, m.dk) * m.dk ** -0.5, heads(k, m.dk), heads(v, m.dv), heads(gk, m.dk))
    o = o.transpose(1, 2)  # (b, L, H, dv)
    if m.use_output_gate:
        o = m.g_norm_swish_gate(o) * F.silu(m.g_proj(x).view(b, L, m.H, m.dv))
    else:
        o = m.g_norm(o)
    return m.o_proj(o.reshape(b, L, m.value_dim))


# ---- Mamba-2: chunked SSD ----------------------------------------------------------------
def ssd_chunked(X, a, Bm, Cm, chunk=64):
    """y_t = C_t . h_t with h_t = exp(a_t) h_{t-1} + B_t X_t^T (per head a scalar decay).
    X (b, L, H, P), a (b, L, H) (<= 0), B and C (b, L, H, N) -> y (b, L, H, P).
    Quadratic within a chunk (the decay mask exp(cum_i - cum_j), j <= i), the state
    carried across chunks; every exponent is <= 0."""
    b, L, H, P = X.shape
    N = Bm.shape[-1]
    pad = (-L) % chunk
    if pad:
        X, Bm, Cm = (F.pad(t, (0, 0, 0, 0, 0, pad)) for t in (X, Bm, Cm))
        a = F.pad(a, (0, 0, 0, pad))
    n, c = (L + pad) // chunk, chunk
    X, Bm, Cm = X.reshape(b, n, c, H, P), Bm.reshape(b, n, c, H, N), Cm.reshape(b, n, c, H, N)
    cum = torch.cumsum(a.reshape(b, n, c, H), dim=2)  # (b, n, c, H)
    tri = torch.tril(torch.ones(c, c, dtype=torch.bool, device=X.device))[None, None, :, :, None]
    seg = cum[:, :, :, None, :] - cum[:, :, None, :, :]  # (b, n, i, j, H)
    M = torch.where(tri, torch.exp(torch.where(tri, seg, torch.zeros_like(seg))), torch.zeros_like(seg))
    scores = torch.einsum("bnihs,bnjhs->bnijh", Cm, Bm) * M
    y = torch.einsum("bnijh,bnjhp->bnihp", scores, X)
    last = cum[:, :, -1:, :]  # (b, n, 1, H)
    upd = torch.einsum("bnjhs,bnjh,bnjhp->bnhsp", Bm, torch.exp(last - cum), X)  # a chunk's addition
    Cd = Cm * torch.exp(cum)[..., None]
    h = X.new_zeros(b, H, N, P)
    inter = []
    for i in range(n):
        inter.append(torch.einsum("bihs,bhsp->bihp", Cd[:, i], h))
        h = torch.exp(last[:, i, 0])[..., None, None] * h + upd[:, i]
    y = y + torch.stack(inter, dim=1)
    return y.reshape(b, n * c, H, P)[:, :L]


def mamba2_forward(m, u):
    """ref_mamba2.Mamba2's output through its own helpers, SSD chunked (ssd_chunked)."""
    z0, x0, z, xBC, dt = m._split(u)
    L = u.shape[1]
    xBC = F.silu(m.conv1d(xBC.transpose(1, 2))[..., :L].transpose(1, 2))
    x, Bm, Cm = torch.split(xBC, [m.d_ssm, m.ngroups * m.d_state, m.ngroups * m.d_state], dim=-1)
    x, Bh, Ch, dth = m._heads(x, Bm, Cm, dt)
    y = ssd_chunked(dth[..., None] * x, dth * -torch.exp(m.A_log), Bh, Ch) + m._skip(x)
    return m._finish(y.reshape(*y.shape[:2], m.d_ssm), z0, x0, z)


# ---- DeltaNet and Gated DeltaNet: the chunked delta rule (WY / UT form) ---------------
def delta_chunked(q, k, v, beta, g=None, chunk=64):
    """o_t = S_t^T q_t with S_t = a_t S_{t-1} + beta_t k_t (v_t - a_t S_{t-1}^T k_t)^T,
    S_0 = 0, a_t = exp(g_t) (1 when g is None). q, k: (b, H, L, dk), v: (b, H, L, dv),
    beta, g: (b, H, L) -> o (b, H, L, dv).

    Within a chunk, with G the inclusive cumulative sum of g and S0 the state before it,
    S_t = e^{G_t} S0 + sum_{i<=t} e^{G_t - G_i} k_i u_i^T, where the pseudo-values u solve
    the unit lower-triangular system (I + diag(beta) A) U = diag(beta) (V - diag(e^G) K S0),
    A[t, i] = e^{G_t - G_i} k_t . k_i (i < t). So U = T (beta V) - T (beta e^G K) S0 with
    both T products one triangular solve per chunk, done for all chunks at once; only
    U, the output and the state carry from chunk to chunk. Every exponent is <= 0."""
    b, H, L, dk = k.shape
    dv = v.shape[-1]
    if g is None:
        g = beta.new_zeros(beta.shape)
    pad = (-L) % chunk
    if pad:
        q, k, v = (F.pad(t, (0, 0, 0, pad)) for t in (q, k, v))
        beta, g = F.pad(beta, (0, pad)), F.pad(g, (0, pad))
    n, c = (L + pad) // chunk, chunk
    q, k = q.reshape(b, H, n, c, dk), k.reshape(b, H, n, c, dk)
    v, beta = v.reshape(b, H, n, c, dv), beta.reshape(b, H, n, c)
    G = torch.cumsum(g.reshape(b, H, n, c), dim=-1)
    low = torch.tril(torch.ones(c, c, dtype=torch.bool, device=q.device))
    seg = G[..., :, None] - G[..., None, :]
    decay = torch.where(low, torch.exp(torch.where(low, seg, torch.zeros_like(seg))), torch.zeros_like(seg))
    strict = torch.tril(torch.ones(c, c, dtype=torch.bool, device=q.device), -1)
    A = torch.where(strict, (k @ k.transpose(-1, -2)) * decay, torch.zeros_like(decay))
    M = torch.eye(c, dtype=q.dtype, device=q.device) + beta[..., None] * A
    rhs = torch.cat([beta[..., None] * v, (beta * torch.exp(G))[..., None] * k], dim=-1)
    TV, TK = torch.linalg.solve_triangular(M, rhs, upper=False, unitriangular=True).split([dv, dk], dim=-1)
    QK = (q @ k.transpose(-1, -2)) * decay  # lower triangle, diagonal included
    Qd = q * torch.exp(G)[..., None]
    last = G[..., -1:]
    Kend = k * torch.exp(last - G)[..., None]
    S = q.new_zeros(b, H, dk, dv)
    outs = []
    for i in range(n):
        U = TV[:, :, i] - TK[:, :, i] @ S
        outs.append(Qd[:, :, i] @ S + QK[:, :, i] @ U)
        S = torch.exp(last[:, :, i])[..., None] * S + Kend[:, :, i].transpose(-1, -2) @ U
    return torch.stack(outs, dim=2).reshape(b, H, n * c, dv)[:, :, :L]


def delta_forward(m, x):
    """ref_delta_net.DeltaNet's output (delta_net and gated_delta_net), the delta rule
    chunked (delta_chunked), the projections and convolutions over the whole sequence."""
    b, L, _ = x.shape
    H, dk, dv = m.H, m.dk, m.dv
    q, k, v = m.q_proj(x), m.k_proj(x), m.v_proj(x)
    if m.use_short_conv:  # the causal depthwise convs (step() is their decoding form), then their activation
        def conv(c, t):
            y = c(t.transpose(1, 2))[..., :L].transpose(1, 2)
            return F.silu(y) if c.activation == "silu" else y
        q, k, v = conv(m.q_conv1d, q), conv(m.k_conv1d, k), conv(m.v_conv1d, v)
    else:
        if m.qk_activation == "silu":
            q, k = F.silu(q), F.silu(k)
        v = F.silu(v)
    q, k = ref_module("delta_net").qk_map(q, m.qk_activation), ref_module("delta_net").qk_map(k, m.qk_activation)
    l2 = ref_module("delta_net").l2norm

    def heads(t, d):
        return t.reshape(b, L, H, d).transpose(1, 2)

    q, k = l2(heads(q, dk)) * dk ** -0.5, l2(heads(k, dk))
    beta = torch.sigmoid(m.b_proj(x)) if m.use_beta else x.new_ones(b, L, H)
    if m.allow_neg_eigval:
        beta = beta * 2.0
    g = -m.A_log.exp() * F.softplus(m.a_proj(x) + m.dt_bias) if m.gated else None
    o = delta_chunked(q, k, heads(v, dv), beta.transpose(1, 2), None if g is None else g.transpose(1, 2))
    o = o.transpose(1, 2)  # (b, L, H, dv)
    o = m.o_norm(o, m.g_proj(x).reshape(b, L, H, dv)) if m.use_gate else m.o_norm(o)
    return m.o_proj(o.reshape(b, L, H * dv))


# What run.py times per mixer: (the fast forward, what the notes call it). Mixers not
# listed run their reference's own forward.
FAST = {
    "gla": (gla_forward, "chunked GLA (chunks of 64, sub-chunks of 16; bench/torch_recurrent.py)"),
    "mamba2": (mamba2_forward, "chunked SSD (chunks of 64; bench/torch_recurrent.py)"),
    "delta_net": (delta_forward, "chunked delta rule (WY/UT form, chunks of 64; bench/torch_recurrent.py)"),
    "gated_delta_net": (delta_forward, "chunked gated delta rule (WY/UT form, chunks of 64; bench/torch_recurrent.py)"),
}


# References whose forward runs the recurrence one token at a time (and that have no fast
# form here yet): run.py labels their column "token loop".
TOKEN_LOOP = {"rwkv7"}


def form_of(name):
    """How the PyTorch side run.py times for mixer NAME computes: 'chunked' (a fast form
    here), 'token loop' (the reference's loop over tokens) or 'reference forward'."""
    return "chunked" if name in FAST else "token loop" if name in TOKEN_LOOP else "reference forward"


def fast_module(name, module):
    """An nn.Module that holds MODULE (the reference, so its parameters are the model's)
    and returns its output as a tensor, through the fast form where there is one."""

    class Fast(nn.Module):
        def __init__(self):
            super().__init__()
            self.ref = module

        def forward(self, x):
            if name in FAST:
                return FAST[name][0](self.ref, x)
            out = self.ref(x)
            return out[0] if isinstance(out, tuple) else out  # some references also return what they carry

    return Fast()


# ---- --check ------------------------------------------------------------------------------
CHECKS = {  # mixer: (knobs as zoo_bench_train prints them, D, L): L not a multiple of 64 tests the padding
    "gla": [("expand_k=0.5 expand_v=1 num_heads=4 feature_map=none use_short_conv=false conv_size=4 "
             "conv_bias=false use_output_gate=true norm_eps=1e-05 gate_logit_normalizer=16 gate_low_rank_dim=16 "
             "clamp_min=0", 32, 150),
            ("expand_k=1 expand_v=1 num_heads=2 feature_map=swish use_short_conv=true conv_size=4 conv_bias=true "
             "use_output_gate=false norm_eps=1e-05 gate_logit_normalizer=1 gate_low_rank_dim=8 clamp_min=-3", 16, 70)],
    "mamba2": [("d_state=16 d_conv=4 expand=2 headdim=8 d_ssm=0 ngroups=2 D_has_hdim=true rmsnorm=true "
                "norm_before_gate=false bias=false conv_bias=true", 16, 150),
               ("d_state=8 d_conv=3 expand=2 headdim=16 d_ssm=16 ngroups=1 D_has_hdim=false rmsnorm=false "
                "norm_before_gate=true bias=true conv_bias=false", 16, 64)],
    "delta_net": [("num_heads=4 expand_k=1 expand_v=1 use_beta=true use_gate=false use_short_conv=true conv_size=4 "
                   "conv_bias=false allow_neg_eigval=false qk_activation=silu qk_norm=l2 norm_eps=1e-05", 16, 150),
                  ("num_heads=2 expand_k=1 expand_v=2 use_beta=true use_gate=true use_short_conv=false conv_size=4 "
                   "conv_bias=true allow_neg_eigval=true qk_activation=relu qk_norm=l2 norm_eps=1e-05", 16, 70)],
    "gated_delta_net": [("num_heads=2 expand_v=2 use_gate=true use_short_conv=true conv_size=4 conv_bias=false "
                         "norm_eps=1e-05", 16, 150)],
}


def check():
    if torch is None:
        print("SKIP: torch is not importable", file=sys.stderr)
        return 77
    torch.set_num_threads(1)
    ok = True
    for name, cases in CHECKS.items():
        ref = ref_module(name)
        for knobs, D, L in cases:
            torch.manual_seed(0)
            m = ref.make({"mixer": name, "knobs": knobs, "D": D, "l_max": L, "layer_idx": 0}).double()
            with torch.no_grad():  # random parameters: gates, decays and skips far from their inits
                for p in m.parameters():
                    p.add_(torch.randn_like(p) * 0.5)
            x = torch.randn(3, L, D, dtype=torch.float64)
            loop = m.forward_steps if hasattr(m, "forward_steps") else m.forward
            results = []
            for f in (lambda t: fast_module(name, m)(t), lambda t: loop(t)):
                xi = x.clone().requires_grad_(True)
                m.zero_grad(set_to_none=True)
                out = f(xi)
                out = out[0] if isinstance(out, tuple) else out
                out.pow(2).sum().backward()  # a gradient that depends on every output
                results.append([("out", out.detach())] + [("x.grad", xi.grad)] +
                               [(n + ".grad", p.grad if p.grad is not None else torch.zeros_like(p))
                                for n, p in m.named_parameters()])
            worst = 0.0
            for (what, a), (_, b) in zip(*results):
                err = ((a - b).abs().max() / (b.abs().max() + 1e-30)).item()
                worst = max(worst, err)
                if err > 1e-9:
                    print("FAIL %s [%s] D=%d L=%d: %s differs from the token loop by %.3g (relative to its max)"
                          % (name, knobs, D, L, what, err), file=sys.stderr)
                    ok = False
            print("%s %s D=%d L=%d: worst relative difference %.2e over the output and %d gradients"
                  % ("ok  " if worst <= 1e-9 else "FAIL", name, D, L, worst, len(results[0]) - 1))
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:] != ["--check"]:
        sys.exit(__doc__)
    sys.exit(check())
