/* h3.c: the Zoology H3 mixer (docs/mixers.md, h3) as a plugin: q, k, v projections; a
 * shift SSM on k with its D skip; per-head outer product k v^T through the S4D-Lin
 * diagonal SSM with the per-head D skip; contraction with q, channels out in (j, h)
 * order (as Zoology's, before its dense output Linear); output_linear. Training-time
 * convolution form only (no recurrent step). */
#include <math.h>
#include <stdio.h>

#include "zoo/mixer.h"

static const zoo_hparam knobs[] = {
    {"d_state", ZOO_HP_INT, "64",
     "state size N of both SSMs, even; 0 = l_max (Zoology Figure 2 sets N = L; Based configs N = d_model/4)"},
    {"head_dim", ZOO_HP_INT, "2", "channels per head; d_model must be divisible by it (paper: 2; Zoology class: 1)"},
    {NULL, 0, NULL, NULL},
};

#define PI 3.14159265358979323846
#define DT_MIN 1e-3 /* log_dt ~ U(ln dt_min, ln dt_max) */
#define DT_MAX 1e-1

static int64_t state_dim(const zoo_hvals *h, const zoo_layer_info *li)
{
    int64_t n = zoo_hvals_int(h, "d_state");
    return n == 0 ? (li->l_max > 0 ? li->l_max : li->seq_len) : n;
}

static int check(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t n)
{
    int64_t N = state_dim(h, li), hd = zoo_hvals_int(h, "head_dim");
    if (N < 2 || N % 2)
        snprintf(msg, n, "mixer 'h3': d_state=%lld must be even and >= 2 (or 0 for l_max): the diagonal SSM has "
                 "d_state/2 complex modes", (long long)N);
    else if (hd < 1 || li->d_model % hd)
        snprintf(msg, n, "mixer 'h3': head_dim=%lld does not divide d_model=%lld: choose a divisor of d_model",
                 (long long)hd, (long long)li->d_model);
    else
        return 0;
    return ZOO_ERR_INVALID;
}

static int validate(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t msglen)
{
    return check(h, li, msg, msglen);
}

/* shift SSM B (H, N): e_0 per channel, so the initial kernel is C itself */
static void fill_e0(float *x, int64_t n, const int64_t *shape, int ndim, zoo_rng *rng, const void *ctx)
{
    (void)ndim, (void)rng, (void)ctx;
    for (int64_t i = 0; i < n; i++)
        x[i] = i % shape[1] == 0 ? 1.0f : 0.0f;
}

/* S4D-Lin B (H, N/2, 2) = 1 + 0i */
static void fill_one(float *x, int64_t n, const int64_t *shape, int ndim, zoo_rng *rng, const void *ctx)
{
    (void)shape, (void)ndim, (void)rng, (void)ctx;
    for (int64_t i = 0; i < n; i++)
        x[i] = i % 2 == 0 ? 1.0f : 0.0f;
}

/* S4D-Lin A_imag (H, N/2) = pi n */
static void fill_pi_n(float *x, int64_t n, const int64_t *shape, int ndim, zoo_rng *rng, const void *ctx)
{
    (void)ndim, (void)rng, (void)ctx;
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(PI * (double)(i % shape[1]));
}

