/* gla.c: Gated Linear Attention (Yang et al. 2023), Zoology's GatedLinearAttention
 * (docs/mixers.md, gla) as a plugin. Per head, a matrix state with a data-dependent
 * decay per key channel:
 *   q, k = fmap(x Wq), fmap(x Wk)   (optionally after a short conv + SiLU each, v too)
 *   gk = logsigmoid(x Wgk0^T Wgk1^T + b) / gate_logit_normalizer   (>= clamp_min if set)
 *   S_t = diag(exp(gk_t)) S_{t-1} + k_t v_t^T,   o_t = S_t^T q_t / sqrt(head_k_dim)
 *   o = rmsnorm_per_head(o) * silu(x Wg)  (or rmsnorm alone without the output gate)
 *   out = o Wo
 * The recurrence is the core op zoo_recurrence with w = exp(gk) and no rank-one term.
 * State per layer (floats): num_heads * head_k_dim * head_v_dim = key_dim * head_v_dim,
 * plus (conv_size - 1) * (2 key_dim + value_dim) with the short convs. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "zoo/mixer.h"

static const zoo_hparam knobs[] = {
    {"expand_k", ZOO_HP_FLOAT, "0.5", "key_dim = int(d_model * expand_k), split over num_heads"},
    {"expand_v", ZOO_HP_FLOAT, "1.0", "value_dim = int(d_model * expand_v), split over num_heads"},
    {"num_heads", ZOO_HP_INT, "4", "heads; must divide key_dim and value_dim"},
    {"feature_map", ZOO_HP_STRING, "none", "map on q and k before the recurrence: none, relu, swish, silu, sigmoid"},
    {"use_short_conv", ZOO_HP_BOOL, "false", "causal depthwise conv + SiLU on q, k and v (q/k/v_conv1d)"},
    {"conv_size", ZOO_HP_INT, "4", "taps of the short convs (use_short_conv)"},
    {"conv_bias", ZOO_HP_BOOL, "false", "bias in the short convs (Zoology's module ignores it: keep false to match)"},
    {"use_output_gate", ZOO_HP_BOOL, "true", "o = rmsnorm(o) * silu(x Wg) per head; false: rmsnorm(o) only"},
    {"norm_eps", ZOO_HP_FLOAT, "1e-5", "eps of the per-head RMSNorm"},
    {"gate_logit_normalizer", ZOO_HP_FLOAT, "16", "log decay = logsigmoid(gate logits) / this (> 0)"},
    {"gate_low_rank_dim", ZOO_HP_INT, "16", "rank of the decay projection gk_proj (>= 1)"},
    {"clamp_min", ZOO_HP_FLOAT, "0", "lower bound on the log decay, < 0; 0 = none (Zoology's default)"},
    {NULL, 0, NULL, NULL},
};

#define MAX_DIM 16777216.0 /* widest key_dim or value_dim accepted */

typedef struct dims {
    int64_t key_dim, value_dim, heads, dk, dv;
} dims;

/* int(hidden_size * expand) as the reference: truncation toward zero; 0 when out of
 * range (check refuses it; the cast of a larger double would be undefined). */
static int64_t width_of(int64_t d_model, double expand)
{
    double w = (double)d_model * expand;
    return w >= 0 && w <= MAX_DIM ? (int64_t)w : 0;
}

static dims dims_of(const zoo_hvals *h, const zoo_layer_info *li)
{
    dims d;
    d.key_dim = width_of(li->d_model, zoo_hvals_float(h, "expand_k"));
    d.value_dim = width_of(li->d_model, zoo_hvals_float(h, "expand_v"));
    d.heads = zoo_hvals_int(h, "num_heads");
    d.dk = d.heads > 0 ? d.key_dim / d.heads : 0;
    d.dv = d.heads > 0 ? d.value_dim / d.heads : 0;
    return d;
}

static int fmap_known(const char *s)
{
    return !strcmp(s, "none") || !strcmp(s, "relu") || !strcmp(s, "swish") || !strcmp(s, "silu") ||
           !strcmp(s, "sigmoid");
}

