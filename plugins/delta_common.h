/* delta_common.h: the pieces the delta_net and gated_delta_net plugins share
 * (docs/mixers.md, delta_net): the q/k/v branches (bias-free Linear, optional depthwise
 * short conv, activation), the per-head L2 normalisation of q and k, per-head scalars
 * broadcast over a head's channels, the output stage (per-head RMSNorm o_norm, the
 * optional SiLU gate, o_proj) and the state count. Each plugin is its knob table, its
 * gates and its descriptor around these (static: each .so gets its own copy). */
#ifndef ZOO_PLUGINS_DELTA_COMMON_H
#define ZOO_PLUGINS_DELTA_COMMON_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "group_scale.h"
#include "zoo/mixer.h"

/* The key feature maps of DeltaNet's qk_activation. */
typedef enum dn_act { DN_SILU = 0, DN_RELU, DN_ELU1, DN_IDENTITY } dn_act;

static zoo_tensor *dn_apply_act(zoo_graph *g, zoo_tensor *x, dn_act act)
{
    switch (act) {
    case DN_SILU:
        return zoo_silu(g, x);
    case DN_RELU:
        return zoo_relu(g, x);
    case DN_ELU1: { /* elu(x) + 1 = relu(x) + exp(min(x, 0)), min(x, 0) = x - relu(x) */
        zoo_tensor *r = zoo_relu(g, x);
        return zoo_add(g, r, zoo_exp(g, zoo_add(g, x, zoo_scale(g, r, -1.0f))));
    }
    default:
        return x;
    }
}

/* One branch: act(conv(name_proj(x))) with the conv "<conv>.weight" (C, 1, K) and, with
 * bias, "<conv>.bias" (C), both U(+-1/sqrt(K)) (PyTorch's Conv1d default; the model's
 * re-init touches only Linears); conv = NULL: act(name_proj(x)). */
static zoo_tensor *dn_branch(zoo_graph *g, zoo_tensor *x, const char *proj, const char *conv, int64_t C, int64_t K,
                             int bias, dn_act act)
{
    zoo_tensor *p = zoo_nn_linear(g, x, proj, C, 0);
    if (conv) {
        char wn[64], bn[64];
        snprintf(wn, sizeof wn, "%s.weight", conv);
        snprintf(bn, sizeof bn, "%s.bias", conv);
        float cb = (float)(1.0 / sqrt((double)K));
        zoo_tensor *w = zoo_param(g, wn, 3, (int64_t[]){C, 1, K}, zoo_init_uniform(-cb, cb));
        zoo_tensor *b = bias ? zoo_param(g, bn, 1, (int64_t[]){C}, zoo_init_uniform(-cb, cb)) : NULL;
        p = zoo_shortconv(g, p, w, b);
    }
    return dn_apply_act(g, p, act);
}

/* fla's L2 norm of each head's d channels, times c (the query scale, or 1):
 *   x / sqrt(sum x^2 + 1e-6) * c = rmsnorm_{eps = 1e-6/d}(x) * c / sqrt(d),
 * with the weightless RMSNorm (no parameter: the reference has none). x: (B, L, H*d). */
#define DN_L2_EPS 1e-6
static zoo_tensor *dn_l2norm(zoo_graph *g, zoo_tensor *x, int64_t heads, int64_t d, float c)
{
    int64_t B = zoo_tensor_dim(x, 0), L = zoo_tensor_dim(x, 1);
    zoo_tensor *x4 = zoo_reshape(g, x, 4, (int64_t[]){B, L, heads, d});
    zoo_tensor *y = zoo_rmsnorm(g, x4, NULL, (float)(DN_L2_EPS / (double)d));
    return zoo_scale(g, zoo_reshape(g, y, 3, (int64_t[]){B, L, heads * d}), (float)(c / sqrt((double)d)));
}

/* The output stage: o (B, L, H*dv) -> RMSNorm over each head's dv channels with
 * "o_norm.weight" (dv) = 1, times SiLU(g_proj(x)) when gate (fla's FusedRMSNormSwishGate),
 * then o_proj (D, H*dv), no bias. */
static zoo_tensor *dn_output(zoo_graph *g, zoo_tensor *o, zoo_tensor *x, int64_t heads, int64_t dv, int gate,
                             float eps, int64_t D)
{
    int64_t B = zoo_tensor_dim(o, 0), L = zoo_tensor_dim(o, 1);
    zoo_tensor *nw = zoo_param(g, "o_norm.weight", 1, (int64_t[]){dv}, zoo_init_const(1.0f));
    zoo_tensor *n = zoo_rmsnorm(g, zoo_reshape(g, o, 4, (int64_t[]){B, L, heads, dv}), nw, eps);
    n = zoo_reshape(g, n, 3, (int64_t[]){B, L, heads * dv});
    if (gate)
        n = zoo_mul(g, n, zoo_silu(g, zoo_nn_linear(g, x, "g_proj", heads * dv, 0)));
    return zoo_nn_linear(g, n, "o_proj", D, 0);
}

/* Floats one layer carries from token to token when it generates: each head's dk x dv
 * state matrix, and with the short convs the last K-1 inputs of each of their
 * 2 H dk + H dv channels (the current token is the K-th tap). */
static double dn_state_size(int64_t heads, int64_t dk, int64_t dv, int short_conv, int64_t K)
{
    double s = (double)heads * (double)dk * (double)dv;
    if (short_conv)
        s += (double)(K - 1) * (double)(heads * (2 * dk + dv));
    return s;
}

#endif
