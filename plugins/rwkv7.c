/* rwkv7.c: Zoology's RWKV7Attention, the RWKV-7 ("Goose") time mix (docs/mixers.md,
 * rwkv7), as a plugin. With D = d_model, H heads of N = D/H channels:
 *   delta = x_{t-1} - x_t (token shift); x_i = x + delta * x_x[i] for i = r, w, k, v, a, g
 *   r, k, v = r_proj(x_r), k_proj(x_k), v_proj(x_v)
 *   decay = exp(-e^{-1/2} sigmoid(w_lora(x_w)))       per key channel, in (0.545, 1)
 *   a = sigmoid(a_lora(x_a)); gate = g_lora(x_g)        (LoRAs: Linear, act, Linear)
 *   kk = l2norm_per_head(k * k_k); k' = k + k (a - 1) k_a
 *   S_t = S_{t-1} (diag(decay) - kk (kk a)^T) + v k'^T,  o = S_t r   (RWKV's dv x dk S)
 *   out = o_proj((GroupNorm_H(o) + (r . (k' * r_k))_head v) * gate)
 * The recurrence is zoo_recurrence in its dk x dv orientation (the transpose of RWKV's
 * state): q = r, k = k', v = v, w = decay, a = kk * a, b = -kk.
 * Parameter names and shapes are Zoology's (x_x, k_k, k_a, r_k, r/k/v/o_proj, the LoRAs
 * w_lora, v_lora (layers > 0), a_lora, g_lora as lora.0 / lora.2, g_norm). Zoology never
 * passes v_first between layers (its blocks call the mixer with x alone), so every layer
 * uses its own v, as Zoology's first layer does, and v_lora is created but unused there
 * and here (zero gradient).
 * The constants the composition needs (the unit weight and zero bias of the GroupNorm
 * before its affine, a ones matrix for the per-head sum of the bonus) are zoo_fill
 * nodes, not buffers, so the state_dict stays Zoology's.
 * Starting values: Zoology's by default (x_x, k_k, k_a, r_k zero, every Linear the model's
 * N(0, 0.02^2)); init=fla gives fla's RWKV-7 layer init, under which the module learns
 * recall far sooner (docs/mixers.md, rwkv7). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "zoo/mixer.h"
#include "token_shift.h"

static const zoo_hparam knobs[] = {
    {"d_state", ZOO_HP_INT, "0", "hidden size of the module; 0 = d_model (Zoology's 1024 only fits d_model 1024)"},
    {"head_dim", ZOO_HP_INT, "64", "channels per head N (must divide d_model); 0 = take num_heads"},
    {"num_heads", ZOO_HP_INT, "0", "heads H when head_dim is 0 (Zoology refuses both set); 0 = from head_dim"},
    {"decay_low_rank_dim", ZOO_HP_INT, "64", "rank of w_lora (the decay)"},
    {"gate_low_rank_dim", ZOO_HP_INT, "128", "rank of g_lora (the output gate)"},
    {"a_low_rank_dim", ZOO_HP_INT, "64", "rank of a_lora (the in-context learning rate)"},
    {"v_low_rank_dim", ZOO_HP_INT, "16", "rank of v_lora (value residual; created in layers > 0, unused)"},
    {"elementwise_affine", ZOO_HP_BOOL, "true", "g_norm has a per-channel weight and bias"},
    {"norm_eps", ZOO_HP_FLOAT, "1e-5", "g_norm eps per channel: the GroupNorm uses head_dim * norm_eps"},
    {"mode", ZOO_HP_STRING, "chunk", "Zoology's kernel choice, chunk | fused_recurrent: the same numbers in zoo"},
    {"init", ZOO_HP_STRING, "zoology",
     "'zoology': Zoology's (x_x, k_k, k_a, r_k 0; Linears N(0, 0.02^2)); 'fla': fla's RWKV-7 layer init "
     "(starting decays per channel between 0.56 and 0.9998, token-shift ratios, delta rule on, orthogonal projections)"},
    {NULL, 0, NULL, NULL},
};

typedef struct dims {
    int64_t D, H, N; /* hidden size, heads, channels per head */
} dims;

