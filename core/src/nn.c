/* nn.c: conveniences for plugin authors built from the ops (PyTorch-style layers). */
#include <stdio.h>

#include "internal.h"
#include "zoo/mixer.h"

zoo_tensor *zoo_nn_linear(zoo_graph *g, zoo_tensor *x, const char *name, int64_t out, int bias)
{
    if (!g || g->status || !x)
        return NULL;
    char nw[256], nb[256];
    snprintf(nw, sizeof nw, "%s.weight", name);
    snprintf(nb, sizeof nb, "%s.bias", name);
    zoo_tensor *W = zoo_param(g, nw, 2, (int64_t[]){out, zoo_cols(x)}, zoo_init_normal(0.0f, 0.02f));
    zoo_tensor *b = bias ? zoo_param(g, nb, 1, (int64_t[]){out}, zoo_init_zeros()) : NULL;
    if (!W || (bias && !b))
        return NULL;
    return zoo_linear(g, x, W, b);
}
