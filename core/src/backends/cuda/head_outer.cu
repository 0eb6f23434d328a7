/* head_outer.cu: H3's per-head outer product (ops/head_outer.c):
 * y[r, h, i, j] = k[r, h*hd+i] * v[r, h*hd+j], one thread per output element. Backward,
 * one thread per gradient element, each summing alone in the CPU's order:
 * dk[r, h*hd+i] += sum_j dy[r, h, i, j] v[r, h*hd+j] (the sum first, then added);
 * dv[r, h*hd+j] += dy[r, h, i, j] k[r, h*hd+i] for i in order (added one by one).
 * No GEMMs: the CPU uses none (these are rank-1 and hd-long products). */
#include "common.cuh"

ZOO_CUDA_OP_FNS(head_outer)

/* y: (rows, H, hd, hd); k, v: (rows, H*hd) */
ZOO_KERNEL outer_fwd(const float *k, const float *v, float *y, int64_t n, int64_t hd)
{
    int64_t e = ZOO_GID;
    if (e >= n)
        return;
    int64_t j = e % hd, ri = e / hd; /* ri = (r*H + h)*hd + i: k's flat index */
    int64_t rh = ri / hd;            /* r*H + h */
    y[e] = k[ri] * v[rh * hd + j];
}

/* one thread per element (r, h, i) of dk */
ZOO_KERNEL outer_bwd_k(const float *dy, const float *v, float *dk, int64_t n, int64_t hd)
{
    int64_t e = ZOO_GID;
    if (e >= n)
        return;
    const float *d = dy + e * hd, *vr = v + e / hd * hd;
    float s = 0.0f;
    for (int64_t j = 0; j < hd; j++)
        s += d[j] * vr[j];
    dk[e] += s;
}

/* one thread per element (r, h, j) of dv */
ZOO_KERNEL outer_bwd_v(const float *dy, const float *k, float *dv, int64_t n, int64_t hd)
{
    int64_t e = ZOO_GID;
    if (e >= n)
        return;
    int64_t j = e % hd, rh = e / hd;
    const float *d = dy + rh * hd * hd + j, *kr = k + rh * hd;
    float s = dv[e];
    for (int64_t i = 0; i < hd; i++)
        s += d[i * hd] * kr[i];
    dv[e] = s;
}

extern "C" int zoo_cuda_head_outer_forward(zoo_exec *x, zoo_tensor *t)
{
    const zoo_tensor *K = t->src[0], *V = t->src[1];
    int64_t hd = zoo_cols(K) / t->ip[0];
    ZOO_CU(ZOO_LAUNCH(outer_fwd, t->n, zoo_cuda_of(x)->stream, K->data, V->data, t->data, t->n, hd));
    return 0;
}

extern "C" int zoo_cuda_head_outer_backward(zoo_exec *x, zoo_tensor *t)
{
    zoo_tensor *K = t->src[0], *V = t->src[1];
    int64_t hd = zoo_cols(K) / t->ip[0];
    cudaStream_t s = zoo_cuda_of(x)->stream;
    if (K->grad)
        ZOO_CU(ZOO_LAUNCH(outer_bwd_k, K->n, s, t->grad, V->data, K->grad, K->n, hd));
    if (V->grad)
        ZOO_CU(ZOO_LAUNCH(outer_bwd_v, V->n, s, t->grad, K->data, V->grad, V->n, hd));
    return 0;
}
