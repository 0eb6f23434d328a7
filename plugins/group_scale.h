/* group_scale.h: x (B, L, G*d) times s (B, L, G), one scalar per row and group of d
 * adjacent channels (a head, or G = 1: the whole row), shared by the plugins that gate
 * per head or per position (delta rules, mamba2, sparse_attention): zoo_mul of x as
 * (B L G, d) by s as (B L G, 1), whose trailing one broadcasts over the group. */
#ifndef ZOO_PLUGIN_GROUP_SCALE_H
#define ZOO_PLUGIN_GROUP_SCALE_H

#include "zoo/graph.h"

static inline zoo_tensor *group_scale(zoo_graph *g, zoo_tensor *x, zoo_tensor *s, int64_t groups, int64_t d)
{
    int64_t B = zoo_tensor_dim(x, 0), L = zoo_tensor_dim(x, 1), n = B * L * groups;
    zoo_tensor *y = zoo_mul(g, zoo_reshape(g, x, 2, (int64_t[]){n, d}), zoo_reshape(g, s, 2, (int64_t[]){n, 1}));
    return zoo_reshape(g, y, 3, (int64_t[]){B, L, groups * d});
}

#endif
