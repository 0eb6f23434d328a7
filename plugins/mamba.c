/* mamba.c: the Mamba (v1) mixer of Zoology Figure 2 (docs/mixers.md, mamba) as a plugin, in
 * a MambaBlock (add, RMSNorm, mixer; the model builds it when .block asks):
 * in_proj to [x, z]; x through the causal depthwise conv and SiLU; x_proj to
 * [delta, B, C]; delta = softplus(dt_proj(delta)); selective scan with A = -exp(A_log)
 * plus the D skip; gate by SiLU(z); out_proj. Training-time scan only (no recurrent step). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dt_init.h"
#include "zoo/mixer.h"

static const zoo_hparam knobs[] = {
    {"d_state", ZOO_HP_INT, "16", "state size N per channel (>= 1)"},
    {"d_conv", ZOO_HP_INT, "4", "kernel width of the causal depthwise conv (>= 1)"},
    {"expand", ZOO_HP_INT, "2", "inner width Di = expand * d_model (>= 1)"},
    {"dt_rank", ZOO_HP_INT, "0", "rank of the delta projection; 0 = auto: ceil(d_model / 16)"},
    {"dt_min", ZOO_HP_FLOAT, "0.001", "init=mamba: softplus(dt_proj.bias) ~ logU[dt_min, dt_max]"},
    {"dt_max", ZOO_HP_FLOAT, "0.1", "init=mamba: upper end of that range (>= dt_min)"},
    {"dt_init", ZOO_HP_STRING, "random", "init=mamba: dt_proj.weight 'random' U(+-s) or 'constant' s, s = dt_scale/sqrt(dt_rank)"},
    {"dt_scale", ZOO_HP_FLOAT, "1.0", "init=mamba: scale of dt_proj.weight (> 0)"},
    {"dt_init_floor", ZOO_HP_FLOAT, "1e-4", "init=mamba: the drawn dt is clamped to at least this (> 0)"},
    {"conv_bias", ZOO_HP_BOOL, "true", "bias in the depthwise conv"},
    {"bias", ZOO_HP_BOOL, "false", "bias in in_proj and out_proj"},
    {"init", ZOO_HP_STRING, "zoology",
     "'zoology': the iclr24 Zoology init (dt_proj.weight ~ N(0, 0.02), dt_proj.bias = 0); 'mamba': Mamba's dt init"},
    {NULL, 0, NULL, NULL},
};

static int64_t dt_rank_of(const zoo_hvals *h, const zoo_layer_info *li)
{
    int64_t r = zoo_hvals_int(h, "dt_rank");
    return r == 0 ? (li->d_model + 15) / 16 : r;
}

static int check(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t n)
{
    double dmin = zoo_hvals_float(h, "dt_min"), dmax = zoo_hvals_float(h, "dt_max");
    const char *di = zoo_hvals_str(h, "dt_init"), *in = zoo_hvals_str(h, "init");
    if (zoo_hvals_int(h, "d_state") < 1)
        snprintf(msg, n, "mixer 'mamba': d_state=%lld must be >= 1", (long long)zoo_hvals_int(h, "d_state"));
    else if (zoo_hvals_int(h, "d_conv") < 1)
        snprintf(msg, n, "mixer 'mamba': d_conv=%lld must be >= 1", (long long)zoo_hvals_int(h, "d_conv"));
    else if (zoo_hvals_int(h, "expand") < 1)
        snprintf(msg, n, "mixer 'mamba': expand=%lld must be >= 1", (long long)zoo_hvals_int(h, "expand"));
    else if (zoo_hvals_int(h, "dt_rank") < 0)
        snprintf(msg, n, "mixer 'mamba': dt_rank=%lld must be >= 1 (or 0 for ceil(d_model/16))",
                 (long long)zoo_hvals_int(h, "dt_rank"));
    else if (!(dmin > 0) || !(dmax >= dmin) || !isfinite(dmax))
        snprintf(msg, n, "mixer 'mamba': dt_min=%g and dt_max=%g must satisfy 0 < dt_min <= dt_max", dmin, dmax);
    else if (!(zoo_hvals_float(h, "dt_scale") > 0) || !isfinite(zoo_hvals_float(h, "dt_scale")))
        snprintf(msg, n, "mixer 'mamba': dt_scale=%g must be > 0", zoo_hvals_float(h, "dt_scale"));
    else if (!(zoo_hvals_float(h, "dt_init_floor") > 0) || !isfinite(zoo_hvals_float(h, "dt_init_floor")))
        snprintf(msg, n, "mixer 'mamba': dt_init_floor=%g must be > 0", zoo_hvals_float(h, "dt_init_floor"));
    else if (strcmp(di, "random") && strcmp(di, "constant"))
        snprintf(msg, n, "mixer 'mamba': dt_init='%s' is not 'random' or 'constant'", di);
    else if (strcmp(in, "zoology") && strcmp(in, "mamba"))
        snprintf(msg, n, "mixer 'mamba': init='%s' is not 'zoology' or 'mamba'", in);
    else {
        (void)li;
        return 0;
    }
    return ZOO_ERR_INVALID;
}

static int validate(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t msglen)
{
    return check(h, li, msg, msglen);
}

/* A_log (Di, N) = ln(n + 1): S4D-real, A = -(n + 1). */
static void fill_a_log(float *x, int64_t n, const int64_t *shape, int ndim, zoo_rng *rng, const void *ctx)
{
    (void)ndim, (void)rng, (void)ctx;
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)log((double)(i % shape[1] + 1));
}

