/* sparse_attention.c: the input-dependent sparse attention of the Zoology paper's section
 * 5 (Zoology's SelectiveLookups, docs/mixers.md, sparse_attention) as a plugin. Causal
 * multi-head softmax attention (fused Wqkv, out_proj) gives a; a scalar score per
 * position, s = selecting(u), turns into a selection weight
 *   selection "softmax": sel = softmax over the sequence of s * sqrt(D)/8
 *   selection "sigmoid": sel = sigmoid(s) * sqrt(D)/8
 * and the mixer returns y = u + a * sel: it adds its own input on top of the block's
 * residual, as Zoology's does. In eval mode the softmax rule keeps sel at the
 * ceil(sqrt(L)) largest positions of each sequence only (zoo_topk_seq) and the others
 * get y = u. The softmax rule is not causal: the normaliser, and at eval the top-k
 * choice, depend on later tokens. The sigmoid rule is causal and the same in both modes. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "group_scale.h"
#include "zoo/mixer.h"

static const zoo_hparam knobs[] = {
    {"num_heads", ZOO_HP_INT, "1", "attention heads; d_model must be divisible by it"},
    {"bias", ZOO_HP_BOOL, "true", "bias on the Wqkv projection (out_proj and selecting always have one)"},
    {"dropout", ZOO_HP_FLOAT, "0.0", "dropout on the attention probabilities in training, in [0, 1)"},
    {"selection", ZOO_HP_STRING, "softmax",
     "softmax: Zoology's rule, softmax over the sequence and top ceil(sqrt(L)) at eval (not causal); "
     "sigmoid: a causal per-position gate, the same in training and eval"},
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
    if (!sel || (strcmp(sel, "softmax") && strcmp(sel, "sigmoid"))) {
        snprintf(msg, n, "mixer 'sparse_attention': selection=%s is not a rule: use softmax (Zoology's) or sigmoid",
                 sel ? sel : "(none)");
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
    int64_t D = zoo_tensor_dim(x, -1), L = zoo_tensor_dim(x, 1);
    if (D != li->d_model)
        return zoo_graph_fail(g, ZOO_ERR_SHAPE, "mixer 'sparse_attention': input width %lld differs from d_model %lld",
                              (long long)D, (long long)li->d_model);
    int heads = (int)zoo_hvals_int(h, "num_heads");
    int softmax = !strcmp(zoo_hvals_str(h, "selection"), "softmax");
    /* qkv: (B, L, 3D); columns [0:D] = q, [D:2D] = k, [2D:3D] = v, heads contiguous in each */
    zoo_tensor *qkv = zoo_nn_linear(g, x, "Wqkv", 3 * D, zoo_hvals_bool(h, "bias"));
    zoo_tensor *q = zoo_slice(g, qkv, 0, D), *k = zoo_slice(g, qkv, D, D), *v = zoo_slice(g, qkv, 2 * D, D);
    float scale = (float)(1.0 / sqrt((double)(D / heads)));
    zoo_tensor *o = zoo_attention(g, q, k, v, heads, -1, scale, (float)zoo_hvals_float(h, "dropout"));
    zoo_tensor *a = zoo_nn_linear(g, o, "out_proj", D, 1);
    zoo_tensor *s = zoo_nn_linear(g, x, "selecting", 1, 1); /* (B, L, 1) */
    zoo_tensor *sel = zoo_scale(g, softmax ? zoo_softmax_seq(g, s) : zoo_sigmoid(g, s), (float)(sqrt((double)D) / 8.0));
    if (softmax) /* eval only: the top ceil(sqrt(L)) positions keep their weight */
        sel = zoo_topk_seq(g, sel, (int64_t)ceil(sqrt((double)L)));
    *y = zoo_add(g, group_scale(g, a, sel, 1, zoo_tensor_dim(a, 2)), x);
    return zoo_graph_status(g);
}

/* Attention's KV cache (2 D L) at the longest length the model is built for; the softmax
 * rule also needs every position's score (L): its normaliser and its eval top-k span the
 * whole sequence. The sigmoid gate carries nothing from token to token. */
static double state_size(const zoo_hvals *h, const zoo_layer_info *li)
{
    int64_t L = li->l_max > 0 ? li->l_max : li->seq_len;
    const char *sel = zoo_hvals_str(h, "selection");
    double scores = sel && !strcmp(sel, "softmax") ? (double)L : 0.0;
    return 2.0 * (double)li->d_model * (double)L + scores;
}

ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = {
    .hdr = ZOO_MIXER_HEADER,
    .name = "sparse_attention",
    .family = "attention",
    .summary = "input-dependent sparse attention (Zoology SelectiveLookups: attention weighted by a learned "
               "selection over positions, top ceil(sqrt(L)) at eval; not causal)",
    .hparams = knobs,
    .build = build,
    .state_size = state_size,
    .validate = validate,
};