static int check(const zoo_hvals *h, const zoo_layer_info *li, dims *d, char *msg, size_t n)
{
    int64_t D = li->d_model, ds = zoo_hvals_int(h, "d_state"), hd = zoo_hvals_int(h, "head_dim"),
            nh = zoo_hvals_int(h, "num_heads");
    static const char *const ranks[] = {"decay_low_rank_dim", "gate_low_rank_dim", "a_low_rank_dim", "v_low_rank_dim"};
    const char *mode = zoo_hvals_str(h, "mode"), *init = zoo_hvals_str(h, "init");
    double eps = zoo_hvals_float(h, "norm_eps");
    for (int i = 0; i < 4; i++)
        if (zoo_hvals_int(h, ranks[i]) < 1) {
            snprintf(msg, n, "mixer 'rwkv7': %s=%lld must be >= 1", ranks[i], (long long)zoo_hvals_int(h, ranks[i]));
            return ZOO_ERR_INVALID;
        }
    if (ds != 0 && ds != D)
        snprintf(msg, n, "mixer 'rwkv7': d_state=%lld differs from d_model=%lld: the module's input is d_state wide; "
                 "use 0 (= d_model)", (long long)ds, (long long)D);
    else if (hd < 0 || nh < 0)
        snprintf(msg, n, "mixer 'rwkv7': head_dim=%lld and num_heads=%lld must be >= 0", (long long)hd, (long long)nh);
    else if (hd > 0 && nh > 0)
        snprintf(msg, n, "mixer 'rwkv7': head_dim=%lld and num_heads=%lld are both set: set head_dim 0 to give "
                 "num_heads, or num_heads 0", (long long)hd, (long long)nh);
    else if (hd == 0 && nh == 0)
        snprintf(msg, n, "mixer 'rwkv7': head_dim and num_heads are both 0: set one of them");
    else if (hd > 0 && D % hd)
        snprintf(msg, n, "mixer 'rwkv7': head_dim=%lld does not divide d_model=%lld: choose a divisor",
                 (long long)hd, (long long)D);
    else if (nh > 0 && D % nh)
        snprintf(msg, n, "mixer 'rwkv7': num_heads=%lld does not divide d_model=%lld: choose a divisor",
                 (long long)nh, (long long)D);
    else if (!(eps > 0) || !isfinite(eps))
        snprintf(msg, n, "mixer 'rwkv7': norm_eps=%g must be a positive number (default 1e-5)", eps);
    else if (!mode || (strcmp(mode, "chunk") && strcmp(mode, "fused_recurrent")))
        snprintf(msg, n, "mixer 'rwkv7': mode '%s' is unknown: use chunk or fused_recurrent", mode ? mode : "");
    else if (!init || (strcmp(init, "zoology") && strcmp(init, "fla")))
        snprintf(msg, n, "mixer 'rwkv7': init '%s' is unknown: use zoology (the default) or fla", init ? init : "");
    else {
        if (d) {
            d->D = D;
            d->N = hd > 0 ? hd : D / nh;
            d->H = D / d->N;
        }
        return 0;
    }
    return ZOO_ERR_INVALID;
}

static int validate(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t msglen)
{
    return check(h, li, NULL, msg, msglen);
}

typedef enum { ACT_NONE, ACT_TANH, ACT_SIGMOID } lora_act;

/* ---- init = fla: fla's RWKV7Attention._initialize_weights (docs/mixers.md, rwkv7) ---- */
/* What the fills need about the layer (its index, the model's layers, N) travels in the
 * fill's ctx as a packed integer, not an address, so nothing has to outlive the build. */
_Static_assert(sizeof(uintptr_t) >= 8, "the packed layer needs 64-bit pointers");
static const void *fla_pack(const zoo_layer_info *li, int64_t N)
{
    return (const void *)(uintptr_t)(((uint64_t)N << 20) | ((uint64_t)li->layer_idx << 10) | (uint64_t)li->n_layers);
}
typedef struct fla_layer {
    double layer, n_layers, N;
} fla_layer;
static fla_layer fla_unpack(const void *ctx)
{
    uint64_t u = (uint64_t)(uintptr_t)ctx;
    return (fla_layer){(double)((u >> 10) & 1023u), (double)(u & 1023u), (double)(u >> 20)};
}
/* fla's per-channel ramps over the D channels: linear in [-0.5, 0.5], and zigzag, a
 * signed square of the channel's place in its head in [-1, 1] (0 where D or N is 1,
 * where fla would divide by zero). */
