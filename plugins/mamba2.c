/* mamba2.c: the Mamba-2 (SSD) mixer of Zoology's zoology/mixers/mamba2.py (docs/mixers.md,
 * mamba2) as a plugin, in a MambaBlock (add, RMSNorm, mixer; Zoology's Mamba2Block is the
 * same block). in_proj to [z0, x0, z, xBC, dt] (z0, x0: the optional gated-MLP channels);
 * xBC through the causal depthwise conv and SiLU, split into x, B, C; dt = softplus(dt +
 * dt_bias); per head h the scalar-decay recurrence
 *   S_t = exp(dt_t A_h) S_{t-1} + B_t (dt_t x_t)^T,   y_t = S_t^T C_t + D_h x_t
 * (zoo_recurrence with q = C, k = B, v = dt x, w = exp(dt A) per head; the heads of a group
 * share B and C); the gated RMSNorm with z; out_proj.
 * State per layer: nheads * headdim * d_state (the SSM states) + (d_conv - 1) * (d_ssm +
 * 2 * ngroups * d_state) (the conv window: the last d_conv - 1 inputs of every conv channel). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dt_init.h"
#include "group_scale.h"
#include "zoo/mixer.h"

static const zoo_hparam knobs[] = {
    {"d_state", ZOO_HP_INT, "128", "state size N per head (>= 1)"},
    {"d_conv", ZOO_HP_INT, "4", "kernel width of the causal depthwise conv (>= 1)"},
    {"conv_init", ZOO_HP_FLOAT, "0", "conv1d.weight ~ U(+-conv_init) when > 0; 0 = PyTorch's default U(+-1/sqrt(d_conv))"},
    {"expand", ZOO_HP_INT, "2", "inner width d_inner = expand * d_model (>= 1)"},
    {"headdim", ZOO_HP_INT, "64", "channels per head P; must divide d_ssm"},
    {"d_ssm", ZOO_HP_INT, "0", "channels that go through the SSM; 0 = all of d_inner, the rest a gated MLP"},
    {"ngroups", ZOO_HP_INT, "1", "groups of heads sharing B and C; must divide nheads = d_ssm / headdim"},
    {"A_init_range", ZOO_HP_INT_LIST, "[1, 16]", "A_log = ln U[lo, hi] per head, 0 < lo <= hi (integers)"},
    {"D_has_hdim", ZOO_HP_BOOL, "false", "D skip per channel (d_ssm) instead of per head"},
    {"rmsnorm", ZOO_HP_BOOL, "true", "gated RMSNorm on the SSM output (false: y * SiLU(z), no norm)"},
    {"norm_before_gate", ZOO_HP_BOOL, "false", "rmsnorm(y) * SiLU(z) instead of rmsnorm(y * SiLU(z))"},
    {"dt_min", ZOO_HP_FLOAT, "0.001", "softplus(dt_bias) ~ logU[dt_min, dt_max] at init"},
    {"dt_max", ZOO_HP_FLOAT, "0.1", "upper end of that range (>= dt_min)"},
    {"dt_init_floor", ZOO_HP_FLOAT, "1e-4", "the drawn dt is clamped to at least this (> 0)"},
    {"bias", ZOO_HP_BOOL, "false", "bias in in_proj and out_proj"},
    {"conv_bias", ZOO_HP_BOOL, "true", "bias in the depthwise conv"},
    {NULL, 0, NULL, NULL},
};

#define MAX_KNOB (1 << 20) /* bound of the width knobs: far above any trainable size */
#define MAX_HEADS 4096     /* B and C are copied to each head by one concat of H inputs */

/* The widths of one layer, derived from the knobs (valid once check has passed them). */
typedef struct dims {
    int64_t D, inner, ssm, mlp, N, P, H, G, K, conv, proj;
} dims;

static dims dims_of(const zoo_hvals *h, const zoo_layer_info *li)
{
    dims d;
    d.D = li->d_model;
    d.inner = zoo_hvals_int(h, "expand") * d.D;
    d.ssm = zoo_hvals_int(h, "d_ssm") ? zoo_hvals_int(h, "d_ssm") : d.inner;
    d.mlp = d.inner - d.ssm;
    d.N = zoo_hvals_int(h, "d_state");
    d.P = zoo_hvals_int(h, "headdim");
    d.H = d.P > 0 ? d.ssm / d.P : 0;
    d.G = zoo_hvals_int(h, "ngroups");
    d.K = zoo_hvals_int(h, "d_conv");
    d.conv = d.ssm + 2 * d.G * d.N;             /* conv channels: x, B, C */
    d.proj = 2 * d.inner + 2 * d.G * d.N + d.H; /* in_proj: z0, x0, z, xBC, dt */
    return d;
}

