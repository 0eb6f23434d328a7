/* mul.c: y = a * b elementwise (gates of the gated convolutions), b broadcast over the
 * leading dims of a exactly as in add.c. No other broadcasting. */
#include "../backends/cuda/slot.h"
#include "../internal.h"

static int mul_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    const float *a = t->src[0]->data, *b = t->src[1]->data; /* a: (reps, nb), b: (nb) */
    float *y = t->data;                                      /* y: (reps, nb) */
    int64_t nb = t->src[1]->n, reps = t->n / nb;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < reps; r++)
        for (int64_t i = 0; i < nb; i++)
            y[r * nb + i] = a[r * nb + i] * b[i];
    return 0;
}

static int mul_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *A = t->src[0], *B = t->src[1];
    const float *dy = t->grad, *a = A->data, *b = B->data; /* dy, a: (reps, nb); b: (nb) */
    int64_t nb = B->n, reps = t->n / nb;
    if (A->grad) {
        float *da = A->grad;
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < reps; r++)
            for (int64_t i = 0; i < nb; i++)
                da[r * nb + i] += dy[r * nb + i] * b[i];
    }
    if (B->grad) {
        float *db = B->grad;
        /* one thread per element of b sums its rows in order: deterministic */
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < nb; i++) {
            float s = 0;
            for (int64_t r = 0; r < reps; r++)
                s += dy[r * nb + i] * a[r * nb + i];
            db[i] += s;
        }
    }
    return 0;
}

ZOO_CUDA_DECLARE(mul)
const zoo_op_def zoo_op_mul = {"mul", {[ZOO_BACKEND_CPU] = {NULL, mul_fwd_cpu, mul_bwd_cpu} ZOO_CUDA_SLOT_NOPREP(mul)}, ZOO_MEM_NO_OUT};

zoo_tensor *zoo_mul(zoo_graph *g, zoo_tensor *a, zoo_tensor *b)
{
    if (!g || g->status || !a || !b)
        return zoo_node_new(g, &zoo_op_mul, 1, (int64_t[]){1}, (zoo_tensor *[]){a, b}, 2);
    char sa[64], sb[64];
    if (a->dtype != ZOO_F32 || b->dtype != ZOO_F32)
        return zoo_node_fail(g, ZOO_ERR_INVALID, "mul: inputs must be f32");
    int off = a->ndim - b->ndim;
    for (int i = 0; off >= 0 && i < b->ndim; i++)
        if (b->shape[i] != a->shape[off + i])
            off = -1;
    if (off < 0)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "mul: %s cannot broadcast to %s (b must match a's trailing dims)",
                             zoo_shape_str(b, sb, 64), zoo_shape_str(a, sa, 64));
    return zoo_node_new(g, &zoo_op_mul, a->ndim, a->shape, (zoo_tensor *[]){a, b}, 2);
}
