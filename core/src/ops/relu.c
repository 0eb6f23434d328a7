/* relu.c: y = max(x, 0); the gradient at 0 is 0, as in PyTorch.
 * Elementwise, any shape; no in-place variant. */
#include <math.h>

#include "unary.h"

static int relu_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    const float *xs = t->src[0]->data; /* x: (n) */
    float *ys = t->data;               /* y: (n) */
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < t->n; i++) {
        float x = xs[i];
        ys[i] = x > 0.0f ? x : 0.0f;
    }
    return 0;
}

static int relu_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
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
        dx[i] += x > 0.0f ? d : 0.0f;
    }
    return 0;
}

const zoo_op_def zoo_op_relu = {"relu", {[ZOO_BACKEND_CPU] = {NULL, relu_fwd_cpu, relu_bwd_cpu}}};

zoo_tensor *zoo_relu(zoo_graph *g, zoo_tensor *x) { return zoo_unary_node(g, &zoo_op_relu, x); }
