/* transpose.c: swap the last two dims, y[..., j, i] = x[..., i, j] (a filter generated
 * time-major as (L, D) into the (D, L) layout fftconv takes). A copy, never a view. */
#include "../backends/cuda/slot.h"
#include "../internal.h"

#define BLK 32 /* square tiles keep both sides of the copy in cache */

static int transpose_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    const zoo_tensor *X = t->src[0];
    int64_t R = X->shape[X->ndim - 2], C = X->shape[X->ndim - 1], mats = X->n / (R * C);
    int64_t tr = (R + BLK - 1) / BLK, tc = (C + BLK - 1) / BLK;
#pragma omp parallel for schedule(static)
    for (int64_t w = 0; w < mats * tr * tc; w++) {
        int64_t m = w / (tr * tc), i0 = (w / tc) % tr * BLK, j0 = w % tc * BLK;
        const float *x = X->data + m * R * C; /* x: (R, C) */
        float *y = t->data + m * R * C;       /* y: (C, R) */
        for (int64_t i = i0; i < i0 + BLK && i < R; i++)
            for (int64_t j = j0; j < j0 + BLK && j < C; j++)
                y[j * R + i] = x[i * C + j];
    }
    return 0;
}

static int transpose_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *X = t->src[0];
    if (!X->grad)
        return 0;
    int64_t R = X->shape[X->ndim - 2], C = X->shape[X->ndim - 1], mats = X->n / (R * C);
    int64_t tr = (R + BLK - 1) / BLK, tc = (C + BLK - 1) / BLK;
#pragma omp parallel for schedule(static)
    for (int64_t w = 0; w < mats * tr * tc; w++) {
        int64_t m = w / (tr * tc), i0 = (w / tc) % tr * BLK, j0 = w % tc * BLK;
        float *dx = X->grad + m * R * C;      /* dx: (R, C) */
        const float *dy = t->grad + m * R * C; /* dy: (C, R) */
        for (int64_t i = i0; i < i0 + BLK && i < R; i++)
            for (int64_t j = j0; j < j0 + BLK && j < C; j++)
                dx[i * C + j] += dy[j * R + i];
    }
    return 0;
}

ZOO_CUDA_DECLARE(transpose)
const zoo_op_def zoo_op_transpose = {
    "transpose", {[ZOO_BACKEND_CPU] = {NULL, transpose_fwd_cpu, transpose_bwd_cpu} ZOO_CUDA_SLOT_NOPREP(transpose)}, ZOO_MEM_NO_OUT | ZOO_MEM_NO_SRCS};

zoo_tensor *zoo_transpose(zoo_graph *g, zoo_tensor *x)
{
    if (!g || g->status || !x)
        return zoo_node_new(g, &zoo_op_transpose, 1, (int64_t[]){1}, (zoo_tensor *[]){x}, 1);
    char s[64];
    if (x->dtype != ZOO_F32 || x->ndim < 2)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "transpose: input %s must be f32 with at least 2 dims",
                             zoo_shape_str(x, s, 64));
    int64_t shape[ZOO_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++)
        shape[i] = x->shape[i];
    shape[x->ndim - 2] = x->shape[x->ndim - 1];
    shape[x->ndim - 1] = x->shape[x->ndim - 2];
    return zoo_node_new(g, &zoo_op_transpose, x->ndim, shape, (zoo_tensor *[]){x}, 1);
}
