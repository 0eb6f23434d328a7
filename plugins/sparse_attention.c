/* sparse_attention.c: the input-dependent sparse attention of the Zoology paper's section
 * 5 (Zoology's selective.py, docs/mixers.md, sparse_attention) as a plugin. Causal
 * multi-head softmax attention (fused Wqkv, out_proj) gives a; a scalar score per
 * position, s = selecting(u), turns into a selection weight by one of three rules:
 *   "softmax" (SelectiveLookups): sel = softmax over the sequence of s, times sqrt(D)/8
 *   "sigmoid" (SigmoidLookups):   sel = sigmoid(s), s without a bias, and the training
 *                                 objective gains penalty * relu(mean(sel) - n/L)
 *   "gate" (zoo's):               sel = sigmoid(s) * sqrt(D)/8, causal
 * and the mixer returns y = u + a * sel: it adds its own input on top of the block's
 * residual, as Zoology's does. In eval mode the two Zoology rules keep sel at the k
 * largest positions of each sequence only (zoo_topk_seq; k = n_lookups, by default
 * ceil(sqrt(L))) and the others get y = u: neither is causal (the softmax's normaliser,
 * and at eval the top-k choice, depend on later tokens). The gate is causal and the same
 * in both modes. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "group_scale.h"
#include "zoo/mixer.h"

static const zoo_hparam knobs[] = {
    {"num_heads", ZOO_HP_INT, "1", "attention heads; d_model must be divisible by it"},
    {"bias", ZOO_HP_BOOL, "true", "bias on the Wqkv projection (out_proj always has one; selecting too, but under selection sigmoid)"},
    {"dropout", ZOO_HP_FLOAT, "0.0", "dropout on the attention probabilities in training, in [0, 1)"},
    {"selection", ZOO_HP_STRING, "softmax",
     "softmax: Zoology's SelectiveLookups, softmax over the sequence, top k at eval (not causal); "
     "sigmoid: Zoology's SigmoidLookups, a sigmoid per position, an auxiliary penalty, top k at eval (not causal); "
     "gate: zoo's causal sigmoid gate, the same in training and eval"},
    {"n_lookups", ZOO_HP_INT, "0", "positions kept at eval (softmax, sigmoid), and the sigmoid penalty's target count; "
     "0 = Zoology's: ceil(sqrt(L)) kept, a target of sqrt(L)"},
    {"selection_penalty", ZOO_HP_FLOAT, "0.001", "sigmoid: weight of relu(mean(sel) - n/L) in the training objective (>= 0)"},
    {NULL, 0, NULL, NULL},
};

/* Shared by the validate slot and build, so a bad knob fails the same way in both. */
static int check(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t n)
{
    int64_t heads = zoo_hvals_int(h, "num_heads");
    double p = zoo_hvals_float(h, "dropout");
    const char *sel = zoo_hvals_str(h, "selection");
    if (heads < 1 || li->d_model % heads) {
        snprintf(msg, n,
                 "mixer 'sparse_attention': num_heads=%lld does not divide d_model=%lld: choose num_heads among the "
                 "divisors of d_model",
                 (long long)heads, (long long)li->d_model);
        return ZOO_ERR_INVALID;
    }
    if (!(p >= 0.0 && p < 1.0)) {
        snprintf(msg, n, "mixer 'sparse_attention': dropout=%g is outside [0, 1): set dropout to e.g. 0 or 0.1", p);
        return ZOO_ERR_INVALID;
    }
    if (!sel || (strcmp(sel, "softmax") && strcmp(sel, "sigmoid") && strcmp(sel, "gate"))) {
        snprintf(msg, n,
                 "mixer 'sparse_attention': selection=%s is not a rule: use softmax (Zoology's SelectiveLookups), "
                 "sigmoid (its SigmoidLookups) or gate (causal)",
                 sel ? sel : "(none)");
        return ZOO_ERR_INVALID;
    }
    int64_t nl = zoo_hvals_int(h, "n_lookups");
    if (nl < 0 || nl > li->seq_len) {
        snprintf(msg, n, "mixer 'sparse_attention': n_lookups=%lld is outside [0, L=%lld]: use 0 (ceil(sqrt(L))) or a "
                 "count up to the sequence length", (long long)nl, (long long)li->seq_len);
        return ZOO_ERR_INVALID;
    }
    double pen = zoo_hvals_float(h, "selection_penalty");
    if (!(pen >= 0) || !isfinite(pen)) {
        snprintf(msg, n, "mixer 'sparse_attention': selection_penalty=%g must be a number >= 0 (Zoology's 0.001)", pen);
        return ZOO_ERR_INVALID;
    }
    return 0;
}

static int validate(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t msglen)
{
    return check(h, li, msg, msglen);
}

