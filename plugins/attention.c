/* attention.c: the Zoology MHA mixer (docs/mixers.md, attention) as a plugin: one fused Wqkv
 * projection split into q, k, v; causal softmax attention with the additive -10000 mask
 * and dropout on the probabilities; then out_proj. The core derives the backward. */
#include <math.h>
#include <stdio.h>

#include "zoo/mixer.h"

static const zoo_hparam knobs[] = {
    {"num_heads", ZOO_HP_INT, "1", "attention heads; d_model must be divisible by it (paper: 1)"},
    {"dropout", ZOO_HP_FLOAT, "0.1", "dropout on the attention probabilities in training, in [0, 1) (paper: 0.1)"},
    {"bias", ZOO_HP_BOOL, "true", "bias on the Wqkv projection (out_proj always has one, as in Zoology)"},
    {NULL, 0, NULL, NULL},
};

/* Shared by the validate slot and build, so a bad knob fails the same way in both. */
static int check(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t n)
{
    int64_t heads = zoo_hvals_int(h, "num_heads");
    double p = zoo_hvals_float(h, "dropout");
    if (heads < 1 || li->d_model % heads) {
        snprintf(msg, n,
                 "mixer 'attention': num_heads=%lld does not divide d_model=%lld: choose num_heads among the "
                 "divisors of d_model",
                 (long long)heads, (long long)li->d_model);
        return ZOO_ERR_INVALID;
    }
    if (!(p >= 0.0 && p < 1.0)) {
        snprintf(msg, n, "mixer 'attention': dropout=%g is outside [0, 1): set dropout to e.g. 0 or 0.1", p);
        return ZOO_ERR_INVALID;
    }
    return 0;
}

static int validate(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t msglen)
{
    return check(h, li, msg, msglen);
}

static int build(zoo_graph *g, const zoo_hvals *h, const zoo_layer_info *li, zoo_tensor *x, zoo_tensor **y)
{
    char msg[512];
    int rc = check(h, li, msg, sizeof msg);
    if (rc)
        return zoo_graph_fail(g, rc, "%s", msg);
    int64_t D = zoo_tensor_dim(x, -1);
    if (D != li->d_model)
        return zoo_graph_fail(g, ZOO_ERR_SHAPE, "mixer 'attention': input width %lld differs from d_model %lld",
                              (long long)D, (long long)li->d_model);
    int heads = (int)zoo_hvals_int(h, "num_heads");
    float p = (float)zoo_hvals_float(h, "dropout");
    /* qkv: (B, L, 3D); columns [0:D] = q, [D:2D] = k, [2D:3D] = v, heads contiguous in each */
    zoo_tensor *qkv = zoo_nn_linear(g, x, "Wqkv", 3 * D, zoo_hvals_bool(h, "bias"));
    zoo_tensor *q = zoo_slice(g, qkv, 0, D);
    zoo_tensor *k = zoo_slice(g, qkv, D, D);
    zoo_tensor *v = zoo_slice(g, qkv, 2 * D, D);
    float scale = (float)(1.0 / sqrt((double)(D / heads)));
    zoo_tensor *o = zoo_attention(g, q, k, v, heads, -1, scale, p); /* window -1: full causal */
    *y = zoo_nn_linear(g, o, "out_proj", D, 1);
    return zoo_graph_status(g);
}

/* KV cache at inference: keys and values for every position (2 D L), taken at
 * the longest length the model is built for. */
static double state_size(const zoo_hvals *h, const zoo_layer_info *li)
{
    (void)h;
    int64_t L = li->l_max > 0 ? li->l_max : li->seq_len;
    return 2.0 * (double)li->d_model * (double)L;
}

ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = {
    .hdr = ZOO_MIXER_HEADER,
    .name = "attention",
    .family = "attention",
    .summary = "multi-head causal softmax attention (Zoology MHA: fused Wqkv, -10000 mask, out_proj)",
    .hparams = knobs,
    .build = build,
    .state_size = state_size,
    .validate = validate,
};
