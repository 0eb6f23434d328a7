/* linear_attention.c: plain causal linear attention (docs/mixers.md): Based
 * with a non-Taylor feature map, by default ELU+1 with f = d_model; the same parameters
 * (proj_q, proj_k, proj_v, proj_o, no biases). No rotary, no separate key/value heads. */
#include "linear_attention_common.h"

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

/* Feature dim f: the knob, or d_model when it is 0 (as plain linear attention uses). */
static int64_t feat_dim(const zoo_hvals *h, const zoo_layer_info *li)
{
    int64_t f = zoo_hvals_int(h, "feature_dim");
    return f == 0 ? li->d_model : f;
}

#define F_HINT "0 = d_model"

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
    .summary = "causal linear attention with an ELU+1, ReLU or identity feature map (Based without Taylor)",
    .hparams = knobs,
    .build = build,
    .state_size = state_size,
    .validate = validate,
};
