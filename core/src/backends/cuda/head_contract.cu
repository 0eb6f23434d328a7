/* head_contract.cu: H3's per-head contraction (ops/head_contract.c):
 * o[r, j*H + h] = sum_i q[r, h*hd+i] y[r, h, i, j], one thread per output element
 * summing over i in order from zero (the CPU's order). Backward, one thread per
 * gradient element: dq[r, h*hd+i] += sum_j do[r, j*H+h] y[r, h, i, j] (the sum first,
 * then added, as the CPU) and dy[r, h, i, j] += do[r, j*H+h] q[r, h*hd+i]. No GEMMs:
 * the CPU uses none (the products are hd long). */
#include "common.cuh"

ZOO_CUDA_OP_FNS(head_contract)

/* o: (rows, hd*H) in (j, h) order; q: (rows, H*hd); y: (rows, H, hd, hd) */
ZOO_KERNEL contract_fwd(const float *q, const float *y, float *o, int64_t n, int64_t H, int64_t hd)
{
    int64_t e = ZOO_GID;
    if (e >= n)
        return;
    int64_t D = H * hd, r = e / D, c = e % D, j = c / H, h = c % H;
    const float *qh = q + r * D + h * hd, *yh = y + (r * H + h) * hd * hd + j;
    float s = 0.0f;
    for (int64_t i = 0; i < hd; i++)
        s += qh[i] * yh[i * hd];
    o[e] = s;
}

/* one thread per element (r, h, i) of dq */
ZOO_KERNEL contract_bwd_q(const float *dout, const float *y, float *dq, int64_t n, int64_t H, int64_t hd)
{
    int64_t e = ZOO_GID;
    if (e >= n)
        return;
    int64_t D = H * hd, r = e / D, h = e % D / hd;
    const float *d = dout + r * D + h, *yi = y + e * hd; /* e = (r*H + h)*hd + i */
    float s = 0.0f;
    for (int64_t j = 0; j < hd; j++)
        s += d[j * H] * yi[j];
    dq[e] += s;
}

/* one thread per element (r, h, i, j) of dy */
ZOO_KERNEL contract_bwd_y(const float *dout, const float *q, float *dy, int64_t n, int64_t H, int64_t hd)
{
    int64_t e = ZOO_GID;
    if (e >= n)
        return;
    int64_t j = e % hd, ri = e / hd; /* ri = (r*H + h)*hd + i: q's flat index */
    int64_t D = H * hd, r = ri / D, h = ri % D / hd;
    dy[e] += dout[r * D + j * H + h] * q[ri];
}

extern "C" int zoo_cuda_head_contract_forward(zoo_exec *x, zoo_tensor *t)
{
    const zoo_tensor *Q = t->src[0], *Y = t->src[1];
    int64_t H = t->ip[0], hd = zoo_cols(Q) / H;
    ZOO_CU(ZOO_LAUNCH(contract_fwd, t->n, zoo_cuda_of(x)->stream, Q->data, Y->data, t->data, t->n, H, hd));
    return 0;
}

extern "C" int zoo_cuda_head_contract_backward(zoo_exec *x, zoo_tensor *t)
{
    zoo_tensor *Q = t->src[0], *Y = t->src[1];
    int64_t H = t->ip[0], hd = zoo_cols(Q) / H;
    cudaStream_t s = zoo_cuda_of(x)->stream;
    if (Q->grad)
        ZOO_CU(ZOO_LAUNCH(contract_bwd_q, Q->n, s, t->grad, Y->data, Q->grad, Q->n, H, hd));
    if (Y->grad)
        ZOO_CU(ZOO_LAUNCH(contract_bwd_y, Y->n, s, t->grad, Q->data, Y->grad, Y->n, H, hd));
    return 0;
}
