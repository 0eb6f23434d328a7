/* unary.h: the elementwise one-input ops (any shape, f32, no in-place variant), written
 * once. ZOO_UNARY_OPS is their table, one X(name, f, df) row per op:
 *   f(x)         the value y;
 *   df(x, y, dy) the gradient dy * f'(x), given y = f(x) (exp and sigmoid reuse y).
 * df takes dy instead of returning f'(x) alone so that each op keeps its own order of
 * rounding (silu and sigmoid multiply dy in first) and relu and softplus pass dy through
 * where the slope is 0 or 1 (0 * dy would turn an infinite dy into NaN).
 * The table makes the CPU kernels, zoo_op_<name> and the builder zoo_<name> (unary.c),
 * the entries in ops/table.c and the cases of tests/ops_mixer/test_unary.c: a new
 * elementwise op is two functions and one row. */
#ifndef ZOO_OPS_UNARY_H
#define ZOO_OPS_UNARY_H

#include <math.h>

#include "../internal.h"

/* Plain functions of floats with no globals: a CUDA translation unit defines this as
 * `static inline __host__ __device__` before including, and shares the expressions. */
#ifndef ZOO_UNARY_FN
#include "../vecmath.h"
#define ZOO_UNARY_FN VEC_INLINE /* into unary.c's vector clones */
#endif

/* The exp of sigmoid (and so of silu and softplus's slope): on the CPU vecmath.h's
 * branch-free polynomial (within 2 ulp of expf), so that the kernels vectorise; a CUDA
 * translation unit defines it as expf before including. */
#ifndef ZOO_UNARY_EXPF
#include "../vecmath.h"
#define ZOO_UNARY_EXPF zoo_exp_poly
#endif

/* Logistic function that stays finite for large |x|: e = exp(-|x|) <= 1, then 1/(1+e)
 * or e/(1+e), a select rather than a branch. */
ZOO_UNARY_FN float zoo_sigmoidf(float x)
{
    float e = ZOO_UNARY_EXPF(x >= 0.0f ? -x : x), s = 1.0f / (1.0f + e);
    return x >= 0.0f ? s : e * s;
}

/* The sine and cosine the sin row calls: libm's, unless the including source brings
 * its own (CUDA's keep huge arguments' reduction in local memory: backends/cuda/trig.cuh). */
#ifndef ZOO_UNARY_SINF
#define ZOO_UNARY_SINF sinf
#define ZOO_UNARY_COSF cosf
#endif

/* sin: Hyena's periodic filter activation (the frequency is a zoo_mul before it). */
ZOO_UNARY_FN float zoo_sin_f(float x) { return ZOO_UNARY_SINF(x); }
ZOO_UNARY_FN float zoo_sin_df(float x, float y, float dy)
{
    (void)y;
    return dy * ZOO_UNARY_COSF(x);
}

ZOO_UNARY_FN float zoo_exp_f(float x) { return expf(x); }
ZOO_UNARY_FN float zoo_exp_df(float x, float y, float dy)
{
    (void)x;
    return dy * y;
}

/* relu: max(x, 0); the gradient at 0 is 0, as in PyTorch. */
ZOO_UNARY_FN float zoo_relu_f(float x) { return x > 0.0f ? x : 0.0f; }
ZOO_UNARY_FN float zoo_relu_df(float x, float y, float dy)
{
    (void)y;
    return x > 0.0f ? dy : 0.0f;
}

/* silu: x * sigmoid(x); backward recomputes s = sigmoid(x), as y / x fails at 0. */
ZOO_UNARY_FN float zoo_silu_f(float x) { return x * zoo_sigmoidf(x); }
ZOO_UNARY_FN float zoo_silu_df(float x, float y, float dy)
{
    (void)y;
    float s = zoo_sigmoidf(x);
    return dy * s * (1.0f + x * (1.0f - s));
}

ZOO_UNARY_FN float zoo_sigmoid_f(float x) { return zoo_sigmoidf(x); }
ZOO_UNARY_FN float zoo_sigmoid_df(float x, float y, float dy)
{
    (void)x;
    return dy * y * (1.0f - y);
}

/* softplus: log(1 + exp(x)), and x where x > 20 (PyTorch's threshold, beta 1). */
ZOO_UNARY_FN float zoo_softplus_f(float x) { return x > 20.0f ? x : log1pf(expf(x)); }
ZOO_UNARY_FN float zoo_softplus_df(float x, float y, float dy)
{
    (void)y;
    return x > 20.0f ? dy : dy * zoo_sigmoidf(x);
}

#define ZOO_UNARY_OPS(X)                                                                   \
    X(sin, zoo_sin_f, zoo_sin_df)                                                          \
    X(exp, zoo_exp_f, zoo_exp_df)                                                          \
    X(relu, zoo_relu_f, zoo_relu_df)                                                       \
    X(silu, zoo_silu_f, zoo_silu_df)                                                       \
    X(sigmoid, zoo_sigmoid_f, zoo_sigmoid_df)                                              \
    X(softplus, zoo_softplus_f, zoo_softplus_df)

#define ZOO_UNARY_DECLARE_OP(name, f, df) extern const zoo_op_def zoo_op_##name;
ZOO_UNARY_OPS(ZOO_UNARY_DECLARE_OP)
#undef ZOO_UNARY_DECLARE_OP

#endif
