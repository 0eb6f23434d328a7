/* add.cu: y = a + b, b broadcast over a's leading rows (ops/add.c). The gradient of b
 * sums over the rows in row order, one thread per element of b: the CPU's order. */
#include "common.cuh"

ZOO_CUDA_OP_FNS(add)

ZOO_KERNEL add_fwd(const float *a, const float *b, float *y, int64_t n, int64_t nb)
{
    int64_t i = ZOO_GID;
    if (i < n)
        y[i] = a[i] + b[i % nb];
}

ZOO_KERNEL add_bwd_a(const float *dy, float *da, int64_t n, int fresh)
{
    int64_t i = ZOO_GID;
    if (i < n)
        da[i] = fresh ? dy[i] : da[i] + dy[i];
}

ZOO_KERNEL add_bwd_b(const float *dy, float *db, int64_t nb, int64_t reps, int fresh)
{
    int64_t i = ZOO_GID;
    if (i >= nb)
        return;
    float s = 0.0f;
    for (int64_t r = 0; r < reps; r++)
        s += dy[r * nb + i];
    db[i] = fresh ? s : db[i] + s;
}

extern "C" int zoo_cuda_add_forward(zoo_exec *x, zoo_tensor *t)
{
    const zoo_tensor *A = t->src[0], *B = t->src[1];
    ZOO_CU(ZOO_LAUNCH(add_fwd, t->n, zoo_cuda_of(x)->stream, A->data, B->data, t->data, t->n, B->n));
    return 0;
}

extern "C" int zoo_cuda_add_backward(zoo_exec *x, zoo_tensor *t)
{
    zoo_tensor *A = t->src[0], *B = t->src[1];
    cudaStream_t s = zoo_cuda_of(x)->stream;
    if (A->grad)
        ZOO_CU(ZOO_LAUNCH(add_bwd_a, t->n, s, t->grad, A->grad, t->n, zoo_grad_fresh(t, 0)));
    if (B->grad)
        ZOO_CU(ZOO_LAUNCH(add_bwd_b, B->n, s, t->grad, B->grad, B->n, t->n / B->n, zoo_grad_fresh(t, 1)));
    return 0;
}
