/* gelu_math.h: exact GELU of one element and its gradient (ops/gelu.c), written once
 * for every backend: the CPU loops and the CUDA kernels expand the same expressions. A
 * CUDA source defines ZOO_MATH_FN as a host-and-device inline function before
 * including. */
#ifndef ZOO_GELU_MATH_H
#define ZOO_GELU_MATH_H

#include <math.h>

#ifndef ZOO_MATH_FN
#define ZOO_MATH_FN static inline
#endif

#define ZOO_GELU_INV_SQRT2 0.70710678118654752f
#define ZOO_GELU_INV_SQRT_2PI 0.39894228040143268f

/* y = 0.5 x (1 + erf(x / sqrt 2)) */
ZOO_MATH_FN float zoo_gelu_f(float x) { return 0.5f * x * (1.0f + erff(x * ZOO_GELU_INV_SQRT2)); }

/* dy * (Phi(x) + x phi(x)) */
ZOO_MATH_FN float zoo_gelu_df(float x, float dy)
{
    float cdf = 0.5f * (1.0f + erff(x * ZOO_GELU_INV_SQRT2));
    float pdf = ZOO_GELU_INV_SQRT_2PI * expf(-0.5f * x * x);
    return dy * (cdf + x * pdf);
}

#endif
