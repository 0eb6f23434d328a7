/* rwkv.c: the Zoology RWKV mixer, the RWKV v4 time-mixer (docs/mixers.md, rwkv) as a plugin:
 * token shift, per-channel mixes of x_t and x_{t-1} into key, value and receptance
 * (bias-free Linears), the WKV recurrence (core op zoo_wkv) with w = -exp(time_decay),
 * a sigmoid(r) gate and the bias-free output Linear. Parameter names are the Zoology
 * module's: time_decay, time_first, time_mix_{k,v,r} (1, 1, D), key, value, receptance,
 * output. The WKV output stays f32 (Zoology casts it to bf16: see core/src/ops/wkv.c). */
#include <math.h>
#include <stdio.h>

#include "zoo/mixer.h"
#include "token_shift.h"

static const zoo_hparam knobs[] = {
    {"init_n_layer", ZOO_HP_INT, "12",
     "layer count the init ratios assume; Zoology never passes it, so 12 even in 2-layer models; "
     "0 = the model's real layer count"},
    {NULL, 0, NULL, NULL},
};

#define MAX_LAYERS 64 /* layer_idx < 64 and init_n_layer <= 64: the init context table below */

/* The fills need (layer_idx, n_layer), and an init's ctx must outlive planning while a
 * plugin keeps no mutable state: point into a constant table at [layer_idx][n_layer]. */
static const unsigned char slots[MAX_LAYERS][MAX_LAYERS + 1];

typedef struct {
    double r0, r1; /* ratio_0_to_1 = idx/(n-1), ratio_1_to_almost0 = 1 - idx/n */
} ratios;

static ratios ratios_of(const void *ctx)
{
    long off = (long)((const unsigned char *)ctx - &slots[0][0]);
    double idx = (double)(off / (MAX_LAYERS + 1)), n = (double)(off % (MAX_LAYERS + 1));
    ratios r = {idx / (n - 1.0), 1.0 - idx / n};
    return r;
}

static int64_t init_layers(const zoo_hvals *h, const zoo_layer_info *li)
{
    int64_t n = zoo_hvals_int(h, "init_n_layer");
    return n == 0 ? li->n_layers : n;
}

static int check(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t len)
{
    int64_t n = init_layers(h, li), given = zoo_hvals_int(h, "init_n_layer");
    if (given < 0 || n < 2 || n > MAX_LAYERS)
        snprintf(msg, len, "mixer 'rwkv': init_n_layer=%lld gives %lld layers for the init ratios: need 2..%d "
                 "(idx/(n-1) divides by n-1), or 0 for the model's layer count", (long long)given, (long long)n,
                 MAX_LAYERS);
    else if (li->layer_idx < 0 || li->layer_idx >= MAX_LAYERS)
        snprintf(msg, len, "mixer 'rwkv': layer %d is beyond the %d layers its init supports (init_n_layer)",
                 li->layer_idx, MAX_LAYERS);
    else if (li->d_model < 2)
        snprintf(msg, len, "mixer 'rwkv': d_model=%lld must be >= 2 (the time_decay init divides by d_model-1)",
                 (long long)li->d_model);
    else
        return 0;
    return ZOO_ERR_INVALID;
}

static int validate(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t msglen)
{
    return check(h, li, msg, msglen);
}

/* time_decay[c] = -5 + 8 (c/(D-1))^(0.7 + 1.3 r0) */
static void fill_decay(float *x, int64_t n, const int64_t *shape, int ndim, zoo_rng *rng, const void *ctx)
{
    (void)shape, (void)ndim, (void)rng;
    ratios r = ratios_of(ctx);
    for (int64_t c = 0; c < n; c++)
        x[c] = (float)(-5.0 + 8.0 * pow((double)c / (double)(n - 1), 0.7 + 1.3 * r.r0));
}

/* time_first[c] = ln 0.3 + 0.5 (((c+1) mod 3) - 1) */
static void fill_first(float *x, int64_t n, const int64_t *shape, int ndim, zoo_rng *rng, const void *ctx)
{
    (void)shape, (void)ndim, (void)rng, (void)ctx;
    for (int64_t c = 0; c < n; c++)
        x[c] = (float)(log(0.3) + 0.5 * (double)((c + 1) % 3 - 1));
}

/* time_mix_k = (c/D)^r1, time_mix_v = (c/D)^r1 + 0.3 r0, time_mix_r = (c/D)^(r1/2); the
 * tables below pick the variant, the ratios come from ctx as for the decay */