static int check(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t n)
{
    dims d = dims_of(h, li);
    double ek = zoo_hvals_float(h, "expand_k"), ev = zoo_hvals_float(h, "expand_v");
    double eps = zoo_hvals_float(h, "norm_eps"), gn = zoo_hvals_float(h, "gate_logit_normalizer");
    double cm = zoo_hvals_float(h, "clamp_min");
    const char *fm = zoo_hvals_str(h, "feature_map");
    if (d.heads < 1)
        snprintf(msg, n, "mixer 'gla': num_heads=%lld must be >= 1", (long long)d.heads);
    else if (d.key_dim < 1)
        snprintf(msg, n, "mixer 'gla': expand_k=%g at d_model=%lld gives key_dim = int(d_model * expand_k) "
                 "outside [1, %.0f]; use a value in range (default 0.5)", ek, (long long)li->d_model, MAX_DIM);
    else if (d.value_dim < 1)
        snprintf(msg, n, "mixer 'gla': expand_v=%g at d_model=%lld gives value_dim = int(d_model * expand_v) "
                 "outside [1, %.0f]; use a value in range (default 1.0)", ev, (long long)li->d_model, MAX_DIM);
    else if (d.key_dim % d.heads)
        snprintf(msg, n, "mixer 'gla': num_heads=%lld does not divide key_dim=%lld (d_model * expand_k); "
                 "pick num_heads or expand_k so that it does", (long long)d.heads, (long long)d.key_dim);
    else if (d.value_dim % d.heads)
        snprintf(msg, n, "mixer 'gla': num_heads=%lld does not divide value_dim=%lld (d_model * expand_v); "
                 "pick num_heads or expand_v so that it does", (long long)d.heads, (long long)d.value_dim);
    else if (!fmap_known(fm))
        snprintf(msg, n, "mixer 'gla': feature_map='%s' is not one of none, relu, swish, silu, sigmoid", fm);
    else if (zoo_hvals_int(h, "conv_size") < 1)
        snprintf(msg, n, "mixer 'gla': conv_size=%lld must be >= 1 (default 4)",
                 (long long)zoo_hvals_int(h, "conv_size"));
    else if (!(eps > 0) || eps > FLT_MAX)
        snprintf(msg, n, "mixer 'gla': norm_eps=%g must be > 0 and a float (default 1e-5)", eps);
    else if (!(gn >= 1e-6) || gn > FLT_MAX)
        snprintf(msg, n, "mixer 'gla': gate_logit_normalizer=%g must be in [1e-6, 3.4e38] (default 16)", gn);
    else if (zoo_hvals_int(h, "gate_low_rank_dim") < 1)
        snprintf(msg, n, "mixer 'gla': gate_low_rank_dim=%lld must be >= 1 (default 16)",
                 (long long)zoo_hvals_int(h, "gate_low_rank_dim"));
    else if (cm > 0 || cm < -FLT_MAX)
        snprintf(msg, n, "mixer 'gla': clamp_min=%g must be a float < 0 (a log decay is <= 0), or 0 for no clamp",
                 cm);
    else
        return 0;
    return ZOO_ERR_INVALID;
}

static int validate(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t msglen)
{
    return check(h, li, msg, msglen);
}

static zoo_tensor *feature_map(zoo_graph *g, zoo_tensor *x, const char *fm)
{
    if (!strcmp(fm, "relu"))
        return zoo_relu(g, x);
    if (!strcmp(fm, "swish") || !strcmp(fm, "silu"))
        return zoo_silu(g, x);
    if (!strcmp(fm, "sigmoid"))
        return zoo_sigmoid(g, x);
    return x;
}

/* ShortConvolution(C, k, activation='silu'): a causal depthwise conv, then SiLU. PyTorch's
 * default Conv1d init, U(+-1/sqrt(k)) (fan_in = k for a depthwise conv), for weight and bias;
 * Zoology's model re-init touches only Linear and Embedding. */
static zoo_tensor *short_conv(zoo_graph *g, const zoo_hvals *h, zoo_tensor *x, const char *name)
{
    int64_t C = zoo_tensor_dim(x, -1), K = zoo_hvals_int(h, "conv_size");
    float b = (float)(1.0 / sqrt((double)K));
    char pw[64], pb[64];
    snprintf(pw, sizeof pw, "%s.weight", name);
    snprintf(pb, sizeof pb, "%s.bias", name);
    zoo_tensor *w = zoo_param(g, pw, 3, (int64_t[]){C, 1, K}, zoo_init_uniform(-b, b));
    zoo_tensor *bias = zoo_hvals_bool(h, "conv_bias") ? zoo_param(g, pb, 1, (int64_t[]){C}, zoo_init_uniform(-b, b))
                                                      : NULL;
    return zoo_silu(g, zoo_shortconv(g, x, w, bias));
}

