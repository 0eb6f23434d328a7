/* linear_attention.c: plain causal linear attention (ZOOLOGY.md §3.10): Based (§3.5)
 * with a non-Taylor feature map, by default ELU+1 with f = d_model; the same parameters
 * (proj_q, proj_k, proj_v, proj_o, no biases). No rotary, no separate key/value heads. */
#include <stdio.h>
#include <string.h>

#include "zoo/mixer.h"

#define MIXER "linear_attention"

static const zoo_hparam knobs[] = {
    {"feature_dim", ZOO_HP_INT, "0", "f: q/k width per head before the feature map, >= 1; 0 = d_model"},
    {"num_heads", ZOO_HP_INT, "1", "heads (and key/value heads); must divide d_model (paper: 1)"},
    {"feature_name", ZOO_HP_STRING, "pos_elu", "feature map: pos_elu (elu+1) | relu | none (identity) | taylor_exp"},
    {"eps", ZOO_HP_FLOAT, "1e-12", "added to the denominator, >= 0"},
    {"train_view", ZOO_HP_STRING, "linear",
     "linear (prefix sums) | quadratic (masked L x L); the same numbers"},
    {NULL, 0, NULL, NULL},
};

/* Feature dim f: the knob, or d_model when it is 0 (as plain linear attention uses, §3.10). */
static int64_t feat_dim(const zoo_hvals *h, const zoo_layer_info *li)
{
    int64_t f = zoo_hvals_int(h, "feature_dim");
    return f == 0 ? li->d_model : f;
}

static int check(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t n)
{
    int64_t f = feat_dim(h, li), heads = zoo_hvals_int(h, "num_heads");
    const char *fm = zoo_hvals_str(h, "feature_name"), *view = zoo_hvals_str(h, "train_view");
    double eps = zoo_hvals_float(h, "eps");
    if (f < 1)
        snprintf(msg, n, "mixer '" MIXER "': feature_dim=%lld must be >= 1 (0 = d_model)", (long long)f);
    else if (heads < 1 || li->d_model % heads)
        snprintf(msg, n, "mixer '" MIXER "': num_heads=%lld does not divide d_model=%lld: choose a divisor",
                 (long long)heads, (long long)li->d_model);
    else if (zoo_feature_map_parse(fm, NULL))
        snprintf(msg, n, "mixer '" MIXER "': feature_name '%s' is unknown: use taylor_exp, none, pos_elu or relu",
                 fm ? fm : "");
    else if (!view || (strcmp(view, "linear") && strcmp(view, "quadratic")))
        snprintf(msg, n, "mixer '" MIXER "': train_view '%s' is unknown: use linear or quadratic", view ? view : "");
    else if (!(eps >= 0.0))
        snprintf(msg, n, "mixer '" MIXER "': eps=%g must be >= 0 (default 1e-12)", eps);
    else
        return 0;
    return ZOO_ERR_INVALID;
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
    int64_t D = li->d_model, f = feat_dim(h, li), heads = zoo_hvals_int(h, "num_heads");
    if (zoo_tensor_dim(x, -1) != D)
        return zoo_graph_fail(g, ZOO_ERR_SHAPE, "mixer '" MIXER "': input width %lld differs from d_model %lld",
                              (long long)zoo_tensor_dim(x, -1), (long long)D);
    zoo_feature_map fm;
    zoo_feature_map_parse(zoo_hvals_str(h, "feature_name"), &fm);
    zoo_tensor *q = zoo_nn_linear(g, x, "proj_q", f * heads, 0);
    zoo_tensor *k = zoo_nn_linear(g, x, "proj_k", f * heads, 0);
    zoo_tensor *v = zoo_nn_linear(g, x, "proj_v", D, 0); /* head_dim = D / heads per head */
    zoo_tensor *o = zoo_linear_attention(g, q, k, v, fm, (int)heads, (float)zoo_hvals_float(h, "eps"),
                                         !strcmp(zoo_hvals_str(h, "train_view"), "quadratic"));
    *y = zoo_nn_linear(g, o, "proj_o", D, 0);
    return zoo_graph_status(g);
}

/* Recurrent state: H (D/H) E numerator + H E denominator, E = f(f+1)/2 + f + 1 for the
 * Taylor map (the symmetric count Zoology reports, T15), E = f for the others. */
static double state_size(const zoo_hvals *h, const zoo_layer_info *li)
{
    int64_t f = feat_dim(h, li), heads = zoo_hvals_int(h, "num_heads");
    zoo_feature_map fm = ZOO_FMAP_TAYLOR;
    zoo_feature_map_parse(zoo_hvals_str(h, "feature_name"), &fm);
    double E = fm == ZOO_FMAP_TAYLOR ? (double)(f * (f + 1) / 2 + f + 1) : (double)f;
    if (heads < 1)
        return 0.0;
    return (double)heads * ((double)li->d_model / (double)heads) * E + (double)heads * E;
}

ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = {
    .hdr = ZOO_MIXER_HEADER,
    .name = MIXER,
    .family = "linear-attention",
    .summary = "causal linear attention with an ELU+1, ReLU or identity feature map (Based without Taylor)",
    .hparams = knobs,
    .build = build,
    .state_size = state_size,
    .validate = validate,
    .backends = 0,
};