static int build(zoo_graph *g, const zoo_hvals *h, const zoo_layer_info *li, zoo_tensor *x, zoo_tensor **y)
{
    char msg[512];
    int rc = check(h, li, msg, sizeof msg);
    if (rc)
        return zoo_graph_fail(g, rc, "%s", msg);
    int64_t D = li->d_model, L = li->seq_len, N = state_dim(h, li), hd = zoo_hvals_int(h, "head_dim"), H = D / hd;
    if (zoo_tensor_dim(x, -1) != D)
        return zoo_graph_fail(g, ZOO_ERR_SHAPE, "mixer 'h3': input width %lld differs from d_model %lld",
                              (long long)zoo_tensor_dim(x, -1), (long long)D);
    /* raw parameters keep their constructor init (docs/model.md), names as the state_dict */
    zoo_tensor *kD = zoo_param(g, "ssm_k_D", 1, (int64_t[]){D}, zoo_init_normal(0.0f, 1.0f));
    zoo_tensor *hD = zoo_param(g, "D", 1, (int64_t[]){H}, zoo_init_normal(0.0f, 1.0f));
    zoo_tensor *q = zoo_nn_linear(g, x, "q_proj", D, 1);
    zoo_tensor *k = zoo_nn_linear(g, x, "k_proj", D, 1);
    zoo_tensor *v = zoo_nn_linear(g, x, "v_proj", D, 1);
    /* shift SSM: C ~ kaiming_uniform(a=sqrt 5) on (H, 1, N), i.e. U(+-1/sqrt N) */
    float cb = (float)(1.0 / sqrt((double)N));
    zoo_tensor *sB = zoo_param(g, "ssm_k_kernel.kernel.B", 2, (int64_t[]){D, N}, zoo_init_fn(fill_e0, NULL));
    zoo_tensor *sC = zoo_param(g, "ssm_k_kernel.kernel.C", 3, (int64_t[]){1, D, N}, zoo_init_uniform(-cb, cb));
    /* S4D-Lin: C ~ CN(0, 1) (real and imaginary parts N(0, 1/2)), log_dt ~ U(ln 1e-3, ln 1e-1),
     * B = 1, A = -1/2 + i pi n stored as inv_A_real = ln(1/2) and A_imag */
    zoo_tensor *dC = zoo_param(g, "kernel.kernel.C", 4, (int64_t[]){1, H, N / 2, 2},
                               zoo_init_normal(0.0f, (float)sqrt(0.5)));
    zoo_tensor *ldt = zoo_param(g, "kernel.kernel.log_dt", 1, (int64_t[]){H},
                                zoo_init_uniform((float)log(DT_MIN), (float)log(DT_MAX)));
    zoo_tensor *dB = zoo_param(g, "kernel.kernel.B", 3, (int64_t[]){H, N / 2, 2}, zoo_init_fn(fill_one, NULL));
    zoo_tensor *iar = zoo_param(g, "kernel.kernel.inv_A_real", 2, (int64_t[]){H, N / 2},
                                zoo_init_const((float)log(0.5)));
    zoo_tensor *ai = zoo_param(g, "kernel.kernel.A_imag", 2, (int64_t[]){H, N / 2}, zoo_init_fn(fill_pi_n, NULL));

    k = zoo_fftconv(g, k, zoo_ssm_shift_kernel(g, sB, sC, L), kD);            /* Kshift * k + Dk k */
    zoo_tensor *kv = zoo_head_outer(g, k, v, (int)H);                        /* (B, L, H*hd*hd) */
    zoo_tensor *Kd = zoo_ssm_diag_kernel(g, dC, ldt, dB, iar, ai, L);         /* (H, L) */
    zoo_tensor *ys = zoo_fftconv(g, kv, Kd, hD);                              /* per head: Kdiag * kv + Dh kv */
    zoo_tensor *o = zoo_head_contract(g, q, ys, (int)H);                     /* (B, L, D), channel j*H + h */
    *y = zoo_nn_linear(g, o, "output_linear", D, 1);
    return zoo_graph_status(g);
}

/* D * N (Zoology's H3.state_size). */
static double state_size(const zoo_hvals *h, const zoo_layer_info *li)
{
    return (double)li->d_model * (double)state_dim(h, li);
}

ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = {
    .hdr = ZOO_MIXER_HEADER,
    .name = "h3",
    .family = "gated-conv",
    .summary = "H3: shift SSM on k, per-head S4D-Lin SSM on k v^T, read out by q (Zoology)",
    .hparams = knobs,
    .build = build,
    .state_size = state_size,
    .validate = validate,
};