static int build(zoo_graph *g, const zoo_hvals *h, const zoo_layer_info *li, zoo_tensor *x, zoo_tensor **y)
{
    char msg[512];
    int rc = check(h, li, msg, sizeof msg);
    if (rc)
        return zoo_graph_fail(g, rc, "%s", msg);
    int64_t D = li->d_model;
    if (zoo_tensor_ndim(x) != 3 || zoo_tensor_dim(x, -1) != D)
        return zoo_graph_fail(g, ZOO_ERR_SHAPE, "mixer 'gla': input width %lld differs from d_model %lld",
                              (long long)zoo_tensor_dim(x, -1), (long long)D);
    dims d = dims_of(h, li);
    int64_t B = zoo_tensor_dim(x, 0), L = zoo_tensor_dim(x, 1);
    int gate = zoo_hvals_bool(h, "use_output_gate");
    const char *fm = zoo_hvals_str(h, "feature_map");

    /* Linears N(0, 0.02^2), zero bias (Zoology's model-wide init); o_proj is not an
     * out_proj, so the depth-scaled re-draw leaves it alone, as in Zoology. */
    zoo_tensor *q = zoo_nn_linear(g, x, "q_proj", d.key_dim, 0);
    zoo_tensor *k = zoo_nn_linear(g, x, "k_proj", d.key_dim, 0);
    zoo_tensor *v = zoo_nn_linear(g, x, "v_proj", d.value_dim, 0);
    zoo_tensor *gt = gate ? zoo_nn_linear(g, x, "g_proj", d.value_dim, 0) : NULL;
    if (zoo_hvals_bool(h, "use_short_conv")) {
        q = short_conv(g, h, q, "q_conv1d");
        k = short_conv(g, h, k, "k_conv1d");
        v = short_conv(g, h, v, "v_conv1d");
    }
    zoo_tensor *gk = zoo_nn_linear(g, zoo_nn_linear(g, x, "gk_proj.0", zoo_hvals_int(h, "gate_low_rank_dim"), 0),
                                   "gk_proj.1", d.key_dim, 1);
    q = feature_map(g, q, fm);
    k = feature_map(g, k, fm);

    /* log decay: logsigmoid(z) / n = -softplus(-z) / n */
    float inv_n = (float)(1.0 / zoo_hvals_float(h, "gate_logit_normalizer"));
    gk = zoo_scale(g, zoo_softplus(g, zoo_scale(g, gk, -1.0f)), -inv_n);
    double cm = zoo_hvals_float(h, "clamp_min");
    if (cm < 0) {
        /* max(gk, c) = relu(gk - c) + c, c broadcast over the key channels */
        zoo_tensor *c = zoo_fill(g, 1, (int64_t[]){d.key_dim}, (float)cm);
        zoo_tensor *minus_c = zoo_fill(g, 1, (int64_t[]){d.key_dim}, (float)-cm);
        gk = zoo_add(g, zoo_relu(g, zoo_add(g, gk, minus_c)), c);
    }
    /* fla's GLA kernels scale q by head_k_dim^-0.5 (their default scale); the op does not. */
    q = zoo_scale(g, q, (float)(1.0 / sqrt((double)d.dk)));
    zoo_tensor *o = zoo_recurrence(g, q, k, v, zoo_exp(g, gk), NULL, NULL, (int)d.heads);

    /* RMSNorm per head over head_v_dim: FusedRMSNormSwishGate (with the gate) or RMSNorm,
     * weight 1 at init. */
    zoo_tensor *nw = zoo_param(g, gate ? "g_norm_swish_gate.weight" : "g_norm.weight", 1, (int64_t[]){d.dv},
                               zoo_init_const(1.0f));
    float eps = (float)zoo_hvals_float(h, "norm_eps");
    o = zoo_rmsnorm(g, zoo_reshape(g, o, 4, (int64_t[]){B, L, d.heads, d.dv}), nw, eps);
    o = zoo_reshape(g, o, 3, (int64_t[]){B, L, d.value_dim});
    if (gate)
        o = zoo_mul(g, o, zoo_silu(g, gt));
    *y = zoo_nn_linear(g, o, "o_proj", D, 0);
    return zoo_graph_status(g);
}

/* The floats generation carries from token to token: the state matrices S (head_k_dim x
 * head_v_dim per head: key_dim * head_v_dim, Zoology's count) and, with the short convs,
 * the last conv_size - 1 inputs of each conv channel (Zoology counts conv_size: fla's
 * cache keeps one more input than the next step needs). */
static double state_size(const zoo_hvals *h, const zoo_layer_info *li)
{
    dims d = dims_of(h, li);
    double s = (double)d.key_dim * (double)d.dv;
    if (zoo_hvals_bool(h, "use_short_conv"))
        s += (double)(zoo_hvals_int(h, "conv_size") - 1) * (double)(2 * d.key_dim + d.value_dim);
    return s;
}

ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = {
    .hdr = ZOO_MIXER_HEADER,
    .name = "gla",
    .family = "linear-attention",
    .summary = "Gated Linear Attention: per-head matrix state, low-rank data-dependent decay, RMSNorm-SiLU gate",
    .hparams = knobs,
    .build = build,
    .state_size = state_size,
    .validate = validate,
};
