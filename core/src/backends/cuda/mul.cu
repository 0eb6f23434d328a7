/* mul.cu: y = a * b, a seen as (reps, nb, inner) and b (nb) broadcast over reps and
 * inner (ops/mul.c). One thread per element; the gradient of b is one thread per
 * element of b summing dy * a over reps, then inner, in order, the CPU's order:
 * deterministic, no atomics. */
#include "common.cuh"

ZOO_CUDA_OP_FNS(mul)

ZOO_KERNEL mul_fwd(const float *a, const float *b, float *y, int64_t n, int64_t nb, int64_t inner)
{
    int64_t i = ZOO_GID;
    if (i < n)
        y[i] = a[i] * b[i / inner % nb];
}

/* da = dy * b (broadcast), written or added */
ZOO_KERNEL mul_bwd_a(const float *dy, const float *b, float *da, int64_t n, int64_t nb, int64_t inner, int fresh)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    float g = dy[i] * b[i / inner % nb];
    da[i] = fresh ? g : da[i] + g;
}

/* db[i] = sum over rows r, then j of the run, in order, of dy[r, i, j] * a[r, i, j] */
ZOO_KERNEL mul_bwd_b(const float *dy, const float *a, float *db, int64_t nb, int64_t reps, int64_t inner, int fresh)
{
    int64_t i = ZOO_GID;
    if (i >= nb)
        return;
    float s = 0.0f;
    for (int64_t r = 0; r < reps; r++)
        for (int64_t j = 0; j < inner; j++) {
            int64_t k = (r * nb + i) * inner + j;
            s += dy[k] * a[k];
        }
    db[i] = fresh ? s : db[i] + s;
}

extern "C" int zoo_cuda_mul_forward(zoo_exec *x, zoo_tensor *t)
{
    const zoo_tensor *A = t->src[0], *B = t->src[1];
    ZOO_CU(ZOO_LAUNCH(mul_fwd, t->n, zoo_cuda_of(x)->stream, A->data, B->data, t->data, t->n, B->n, t->ip[0]));
    return 0;
}

extern "C" int zoo_cuda_mul_backward(zoo_exec *x, zoo_tensor *t)
{
    zoo_tensor *A = t->src[0], *B = t->src[1];
    cudaStream_t s = zoo_cuda_of(x)->stream;
    if (A->grad)
        ZOO_CU(ZOO_LAUNCH(mul_bwd_a, t->n, s, t->grad, B->data, A->grad, t->n, B->n, t->ip[0],
                                  zoo_grad_fresh(t, 0)));
    if (B->grad)
        ZOO_CU(ZOO_LAUNCH(mul_bwd_b, B->n, s, t->grad, A->data, B->grad, B->n, t->n / (B->n * t->ip[0]),
                                  t->ip[0], zoo_grad_fresh(t, 1)));
    return 0;
}
