/* hyena.c: the Zoology Hyena mixer (docs/mixers.md, hyena) as a plugin: in_proj to 3D, short
 * depthwise conv, v * x1, causal long conv with an implicit filter (sine MLP of trainable
 * positional features, exponential decay) plus the learned D skip, * x2, out_proj.
 * One head and one block only (the paper's setting); no filter dropout or normalisation. */
#include <math.h>
#include <stdio.h>

#include "zoo/mixer.h"

static const zoo_hparam knobs[] = {
    {"filter_order", ZOO_HP_INT, "64", "width of the implicit filter MLP, >= 1"},
    {"short_filter_order", ZOO_HP_INT, "3", "taps of the short depthwise conv after in_proj, >= 1"},
    {"num_inner_mlps", ZOO_HP_INT, "2", "hidden (filter_order x filter_order) layers of the filter MLP, >= 0"},
    {"emb_dim", ZOO_HP_INT, "3", "positional features of the filter MLP: time plus (emb_dim-1)/2 bands; odd, >= 3"},
    {"w", ZOO_HP_FLOAT, "1", "initial frequency of the sine activations (one vector shared by all of them)"},
    {"modulate", ZOO_HP_BOOL, "true", "multiply the filter by exp(-t |delta|) (fixed decay rates)"},
    {"bias", ZOO_HP_BOOL, "true", "use the learned per-channel D skip (filter_fn.bias) of the long conv"},
    {"dropout", ZOO_HP_FLOAT, "0", "dropout on v * x1 before the long conv in training, in [0, 1)"},
    {NULL, 0, NULL, NULL},
};

#define PI 3.14159265358979323846
/* ExponentialModulation defaults: decay rates linspace(ln(target)/slow, ln(target)/fast, D) */
#define FAST_DECAY_PCT 0.3
#define SLOW_DECAY_PCT 1.5
#define DECAY_TARGET 1e-2

static int check(const zoo_hvals *h, char *msg, size_t n)
{
    int64_t order = zoo_hvals_int(h, "filter_order"), sfo = zoo_hvals_int(h, "short_filter_order");
    int64_t inner = zoo_hvals_int(h, "num_inner_mlps"), emb = zoo_hvals_int(h, "emb_dim");
    double p = zoo_hvals_float(h, "dropout");
    if (order < 1)
        snprintf(msg, n, "mixer 'hyena': filter_order=%lld must be >= 1 (default 64)", (long long)order);
    else if (sfo < 1)
        snprintf(msg, n, "mixer 'hyena': short_filter_order=%lld must be >= 1 (default 3)", (long long)sfo);
    else if (inner < 0 || inner > 64)
        snprintf(msg, n, "mixer 'hyena': num_inner_mlps=%lld must be in [0, 64] (default 2)", (long long)inner);
    else if (emb < 3 || emb % 2 == 0)
        snprintf(msg, n, "mixer 'hyena': emb_dim=%lld must be odd and >= 3 (default 3)", (long long)emb);
    else if (!(p >= 0.0 && p < 1.0))
        snprintf(msg, n, "mixer 'hyena': dropout=%g is outside [0, 1): set e.g. 0", p);
    else
        return 0;
    return ZOO_ERR_INVALID;
}

static int validate(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t msglen)
{
    (void)li;
    return check(h, msg, msglen);
}

/* pos_emb.z (1, l_max, emb_dim): [t/(l_max-1), cos(f_j w_t)..., -sin(f_j w_t)...] with
 * w_t = 2 pi t / l_max and f = linspace(1e-4, bands-1, bands) (Zoology's PositionalEmbedding). */
