/* token_shift.h: RWKV's token shift, shared by the rwkv and rwkv7 plugins: the previous
 * token's vector, xx_t = x_{t-1}, with xx_0 = 0 (PyTorch's nn.ZeroPad2d((0, 0, 1, -1))).
 * Static: each .so gets its own copy, no symbols exported. */
#ifndef ZOO_PLUGINS_TOKEN_SHIFT_H
#define ZOO_PLUGINS_TOKEN_SHIFT_H

#include "zoo/mixer.h"

/* x: (B, L, D) -> (B, L, D). With time as the last dim, a zero column goes before the
 * first L-1 steps. */
static zoo_tensor *token_shift(zoo_graph *g, zoo_tensor *x)
{
    int64_t B = zoo_tensor_dim(x, 0), L = zoo_tensor_dim(x, 1), D = zoo_tensor_dim(x, 2);
    if (L == 1)
        return zoo_fill(g, 3, (int64_t[]){B, 1, D}, 0.0f);
    zoo_tensor *xt = zoo_transpose(g, x); /* (B, D, L) */
    zoo_tensor *parts[2] = {zoo_fill(g, 3, (int64_t[]){B, D, 1}, 0.0f), zoo_slice(g, xt, 0, L - 1)};
    return zoo_transpose(g, zoo_concat(g, parts, 2));
}

#endif
