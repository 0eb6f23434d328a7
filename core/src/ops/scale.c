/* scale.c: y = c * x for a constant c (attention scaling, embedding multipliers).
 * Backward: dx += c * dy. A learned scale would be zoo_mul with a parameter instead. */
#include <math.h>

#include "../internal.h"

static void scale_fwd_cpu(zoo_graph *g, zoo_tensor *t)
{
    (void)g;
    const float *x = t->src[0]->data; /* x: (n) any shape */
    float *y = t->data;               /* y: (n) */
    float c = t->fp[0];
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < t->n; i++)
        y[i] = c * x[i];
}

static void scale_bwd_cpu(zoo_graph *g, zoo_tensor *t)
{
    (void)g;
    zoo_tensor *X = t->src[0];
    if (!X->grad)
        return;
    const float *dy = t->grad; /* dy: (n) */
    float *dx = X->grad;       /* dx: (n) */
    float c = t->fp[0];
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < t->n; i++)
        dx[i] += c * dy[i];
}

static const zoo_op_def op = {"scale", {scale_fwd_cpu, NULL}, {scale_bwd_cpu, NULL}};

zoo_tensor *zoo_scale(zoo_graph *g, zoo_tensor *x, float c)
{
    if (!g || g->status || !x)
        return zoo_node_new(g, &op, 1, (int64_t[]){1}, (zoo_tensor *[]){x}, 1);
    if (x->dtype != ZOO_F32)
        return zoo_node_fail(g, ZOO_ERR_INVALID, "scale: input must be f32 (got an int32 tensor)");
    if (!isfinite(c))
        return zoo_node_fail(g, ZOO_ERR_INVALID, "scale: factor %g is not finite", (double)c);
    zoo_tensor *t = zoo_node_new(g, &op, x->ndim, x->shape, (zoo_tensor *[]){x}, 1);
    if (t)
        t->fp[0] = c;
    return t;
}