static double fla_linear(int64_t n, int64_t D)
{
    return D > 1 ? (double)n / (double)(D - 1) - 0.5 : 0.0;
}
static double fla_zigzag(int64_t n, double N)
{
    if (N <= 1)
        return 0.0;
    double z = ((double)(n % (int64_t)N) - (N - 1) / 2) / ((N - 1) / 2);
    return z * fabs(z);
}
/* layer / (layers - 1), 0 in a one-layer model (fla divides by zero there) */
static double fla_depth(fla_layer f)
{
    return f.n_layers > 1 ? f.layer / (f.n_layers - 1) : 0.0;
}

/* x_x: the six token-shift ratios r, w, k, v, a, g: 1 - (n/D)^(p (1 - layer/layers)) */
static void fill_x_x(float *x, int64_t n, const int64_t *shape, int ndim, zoo_rng *rng, const void *ctx)
{
    (void)n, (void)ndim, (void)rng;
    static const double p[6] = {0.2, 0.9, 0.7, 0.7, 0.9, 0.2};
    fla_layer f = fla_unpack(ctx);
    int64_t D = shape[1];
    for (int i = 0; i < 6; i++)
        for (int64_t c = 0; c < D; c++)
            x[i * D + c] = (float)(1.0 - pow((double)c / (double)D, p[i] * (1.0 - f.layer / f.n_layers)));
}
/* c0 - c1 linear_n (ctx: the two coefficients): k_k (0.71, 0.1), v_lora's bias (0.73, 0.4) */
static void fill_linear_ramp(float *x, int64_t n, const int64_t *shape, int ndim, zoo_rng *rng, const void *ctx)
{
    (void)shape, (void)ndim, (void)rng;
    const double *c01 = ctx;
    for (int64_t c = 0; c < n; c++)
        x[c] = (float)(c01[0] - c01[1] * fla_linear(c, n));
}
static const double k_k_ramp[2] = {0.71, 0.1}, v_bias_ramp[2] = {0.73, 0.4};
/* the decay's bias: a ramp from -6 + 0.5 (decay 0.9975) at channel 0 up to 0.5 (decay
 * 0.69) at the last, its curvature growing with depth, plus a zigzag of +-2.5 per head */
static void fill_w_bias(float *x, int64_t n, const int64_t *shape, int ndim, zoo_rng *rng, const void *ctx)
{
    (void)shape, (void)ndim, (void)rng;
    fla_layer f = fla_unpack(ctx);
    for (int64_t c = 0; c < n; c++) {
        double t = n > 1 ? (double)c / (double)(n - 1) : 0.0;
        x[c] = (float)(-6.0 + 6.0 * pow(t, 1.0 + pow(fla_depth(f), 0.3)) + 0.5 + 2.5 * fla_zigzag(c, f.N));
    }
}
static void fill_a_bias(float *x, int64_t n, const int64_t *shape, int ndim, zoo_rng *rng, const void *ctx)
{
    (void)shape, (void)ndim, (void)rng;
    fla_layer f = fla_unpack(ctx);
    for (int64_t c = 0; c < n; c++)
        x[c] = (float)(-0.19 + 0.3 * fla_zigzag(c, f.N) + 0.4 * fla_linear(c, n));
}
/* A random (rows, cols) matrix with orthonormal rows (rows <= cols) or columns, times
 * gain, as torch.nn.init.orthogonal_: Gram-Schmidt on a Gaussian matrix, run twice so
 * the vectors stay orthogonal to float precision. */