static void fill_z(float *x, int64_t n, const int64_t *shape, int ndim, zoo_rng *rng, const void *ctx)
{
    (void)n, (void)ndim, (void)rng, (void)ctx;
    int64_t lm = shape[1], e = shape[2], bands = (e - 1) / 2;
    for (int64_t t = 0; t < lm; t++) {
        double w = 2.0 * PI * (double)t / (double)lm;
        x[t * e] = lm > 1 ? (float)((double)t / (double)(lm - 1)) : 0.0f;
        for (int64_t j = 0; j < bands; j++) {
            double f = bands > 1 ? 1e-4 + (double)j * ((double)(bands - 1) - 1e-4) / (double)(bands - 1) : 1e-4;
            x[t * e + 1 + j] = (float)cos(f * w);
            x[t * e + 1 + bands + j] = (float)-sin(f * w);
        }
    }
}

/* pos_emb.t (1, l_max, 1) = linspace(0, 1, l_max) */
static void fill_t(float *x, int64_t n, const int64_t *shape, int ndim, zoo_rng *rng, const void *ctx)
{
    (void)n, (void)ndim, (void)rng, (void)ctx;
    int64_t lm = shape[1];
    for (int64_t t = 0; t < lm; t++)
        x[t] = lm > 1 ? (float)((double)t / (double)(lm - 1)) : 0.0f;
}

/* modulation.deltas (1, 1, D) = linspace(ln(target)/slow_pct, ln(target)/fast_pct, D) */
static void fill_deltas(float *x, int64_t n, const int64_t *shape, int ndim, zoo_rng *rng, const void *ctx)
{
    (void)shape, (void)ndim, (void)rng, (void)ctx;
    double lo = log(DECAY_TARGET) / SLOW_DECAY_PCT, hi = log(DECAY_TARGET) / FAST_DECAY_PCT;
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(n > 1 ? lo + (hi - lo) * (double)i / (double)(n - 1) : lo);
}

/* The implicit filter h (D, L) (docs/mixers.md, hyena), names as Zoology's Filter module. */
static zoo_tensor *implicit_filter(zoo_graph *g, const zoo_hvals *h, const zoo_layer_info *li)
{
    int64_t D = li->d_model, L = li->seq_len, lm = li->l_max > L ? li->l_max : L;
    int64_t order = zoo_hvals_int(h, "filter_order"), inner = zoo_hvals_int(h, "num_inner_mlps");
    int64_t emb = zoo_hvals_int(h, "emb_dim");
    zoo_tensor *z = zoo_param(g, "filter_fn.pos_emb.z", 3, (int64_t[]){1, lm, emb}, zoo_init_fn(fill_z, NULL));
    zoo_tensor *t = zoo_buffer(g, "filter_fn.pos_emb.t", 3, (int64_t[]){1, lm, 1}, zoo_init_fn(fill_t, NULL));
    /* One Sin module sits at every odd index of the Sequential, so the state_dict lists its
     * frequency once per position: the first is the trained vector, the others are
     * aliases of it (a checkpoint holds the trained values under every name). */
    zoo_tensor *freq = zoo_param(g, "filter_fn.implicit_filter.1.freq", 2, (int64_t[]){1, order},
                                 zoo_init_const((float)zoo_hvals_float(h, "w")));
    zoo_tensor *om = zoo_reshape(g, freq, 1, (int64_t[]){order}); /* broadcast over (1, l_max, order) */
    char name[96];
    zoo_tensor *a = zoo_nn_linear(g, z, "filter_fn.implicit_filter.0", order, 1);
    a = zoo_sin(g, zoo_mul(g, a, om));
    for (int64_t i = 0; i < inner; i++) {
        snprintf(name, sizeof name, "filter_fn.implicit_filter.%lld", (long long)(2 + 2 * i));
        a = zoo_nn_linear(g, a, name, order, 1);
        snprintf(name, sizeof name, "filter_fn.implicit_filter.%lld.freq", (long long)(3 + 2 * i));
        zoo_alias(g, name, freq);
        a = zoo_sin(g, zoo_mul(g, a, om));
    }
    snprintf(name, sizeof name, "filter_fn.implicit_filter.%lld", (long long)(2 + 2 * inner));
    a = zoo_nn_linear(g, a, name, D, 0); /* (1, l_max, D) */
    zoo_tensor *deltas = zoo_buffer(g, "filter_fn.modulation.deltas", 3, (int64_t[]){1, 1, D},
                                    zoo_init_fn(fill_deltas, NULL));
    if (zoo_hvals_bool(h, "modulate")) {
        /* decay[t, c] = exp(-t |delta_c|) = exp(t delta_c): the rates are ln(target)/pct < 0.
         * The outer product t delta^T is a linear map of t with weight delta (D, 1). */
        zoo_tensor *td = zoo_linear(g, zoo_reshape(g, t, 2, (int64_t[]){lm, 1}),
                                    zoo_reshape(g, deltas, 2, (int64_t[]){D, 1}), NULL); /* (l_max, D) */
        a = zoo_mul(g, a, zoo_exp(g, td));
    }
    zoo_tensor *k = zoo_transpose(g, zoo_reshape(g, a, 2, (int64_t[]){lm, D})); /* (D, l_max) */
    return lm > L ? zoo_slice(g, k, 0, L) : k;
}

