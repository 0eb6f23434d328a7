/* base_conv.c: the Zoology BaseConv mixer (docs/mixers.md, base_conv) as a plugin:
 * y = Conv(u) * (u Wp + bp) + u, Conv a short depthwise conv or a long conv whose filter is
 * implicit (MLP of positional features) or explicit; the long conv adds its own +u, so
 * a long-conv layer is ((k * u) + u) * (u Wp + bp) + u. */
#include <math.h>
#include <stdio.h>

#include "zoo/mixer.h"

static const zoo_hparam knobs[] = {
    {"kernel_size", ZOO_HP_INT_LIST, "[3, -1, 3, -1]",
     "conv per layer, entry layer_idx (one int: every layer): k >= 1 a short conv of k taps, -1 a long conv "
     "(paper: [3, -1, 3, -1])"},
    {"implicit_long_conv", ZOO_HP_BOOL, "true",
     "long conv filter from an MLP of positional features (false: an explicit (d_model, l_max) filter)"},
    {"use_act", ZOO_HP_BOOL, "false", "SiLU on the conv and on the projection before the product (HEAD option)"},
    {NULL, 0, NULL, NULL},
};

#define PI 3.14159265358979323846
#define MLP_HIDDEN 16 /* ImplicitLongConvolution: Linear(3, 16) -> ReLU -> Linear(16, D) */

/* The kernel size of this layer, or a message naming the knob. */
static int layer_kernel(const zoo_hvals *h, const zoo_layer_info *li, int64_t *k, char *msg, size_t n)
{
    const int64_t *v = NULL;
    int cnt = zoo_hvals_list(h, "kernel_size", &v);
    if (cnt < 1 || !v) {
        snprintf(msg, n, "mixer 'base_conv': kernel_size is empty: give one int or one entry per layer");
        return ZOO_ERR_INVALID;
    }
    if (cnt > 1 && cnt < li->n_layers) {
        snprintf(msg, n,
                 "mixer 'base_conv': kernel_size lists %d entries for %d layers: give one entry per layer "
                 "(e.g. [3, -1, 3, -1]) or a single int",
                 cnt, li->n_layers);
        return ZOO_ERR_INVALID;
    }
    *k = cnt == 1 ? v[0] : v[li->layer_idx];
    if (*k != -1 && *k < 1) {
        snprintf(msg, n, "mixer 'base_conv': kernel_size entry %lld for layer %d: use k >= 1 or -1 (long conv)",
                 (long long)*k, li->layer_idx);
        return ZOO_ERR_INVALID;
    }
    return 0;
}

static int validate(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t msglen)
{
    int64_t k;
    return layer_kernel(h, li, &k, msg, msglen);
}

/* pos_emb.z (1, l_max, 3): [t/(l_max-1), cos(2 pi 1e-4 t/l_max), -sin(2 pi 1e-4 t/l_max)],
 * Zoology's PositionalEmbedding with emb_dim 3 (one band at frequency 1e-4). */
static void fill_z(float *x, int64_t n, const int64_t *shape, int ndim, zoo_rng *rng, const void *ctx)
{
    (void)n, (void)ndim, (void)rng, (void)ctx;
    int64_t lm = shape[1];
    for (int64_t t = 0; t < lm; t++) {
        double w = 2.0 * PI * (double)t / (double)lm;
        x[t * 3] = lm > 1 ? (float)((double)t / (double)(lm - 1)) : 0.0f;
        x[t * 3 + 1] = (float)cos(1e-4 * w);
        x[t * 3 + 2] = (float)-sin(1e-4 * w);
    }
}

/* The (D, L) long filter: implicit MLP of the frozen positional features, or explicit. */
static zoo_tensor *long_filter(zoo_graph *g, const zoo_hvals *h, const zoo_layer_info *li)
{
    int64_t D = li->d_model, L = li->seq_len, lm = li->l_max > L ? li->l_max : L;
    zoo_tensor *k;
    if (zoo_hvals_bool(h, "implicit_long_conv")) {
        zoo_tensor *z = zoo_buffer(g, "conv.pos_emb.z", 3, (int64_t[]){1, lm, 3}, zoo_init_fn(fill_z, NULL));
        zoo_tensor *a = zoo_relu(g, zoo_nn_linear(g, z, "conv.mlp.0", MLP_HIDDEN, 1)); /* (1, l_max, 16) */
        a = zoo_nn_linear(g, a, "conv.mlp.2", D, 1);                                  /* (1, l_max, D) */
        k = zoo_transpose(g, zoo_reshape(g, a, 2, (int64_t[]){lm, D}));              /* (D, l_max) */
    } else {
        /* LongConvolution: filter ~ N(0, 1), (D, l_max); taps past L never reach the
         * first L outputs of a linear convolution (the repo's circular aliasing for
         * l_max > L, whose 2L FFT wraps taps L..2L-1 around, is not reproduced). */
        k = zoo_param(g, "conv.filter", 2, (int64_t[]){D, lm}, zoo_init_normal(0.0f, 1.0f));
    }
    return lm > L ? zoo_slice(g, k, 0, L) : k;
}

static int build(zoo_graph *g, const zoo_hvals *h, const zoo_layer_info *li, zoo_tensor *x, zoo_tensor **y)
{
    char msg[512];
    int64_t ks, D = li->d_model;
    int rc = layer_kernel(h, li, &ks, msg, sizeof msg);
    if (rc)
        return zoo_graph_fail(g, rc, "%s", msg);
    if (zoo_tensor_dim(x, -1) != D)
        return zoo_graph_fail(g, ZOO_ERR_SHAPE, "mixer 'base_conv': input width %lld differs from d_model %lld",
                              (long long)zoo_tensor_dim(x, -1), (long long)D);
    zoo_tensor *proj = zoo_nn_linear(g, x, "projection", D, 1); /* u Wp + bp */
    zoo_tensor *conv;
    if (ks > 0) {
        /* nn.Conv1d default init for a depthwise conv: U(+-1/sqrt(k)) for weight and bias */
        float b = (float)(1.0 / sqrt((double)ks));
        zoo_tensor *w = zoo_param(g, "conv.conv.weight", 3, (int64_t[]){D, 1, ks}, zoo_init_uniform(-b, b));
        zoo_tensor *bias = zoo_param(g, "conv.conv.bias", 1, (int64_t[]){D}, zoo_init_uniform(-b, b));
        conv = zoo_shortconv(g, x, w, bias);
    } else {
        conv = zoo_add(g, zoo_fftconv(g, x, long_filter(g, h, li), NULL), x); /* k * u + u */
    }
    if (zoo_hvals_bool(h, "use_act")) {
        conv = zoo_silu(g, conv);
        proj = zoo_silu(g, proj);
    }
    *y = zoo_add(g, zoo_mul(g, conv, proj), x);
    return zoo_graph_status(g);
}

/* Short conv: the last k inputs per channel (D k); long conv: the whole sequence (D L), at the
 * longest length the model is built for. */
static double state_size(const zoo_hvals *h, const zoo_layer_info *li)
{
    char msg[256];
    int64_t ks;
    if (layer_kernel(h, li, &ks, msg, sizeof msg))
        return 0.0;
    int64_t L = li->l_max > 0 ? li->l_max : li->seq_len;
    return (double)li->d_model * (double)(ks > 0 ? ks : L);
}

ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = {
    .hdr = ZOO_MIXER_HEADER,
    .name = "base_conv",
    .family = "gated-conv",
    .summary = "BaseConv: (short or implicit long conv of u) * (u W + b) + u (Zoology)",
    .hparams = knobs,
    .build = build,
    .state_size = state_size,
    .validate = validate,
};
