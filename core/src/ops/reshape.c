/* reshape.c: the same elements in row-major order under another shape (dropping the
 * leading 1 of a (1, L, D) parameter, splitting heads). A copy, never a view. */
#include <string.h>

#include "../backends/cuda/slot.h"
#include "../internal.h"

static int reshape_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    memcpy(t->data, t->src[0]->data, (size_t)t->n * sizeof *t->data);
    return 0;
}

static int reshape_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *X = t->src[0];
    if (!X->grad)
        return 0;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < t->n; i++)
        X->grad[i] += t->grad[i];
    return 0;
}

ZOO_CUDA_DECLARE(reshape)
const zoo_op_def zoo_op_reshape = {
    "reshape", {[ZOO_BACKEND_CPU] = {NULL, reshape_fwd_cpu, reshape_bwd_cpu} ZOO_CUDA_SLOT_NOPREP(reshape)}, ZOO_MEM_NO_OUT | ZOO_MEM_NO_SRCS};

zoo_tensor *zoo_reshape(zoo_graph *g, zoo_tensor *x, int ndim, const int64_t *shape)
{
    if (!g || g->status || !x)
        return zoo_node_new(g, &zoo_op_reshape, 1, (int64_t[]){1}, (zoo_tensor *[]){x}, 1);
    char s[64];
    if (x->dtype != ZOO_F32)
        return zoo_node_fail(g, ZOO_ERR_INVALID, "reshape: input must be f32");
    if (!shape || ndim < 1 || ndim > ZOO_MAX_DIMS)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "reshape: need 1 to %d dims, got %d", ZOO_MAX_DIMS, ndim);
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    if (n != x->n)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "reshape: %s has %lld elements, the new shape %lld",
                             zoo_shape_str(x, s, 64), (long long)x->n, (long long)n);
    return zoo_node_new(g, &zoo_op_reshape, ndim, shape, (zoo_tensor *[]){x}, 1);
}
