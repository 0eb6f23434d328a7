/* based.c: the Zoology Based linear attention mixer (docs/mixers.md, based) as a plugin:
 * q, k = u Wq, u Wk (feature_dim per head), v = u Wv, causal linear attention with the
 * Taylor feature map (or another by name), proj_o; no biases. The Zoology "based" model is
 * the pattern [base_conv, based]. No rotary, no separate key/value head count. */
#include "linear_attention_common.h"

#define MIXER "based"

static const zoo_hparam knobs[] = {
    {"feature_dim", ZOO_HP_INT, "16", "f: q/k width per head before the feature map, >= 1 (paper: 8, 16, 24)"},
    {"num_heads", ZOO_HP_INT, "1", "heads (and key/value heads); must divide d_model (paper: 1)"},
    {"feature_name", ZOO_HP_STRING, "taylor_exp", "feature map: taylor_exp | none (identity) | pos_elu | relu"},
    {"eps", ZOO_HP_FLOAT, "1e-12", "added to the denominator, >= 0"},
    {"train_view", ZOO_HP_STRING, "linear",
     "linear (prefix sums) | quadratic (masked L x L); the same numbers (Based-era configs: quadratic)"},
    {NULL, 0, NULL, NULL},
};

static int64_t feat_dim(const zoo_hvals *h, const zoo_layer_info *li)
{
    (void)li;
    return zoo_hvals_int(h, "feature_dim");
}

#define F_HINT "paper: 8, 16 or 24"

static int validate(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t msglen)
{
    return la_check(MIXER, feat_dim(h, li), F_HINT, h, li, msg, msglen);
}

static int build(zoo_graph *g, const zoo_hvals *h, const zoo_layer_info *li, zoo_tensor *x, zoo_tensor **y)
{
    return la_build(MIXER, feat_dim(h, li), F_HINT, g, h, li, x, y);
}

static double state_size(const zoo_hvals *h, const zoo_layer_info *li) { return la_state_size(feat_dim(h, li), h, li); }

ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = {
    .hdr = ZOO_MIXER_HEADER,
    .name = MIXER,
    .family = "linear-attention",
    .summary = "Based: causal linear attention with the 2nd-order Taylor feature map (Zoology)",
    .hparams = knobs,
    .build = build,
    .state_size = state_size,
    .validate = validate,
};
