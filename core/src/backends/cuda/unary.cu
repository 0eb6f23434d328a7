/* unary.cu: the elementwise ops of ops/unary.h's table (sin, exp, relu, silu, sigmoid,
 * softplus), one thread per element. One forward and one backward kernel template, each
 * instantiated per row of ZOO_UNARY_OPS with the row's f and df, the same host-and-device
 * inline functions the CPU kernels call; only sin's sinf and cosf are trig.cuh's, not
 * CUDA's (see there). No sums: deterministic. The gradient is always added (the CPU's
 * ops never write it whole). */
#include "common.cuh"
#include "trig.cuh"

#define ZOO_UNARY_FN ZOO_HD
#define ZOO_UNARY_SINF zoo_cu_sinf /* accurate everywhere, no local memory (trig.cuh) */
#define ZOO_UNARY_COSF zoo_cu_cosf
#define ZOO_UNARY_EXPF expf /* the device's own; the CPU's polynomial differs by ~2 ulp */
#include "../../ops/unary.h"

/* y = f(x) */
template <float (*F)(float)> ZOO_KERNEL unary_fwd(const float *x, float *y, int64_t n)
{
    int64_t i = ZOO_GID;
    if (i < n)
        y[i] = F(x[i]);
}

/* dx += df(x, y, dy) */
template <float (*DF)(float, float, float)>
ZOO_KERNEL unary_bwd(const float *x, const float *y, const float *dy, float *dx, int64_t n)
{
    int64_t i = ZOO_GID;
    if (i < n)
        dx[i] += DF(x[i], y[i], dy[i]);
}

#define UNARY_CUDA_OP(name, f, df)                                                         \
    ZOO_CUDA_OP_FNS(name)                                                                  \
    extern "C" int zoo_cuda_##name##_forward(zoo_exec *x, zoo_tensor *t)                   \
    {                                                                                      \
        ZOO_CU(ZOO_LAUNCH(unary_fwd<f>, t->n, zoo_cuda_of(x)->stream, t->src[0]->data, t->data, t->n)); \
        return 0;                                                                          \
    }                                                                                      \
    extern "C" int zoo_cuda_##name##_backward(zoo_exec *x, zoo_tensor *t)                  \
    {                                                                                      \
        zoo_tensor *X = t->src[0];                                                         \
        if (X->grad)                                                                       \
            ZOO_CU(ZOO_LAUNCH(unary_bwd<df>, t->n, zoo_cuda_of(x)->stream, X->data, t->data, t->grad, \
                              X->grad, t->n));                                             \
        return 0;                                                                          \
    }

ZOO_UNARY_OPS(UNARY_CUDA_OP)
