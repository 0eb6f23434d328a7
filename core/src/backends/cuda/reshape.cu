/* reshape.cu: the same elements under another shape (ops/reshape.c). A copy, never a
 * view, as on the CPU: forward is one device-to-device copy on the run's stream;
 * backward adds dy into dx, one thread per element. Nothing summed: deterministic. */
#include "common.cuh"

ZOO_CUDA_OP_FNS(reshape)

ZOO_KERNEL reshape_bwd(const float *dy, float *dx, int64_t n, int fresh)
{
    int64_t i = ZOO_GID;
    if (i < n)
        dx[i] = fresh ? dy[i] : dx[i] + dy[i];
}

extern "C" int zoo_cuda_reshape_forward(zoo_exec *x, zoo_tensor *t)
{
    ZOO_CU(cudaMemcpyAsync(t->data, t->src[0]->data, (size_t)t->n * sizeof(float), cudaMemcpyDeviceToDevice,
                           zoo_cuda_of(x)->stream));
    return 0;
}

extern "C" int zoo_cuda_reshape_backward(zoo_exec *x, zoo_tensor *t)
{
    zoo_tensor *X = t->src[0];
    if (X->grad)
        ZOO_CU(ZOO_LAUNCH(reshape_bwd, t->n, zoo_cuda_of(x)->stream, t->grad, X->grad, t->n, zoo_grad_fresh(t, 0)));
    return 0;
}