/* The largest divisor of n that is at most p (>= 1): the headdim to suggest. */
static int64_t divisor_below(int64_t n, int64_t p)
{
    for (int64_t c = p < n ? p : n; c > 1; c--)
        if (n % c == 0)
            return c;
    return 1;
}

static int check(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t n)
{
    const int64_t *ar = NULL;
    int nar = zoo_hvals_list(h, "A_init_range", &ar);
    double dmin = zoo_hvals_float(h, "dt_min"), dmax = zoo_hvals_float(h, "dt_max");
    double floor_ = zoo_hvals_float(h, "dt_init_floor"), ci = zoo_hvals_float(h, "conv_init");
    /* each width knob in 1..MAX_KNOB first, so the products below cannot overflow */
    static const char *const width[] = {"d_state", "d_conv", "expand", "headdim", "ngroups"};
    for (size_t i = 0; i < sizeof width / sizeof width[0]; i++) {
        int64_t v = zoo_hvals_int(h, width[i]);
        if (v < 1 || v > MAX_KNOB) {
            snprintf(msg, n, "mixer 'mamba2': %s=%lld must be in 1..%d", width[i], (long long)v, MAX_KNOB);
            return ZOO_ERR_INVALID;
        }
    }
    dims d = dims_of(h, li);
    int64_t dssm = zoo_hvals_int(h, "d_ssm");
    if (dssm < 0 || dssm > d.inner)
        snprintf(msg, n, "mixer 'mamba2': d_ssm=%lld must lie in 1..d_inner=%lld (expand * d_model), or 0 for all of it",
                 (long long)dssm, (long long)d.inner);
    else if (d.ssm % d.P)
        snprintf(msg, n,
                 "mixer 'mamba2': headdim=%lld must divide d_ssm=%lld (expand * d_model unless d_ssm is set): "
                 "use a divisor such as %lld, or change expand or d_ssm",
                 (long long)d.P, (long long)d.ssm, (long long)divisor_below(d.ssm, d.P));
    else if (d.H > MAX_HEADS)
        snprintf(msg, n, "mixer 'mamba2': headdim=%lld gives nheads=%lld (d_ssm / headdim), more than %d: raise headdim",
                 (long long)d.P, (long long)d.H, MAX_HEADS);
    else if (d.H % d.G)
        snprintf(msg, n, "mixer 'mamba2': ngroups=%lld must divide nheads=%lld (d_ssm / headdim)",
                 (long long)d.G, (long long)d.H);
    else if (nar != 2 || !ar || !(ar[0] > 0) || !(ar[1] >= ar[0]))
        snprintf(msg, n, "mixer 'mamba2': A_init_range must be two integers [lo, hi] with 0 < lo <= hi (e.g. [1, 16])");
    else if (!(dmin > 0) || !(dmax >= dmin) || !isfinite(dmax))
        snprintf(msg, n, "mixer 'mamba2': dt_min=%g and dt_max=%g must satisfy 0 < dt_min <= dt_max", dmin, dmax);
    else if (!(floor_ > 0) || !isfinite(floor_))
        snprintf(msg, n, "mixer 'mamba2': dt_init_floor=%g must be > 0", floor_);
    else if (!(ci >= 0) || !isfinite(ci))
        snprintf(msg, n, "mixer 'mamba2': conv_init=%g must be >= 0 (0 = PyTorch's default conv init)", ci);
    else
        return 0;
    return ZOO_ERR_INVALID;
}

static int validate(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t msglen)
{
    return check(h, li, msg, msglen);
}

/* A_log (H) = ln U[lo, hi] with [lo, hi] = A_init_range, so A = -exp(A_log) in [-hi, -lo]. */
static void fill_a_log(float *x, int64_t n, const int64_t *shape, int ndim, zoo_rng *rng, const void *ctx)
{
    (void)shape, (void)ndim;
    const int64_t *r = NULL;
    zoo_hvals_list(ctx, "A_init_range", &r);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)log((double)r[0] + zoo_rng_uniform(rng) * (double)(r[1] - r[0]));
}