static int build(zoo_graph *g, const zoo_hvals *h, const zoo_layer_info *li, zoo_tensor *x, zoo_tensor **y)
{
    char msg[512];
    int rc = check(h, li, msg, sizeof msg);
    if (rc)
        return zoo_graph_fail(g, rc, "%s", msg);
    int64_t D = li->d_model, Di = zoo_hvals_int(h, "expand") * D, N = zoo_hvals_int(h, "d_state");
    int64_t K = zoo_hvals_int(h, "d_conv"), R = dt_rank_of(h, li);
    int bias = zoo_hvals_bool(h, "bias"), zinit = !strcmp(zoo_hvals_str(h, "init"), "zoology");
    if (zoo_tensor_ndim(x) != 3 || zoo_tensor_dim(x, -1) != D)
        return zoo_graph_fail(g, ZOO_ERR_SHAPE, "mixer 'mamba': input width %lld differs from d_model %lld",
                              (long long)zoo_tensor_dim(x, -1), (long long)D);
    /* Linears: N(0, 0.02), zero bias (docs/model.md; the model re-draws out_proj.weight). The conv
     * keeps PyTorch's default U(+-1/sqrt(k)); A_log and D their constructor values. */
    zoo_tensor *xz = zoo_nn_linear(g, x, "in_proj", 2 * Di, bias);
    zoo_tensor *xs = zoo_slice(g, xz, 0, Di), *z = zoo_slice(g, xz, Di, Di);
    float cb = (float)(1.0 / sqrt((double)K));
    zoo_tensor *cw = zoo_param(g, "conv1d.weight", 3, (int64_t[]){Di, 1, K}, zoo_init_uniform(-cb, cb));
    zoo_tensor *cbias = zoo_hvals_bool(h, "conv_bias")
                            ? zoo_param(g, "conv1d.bias", 1, (int64_t[]){Di}, zoo_init_uniform(-cb, cb))
                            : NULL;
    zoo_tensor *xc = zoo_silu(g, zoo_shortconv(g, xs, cw, cbias)); /* (B, L, Di) */
    zoo_tensor *xdbl = zoo_nn_linear(g, xc, "x_proj", R + 2 * N, 0);
    zoo_tensor *dtr = zoo_slice(g, xdbl, 0, R), *bc = zoo_slice(g, xdbl, R, 2 * N);
    zoo_init wdt = zoo_init_normal(0.0f, 0.02f), bdt = zoo_init_zeros();
    if (!zinit) {
        float s = (float)(zoo_hvals_float(h, "dt_scale") / sqrt((double)R));
        wdt = strcmp(zoo_hvals_str(h, "dt_init"), "constant") ? zoo_init_uniform(-s, s) : zoo_init_const(s);
        bdt = zoo_init_fn(zoo_dt_bias_fill_knobs, h);
    }
    zoo_tensor *Wdt = zoo_param(g, "dt_proj.weight", 2, (int64_t[]){Di, R}, wdt);
    zoo_tensor *Bdt = zoo_param(g, "dt_proj.bias", 1, (int64_t[]){Di}, bdt);
    zoo_tensor *delta = zoo_softplus(g, zoo_linear(g, dtr, Wdt, Bdt)); /* (B, L, Di) */
    zoo_tensor *A_log = zoo_param(g, "A_log", 2, (int64_t[]){Di, N}, zoo_init_fn(fill_a_log, NULL));
    zoo_tensor *Dp = zoo_param(g, "D", 1, (int64_t[]){Di}, zoo_init_const(1.0f));
    zoo_tensor *A = zoo_scale(g, zoo_exp(g, A_log), -1.0f);
    zoo_tensor *ys = zoo_selective_scan(g, xc, delta, A, bc);
    ys = zoo_add(g, ys, zoo_mul(g, xc, Dp));
    ys = zoo_mul(g, ys, zoo_silu(g, z));
    *y = zoo_nn_linear(g, ys, "out_proj", D, bias);
    return zoo_graph_status(g);
}

/* 2 * D * N (Zoology's Mamba.state_size), not Di * N. */
static double state_size(const zoo_hvals *h, const zoo_layer_info *li)
{
    return 2.0 * (double)li->d_model * (double)zoo_hvals_int(h, "d_state");
}

ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = {
    .hdr = ZOO_MIXER_HEADER,
    .name = "mamba",
    .family = "recurrent",
    .summary = "Mamba (v1): gated selective SSM with a short conv, in a MambaBlock (RMSNorm, no MLP)",
    .hparams = knobs,
    .build = build,
    .state_size = state_size,
    .validate = validate,
    .block = ZOO_BLOCK_MAMBA,
};
