/* silu.c: y = x * sigmoid(x). Backward: dy * s (1 + x (1 - s)), s = sigmoid(x) recomputed.
 * Elementwise, any shape; no in-place variant. */
#include <math.h>

#include "unary.h"

static int silu_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    const float *xs = t->src[0]->data; /* x: (n) */
    float *ys = t->data;               /* y: (n) */
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < t->n; i++) {
        float x = xs[i];
        ys[i] = x * zoo_sigmoidf(x);
    }
    return 0;
}

static int silu_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *X = t->src[0];
    if (!X->grad)
        return 0;
    const float *xs = X->data, *dy = t->grad; /* (n) each */
    float *dx = X->grad;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < t->n; i++) {
        float x = xs[i], d = dy[i];
        float s = zoo_sigmoidf(x);
        dx[i] += d * s * (1.0f + x * (1.0f - s));
    }
    return 0;
}

const zoo_op_def zoo_op_silu = {"silu", {[ZOO_BACKEND_CPU] = {NULL, silu_fwd_cpu, silu_bwd_cpu}}};

zoo_tensor *zoo_silu(zoo_graph *g, zoo_tensor *x) { return zoo_unary_node(g, &zoo_op_silu, x); }
