/* slice.cu: y = x[..., start:start+len] (ops/slice.c: start ip[0], len ip[1]). Forward:
 * one thread per element of y. Backward: when dx is fresh, one thread per element of dx
 * writes it whole (dy inside the range, zeros outside), as the CPU does; otherwise one
 * thread per element of dy adds it into the range. Nothing summed: deterministic. */
#include "common.cuh"

ZOO_CUDA_OP_FNS(slice)

/* x: (rows, in) -> y: (rows, len) */
ZOO_KERNEL slice_fwd(const float *xv, float *y, int64_t in, int64_t start, int64_t len, int64_t n)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t r = i / len, c = i % len;
    y[i] = xv[r * in + start + c];
}

/* dx: (rows, in) written whole; thread i owns dx[i] */
ZOO_KERNEL slice_bwd_write(const float *dy, float *dx, int64_t in, int64_t start, int64_t len, int64_t n)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t r = i / in, c = i % in - start;
    dx[i] = c >= 0 && c < len ? dy[r * len + c] : 0.0f;
}

/* dx[:, start:start+len] += dy; thread i owns dy[i] */
ZOO_KERNEL slice_bwd_add(const float *dy, float *dx, int64_t in, int64_t start, int64_t len, int64_t n)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t r = i / len, c = i % len;
    dx[r * in + start + c] += dy[i];
}

extern "C" int zoo_cuda_slice_forward(zoo_exec *x, zoo_tensor *t)
{
    const zoo_tensor *X = t->src[0];
    ZOO_CU(ZOO_LAUNCH(slice_fwd, t->n, zoo_cuda_of(x)->stream, X->data, t->data, zoo_cols(X), t->ip[0], t->ip[1],
                      t->n));
    return 0;
}

extern "C" int zoo_cuda_slice_backward(zoo_exec *x, zoo_tensor *t)
{
    zoo_tensor *X = t->src[0];
    if (!X->grad)
        return 0;
    cudaStream_t s = zoo_cuda_of(x)->stream;
    if (zoo_grad_fresh(t, 0))
        ZOO_CU(ZOO_LAUNCH(slice_bwd_write, X->n, s, t->grad, X->grad, zoo_cols(X), t->ip[0], t->ip[1], X->n));
    else
        ZOO_CU(ZOO_LAUNCH(slice_bwd_add, t->n, s, t->grad, X->grad, zoo_cols(X), t->ip[0], t->ip[1], t->n));
    return 0;
}
