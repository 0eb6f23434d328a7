/* sigmoid.c: y = 1 / (1 + exp(-x)), written to stay finite for large |x|. Backward: dy * y (1 - y).
 * Elementwise, any shape; no in-place variant. */
#include <math.h>

#include "unary.h"

static int sigmoid_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    const float *xs = t->src[0]->data; /* x: (n) */
    float *ys = t->data;               /* y: (n) */
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < t->n; i++) {
        float x = xs[i];
        ys[i] = zoo_sigmoidf(x);
    }
    return 0;
}

static int sigmoid_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *X = t->src[0];
    if (!X->grad)
        return 0;
    const float *ys = t->data, *dy = t->grad; /* (n) each */
    float *dx = X->grad;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < t->n; i++) {
        float y = ys[i], d = dy[i];
        dx[i] += d * y * (1.0f - y);
    }
    return 0;
}

const zoo_op_def zoo_op_sigmoid = {"sigmoid", {[ZOO_BACKEND_CPU] = {NULL, sigmoid_fwd_cpu, sigmoid_bwd_cpu}}};

zoo_tensor *zoo_sigmoid(zoo_graph *g, zoo_tensor *x) { return zoo_unary_node(g, &zoo_op_sigmoid, x); }