static int build(zoo_graph *g, const zoo_hvals *h, const zoo_layer_info *li, zoo_tensor *x, zoo_tensor **y)
{
    char msg[512];
    int rc = check(h, msg, sizeof msg);
    if (rc)
        return zoo_graph_fail(g, rc, "%s", msg);
    int64_t D = li->d_model, ks = zoo_hvals_int(h, "short_filter_order");
    if (zoo_tensor_dim(x, -1) != D)
        return zoo_graph_fail(g, ZOO_ERR_SHAPE, "mixer 'hyena': input width %lld differs from d_model %lld",
                              (long long)zoo_tensor_dim(x, -1), (long long)D);
    zoo_tensor *p = zoo_nn_linear(g, x, "in_proj", 3 * D, 1); /* (B, L, 3D) = [x1 | x2 | v] */
    zoo_tensor *outw = zoo_param(g, "out_proj.weight", 2, (int64_t[]){D, D}, zoo_init_normal(0.0f, 0.02f));
    zoo_tensor *outb = zoo_param(g, "out_proj.bias", 1, (int64_t[]){D}, zoo_init_zeros());
    float bnd = (float)(1.0 / sqrt((double)ks)); /* nn.Conv1d default for a depthwise conv */
    zoo_tensor *sw = zoo_param(g, "short_filter.weight", 3, (int64_t[]){3 * D, 1, ks}, zoo_init_uniform(-bnd, bnd));
    zoo_tensor *sb = zoo_param(g, "short_filter.bias", 1, (int64_t[]){3 * D}, zoo_init_uniform(-bnd, bnd));
    zoo_tensor *dskip = zoo_param(g, "filter_fn.bias", 1, (int64_t[]){D}, zoo_init_normal(0.0f, 1.0f));
    p = zoo_shortconv(g, p, sw, sb);
    zoo_tensor *x1 = zoo_slice(g, p, 0, D), *x2 = zoo_slice(g, p, D, D), *v = zoo_slice(g, p, 2 * D, D);
    v = zoo_mul(g, v, x1);
    double pd = zoo_hvals_float(h, "dropout");
    if (pd > 0)
        v = zoo_dropout(g, v, (float)pd);
    v = zoo_fftconv(g, v, implicit_filter(g, h, li), zoo_hvals_bool(h, "bias") ? dskip : NULL);
    v = zoo_mul(g, v, x2);
    *y = zoo_linear(g, v, outw, outb);
    return zoo_graph_status(g);
}

/* D L: the long conv needs the whole sequence per channel, at the model's longest length. */
static double state_size(const zoo_hvals *h, const zoo_layer_info *li)
{
    (void)h;
    int64_t L = li->l_max > 0 ? li->l_max : li->seq_len;
    return (double)li->d_model * (double)L;
}

ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = {
    .hdr = ZOO_MIXER_HEADER,
    .name = "hyena",
    .family = "gated-conv",
    .summary = "Hyena: short conv, gated implicit long conv (sine MLP filter, exponential decay, D skip)",
    .hparams = knobs,
    .build = build,
    .state_size = state_size,
    .validate = validate,
};