static void fill_mix(float *x, int64_t n, const ratios *r, int which)
{
    for (int64_t c = 0; c < n; c++) {
        double base = (double)c / (double)n;
        x[c] = (float)(which == 2 ? pow(base, 0.5 * r->r1) : pow(base, r->r1) + (which == 1 ? 0.3 * r->r0 : 0.0));
    }
}
static void fill_mix_k(float *x, int64_t n, const int64_t *shape, int ndim, zoo_rng *rng, const void *ctx)
{
    (void)shape, (void)ndim, (void)rng;
    ratios r = ratios_of(ctx);
    fill_mix(x, n, &r, 0);
}
static void fill_mix_v(float *x, int64_t n, const int64_t *shape, int ndim, zoo_rng *rng, const void *ctx)
{
    (void)shape, (void)ndim, (void)rng;
    ratios r = ratios_of(ctx);
    fill_mix(x, n, &r, 1);
}
static void fill_mix_r(float *x, int64_t n, const int64_t *shape, int ndim, zoo_rng *rng, const void *ctx)
{
    (void)shape, (void)ndim, (void)rng;
    ratios r = ratios_of(ctx);
    fill_mix(x, n, &r, 2);
}

/* x * m + xx * (1 - m) = xx + m (x - xx), m: (1, 1, D) used as (D) */
static zoo_tensor *mix(zoo_graph *g, zoo_tensor *xx, zoo_tensor *diff, zoo_tensor *m, int64_t D)
{
    return zoo_add(g, xx, zoo_mul(g, diff, zoo_reshape(g, m, 1, (int64_t[]){D})));
}

static int build(zoo_graph *g, const zoo_hvals *h, const zoo_layer_info *li, zoo_tensor *x, zoo_tensor **y)
{
    char msg[512];
    int rc = check(h, li, msg, sizeof msg);
    if (rc)
        return zoo_graph_fail(g, rc, "%s", msg);
    int64_t D = li->d_model;
    if (zoo_tensor_ndim(x) != 3 || zoo_tensor_dim(x, -1) != D)
        return zoo_graph_fail(g, ZOO_ERR_SHAPE, "mixer 'rwkv': input width %lld differs from d_model %lld",
                              (long long)zoo_tensor_dim(x, -1), (long long)D);
    const void *ctx = &slots[li->layer_idx][init_layers(h, li)];
    zoo_tensor *decay = zoo_param(g, "time_decay", 1, (int64_t[]){D}, zoo_init_fn(fill_decay, ctx));
    zoo_tensor *first = zoo_param(g, "time_first", 1, (int64_t[]){D}, zoo_init_fn(fill_first, ctx));
    zoo_tensor *mk = zoo_param(g, "time_mix_k", 3, (int64_t[]){1, 1, D}, zoo_init_fn(fill_mix_k, ctx));
    zoo_tensor *mv = zoo_param(g, "time_mix_v", 3, (int64_t[]){1, 1, D}, zoo_init_fn(fill_mix_v, ctx));
    zoo_tensor *mr = zoo_param(g, "time_mix_r", 3, (int64_t[]){1, 1, D}, zoo_init_fn(fill_mix_r, ctx));

    zoo_tensor *xx = token_shift(g, x);
    zoo_tensor *diff = zoo_add(g, x, zoo_scale(g, xx, -1.0f));
    zoo_tensor *k = zoo_nn_linear(g, mix(g, xx, diff, mk, D), "key", D, 0);
    zoo_tensor *v = zoo_nn_linear(g, mix(g, xx, diff, mv, D), "value", D, 0);
    zoo_tensor *r = zoo_nn_linear(g, mix(g, xx, diff, mr, D), "receptance", D, 0);
    zoo_tensor *w = zoo_scale(g, zoo_exp(g, decay), -1.0f); /* w = -exp(time_decay), as Zoology's WKV.forward */
    zoo_tensor *wkv = zoo_wkv(g, w, first, k, v);
    *y = zoo_nn_linear(g, zoo_mul(g, zoo_sigmoid(g, r), wkv), "output", D, 0);
    return zoo_graph_status(g);
}

/* 3 D floats per layer: the WKV numerator and denominator sums per channel and the
 * previous token for the shift. Zoology's v4 module reports none; this is the
 * recurrent state an RWKV v4 time-mixer carries at inference
 * (the RNN form's running max is a scale of the two sums, not extra information). */
static double state_size(const zoo_hvals *h, const zoo_layer_info *li)
{
    (void)h;
    return 3.0 * (double)li->d_model;
}

ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = {
    .hdr = ZOO_MIXER_HEADER,
    .name = "rwkv",
    .family = "recurrent",
    .summary = "RWKV v4 time-mixer: token shift, WKV recurrence with learned decay, sigmoid(r) gate (Zoology)",
    .hparams = knobs,
    .build = build,
    .state_size = state_size,
    .validate = validate,
};
