/* gelu.cu: exact GELU, y = 0.5 x (1 + erf(x / sqrt 2)) (ops/gelu.c), one thread per
 * element with the CPU's expressions (ops/gelu_math.h). No sums: deterministic. The
 * gradient is always added (the CPU's op never writes it whole). */
#include "common.cuh"

#define ZOO_MATH_FN ZOO_HD
#include "../../ops/gelu_math.h"

ZOO_CUDA_OP_FNS(gelu)

ZOO_KERNEL gelu_fwd(const float *x, float *y, int64_t n)
{
    int64_t i = ZOO_GID;
    if (i < n)
        y[i] = zoo_gelu_f(x[i]);
}

ZOO_KERNEL gelu_bwd(const float *x, const float *dy, float *dx, int64_t n)
{
    int64_t i = ZOO_GID;
    if (i < n)
        dx[i] += zoo_gelu_df(x[i], dy[i]);
}

extern "C" int zoo_cuda_gelu_forward(zoo_exec *x, zoo_tensor *t)
{
    ZOO_CU(ZOO_LAUNCH(gelu_fwd, t->n, zoo_cuda_of(x)->stream, t->src[0]->data, t->data, t->n));
    return 0;
}

extern "C" int zoo_cuda_gelu_backward(zoo_exec *x, zoo_tensor *t)
{
    zoo_tensor *X = t->src[0];
    if (X->grad)
        ZOO_CU(ZOO_LAUNCH(gelu_bwd, t->n, zoo_cuda_of(x)->stream, X->data, t->grad, X->grad, t->n));
    return 0;
}
