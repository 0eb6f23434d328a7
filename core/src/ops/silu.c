/* silu.c: y = x * sigmoid(x). Backward: dy * s (1 + x (1 - s)), s = sigmoid(x) recomputed.
 * Elementwise, any shape; no in-place variant. */
#include <math.h>

#include "unary.h"

static void silu_fwd_cpu(zoo_graph *g, zoo_tensor *t)
{
    (void)g;
    const float *xs = t->src[0]->data; /* x: (n) */
    float *ys = t->data;               /* y: (n) */
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < t->n; i++) {
        float x = xs[i];
        ys[i] = x * zoo_sigmoidf(x);
    }
}

static void silu_bwd_cpu(zoo_graph *g, zoo_tensor *t)
{
    (void)g;
    zoo_tensor *X = t->src[0];
    if (!X->grad)
        return;
    const float *xs = X->data, *dy = t->grad; /* (n) each */
    float *dx = X->grad;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < t->n; i++) {
        float x = xs[i], d = dy[i];
        float s = zoo_sigmoidf(x);
        dx[i] += d * s * (1.0f + x * (1.0f - s));
    }
}

static const zoo_op_def op = {"silu", {silu_fwd_cpu, NULL}, {silu_bwd_cpu, NULL}};

zoo_tensor *zoo_silu(zoo_graph *g, zoo_tensor *x) { return zoo_unary_node(g, &op, x); }
