/* gelu.c: exact GELU, y = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), as PyTorch's default
 * (approximate='none'). Not the tanh approximation.
 * Backward: dy/dx = Phi(x) + x phi(x), phi the standard normal density. */
#include <math.h>

#include "../backends/cuda/slot.h"
#include "../internal.h"
#include "gelu_math.h"

static int gelu_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    const float *x = t->src[0]->data; /* x: (n) any shape */
    float *y = t->data;               /* y: (n) */
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < t->n; i++)
        y[i] = zoo_gelu_f(x[i]);
    return 0;
}

static int gelu_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *X = t->src[0];
    if (!X->grad)
        return 0;
    const float *x = X->data, *dy = t->grad; /* x, dy: (n) */
    float *dx = X->grad;                     /* dx: (n) */
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < t->n; i++)
        dx[i] += zoo_gelu_df(x[i], dy[i]);
    return 0;
}

ZOO_CUDA_DECLARE(gelu)
const zoo_op_def zoo_op_gelu = {"gelu", {[ZOO_BACKEND_CPU] = {NULL, gelu_fwd_cpu, gelu_bwd_cpu} ZOO_CUDA_SLOT_NOPREP(gelu)}, ZOO_MEM_NO_OUT};

zoo_tensor *zoo_gelu(zoo_graph *g, zoo_tensor *x)
{
    if (!g || g->status || !x)
        return zoo_node_new(g, &zoo_op_gelu, 1, (int64_t[]){1}, (zoo_tensor *[]){x}, 1);
    if (x->dtype != ZOO_F32)
        return zoo_node_fail(g, ZOO_ERR_INVALID, "gelu: input must be f32 (got an int32 tensor)");
    return zoo_node_new(g, &zoo_op_gelu, x->ndim, x->shape, (zoo_tensor *[]){x}, 1);
}
