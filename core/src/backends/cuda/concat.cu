/* concat.cu: y = [x0, x1, ...] along the last dim (ops/concat.c; at most ZOO_MAX_SRC
 * inputs per node). Forward: one thread per element of y finds its input by column.
 * Backward: per input with a gradient, one thread per element of that input adds (or,
 * when fresh, writes) its range of dy. Nothing summed: deterministic. */
#include "common.cuh"

ZOO_CUDA_OP_FNS(concat)

/* the inputs' values and widths, passed by value */
typedef struct concat_srcs {
    const float *p[ZOO_MAX_SRC];
    int64_t w[ZOO_MAX_SRC];
    int n;
} concat_srcs;

/* y: (rows, out); thread i owns y[i] */
ZOO_KERNEL concat_fwd(concat_srcs in, float *y, int64_t out, int64_t n)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t r = i / out, c = i % out;
    /* walk the inputs with constant indices only (unrolled), so the arrays stay in
     * registers: no local memory */
    const float *p = in.p[0];
    int64_t w = in.w[0];
#ifdef __CUDACC__
#pragma unroll
#endif
    for (int k = 1; k < ZOO_MAX_SRC; k++)
        if (k < in.n && c >= w) {
            c -= w;
            p = in.p[k];
            w = in.w[k];
        }
    y[i] = p[r * w + c];
}

/* dx: (rows, w) (+)= dy[:, off:off+w]; thread i owns dx[i] */
ZOO_KERNEL concat_bwd(const float *dy, float *dx, int64_t out, int64_t off, int64_t w, int64_t n, int fresh)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    float g = dy[i / w * out + off + i % w];
    dx[i] = fresh ? g : dx[i] + g;
}

extern "C" int zoo_cuda_concat_forward(zoo_exec *x, zoo_tensor *t)
{
    concat_srcs in;
    in.n = t->nsrc;
    for (int k = 0; k < ZOO_MAX_SRC; k++) {
        in.p[k] = k < t->nsrc ? t->src[k]->data : NULL;
        in.w[k] = k < t->nsrc ? zoo_cols(t->src[k]) : 0;
    }
    ZOO_CU(ZOO_LAUNCH(concat_fwd, t->n, zoo_cuda_of(x)->stream, in, t->data, zoo_cols(t), t->n));
    return 0;
}

extern "C" int zoo_cuda_concat_backward(zoo_exec *x, zoo_tensor *t)
{
    cudaStream_t s = zoo_cuda_of(x)->stream;
    int64_t out = zoo_cols(t), off = 0;
    for (int k = 0; k < t->nsrc; k++) {
        zoo_tensor *X = t->src[k];
        int64_t w = zoo_cols(X);
        if (X->grad)
            ZOO_CU(ZOO_LAUNCH(concat_bwd, X->n, s, t->grad, X->grad, out, off, w, X->n, zoo_grad_fresh(t, k)));
        off += w;
    }
    return 0;
}
