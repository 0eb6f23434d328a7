/* softplus.c: y = log(1 + exp(x)), and y = x where x > 20 (PyTorch's threshold, beta 1).
 * Elementwise, any shape; no in-place variant. */
#include <math.h>

#include "unary.h"

static int softplus_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    const float *xs = t->src[0]->data; /* x: (n) */
    float *ys = t->data;               /* y: (n) */
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < t->n; i++) {
        float x = xs[i];
        ys[i] = x > 20.0f ? x : log1pf(expf(x));
    }
    return 0;
}

static int softplus_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
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
        dx[i] += x > 20.0f ? d : d * zoo_sigmoidf(x);
    }
    return 0;
}

const zoo_op_def zoo_op_softplus = {"softplus", {[ZOO_BACKEND_CPU] = {NULL, softplus_fwd_cpu, softplus_bwd_cpu}}};

zoo_tensor *zoo_softplus(zoo_graph *g, zoo_tensor *x) { return zoo_unary_node(g, &zoo_op_softplus, x); }
