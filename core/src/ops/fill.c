/* fill.c: a tensor of one constant value, made by the graph rather than stored (the
 * unit weight and zero bias of a norm without its own affine, a ones matrix that sums a
 * head's channels): a constant a mixer needs that is not a parameter or buffer of the
 * module it mirrors, so it stays out of the state dict. No inputs, no gradient. */
#include <math.h>

#include "../backends/cuda/slot.h"
#include "../internal.h"

static int fill_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    float *y = t->data, c = t->fp[0];
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < t->n; i++)
        y[i] = c;
    return 0;
}

/* Nothing to pass back: the op has no inputs (it is never reached by a gradient). */
static int fill_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex, (void)t;
    return 0;
}

ZOO_CUDA_DECLARE(fill)
const zoo_op_def zoo_op_fill = {
    "fill", {[ZOO_BACKEND_CPU] = {NULL, fill_fwd_cpu, fill_bwd_cpu} ZOO_CUDA_SLOT_NOPREP(fill)}, ZOO_MEM_NO_OUT | ZOO_MEM_NO_SRCS};

zoo_tensor *zoo_fill(zoo_graph *g, int ndim, const int64_t *shape, float c)
{
    if (!g || g->status)
        return NULL;
    if (ndim < 1 || ndim > ZOO_MAX_DIMS || !shape)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "fill: %d dims, must be 1..%d", ndim, ZOO_MAX_DIMS);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 1)
            return zoo_node_fail(g, ZOO_ERR_SHAPE, "fill: dim %d is %lld, must be >= 1", i, (long long)shape[i]);
    if (!isfinite(c))
        return zoo_node_fail(g, ZOO_ERR_INVALID, "fill: value %g is not finite", (double)c);
    zoo_tensor *t = zoo_node_new(g, &zoo_op_fill, ndim, shape, NULL, 0);
    if (t)
        t->fp[0] = c;
    return t;
}