static void orthogonal(float *x, const int64_t *shape, zoo_rng *rng, double gain)
{
    int64_t r = shape[0], c = shape[1];
    int rows = r <= c;                         /* orthonormalise the rows, else the columns */
    int64_t k = rows ? r : c, len = rows ? c : r;
    int64_t step = rows ? 1 : c, next = rows ? c : 1; /* element stride, vector stride */
    for (int64_t i = 0; i < r * c; i++)
        x[i] = (float)zoo_rng_normal(rng);
    for (int pass = 0; pass < 2; pass++)
        for (int64_t j = 0; j < k; j++) {
            float *vj = x + j * next;
            for (int64_t i = 0; i < j; i++) {
                const float *vi = x + i * next;
                double d = 0;
                for (int64_t e = 0; e < len; e++)
                    d += (double)vi[e * step] * vj[e * step];
                for (int64_t e = 0; e < len; e++)
                    vj[e * step] -= (float)(d * vi[e * step]);
            }
            double s = 0;
            for (int64_t e = 0; e < len; e++)
                s += (double)vj[e * step] * vj[e * step];
            if (s > 0)
                for (int64_t e = 0; e < len; e++)
                    vj[e * step] = (float)(vj[e * step] / sqrt(s));
        }
    for (int64_t i = 0; i < r * c; i++)
        x[i] = (float)(x[i] * gain);
}
static void fill_orthogonal(float *x, int64_t n, const int64_t *shape, int ndim, zoo_rng *rng, const void *ctx)
{
    (void)n, (void)ndim;
    orthogonal(x, shape, rng, *(const double *)ctx);
}
/* a LoRA's second Linear (out, rank): orthogonal, gain 0.1, times sqrt(rank/out) when rank > out */
static void fill_lora_out(float *x, int64_t n, const int64_t *shape, int ndim, zoo_rng *rng, const void *ctx)
{
    (void)n, (void)ndim, (void)ctx;
    orthogonal(x, shape, rng, 0.1 * (shape[1] > shape[0] ? sqrt((double)shape[1] / (double)shape[0]) : 1.0));
}
static const double gain_one = 1.0, gain_tenth = 0.1;

/* A Linear: Zoology's model-wide rule (zoo_nn_linear: N(0, 0.02^2), zero bias) when w is
 * NULL, else weight init w and, with a bias, bias init b. */
static zoo_tensor *linear(zoo_graph *g, zoo_tensor *x, const char *name, int64_t out, int bias, const zoo_init *w,
                          const zoo_init *b)
{
    if (!w)
        return zoo_nn_linear(g, x, name, out, bias);
    char nw[80], nb[80];
    snprintf(nw, sizeof nw, "%s.weight", name);
    snprintf(nb, sizeof nb, "%s.bias", name);
    zoo_tensor *W = zoo_param(g, nw, 2, (int64_t[]){out, zoo_tensor_dim(x, -1)}, *w);
    return zoo_linear(g, x, W, bias ? zoo_param(g, nb, 1, (int64_t[]){out}, *b) : NULL);
}

/* fla's LoRA: lora.0 (rank, in) no bias, the activation, lora.2 (out, rank) with an
 * optional bias. tanh(z) = sigmoid(2z) - sigmoid(-2z): there is no tanh op. With a bias
 * init (init = fla): lora.0 zero, lora.2 as fill_lora_out, that bias; else every Linear
 * N(0, 0.02^2) and a zero bias, as Zoology's model init leaves them. */
static zoo_tensor *lora(zoo_graph *g, zoo_tensor *x, const char *name, int64_t rank, int64_t out, lora_act act,
                        int bias, const zoo_init *bias_init)
{
    char n0[64], n2[64];
    snprintf(n0, sizeof n0, "%s.lora.0", name);
    snprintf(n2, sizeof n2, "%s.lora.2", name);
    zoo_init zero = zoo_init_zeros(), w2 = zoo_init_fn(fill_lora_out, NULL);
    zoo_tensor *z = linear(g, x, n0, rank, 0, bias_init ? &zero : NULL, NULL);
    if (act == ACT_TANH)
        z = zoo_add(g, zoo_sigmoid(g, zoo_scale(g, z, 2.0f)), zoo_scale(g, zoo_sigmoid(g, zoo_scale(g, z, -2.0f)), -1.0f));
    else if (act == ACT_SIGMOID)
        z = zoo_sigmoid(g, z);
    return linear(g, z, n2, out, bias, bias_init ? &w2 : NULL, bias_init);
}

