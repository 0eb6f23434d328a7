/* sliding_window.c: the Zoology SlidingAttn mixer (docs/mixers.md) as a plugin: one head
 * of width D over the fused Wqkv projection, query t sees keys t-w..t (w+1 keys, -10000
 * added elsewhere), scale 1/sqrt(D), dropout on the probabilities, out_proj. */
#include <math.h>
#include <stdio.h>

#include "zoo/mixer.h"

static const zoo_hparam knobs[] = {
    {"block_size", ZOO_HP_INT, "256", "window w >= 0: query t attends to keys t-w..t, w+1 keys"},
    {"dropout", ZOO_HP_FLOAT, "0", "dropout on the attention probabilities in training, in [0, 1)"},
    {"bias", ZOO_HP_BOOL, "true", "bias on the Wqkv projection (out_proj always has one)"},
    {NULL, 0, NULL, NULL},
};

static int check(const zoo_hvals *h, char *msg, size_t n)
{
    int64_t w = zoo_hvals_int(h, "block_size");
    double p = zoo_hvals_float(h, "dropout");
    if (w < 0 || w > (int64_t)1 << 30)
        snprintf(msg, n, "mixer 'sliding_window': block_size=%lld must be >= 0 (the window covers w+1 keys)",
                 (long long)w);
    else if (!(p >= 0.0 && p < 1.0))
        snprintf(msg, n, "mixer 'sliding_window': dropout=%g is outside [0, 1): set e.g. 0", p);
    else
        return 0;
    return ZOO_ERR_INVALID;
}

static int validate(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t msglen)
{
    (void)li;
    return check(h, msg, msglen);
}

static int build(zoo_graph *g, const zoo_hvals *h, const zoo_layer_info *li, zoo_tensor *x, zoo_tensor **y)
{
    char msg[512];
    int rc = check(h, msg, sizeof msg);
    if (rc)
        return zoo_graph_fail(g, rc, "%s", msg);
    int64_t D = li->d_model;
    if (zoo_tensor_dim(x, -1) != D)
        return zoo_graph_fail(g, ZOO_ERR_SHAPE, "mixer 'sliding_window': input width %lld differs from d_model %lld",
                              (long long)zoo_tensor_dim(x, -1), (long long)D);
    zoo_tensor *qkv = zoo_nn_linear(g, x, "Wqkv", 3 * D, zoo_hvals_bool(h, "bias")); /* [q | k | v] */
    zoo_tensor *q = zoo_slice(g, qkv, 0, D), *k = zoo_slice(g, qkv, D, D), *v = zoo_slice(g, qkv, 2 * D, D);
    zoo_tensor *o = zoo_attention(g, q, k, v, 1, (int)zoo_hvals_int(h, "block_size"),
                                  (float)(1.0 / sqrt((double)D)), (float)zoo_hvals_float(h, "dropout"));
    *y = zoo_nn_linear(g, o, "out_proj", D, 1);
    return zoo_graph_status(g);
}

/* Keys and values of the last w tokens: 2 w D. */
static double state_size(const zoo_hvals *h, const zoo_layer_info *li)
{
    return 2.0 * (double)zoo_hvals_int(h, "block_size") * (double)li->d_model;
}

ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = {
    .hdr = ZOO_MIXER_HEADER,
    .name = "sliding_window",
    .family = "local-attention",
    .summary = "sliding-window causal softmax attention, one head of width d_model (Zoology SlidingAttn)",
    .hparams = knobs,
    .build = build,
    .state_size = state_size,
    .validate = validate,
};
