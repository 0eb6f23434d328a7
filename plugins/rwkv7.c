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
 * nodes, not buffers, so the state_dict stays Zoology's. */
#include <math.h>
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
    const char *mode = zoo_hvals_str(h, "mode");
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

/* fla's LoRA: lora.0 (rank, in) no bias, the activation, lora.2 (out, rank) with an
 * optional bias. tanh(z) = sigmoid(2z) - sigmoid(-2z): there is no tanh op. */
static zoo_tensor *lora(zoo_graph *g, zoo_tensor *x, const char *name, int64_t rank, int64_t out, lora_act act,
                        int bias)
{
    char n0[64], n2[64];
    snprintf(n0, sizeof n0, "%s.lora.0", name);
    snprintf(n2, sizeof n2, "%s.lora.2", name);
    zoo_tensor *z = zoo_nn_linear(g, x, n0, rank, 0);
    if (act == ACT_TANH)
        z = zoo_add(g, zoo_sigmoid(g, zoo_scale(g, z, 2.0f)), zoo_scale(g, zoo_sigmoid(g, zoo_scale(g, z, -2.0f)), -1.0f));
    else if (act == ACT_SIGMOID)
        z = zoo_sigmoid(g, z);
    return zoo_nn_linear(g, z, n2, out, bias);
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
    zoo_tensor *x_x = zoo_param(g, "x_x", 2, (int64_t[]){6, D}, zoo_init_zeros());
    zoo_tensor *k_k = zoo_param(g, "k_k", 1, (int64_t[]){D}, zoo_init_zeros());
    zoo_tensor *k_a = zoo_param(g, "k_a", 1, (int64_t[]){D}, zoo_init_zeros());
    zoo_tensor *r_k = zoo_param(g, "r_k", 2, (int64_t[]){H, N}, zoo_init_zeros());

    /* the six token-shift mixes x + (x_{t-1} - x) * x_x[i]: r, w, k, v, a, g */
    zoo_tensor *delta = zoo_add(g, token_shift(g, x), zoo_scale(g, x, -1.0f));
    zoo_tensor *mixes = zoo_reshape(g, x_x, 1, (int64_t[]){6 * D}), *xs[6];
    for (int i = 0; i < 6; i++)
        xs[i] = zoo_add(g, x, zoo_mul(g, delta, zoo_slice(g, mixes, i * D, D)));

    zoo_tensor *r = zoo_nn_linear(g, xs[0], "r_proj", D, 0);
    zoo_tensor *k = zoo_nn_linear(g, xs[2], "k_proj", D, 0);
    zoo_tensor *v = zoo_nn_linear(g, xs[3], "v_proj", D, 0);
    zoo_tensor *wl = lora(g, xs[1], "w_lora", zoo_hvals_int(h, "decay_low_rank_dim"), D, ACT_TANH, 1);
    zoo_tensor *decay = zoo_exp(g, zoo_scale(g, zoo_sigmoid(g, wl), (float)-exp(-0.5)));
    if (li->layer_idx != 0) { /* Zoology's value residual LoRA: built, never reached (no v_first) */
        int64_t rv = zoo_hvals_int(h, "v_low_rank_dim");
        zoo_param(g, "v_lora.lora.0.weight", 2, (int64_t[]){rv, D}, zoo_init_normal(0.0f, 0.02f));
        zoo_param(g, "v_lora.lora.2.weight", 2, (int64_t[]){D, rv}, zoo_init_normal(0.0f, 0.02f));
        zoo_param(g, "v_lora.lora.2.bias", 1, (int64_t[]){D}, zoo_init_zeros());
    }
    zoo_tensor *a = zoo_sigmoid(g, lora(g, xs[4], "a_lora", zoo_hvals_int(h, "a_low_rank_dim"), D, ACT_NONE, 1));
    zoo_tensor *gate = lora(g, xs[5], "g_lora", zoo_hvals_int(h, "gate_low_rank_dim"), D, ACT_SIGMOID, 0);

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
        zoo_tensor *gw = zoo_param(g, "g_norm.weight", 1, (int64_t[]){D}, zoo_init_const(1.0f));
        zoo_tensor *gb = zoo_param(g, "g_norm.bias", 1, (int64_t[]){D}, zoo_init_zeros());
        o = zoo_add(g, zoo_mul(g, o, gw), gb);
    }
    /* bonus: per head, (sum_n r k' r_k) v */
    zoo_tensor *rkr = zoo_mul(g, zoo_mul(g, r, k), zoo_reshape(g, r_k, 1, (int64_t[]){D}));
    zoo_tensor *dot = zoo_linear(g, heads4(g, rkr, &d), ones_nn, NULL); /* each of the N copies: the head's sum */
    o = zoo_add(g, o, flat3(g, zoo_mul(g, dot, heads4(g, v, &d)), &d));
    *y = zoo_nn_linear(g, zoo_mul(g, o, gate), "o_proj", D, 0);
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
