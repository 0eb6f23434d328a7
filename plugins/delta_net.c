/* delta_net.c: Zoology's DeltaNet mixer (docs/mixers.md, delta_net) as a plugin:
 * q, k, v = bias-free Linears, each through a depthwise short conv; q, k through
 * qk_activation (SiLU by default) and L2-normalised per head, v through SiLU;
 * beta = sigmoid(b_proj(x)) per head; the delta rule per head with state S (dk x dv):
 *   S_t = S_{t-1} - beta_t k_t (k_t^T S_{t-1}) + beta_t k_t v_t^T,   o_t = S_t^T q_t / sqrt(dk)
 * (core op zoo_recurrence with a = -beta k, b = k, keys beta k), then RMSNorm per head
 * (o_norm), optionally gated by SiLU(g_proj(x)), and o_proj. Parameter names are the
 * Zoology module's. State per layer: H dk dv + (conv_size - 1)(2 H dk + H dv). */
#include "delta_common.h"

#define MIXER "delta_net"

static const zoo_hparam knobs[] = {
    {"num_heads", ZOO_HP_INT, "4", "heads H; must divide key_dim and value_dim"},
    {"expand_k", ZOO_HP_FLOAT, "1.0", "key_dim = int(d_model * expand_k) (> 0)"},
    {"expand_v", ZOO_HP_FLOAT, "1.0", "value_dim = int(d_model * expand_v) (> 0)"},
    {"use_beta", ZOO_HP_BOOL, "true", "learned write strength beta = sigmoid(b_proj(x)); false: beta = 1"},
    {"use_gate", ZOO_HP_BOOL, "false", "gate the normed output by SiLU(g_proj(x))"},
    {"use_short_conv", ZOO_HP_BOOL, "true", "depthwise short convs on q, k and v (Zoology refuses false)"},
    {"conv_size", ZOO_HP_INT, "4", "taps of the short convs (>= 1)"},
    {"conv_bias", ZOO_HP_BOOL, "false", "bias in the short convs (Zoology's module never passes it on)"},
    {"allow_neg_eigval", ZOO_HP_BOOL, "false", "beta in (0, 2), not (0, 1): the update's eigenvalues reach -1"},
    {"qk_activation", ZOO_HP_STRING, "silu", "map of q and k: silu | relu | elu (elu(x) + 1) | identity"},
    {"qk_norm", ZOO_HP_STRING, "l2", "normalisation of q and k per head: l2 (the only one zoo runs)"},
    {"norm_eps", ZOO_HP_FLOAT, "1e-5", "eps of the output RMSNorm (> 0)"},
    {NULL, 0, NULL, NULL},
};

/* qk_activation: "silu" | "relu" | "elu" (elu(x) + 1) | "identity"; -1 when unknown. */
static int dn_act_parse(const char *s)
{
    static const char *names[] = {"silu", "relu", "elu", "identity"};
    for (int i = 0; s && i < 4; i++)
        if (!strcmp(s, names[i]))
            return i;
    return -1;
}

typedef struct dims {
    int64_t heads, key_dim, value_dim, dk, dv;
} dims;

static dims dims_of(const zoo_hvals *h, const zoo_layer_info *li)
{
    dims d;
    d.heads = zoo_hvals_int(h, "num_heads");
    /* int(hidden_size * expand): truncation, as the reference */
    d.key_dim = (int64_t)((double)li->d_model * zoo_hvals_float(h, "expand_k"));
    d.value_dim = (int64_t)((double)li->d_model * zoo_hvals_float(h, "expand_v"));
    d.dk = d.heads > 0 ? d.key_dim / d.heads : 0;
    d.dv = d.heads > 0 ? d.value_dim / d.heads : 0;
    return d;
}

