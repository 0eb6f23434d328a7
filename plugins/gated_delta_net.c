/* gated_delta_net.c: Zoology's Gated DeltaNet mixer (docs/mixers.md, gated_delta_net) as
 * a plugin: DeltaNet's q, k, v branches (short convs, SiLU, L2-normed q and k) with
 * head_dim = d_model / num_heads (floor) for q and k and expand_v times that for v, and a
 * per-head decay alpha = exp(-exp(A_log) softplus(a_proj(x) + dt_bias)) on the delta rule:
 *   S_t = alpha_t (S_{t-1} - beta_t k_t (k_t^T S_{t-1})) + beta_t k_t v_t^T,  o_t = S_t^T q_t / sqrt(dk)
 * (zoo_recurrence with w = alpha, a = -alpha beta k, b = k, keys beta k); then RMSNorm per
 * head gated by SiLU(g_proj(x)) (use_gate) and o_proj. Parameter names are the Zoology
 * module's; its D (ones, never read by the forward) is a buffer here.
 * State per layer: H dk dv + (conv_size - 1)(2 H dk + H dv). */
#include "delta_common.h"
#include "dt_init.h"

#define MIXER "gated_delta_net"

static const zoo_hparam knobs[] = {
    {"num_heads", ZOO_HP_INT, "6", "heads H; head_dim = d_model / H (floor), so 1 <= H <= d_model"},
    {"expand_v", ZOO_HP_INT, "2", "value head width = expand_v * head_dim (>= 1)"},
    {"use_gate", ZOO_HP_BOOL, "true", "gate the normed output by SiLU(g_proj(x))"},
    {"use_short_conv", ZOO_HP_BOOL, "true", "depthwise short convs on q, k and v (Zoology refuses false)"},
    {"conv_size", ZOO_HP_INT, "4", "taps of the short convs (>= 1)"},
    {"conv_bias", ZOO_HP_BOOL, "false", "bias in the short convs (Zoology's module never passes it on)"},
    {"norm_eps", ZOO_HP_FLOAT, "1e-5", "eps of the output RMSNorm (> 0)"},
    {NULL, 0, NULL, NULL},
};

/* The reference's fixed dt range for the dt_bias init ("hard coded for now" there). */
#define DT_MIN 0.001
#define DT_MAX 0.1
#define DT_FLOOR 1e-4

static int check(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t n)
{
    int64_t H = zoo_hvals_int(h, "num_heads"), ev = zoo_hvals_int(h, "expand_v"), K = zoo_hvals_int(h, "conv_size");
    double eps = zoo_hvals_float(h, "norm_eps");
    if (H < 1 || H > li->d_model)
        snprintf(msg, n, "mixer '" MIXER "': num_heads=%lld must be 1..d_model=%lld (head_dim = d_model / num_heads "
                 "must be >= 1)", (long long)H, (long long)li->d_model);
    else if (ev < 1)
        snprintf(msg, n, "mixer '" MIXER "': expand_v=%lld must be >= 1 (default 2)", (long long)ev);
    else if (K < 1)
        snprintf(msg, n, "mixer '" MIXER "': conv_size=%lld must be >= 1 (default 4)", (long long)K);
    else if (!(eps > 0) || !isfinite(eps))
        snprintf(msg, n, "mixer '" MIXER "': norm_eps=%g must be > 0 (default 1e-5)", eps);
    else
        return 0;
    return ZOO_ERR_INVALID;
}

static int validate(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t msglen)
{
    return check(h, li, msg, msglen);
}

/* A_log = ln A, A ~ U(0, 16). A draw of exactly 0 (probability 2^-53) would give -inf:
 * it takes the smallest step of the uniform instead. */
static void fill_a_log(float *x, int64_t n, const int64_t *shape, int ndim, zoo_rng *rng, const void *ctx)
{
    (void)shape, (void)ndim, (void)ctx;
    for (int64_t i = 0; i < n; i++) {
        double u = zoo_rng_uniform(rng);
        x[i] = (float)log(16.0 * (u > 0 ? u : 0x1p-53));
    }
}

/* dt_bias = softplus^-1(dt), dt = exp(U(ln DT_MIN, ln DT_MAX)) floored at DT_FLOOR. */
static void fill_dt_bias(float *x, int64_t n, const int64_t *shape, int ndim, zoo_rng *rng, const void *ctx)
{
    (void)shape, (void)ndim, (void)ctx;
    zoo_dt_bias_draw(x, n, rng, DT_MIN, DT_MAX, DT_FLOOR);
}