/* x (B, L, H*P) times c (H) per head: (B*L, H, P) -> (B*L, P, H), times c, and back. */
static zoo_tensor *per_head_mul(zoo_graph *g, zoo_tensor *x, zoo_tensor *c, const dims *d, int64_t B, int64_t L)
{
    zoo_tensor *xt = zoo_transpose(g, zoo_reshape(g, x, 3, (int64_t[]){B * L, d->H, d->P}));
    return zoo_reshape(g, zoo_transpose(g, zoo_mul(g, xt, c)), 3, (int64_t[]){B, L, d->ssm});
}

/* bc (B, L, G*N) -> (B, L, H*N): head h reads group h / (H/G), as the SSD kernels do. */
static zoo_tensor *per_head_groups(zoo_graph *g, zoo_tensor *bc, const dims *d)
{
    if (d->H == 1)
        return bc;
    zoo_tensor *parts[MAX_HEADS]; /* check keeps H <= MAX_HEADS */
    int64_t per = d->H / d->G;
    for (int64_t gi = 0; gi < d->G; gi++) {
        zoo_tensor *grp = d->G == 1 ? bc : zoo_slice(g, bc, gi * d->N, d->N);
        for (int64_t r = 0; r < per; r++)
            parts[gi * per + r] = grp;
    }
    return zoo_concat(g, parts, (int)d->H);
}

/* RMSNorm over each group of d_ssm / G channels (RMSNormGated's group_size), weight (d_ssm). */
static zoo_tensor *group_rmsnorm(zoo_graph *g, zoo_tensor *y, zoo_tensor *w, const dims *d)
{
    if (d->G == 1)
        return zoo_rmsnorm(g, y, w, 1e-5f);
    zoo_tensor *parts[MAX_HEADS]; /* G divides H <= MAX_HEADS */
    int64_t gs = d->ssm / d->G;
    for (int64_t gi = 0; gi < d->G; gi++)
        parts[gi] = zoo_rmsnorm(g, zoo_slice(g, y, gi * gs, gs), zoo_slice(g, w, gi * gs, gs), 1e-5f);
    return zoo_concat(g, parts, (int)d->G);
}

