/* unary.h: the shared builder of the elementwise one-input ops (sin, exp, relu, silu,
 * sigmoid, softplus). Each op keeps its own kernels in its own file. */
#ifndef ZOO_OPS_UNARY_H
#define ZOO_OPS_UNARY_H

#include <math.h>

#include "../internal.h"

/* Logistic function that stays finite for large |x|. */
static inline float zoo_sigmoidf(float x)
{
    if (x >= 0.0f)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

/* A node of `op` shaped like x; fails the graph when x is not f32. */
static inline zoo_tensor *zoo_unary_node(zoo_graph *g, const zoo_op_def *op, zoo_tensor *x)
{
    if (!g || g->status || !x)
        return zoo_node_new(g, op, 1, (int64_t[]){1}, (zoo_tensor *[]){x}, 1);
    if (x->dtype != ZOO_F32)
        return zoo_node_fail(g, ZOO_ERR_INVALID, "%s: input must be f32", op->name);
    return zoo_node_new(g, op, x->ndim, x->shape, (zoo_tensor *[]){x}, 1);
}

#endif
