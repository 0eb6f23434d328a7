/* scale.c: y = c * x for a constant c (attention scaling, embedding multipliers).
 * Backward: dx += c * dy. A learned scale would be zoo_mul with a parameter instead. */
#include <math.h>

#include "../backends/cuda/slot.h"
#include "../internal.h"

static int scale_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    const float *x = t->src[0]->data; /* x: (n) any shape */
    float *y = t->data;               /* y: (n) */
    float c = t->fp[0];
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < t->n; i++)
        y[i] = c * x[i];
    return 0;
}

static int scale_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *X = t->src[0];
    if (!X->grad)
        return 0;
    const float *dy = t->grad; /* dy: (n) */
    float *dx = X->grad;       /* dx: (n) */
    float c = t->fp[0];
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < t->n; i++)
        dx[i] += c * dy[i];
    return 0;
}

ZOO_CUDA_DECLARE(scale)
const zoo_op_def zoo_op_scale = {
    "scale", {[ZOO_BACKEND_CPU] = {NULL, scale_fwd_cpu, scale_bwd_cpu} ZOO_CUDA_SLOT_NOPREP(scale)}, ZOO_MEM_NO_OUT | ZOO_MEM_NO_SRCS};

zoo_tensor *zoo_scale(zoo_graph *g, zoo_tensor *x, float c)
{
    if (!g || g->status || !x)
        return zoo_node_new(g, &zoo_op_scale, 1, (int64_t[]){1}, (zoo_tensor *[]){x}, 1);
    if (x->dtype != ZOO_F32)
        return zoo_node_fail(g, ZOO_ERR_INVALID, "scale: input must be f32 (got an int32 tensor)");
    if (!isfinite(c))
        return zoo_node_fail(g, ZOO_ERR_INVALID, "scale: factor %g is not finite", (double)c);
    zoo_tensor *t = zoo_node_new(g, &zoo_op_scale, x->ndim, x->shape, (zoo_tensor *[]){x}, 1);
    if (t)
        t->fp[0] = c;
    return t;
}