static int check(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t n)
{
    double ek = zoo_hvals_float(h, "expand_k"), ev = zoo_hvals_float(h, "expand_v");
    double eps = zoo_hvals_float(h, "norm_eps");
    const char *act = zoo_hvals_str(h, "qk_activation"), *qn = zoo_hvals_str(h, "qk_norm");
    dims d = dims_of(h, li);
    int rc = ZOO_ERR_INVALID;
    if (d.heads < 1)
        snprintf(msg, n, "mixer '" MIXER "': num_heads=%lld must be >= 1 (default 4)", (long long)d.heads);
    else if (!(ek > 0) || !isfinite(ek) || d.key_dim < 1)
        snprintf(msg, n, "mixer '" MIXER "': expand_k=%g gives key_dim=%lld at d_model=%lld: need key_dim >= 1",
                 ek, (long long)d.key_dim, (long long)li->d_model);
    else if (!(ev > 0) || !isfinite(ev) || d.value_dim < 1)
        snprintf(msg, n, "mixer '" MIXER "': expand_v=%g gives value_dim=%lld at d_model=%lld: need value_dim >= 1",
                 ev, (long long)d.value_dim, (long long)li->d_model);
    else if (d.key_dim % d.heads)
        snprintf(msg, n, "mixer '" MIXER "': num_heads=%lld does not divide key_dim=%lld (d_model x expand_k): "
                 "choose a divisor", (long long)d.heads, (long long)d.key_dim);
    else if (d.value_dim % d.heads)
        snprintf(msg, n, "mixer '" MIXER "': num_heads=%lld does not divide value_dim=%lld (d_model x expand_v): "
                 "choose a divisor", (long long)d.heads, (long long)d.value_dim);
    else if (zoo_hvals_int(h, "conv_size") < 1)
        snprintf(msg, n, "mixer '" MIXER "': conv_size=%lld must be >= 1 (default 4)",
                 (long long)zoo_hvals_int(h, "conv_size"));
    else if (dn_act_parse(act) < 0)
        snprintf(msg, n, "mixer '" MIXER "': qk_activation '%s' is unknown: use silu, relu, elu or identity",
                 act ? act : "");
    else if (!qn || strcmp(qn, "l2")) {
        rc = qn && !strcmp(qn, "sum") ? ZOO_ERR_UNSUPPORTED : ZOO_ERR_INVALID;
        snprintf(msg, n, "mixer '" MIXER "': qk_norm '%s' %s: use l2", qn ? qn : "",
                 rc == ZOO_ERR_UNSUPPORTED ? "(x / sum(x)) needs a division zoo has no op for" : "is unknown");
    } else if (!(eps > 0) || !isfinite(eps))
        snprintf(msg, n, "mixer '" MIXER "': norm_eps=%g must be > 0 (default 1e-5)", eps);
    else
        return 0;
    return rc;
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
    int64_t D = li->d_model, K = zoo_hvals_int(h, "conv_size");
    if (zoo_tensor_ndim(x) != 3 || zoo_tensor_dim(x, -1) != D)
        return zoo_graph_fail(g, ZOO_ERR_SHAPE, "mixer '" MIXER "': input width %lld differs from d_model %lld",
                              (long long)zoo_tensor_dim(x, -1), (long long)D);
    dims d = dims_of(h, li);
    dn_act act = (dn_act)dn_act_parse(zoo_hvals_str(h, "qk_activation"));
    int conv = zoo_hvals_bool(h, "use_short_conv"), cbias = zoo_hvals_bool(h, "conv_bias");

    zoo_tensor *q = dn_branch(g, x, "q_proj", conv ? "q_conv1d" : NULL, d.key_dim, K, cbias, act);
    zoo_tensor *k = dn_branch(g, x, "k_proj", conv ? "k_conv1d" : NULL, d.key_dim, K, cbias, act);
    zoo_tensor *v = dn_branch(g, x, "v_proj", conv ? "v_conv1d" : NULL, d.value_dim, K, cbias, DN_SILU);
    /* fla's kernel (use_qk_l2norm_in_kernel, default scale): q and k L2-normalised per
     * head, q scaled by dk^-1/2 */
    q = dn_l2norm(g, q, d.heads, d.dk, (float)(1.0 / sqrt((double)d.dk)));
    k = dn_l2norm(g, k, d.heads, d.dk, 1.0f);
    /* beta k, the key written; the erase term a (b^T S) with a = -beta k, b = k */
    float bmul = zoo_hvals_bool(h, "allow_neg_eigval") ? 2.0f : 1.0f;
    zoo_tensor *kb;
    if (zoo_hvals_bool(h, "use_beta")) {
        zoo_tensor *beta = zoo_sigmoid(g, zoo_nn_linear(g, x, "b_proj", d.heads, 0)); /* (B, L, H) */
        kb = group_scale(g, k, bmul == 1.0f ? beta : zoo_scale(g, beta, bmul), d.heads, d.dk);
    } else {
        kb = bmul == 1.0f ? k : zoo_scale(g, k, bmul);
    }
    zoo_tensor *o = zoo_recurrence(g, q, kb, v, NULL, zoo_scale(g, kb, -1.0f), k, (int)d.heads);
    *y = dn_output(g, o, x, d.heads, d.dv, zoo_hvals_bool(h, "use_gate"), (float)zoo_hvals_float(h, "norm_eps"), D);
    return zoo_graph_status(g);
}

static double state_size(const zoo_hvals *h, const zoo_layer_info *li)
{
    dims d = dims_of(h, li);
    if (d.heads < 1)
        return 0.0;
    return dn_state_size(d.heads, d.dk, d.dv, zoo_hvals_bool(h, "use_short_conv"), zoo_hvals_int(h, "conv_size"));
}

ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = {
    .hdr = ZOO_MIXER_HEADER,
    .name = MIXER,
    .family = "recurrent",
    .summary = "DeltaNet: delta-rule linear attention, short convs, L2-normed q/k, per-head RMSNorm (Zoology, fla)",
    .hparams = knobs,
    .build = build,
    .state_size = state_size,
    .validate = validate,
};
