/* transpose.cu: y[..., j, i] = x[..., i, j], the last two dims swapped (ops/transpose.c).
 * A copy, never a view. One thread per element of the destination (coalesced writes,
 * strided reads; no shared-memory tiles by the backend's kernel form). Nothing summed:
 * deterministic. */
#include "common.cuh"

ZOO_CUDA_OP_FNS(transpose)

/* x: (mats, R, C) -> y: (mats, C, R); thread i owns y[i] */
ZOO_KERNEL transpose_fwd(const float *xv, float *y, int64_t R, int64_t C, int64_t n)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t rc = R * C, m = i / rc, k = i % rc, j = k / R, r = k % R; /* y[m, j, r] */
    y[i] = xv[m * rc + r * C + j];
}

/* dx: (mats, R, C) += dy: (mats, C, R) transposed; thread i owns dx[i] */
ZOO_KERNEL transpose_bwd(const float *dy, float *dx, int64_t R, int64_t C, int64_t n, int fresh)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t rc = R * C, m = i / rc, k = i % rc, r = k / C, j = k % C; /* dx[m, r, j] */
    float g = dy[m * rc + j * R + r];
    dx[i] = fresh ? g : dx[i] + g;
}

extern "C" int zoo_cuda_transpose_forward(zoo_exec *x, zoo_tensor *t)
{
    const zoo_tensor *X = t->src[0];
    int64_t R = X->shape[X->ndim - 2], C = X->shape[X->ndim - 1];
    ZOO_CU(ZOO_LAUNCH(transpose_fwd, t->n, zoo_cuda_of(x)->stream, X->data, t->data, R, C, t->n));
    return 0;
}

extern "C" int zoo_cuda_transpose_backward(zoo_exec *x, zoo_tensor *t)
{
    zoo_tensor *X = t->src[0];
    if (!X->grad)
        return 0;
    int64_t R = X->shape[X->ndim - 2], C = X->shape[X->ndim - 1];
    ZOO_CU(ZOO_LAUNCH(transpose_bwd, t->n, zoo_cuda_of(x)->stream, t->grad, X->grad, R, C, t->n,
                      zoo_grad_fresh(t, 0)));
    return 0;
}