/* (B, L, H*N) <-> (B, L, H, N) */
static zoo_tensor *heads4(zoo_graph *g, zoo_tensor *x, const dims *d)
{
    return zoo_reshape(g, x, 4, (int64_t[]){zoo_tensor_dim(x, 0), zoo_tensor_dim(x, 1), d->H, d->N});
}
static zoo_tensor *flat3(zoo_graph *g, zoo_tensor *x, const dims *d)
{
    return zoo_reshape(g, x, 3, (int64_t[]){zoo_tensor_dim(x, 0), zoo_tensor_dim(x, 1), d->D});
}

static int build(zoo_graph *g, const zoo_hvals *h, const zoo_layer_info *li, zoo_tensor *x, zoo_tensor **y)
{
    char msg[512];
    dims d;
    int rc = check(h, li, &d, msg, sizeof msg);
    if (rc)
        return zoo_graph_fail(g, rc, "%s", msg);
    int64_t D = d.D, H = d.H, N = d.N;
    if (zoo_tensor_ndim(x) != 3 || zoo_tensor_dim(x, -1) != D)
        return zoo_graph_fail(g, ZOO_ERR_SHAPE, "mixer 'rwkv7': input width %lld differs from d_model %lld",
                              (long long)zoo_tensor_dim(x, -1), (long long)D);
    const int fla = !strcmp(zoo_hvals_str(h, "init"), "fla");
    const void *lay = fla_pack(li, N);
    zoo_init z0 = zoo_init_zeros();
    zoo_tensor *x_x = zoo_param(g, "x_x", 2, (int64_t[]){6, D}, fla ? zoo_init_fn(fill_x_x, lay) : z0);
    zoo_tensor *k_k = zoo_param(g, "k_k", 1, (int64_t[]){D}, fla ? zoo_init_fn(fill_linear_ramp, k_k_ramp) : z0);
    zoo_tensor *k_a = zoo_param(g, "k_a", 1, (int64_t[]){D}, fla ? zoo_init_const(1.02f) : z0);
    zoo_tensor *r_k = zoo_param(g, "r_k", 2, (int64_t[]){H, N}, fla ? zoo_init_const(-0.04f) : z0);

    /* the six token-shift mixes x + (x_{t-1} - x) * x_x[i]: r, w, k, v, a, g */
    zoo_tensor *delta = zoo_add(g, token_shift(g, x), zoo_scale(g, x, -1.0f));
    zoo_tensor *mixes = zoo_reshape(g, x_x, 1, (int64_t[]){6 * D}), *xs[6];
    for (int i = 0; i < 6; i++)
        xs[i] = zoo_add(g, x, zoo_mul(g, delta, zoo_slice(g, mixes, i * D, D)));

    zoo_init o1 = zoo_init_fn(fill_orthogonal, &gain_one), o01 = zoo_init_fn(fill_orthogonal, &gain_tenth);
    zoo_init wb = zoo_init_fn(fill_w_bias, lay), ab = zoo_init_fn(fill_a_bias, lay);
    zoo_tensor *r = linear(g, xs[0], "r_proj", D, 0, fla ? &o1 : NULL, NULL);
    zoo_tensor *k = linear(g, xs[2], "k_proj", D, 0, fla ? &o01 : NULL, NULL);
    zoo_tensor *v = linear(g, xs[3], "v_proj", D, 0, fla ? &o1 : NULL, NULL);
    zoo_tensor *wl = lora(g, xs[1], "w_lora", zoo_hvals_int(h, "decay_low_rank_dim"), D, ACT_TANH, 1, fla ? &wb : NULL);
    zoo_tensor *decay = zoo_exp(g, zoo_scale(g, zoo_sigmoid(g, wl), (float)-exp(-0.5)));
    if (li->layer_idx != 0) { /* Zoology's value residual LoRA: built, never reached (no v_first) */
        int64_t rv = zoo_hvals_int(h, "v_low_rank_dim");
        zoo_init w0 = fla ? z0 : zoo_init_normal(0.0f, 0.02f), w2 = fla ? zoo_init_fn(fill_lora_out, NULL) : w0;
        zoo_param(g, "v_lora.lora.0.weight", 2, (int64_t[]){rv, D}, w0);
        zoo_param(g, "v_lora.lora.2.weight", 2, (int64_t[]){D, rv}, w2);
        zoo_param(g, "v_lora.lora.2.bias", 1, (int64_t[]){D}, fla ? zoo_init_fn(fill_linear_ramp, v_bias_ramp) : z0);
    }
    zoo_tensor *a = zoo_sigmoid(g, lora(g, xs[4], "a_lora", zoo_hvals_int(h, "a_low_rank_dim"), D, ACT_NONE, 1, fla ? &ab : NULL));
    zoo_tensor *gate = lora(g, xs[5], "g_lora", zoo_hvals_int(h, "gate_low_rank_dim"), D, ACT_SIGMOID, 0, fla ? &z0 : NULL);

    /* constants (N): 0 and 1, and the (N, N) ones whose product sums a head's channels */
    zoo_tensor *zeros = zoo_fill(g, 1, (int64_t[]){N}, 0.0f), *ones = zoo_fill(g, 1, (int64_t[]){N}, 1.0f);
    zoo_tensor *ones_nn = zoo_fill(g, 2, (int64_t[]){N, N}, 1.0f);

    /* fla's l2norm x / sqrt(|x|^2 + 1e-6) per head is RMSNorm with eps 1e-6/N times 1/sqrt(N) */
    zoo_tensor *kk = zoo_scale(g, flat3(g, zoo_rmsnorm(g, heads4(g, zoo_mul(g, k, k_k), &d), NULL, (float)(1e-6 / (double)N)), &d),
                               (float)(1.0 / sqrt((double)N)));
    /* k' = k + k (a - 1) k_a */
    k = zoo_add(g, k, zoo_mul(g, zoo_add(g, zoo_mul(g, k, a), zoo_scale(g, k, -1.0f)), k_a));
    zoo_tensor *o = zoo_recurrence(g, r, k, v, decay, zoo_mul(g, kk, a), zoo_scale(g, kk, -1.0f), (int)H);

    /* GroupNorm over each head's N channels, eps N * norm_eps, per-channel affine */
    float eps = (float)((double)N * zoo_hvals_float(h, "norm_eps"));
    o = flat3(g, zoo_layernorm(g, heads4(g, o, &d), ones, zeros, eps), &d);
    if (zoo_hvals_bool(h, "elementwise_affine")) {
        /* fla: ((l + 1) / n_l)^0.7, smaller in the lower layers */
        float gw0 = fla ? (float)pow((li->layer_idx + 1.0) / li->n_layers, 0.7) : 1.0f;
        zoo_tensor *gw = zoo_param(g, "g_norm.weight", 1, (int64_t[]){D}, zoo_init_const(gw0));
        zoo_tensor *gb = zoo_param(g, "g_norm.bias", 1, (int64_t[]){D}, zoo_init_zeros());
        o = zoo_add(g, zoo_mul(g, o, gw), gb);
    }
    /* bonus: per head, (sum_n r k' r_k) v */
    zoo_tensor *rkr = zoo_mul(g, zoo_mul(g, r, k), zoo_reshape(g, r_k, 1, (int64_t[]){D}));
    zoo_tensor *dot = zoo_linear(g, heads4(g, rkr, &d), ones_nn, NULL); /* each of the N copies: the head's sum */
    o = zoo_add(g, o, flat3(g, zoo_mul(g, dot, heads4(g, v, &d)), &d));
    *y = linear(g, zoo_mul(g, o, gate), "o_proj", D, 0, fla ? &z0 : NULL, NULL);
    return zoo_graph_status(g);
}

/* Floats one layer carries from token to token: the WKV state, H matrices of N x N (the
 * sum over heads of dk * dv), and the previous token's x for the token shift (D). Zoology's
 * state_size returns num_heads * key_dim * value_dim = H D^2, H^2 times the WKV state
 * (docs/mixers.md, rwkv7). */
static double state_size(const zoo_hvals *h, const zoo_layer_info *li)
{
    dims d;
    char msg[256];
    if (check(h, li, &d, msg, sizeof msg))
        return 0.0;
    return (double)d.H * (double)d.N * (double)d.N + (double)d.D;
}

ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = {
    .hdr = ZOO_MIXER_HEADER,
    .name = "rwkv7",
    .family = "recurrent",
    .summary = "RWKV-7 time mix: token shift, LoRA decay and in-context rate, generalized delta rule (Zoology)",
    .hparams = knobs,
    .build = build,
    .state_size = state_size,
    .validate = validate,
};
