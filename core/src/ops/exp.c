/* exp.c: y = exp(x). Backward reuses y: dx += dy * y.
 * Elementwise, any shape; no in-place variant. */
#include <math.h>

#include "unary.h"

static int exp_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    const float *xs = t->src[0]->data; /* x: (n) */
    float *ys = t->data;               /* y: (n) */
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < t->n; i++) {
        float x = xs[i];
        ys[i] = expf(x);
    }
    return 0;
}

static int exp_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
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
        dx[i] += d * y;
    }
    return 0;
}

const zoo_op_def zoo_op_exp = {"exp", {[ZOO_BACKEND_CPU] = {NULL, exp_fwd_cpu, exp_bwd_cpu}}};

zoo_tensor *zoo_exp(zoo_graph *g, zoo_tensor *x) { return zoo_unary_node(g, &zoo_op_exp, x); }
