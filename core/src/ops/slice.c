/* slice.c: y = x[..., start:start+len], a copy of a range of the last dim (splitting a
 * fused projection such as Wqkv into q, k, v). Backward adds dy into that range of dx.
 * No strides or views: the engine's tensors are always contiguous. */
#include <string.h>

#include "../backends/cuda/slot.h"
#include "../internal.h"

static int slice_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *X = t->src[0];
    int64_t rows = zoo_rows(X), in = zoo_cols(X), start = t->ip[0], len = t->ip[1];
    const float *x = X->data; /* x: (rows, in) */
    float *y = t->data;       /* y: (rows, len) */
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++)
        memcpy(y + r * len, x + r * in + start, (size_t)len * sizeof *y);
    return 0;
}

static int slice_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *X = t->src[0];
    if (!X->grad)
        return 0;
    int64_t rows = zoo_rows(X), in = zoo_cols(X), start = t->ip[0], len = t->ip[1];
    const float *dy = t->grad; /* dy: (rows, len) */
    float *dx = X->grad;       /* dx: (rows, in); other slices of x add their own ranges */
    if (zoo_grad_fresh(t, 0)) {
        /* first to touch dx: write whole rows, zeros outside the range (one pass) */
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            float *d = dx + r * in;
            memset(d, 0, (size_t)start * sizeof *d);
            memcpy(d + start, dy + r * len, (size_t)len * sizeof *d);
            memset(d + start + len, 0, (size_t)(in - start - len) * sizeof *d);
        }
        return 0;
    }
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < len; i++)
            dx[r * in + start + i] += dy[r * len + i];
    return 0;
}

ZOO_CUDA_DECLARE(slice)
const zoo_op_def zoo_op_slice = {
    "slice", {[ZOO_BACKEND_CPU] = {NULL, slice_fwd_cpu, slice_bwd_cpu} ZOO_CUDA_SLOT_NOPREP(slice)}, ZOO_MEM_NO_OUT | ZOO_MEM_NO_SRCS};

zoo_tensor *zoo_slice(zoo_graph *g, zoo_tensor *x, int64_t start, int64_t len)
{
    if (!g || g->status || !x)
        return zoo_node_new(g, &zoo_op_slice, 1, (int64_t[]){1}, (zoo_tensor *[]){x}, 1);
    char s[64];
    if (x->dtype != ZOO_F32)
        return zoo_node_fail(g, ZOO_ERR_INVALID, "slice: input must be f32");
    if (start < 0 || len < 1 || start + len > zoo_cols(x))
        return zoo_node_fail(g, ZOO_ERR_SHAPE,
                             "slice: range [%lld, %lld) is outside the last dim of %s (need 0 <= start, "
                             "len >= 1, start + len <= %lld)",
                             (long long)start, (long long)(start + len), zoo_shape_str(x, s, 64),
                             (long long)zoo_cols(x));
    int64_t shape[ZOO_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++)
        shape[i] = x->shape[i];
    shape[x->ndim - 1] = len;
    zoo_tensor *t = zoo_node_new(g, &zoo_op_slice, x->ndim, shape, (zoo_tensor *[]){x}, 1);
    if (t) {
        t->ip[0] = start;
        t->ip[1] = len;
        t->overwrite = 0x1u; /* dx is written whole (zeros outside the range) */
    }
    return t;
}