/* SigmoidLookups' auxiliary loss, a term of the training objective: penalty * relu(mean
 * of sel over batch and positions - n/L), which pushes the average selection down to n
 * of the L positions. The mean is a product with a constant row of 1/(B L). */
static void selection_penalty(zoo_graph *g, zoo_tensor *sel, double n, double penalty)
{
    int64_t BL = zoo_tensor_dim(sel, 0) * zoo_tensor_dim(sel, 1), L = zoo_tensor_dim(sel, 1);
    zoo_tensor *row = zoo_reshape(g, sel, 2, (int64_t[]){1, BL});
    zoo_tensor *mean = zoo_linear(g, row, zoo_fill(g, 2, (int64_t[]){1, BL}, (float)(1.0 / (double)BL)), NULL);
    zoo_tensor *over = zoo_relu(g, zoo_add(g, mean, zoo_fill(g, 2, (int64_t[]){1, 1}, (float)(-n / (double)L))));
    zoo_graph_add_loss(g, zoo_reshape(g, zoo_scale(g, over, (float)penalty), 1, (int64_t[]){1}));
}

static int build(zoo_graph *g, const zoo_hvals *h, const zoo_layer_info *li, zoo_tensor *x, zoo_tensor **y)
{
    char msg[512];
    int rc = check(h, li, msg, sizeof msg);
    if (rc)
        return zoo_graph_fail(g, rc, "%s", msg);
    int64_t D = zoo_tensor_dim(x, -1), L = zoo_tensor_dim(x, 1);
    if (D != li->d_model)
        return zoo_graph_fail(g, ZOO_ERR_SHAPE, "mixer 'sparse_attention': input width %lld differs from d_model %lld",
                              (long long)D, (long long)li->d_model);
    int heads = (int)zoo_hvals_int(h, "num_heads");
    const char *rule = zoo_hvals_str(h, "selection");
    int softmax = !strcmp(rule, "softmax"), sigmoid = !strcmp(rule, "sigmoid");
    int64_t nl = zoo_hvals_int(h, "n_lookups");
    /* qkv: (B, L, 3D); columns [0:D] = q, [D:2D] = k, [2D:3D] = v, heads contiguous in each */
    zoo_tensor *qkv = zoo_nn_linear(g, x, "Wqkv", 3 * D, zoo_hvals_bool(h, "bias"));
    zoo_tensor *q = zoo_slice(g, qkv, 0, D), *k = zoo_slice(g, qkv, D, D), *v = zoo_slice(g, qkv, 2 * D, D);
    float scale = (float)(1.0 / sqrt((double)(D / heads)));
    zoo_tensor *o = zoo_attention(g, q, k, v, heads, -1, scale, (float)zoo_hvals_float(h, "dropout"));
    zoo_tensor *a = zoo_nn_linear(g, o, "out_proj", D, 1);
    zoo_tensor *s = zoo_nn_linear(g, x, "selecting", 1, !sigmoid); /* (B, L, 1); SigmoidLookups' has no bias */
    zoo_tensor *sel = softmax ? zoo_softmax_seq(g, s) : zoo_sigmoid(g, s);
    if (!sigmoid)
        sel = zoo_scale(g, sel, (float)(sqrt((double)D) / 8.0));
    if (sigmoid && zoo_hvals_float(h, "selection_penalty") > 0)
        selection_penalty(g, sel, nl > 0 ? (double)nl : sqrt((double)L), zoo_hvals_float(h, "selection_penalty"));
    if (softmax || sigmoid) /* eval only: the top k positions keep their weight */
        sel = zoo_topk_seq(g, sel, nl > 0 ? nl : (int64_t)ceil(sqrt((double)L)));
    *y = zoo_add(g, group_scale(g, a, sel, 1, zoo_tensor_dim(a, 2)), x);
    return zoo_graph_status(g);
}

/* Attention's KV cache (2 D L) at the longest length the model is built for; the two
 * Zoology rules also need every position's score (L): the softmax's normaliser and both
 * eval top-k's span the whole sequence. The causal gate carries nothing from token to
 * token. */
static double state_size(const zoo_hvals *h, const zoo_layer_info *li)
{
    int64_t L = li->l_max > 0 ? li->l_max : li->seq_len;
    const char *sel = zoo_hvals_str(h, "selection");
    double scores = sel && strcmp(sel, "gate") ? (double)L : 0.0;
    return 2.0 * (double)li->d_model * (double)L + scores;
}

ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = {
    .hdr = ZOO_MIXER_HEADER,
    .name = "sparse_attention",
    .family = "attention",
    .summary = "input-dependent sparse attention (Zoology's selective.py: attention weighted by a learned "
               "selection of positions, top ceil(sqrt(L)) at eval; not causal; or a causal gate)",
    .hparams = knobs,
    .build = build,
    .state_size = state_size,
    .validate = validate,
};
