/* sin.c: y = sin(x) (Hyena's periodic filter activation; the frequency is a zoo_mul before it).
 * Elementwise, any shape; no in-place variant. */
#include <math.h>

#include "unary.h"

static int sin_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    const float *xs = t->src[0]->data; /* x: (n) */
    float *ys = t->data;               /* y: (n) */
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < t->n; i++) {
        float x = xs[i];
        ys[i] = sinf(x);
    }
    return 0;
}

static int sin_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
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
        dx[i] += d * cosf(x);
    }
    return 0;
}

const zoo_op_def zoo_op_sin = {"sin", {[ZOO_BACKEND_CPU] = {NULL, sin_fwd_cpu, sin_bwd_cpu}}};

zoo_tensor *zoo_sin(zoo_graph *g, zoo_tensor *x) { return zoo_unary_node(g, &zoo_op_sin, x); }
