/* attention.h: the geometry of an attention node (batch, length, heads, head size,
 * window, scale, dropout), read one way by the CPU and CUDA kernels alike. */
#ifndef ZOO_OPS_ATTENTION_H
#define ZOO_OPS_ATTENTION_H

#include "../internal.h"

typedef struct zoo_attention_geom {
    int64_t B, L, H, dh, C; /* C = H*dh, the row stride of q, k, v and out */
    int64_t window;         /* < 0: plain causal; else keys t-window..t */
    float scale, p;
} zoo_attention_geom;

static inline zoo_attention_geom zoo_attention_geom_of(const zoo_tensor *t)
{
    zoo_attention_geom a;
    a.B = t->shape[0];
    a.L = t->shape[1];
    a.C = t->shape[2];
    a.H = t->ip[0];
    a.dh = a.C / a.H;
    a.window = t->ip[1];
    a.scale = t->fp[0];
    a.p = t->fp[1];
    return a;
}

#endif
