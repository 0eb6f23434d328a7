/* unary.c: the elementwise ops of unary.h's table: for each row, its CPU kernels, its
 * zoo_op_<name> and its public builder zoo_<name>. The kernels are one macro over the
 * table, not one function taking f and df as pointers, because the OpenMP loop body is
 * outlined before inlining: only a literal call in the loop inlines, per element. The
 * loops are simd loops with AVX2 / AVX-512 clones: the branch-free rows (sigmoid, silu,
 * relu) vectorise; rows calling libm (sin, exp, softplus's log1p) stay scalar. */
#include "unary.h"

#include "../backends/cuda/slot.h"

/* A node of `op` shaped like x; fails the graph when x is not f32. */
static zoo_tensor *unary_node(zoo_graph *g, const zoo_op_def *op, zoo_tensor *x)
{
    if (!g || g->status || !x)
        return zoo_node_new(g, op, 1, (int64_t[]){1}, (zoo_tensor *[]){x}, 1);
    if (x->dtype != ZOO_F32)
        return zoo_node_fail(g, ZOO_ERR_INVALID, "%s: input must be f32", op->name);
    return zoo_node_new(g, op, x->ndim, x->shape, (zoo_tensor *[]){x}, 1);
}

/* Backward hands df both x and y; the load df does not use is dead and dropped. */
#define UNARY_OP(name, f, df)                                                              \
    VEC_CLONES static int name##_fwd_cpu(zoo_exec *ex, zoo_tensor *t)                      \
    {                                                                                      \
        (void)ex;                                                                          \
        const float *xs = t->src[0]->data; /* x: (n) */                                    \
        float *ys = t->data;               /* y: (n) */                                    \
        _Pragma("omp parallel for simd schedule(static)")                                  \
        for (int64_t i = 0; i < t->n; i++)                                                 \
            ys[i] = f(xs[i]);                                                              \
        return 0;                                                                          \
    }                                                                                      \
                                                                                           \
    VEC_CLONES static int name##_bwd_cpu(zoo_exec *ex, zoo_tensor *t)                      \
    {                                                                                      \
        (void)ex;                                                                          \
        zoo_tensor *X = t->src[0];                                                         \
        if (!X->grad)                                                                      \
            return 0;                                                                      \
        const float *xs = X->data, *ys = t->data, *dys = t->grad; /* (n) each */           \
        float *dx = X->grad;                                                               \
        _Pragma("omp parallel for simd schedule(static)")                                  \
        for (int64_t i = 0; i < t->n; i++)                                                 \
            dx[i] += df(xs[i], ys[i], dys[i]);                                             \
        return 0;                                                                          \
    }                                                                                      \
                                                                                           \
    ZOO_CUDA_DECLARE(name)                                                                 \
    const zoo_op_def zoo_op_##name = {#name,                                               \
                                      {[ZOO_BACKEND_CPU] = {NULL, name##_fwd_cpu, name##_bwd_cpu} \
                                       ZOO_CUDA_SLOT_NOPREP(name)}, 0};                    \
                                                                                           \
    zoo_tensor *zoo_##name(zoo_graph *g, zoo_tensor *x) { return unary_node(g, &zoo_op_##name, x); }

ZOO_UNARY_OPS(UNARY_OP)
