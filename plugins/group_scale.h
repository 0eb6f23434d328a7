/* group_scale.h: x (B, L, G*d) times s (B, L, G), one scalar per row and group of d
 * adjacent channels (a head, or G = 1: the whole row), shared by the plugins that gate
 * per head or per position (delta rules, mamba2, sparse_attention). zoo_mul broadcasts
 * only over leading dims, so the group's d channels are moved in front, (B L G, d) ->
 * (d, B L G), multiplied and moved back. */
#ifndef ZOO_PLUGIN_GROUP_SCALE_H
#define ZOO_PLUGIN_GROUP_SCALE_H

#include "zoo/graph.h"

static inline zoo_tensor *group_scale(zoo_graph *g, zoo_tensor *x, zoo_tensor *s, int64_t groups, int64_t d)
{
    int64_t B = zoo_tensor_dim(x, 0), L = zoo_tensor_dim(x, 1), n = B * L * groups;
    zoo_tensor *xt = zoo_transpose(g, zoo_reshape(g, x, 2, (int64_t[]){n, d}));
    zoo_tensor *y = zoo_mul(g, xt, zoo_reshape(g, s, 1, (int64_t[]){n}));
    return zoo_reshape(g, zoo_transpose(g, y), 3, (int64_t[]){B, L, groups * d});
}

#endif
