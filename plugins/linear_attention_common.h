/* linear_attention_common.h: the forward composition shared by the based and
 * linear_attention plugins (docs/mixers.md, based): q, k = u Wq, u Wk (f per head),
 * v = u Wv, causal linear attention under a feature map, proj_o; no biases. The two
 * plugins differ only in their knob defaults and names, so each is its knob table and
 * descriptor around these (static: each .so gets its own copy, no symbols exported). */
#ifndef ZOO_PLUGINS_LINEAR_ATTENTION_COMMON_H
#define ZOO_PLUGINS_LINEAR_ATTENTION_COMMON_H

#include <stdio.h>
#include <string.h>

#include "zoo/mixer.h"

/* mixer: the plugin's name for messages; f: the resolved feature dim; f_hint: what a
 * valid feature_dim looks like for this plugin. */
static int la_check(const char *mixer, int64_t f, const char *f_hint, const zoo_hvals *h, const zoo_layer_info *li,
                    char *msg, size_t n)
{
    int64_t heads = zoo_hvals_int(h, "num_heads");
    const char *fm = zoo_hvals_str(h, "feature_name"), *view = zoo_hvals_str(h, "train_view");
    double eps = zoo_hvals_float(h, "eps");
    if (f < 1)
        snprintf(msg, n, "mixer '%s': feature_dim=%lld must be >= 1 (%s)", mixer, (long long)f, f_hint);
    else if (heads < 1 || li->d_model % heads)
        snprintf(msg, n, "mixer '%s': num_heads=%lld does not divide d_model=%lld: choose a divisor", mixer,
                 (long long)heads, (long long)li->d_model);
    else if (zoo_feature_map_parse(fm, NULL))
        snprintf(msg, n, "mixer '%s': feature_name '%s' is unknown: use taylor_exp, none, pos_elu or relu", mixer,
                 fm ? fm : "");
    else if (!view || (strcmp(view, "linear") && strcmp(view, "quadratic")))
        snprintf(msg, n, "mixer '%s': train_view '%s' is unknown: use linear or quadratic", mixer, view ? view : "");
    else if (!(eps >= 0.0))
        snprintf(msg, n, "mixer '%s': eps=%g must be >= 0 (default 1e-12)", mixer, eps);
    else
        return 0;
    return ZOO_ERR_INVALID;
}

static int la_build(const char *mixer, int64_t f, const char *f_hint, zoo_graph *g, const zoo_hvals *h,
                    const zoo_layer_info *li, zoo_tensor *x, zoo_tensor **y)
{
    char msg[512];
    int rc = la_check(mixer, f, f_hint, h, li, msg, sizeof msg);
    if (rc)
        return zoo_graph_fail(g, rc, "%s", msg);
    int64_t D = li->d_model, heads = zoo_hvals_int(h, "num_heads");
    if (zoo_tensor_dim(x, -1) != D)
        return zoo_graph_fail(g, ZOO_ERR_SHAPE, "mixer '%s': input width %lld differs from d_model %lld", mixer,
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
 * Taylor map (the symmetric count Zoology reports, though the Taylor features number
 * 1 + f + f^2), E = f for the others. */
static double la_state_size(int64_t f, const zoo_hvals *h, const zoo_layer_info *li)
{
    int64_t heads = zoo_hvals_int(h, "num_heads");
    zoo_feature_map fm = ZOO_FMAP_TAYLOR;
    zoo_feature_map_parse(zoo_hvals_str(h, "feature_name"), &fm);
    double E = fm == ZOO_FMAP_TAYLOR ? (double)(f * (f + 1) / 2 + f + 1) : (double)f;
    if (heads < 1)
        return 0.0;
    return (double)heads * ((double)li->d_model / (double)heads) * E + (double)heads * E;
}

#endif