static int build(zoo_graph *g, const zoo_hvals *h, const zoo_layer_info *li, zoo_tensor *u, zoo_tensor **y)
{
    char msg[512];
    int rc = check(h, li, msg, sizeof msg);
    if (rc)
        return zoo_graph_fail(g, rc, "%s", msg);
    dims d = dims_of(h, li);
    int bias = zoo_hvals_bool(h, "bias");
    if (zoo_tensor_ndim(u) != 3 || zoo_tensor_dim(u, -1) != d.D)
        return zoo_graph_fail(g, ZOO_ERR_SHAPE, "mixer 'mamba2': input width %lld differs from d_model %lld",
                              (long long)zoo_tensor_dim(u, -1), (long long)d.D);
    int64_t B = zoo_tensor_dim(u, 0), L = zoo_tensor_dim(u, 1);

    /* Parameters in the order of the Zoology module's state_dict (its own parameters, then
     * its submodules). Linears N(0, 0.02) with zero bias (the model re-draws
     * out_proj.weight, docs/model.md); the conv keeps PyTorch's default unless conv_init;
     * dt_bias, A_log, D and norm.weight their constructor values. */
    zoo_tensor *dt_bias = zoo_param(g, "dt_bias", 1, (int64_t[]){d.H}, zoo_init_fn(zoo_dt_bias_fill_knobs, h));
    zoo_tensor *A_log = zoo_param(g, "A_log", 1, (int64_t[]){d.H}, zoo_init_fn(fill_a_log, h));
    int d_hdim = zoo_hvals_bool(h, "D_has_hdim");
    zoo_tensor *Dp = zoo_param(g, "D", 1, (int64_t[]){d_hdim ? d.ssm : d.H}, zoo_init_const(1.0f));
    zoo_tensor *zxbcdt = zoo_nn_linear(g, u, "in_proj", d.proj, bias);
    double ci = zoo_hvals_float(h, "conv_init");
    float cb = (float)(1.0 / sqrt((double)d.K)), cw_b = ci > 0 ? (float)ci : cb;
    zoo_tensor *cw = zoo_param(g, "conv1d.weight", 3, (int64_t[]){d.conv, 1, d.K}, zoo_init_uniform(-cw_b, cw_b));
    zoo_tensor *cbias = zoo_hvals_bool(h, "conv_bias")
                            ? zoo_param(g, "conv1d.bias", 1, (int64_t[]){d.conv}, zoo_init_uniform(-cb, cb))
                            : NULL;
    int norm = zoo_hvals_bool(h, "rmsnorm");
    zoo_tensor *nw = norm ? zoo_param(g, "norm.weight", 1, (int64_t[]){d.ssm}, zoo_init_const(1.0f)) : NULL;

    int64_t off = 2 * d.mlp;
    zoo_tensor *z = zoo_slice(g, zxbcdt, off, d.ssm);
    zoo_tensor *xbc = zoo_slice(g, zxbcdt, off + d.ssm, d.conv);
    zoo_tensor *dt = zoo_slice(g, zxbcdt, off + d.ssm + d.conv, d.H);
    xbc = zoo_silu(g, zoo_shortconv(g, xbc, cw, cbias));
    zoo_tensor *x = zoo_slice(g, xbc, 0, d.ssm);
    zoo_tensor *Bm = zoo_slice(g, xbc, d.ssm, d.G * d.N), *Cm = zoo_slice(g, xbc, d.ssm + d.G * d.N, d.G * d.N);
    dt = zoo_softplus(g, zoo_add(g, dt, dt_bias));               /* (B, L, H) */
    zoo_tensor *A = zoo_scale(g, zoo_exp(g, A_log), -1.0f);      /* (H) */
    zoo_tensor *w = zoo_exp(g, zoo_mul(g, dt, A));               /* decay per head, (B, L, H) */
    zoo_tensor *v = group_scale(g, x, dt, d.H, d.P);           /* dt x, (B, L, d_ssm) */
    zoo_tensor *k = per_head_groups(g, Bm, &d), *q = per_head_groups(g, Cm, &d);
    zoo_tensor *ys = zoo_recurrence(g, q, k, v, w, NULL, NULL, (int)d.H);
    ys = zoo_add(g, ys, d_hdim ? zoo_mul(g, x, Dp) : per_head_mul(g, x, Dp, &d, B, L));

    zoo_tensor *gate = zoo_silu(g, z);
    if (!norm)
        ys = zoo_mul(g, ys, gate);
    else if (zoo_hvals_bool(h, "norm_before_gate"))
        ys = zoo_mul(g, group_rmsnorm(g, ys, nw, &d), gate);
    else
        ys = group_rmsnorm(g, zoo_mul(g, ys, gate), nw, &d);
    if (d.mlp > 0) { /* the channels outside the SSM: SiLU(z0) * x0, placed first */
        zoo_tensor *z0 = zoo_slice(g, zxbcdt, 0, d.mlp), *x0 = zoo_slice(g, zxbcdt, d.mlp, d.mlp);
        ys = zoo_concat(g, (zoo_tensor *[]){zoo_mul(g, zoo_silu(g, z0), x0), ys}, 2);
    }
    *y = zoo_nn_linear(g, ys, "out_proj", d.D, bias);
    return zoo_graph_status(g);
}

/* nheads * headdim * d_state (each head's d_state x headdim state) + (d_conv - 1) *
 * (d_ssm + 2 * ngroups * d_state) (the conv's window over x, B and C). Zoology's
 * Mamba2.state_size reports 2 * d_model * d_state: the SSM part at expand 2 without the
 * conv window (docs/mixers.md, mamba2). */
static double state_size(const zoo_hvals *h, const zoo_layer_info *li)
{
    /* in doubles, from the knobs, so unchecked values cannot overflow (H * P = d_ssm) */
    double ssm = (double)zoo_hvals_int(h, "d_ssm"), N = (double)zoo_hvals_int(h, "d_state");
    if (ssm == 0)
        ssm = (double)zoo_hvals_int(h, "expand") * (double)li->d_model;
    return ssm * N + (double)(zoo_hvals_int(h, "d_conv") - 1) * (ssm + 2.0 * (double)zoo_hvals_int(h, "ngroups") * N);
}

ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = {
    .hdr = ZOO_MIXER_HEADER,
    .name = "mamba2",
    .family = "recurrent",
    .summary = "Mamba-2 (SSD): scalar-decay matrix-state SSM per head, short conv, gated RMSNorm; MambaBlock",
    .hparams = knobs,
    .build = build,
    .state_size = state_size,
    .validate = validate,
    .block = ZOO_BLOCK_MAMBA,
};
