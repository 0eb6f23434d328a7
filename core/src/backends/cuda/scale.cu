/* scale.cu: y = c * x for the constant c in fp[0] (ops/scale.c); dx += c * dy. One
 * thread per element, nothing summed: deterministic. */
#include "common.cuh"

ZOO_CUDA_OP_FNS(scale)

ZOO_KERNEL scale_fwd(const float *xv, float *y, float c, int64_t n)
{
    int64_t i = ZOO_GID;
    if (i < n)
        y[i] = c * xv[i];
}

ZOO_KERNEL scale_bwd(const float *dy, float *dx, float c, int64_t n, int fresh)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    float g = c * dy[i];
    dx[i] = fresh ? g : dx[i] + g;
}

extern "C" int zoo_cuda_scale_forward(zoo_exec *x, zoo_tensor *t)
{
    ZOO_CU(ZOO_LAUNCH(scale_fwd, t->n, zoo_cuda_of(x)->stream, t->src[0]->data, t->data, t->fp[0], t->n));
    return 0;
}

extern "C" int zoo_cuda_scale_backward(zoo_exec *x, zoo_tensor *t)
{
    zoo_tensor *X = t->src[0];
    if (X->grad)
        ZOO_CU(ZOO_LAUNCH(scale_bwd, t->n, zoo_cuda_of(x)->stream, t->grad, X->grad, t->fp[0], t->n,
                          zoo_grad_fresh(t, 0)));
    return 0;
}
