/* ssm_shift_kernel.cu: H3's shift-SSM kernel K[h,j] = sum_n B[h,n] C[h,n+j] for
 * j < min(N, L), zero beyond (ops/ssm_shift_kernel.c). One thread per output element:
 * K[h,j] in the forward, dB[h,n] and dC[h,m] in the backward, each summed by its thread
 * alone in the CPU's order (n, resp. j ascending), so results are deterministic. */
#include "common.cuh"

ZOO_CUDA_OP_FNS(ssm_shift_kernel)

/* K: (H, L) from B, C: (H, N); one thread per (h, j). */
ZOO_KERNEL shift_fwd(const float *B, const float *C, float *K, int64_t H, int64_t N, int64_t L)
{
    int64_t i = ZOO_GID;
    if (i >= H * L)
        return;
    int64_t h = i / L, j = i % L;
    float s = 0;
    if (j < N) {
        const float *b = B + h * N, *c = C + h * N;
        for (int64_t n = 0; n + j < N; n++)
            s += b[n] * c[n + j];
    }
    K[i] = s;
}

/* dB[h,n] = sum_{j<J, n+j<N} dK[h,j] C[h,n+j]; one thread per (h, n). */
ZOO_KERNEL shift_bwd_b(const float *dK, const float *C, float *dB, int64_t H, int64_t N, int64_t L, int fresh)
{
    int64_t i = ZOO_GID;
    if (i >= H * N)
        return;
    int64_t h = i / N, n = i % N, J = N < L ? N : L;
    const float *c = C + h * N, *dk = dK + h * L;
    float s = 0;
    for (int64_t j = 0; j < J && n + j < N; j++)
        s += dk[j] * c[n + j];
    dB[i] = fresh ? s : dB[i] + s;
}

/* dC[h,m] = sum_{j<J, j<=m} dK[h,j] B[h,m-j]; one thread per (h, m). */
ZOO_KERNEL shift_bwd_c(const float *dK, const float *B, float *dC, int64_t H, int64_t N, int64_t L, int fresh)
{
    int64_t i = ZOO_GID;
    if (i >= H * N)
        return;
    int64_t h = i / N, m = i % N, J = N < L ? N : L;
    const float *b = B + h * N, *dk = dK + h * L;
    float s = 0;
    for (int64_t j = 0; j < J && j <= m; j++)
        s += dk[j] * b[m - j];
    dC[i] = fresh ? s : dC[i] + s;
}

extern "C" int zoo_cuda_ssm_shift_kernel_forward(zoo_exec *x, zoo_tensor *t)
{
    const zoo_tensor *Bt = t->src[0], *Ct = t->src[1];
    int64_t H = Bt->shape[0], N = Bt->shape[1], L = t->shape[1];
    ZOO_CU(ZOO_LAUNCH(shift_fwd, H * L, zoo_cuda_of(x)->stream, Bt->data, Ct->data, t->data, H, N, L));
    return 0;
}

extern "C" int zoo_cuda_ssm_shift_kernel_backward(zoo_exec *x, zoo_tensor *t)
{
    zoo_tensor *Bt = t->src[0], *Ct = t->src[1];
    int64_t H = Bt->shape[0], N = Bt->shape[1], L = t->shape[1];
    cudaStream_t s = zoo_cuda_of(x)->stream;
    if (Bt->grad)
        ZOO_CU(ZOO_LAUNCH(shift_bwd_b, H * N, s, t->grad, Ct->data, Bt->grad, H, N, L, zoo_grad_fresh(t, 0)));
    if (Ct->grad)
        ZOO_CU(ZOO_LAUNCH(shift_bwd_c, H * N, s, t->grad, Bt->data, Ct->grad, H, N, L, zoo_grad_fresh(t, 1)));
    return 0;
}