static int build(zoo_graph *g, const zoo_hvals *h, const zoo_layer_info *li, zoo_tensor *x, zoo_tensor **y)
{
    char msg[512];
    int rc = check(h, li, msg, sizeof msg);
    if (rc)
        return zoo_graph_fail(g, rc, "%s", msg);
    int64_t D = li->d_model, H = zoo_hvals_int(h, "num_heads"), K = zoo_hvals_int(h, "conv_size");
    if (zoo_tensor_ndim(x) != 3 || zoo_tensor_dim(x, -1) != D)
        return zoo_graph_fail(g, ZOO_ERR_SHAPE, "mixer '" MIXER "': input width %lld differs from d_model %lld",
                              (long long)zoo_tensor_dim(x, -1), (long long)D);
    int64_t dk = D / H, dv = dk * zoo_hvals_int(h, "expand_v");
    int conv = zoo_hvals_bool(h, "use_short_conv"), cbias = zoo_hvals_bool(h, "conv_bias");

    zoo_tensor *q = dn_branch(g, x, "q_proj", conv ? "q_conv1d" : NULL, H * dk, K, cbias, DN_SILU);
    zoo_tensor *k = dn_branch(g, x, "k_proj", conv ? "k_conv1d" : NULL, H * dk, K, cbias, DN_SILU);
    zoo_tensor *v = dn_branch(g, x, "v_proj", conv ? "v_conv1d" : NULL, H * dv, K, cbias, DN_SILU);
    q = dn_l2norm(g, q, H, dk, (float)(1.0 / sqrt((double)dk)));
    k = dn_l2norm(g, k, H, dk, 1.0f);

    zoo_tensor *beta = zoo_sigmoid(g, zoo_nn_linear(g, x, "b_proj", H, 0)); /* (B, L, H) */
    zoo_tensor *a_proj = zoo_nn_linear(g, x, "a_proj", H, 0);
    zoo_tensor *A_log = zoo_param(g, "A_log", 1, (int64_t[]){H}, zoo_init_fn(fill_a_log, NULL));
    /* D: ones in the reference, which never reads it (nor trains it: no gradient ever
     * reaches it, so its optimiser skips it); a buffer keeps it in checkpoints, fixed */
    zoo_buffer(g, "D", 1, (int64_t[]){H}, zoo_init_const(1.0f));
    zoo_tensor *dt_bias = zoo_param(g, "dt_bias", 1, (int64_t[]){H}, zoo_init_fn(fill_dt_bias, NULL));
    /* log decay -exp(A_log) softplus(a_proj(x) + dt_bias); alpha = its exp, one per head */
    zoo_tensor *gl = zoo_mul(g, zoo_softplus(g, zoo_add(g, a_proj, dt_bias)), zoo_scale(g, zoo_exp(g, A_log), -1.0f));
    zoo_tensor *alpha = zoo_exp(g, gl);

    zoo_tensor *kb = group_scale(g, k, beta, H, dk);
    zoo_tensor *a = group_scale(g, kb, zoo_scale(g, alpha, -1.0f), H, dk);
    zoo_tensor *o = zoo_recurrence(g, q, kb, v, alpha, a, k, (int)H);
    *y = dn_output(g, o, x, H, dv, zoo_hvals_bool(h, "use_gate"), (float)zoo_hvals_float(h, "norm_eps"), D);
    return zoo_graph_status(g);
}

/* Zoology's state_size counts H dk dv; the short convs' last conv_size - 1 inputs are
 * state too (docs/mixers.md, gated_delta_net). */
static double state_size(const zoo_hvals *h, const zoo_layer_info *li)
{
    int64_t H = zoo_hvals_int(h, "num_heads");
    if (H < 1 || H > li->d_model)
        return 0.0;
    int64_t dk = li->d_model / H;
    return dn_state_size(H, dk, dk * zoo_hvals_int(h, "expand_v"), zoo_hvals_bool(h, "use_short_conv"),
                         zoo_hvals_int(h, "conv_size"));
}

ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = {
    .hdr = ZOO_MIXER_HEADER,
    .name = MIXER,
    .family = "recurrent",
    .summary = "Gated DeltaNet: delta rule with a per-head Mamba-2 style decay, short convs, gated RMSNorm",
    .hparams = knobs,
    .build = build,
    .state_size = state_size,
    .validate = validate,
};
