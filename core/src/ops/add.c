/* add.c: y = a + b, b broadcast over the leading dims of a (bias, positions, residuals).
 * No other broadcasting: b's shape must be a trailing part of a's. */
#include <string.h>

#include "../backends/cuda/slot.h"
#include "../internal.h"

#define COL_BLOCK 256 /* elements of b per reduction task */

static int add_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    const float *a = t->src[0]->data, *b = t->src[1]->data; /* a: (..., S), b: (S) */
    float *y = t->data;
    int64_t nb = t->src[1]->n, reps = t->n / nb;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < reps; r++)
        for (int64_t i = 0; i < nb; i++)
            y[r * nb + i] = a[r * nb + i] + b[i];
    return 0;
}

static int add_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *A = t->src[0], *B = t->src[1];
    const float *dy = t->grad;
    int64_t nb = B->n, reps = t->n / nb;
    if (A->grad) {
        float *da = A->grad;
        int fresh = zoo_grad_fresh(t, 0);
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < t->n; i++)
            da[i] = fresh ? dy[i] : da[i] + dy[i];
    }
    if (B->grad) {
        float *db = B->grad;
        int fresh = zoo_grad_fresh(t, 1);
        /* sum over the broadcast rows in row order; threads own blocks of b's elements
         * (deterministic), and rows are read contiguously */
#pragma omp parallel for schedule(static)
        for (int64_t i0 = 0; i0 < nb; i0 += COL_BLOCK) {
            int64_t n = nb - i0 < COL_BLOCK ? nb - i0 : COL_BLOCK;
            float s[COL_BLOCK] = {0};
            for (int64_t r = 0; r < reps; r++) {
                const float *d = dy + r * nb + i0;
                for (int64_t i = 0; i < n; i++)
                    s[i] += d[i];
            }
            for (int64_t i = 0; i < n; i++)
                db[i0 + i] = fresh ? s[i] : db[i0 + i] + s[i];
        }
    }
    return 0;
}

ZOO_CUDA_DECLARE(add)
const zoo_op_def zoo_op_add = {"add", {[ZOO_BACKEND_CPU] = {NULL, add_fwd_cpu, add_bwd_cpu} ZOO_CUDA_SLOT_NOPREP(add)}, ZOO_MEM_NO_OUT | ZOO_MEM_NO_SRCS};

zoo_tensor *zoo_add(zoo_graph *g, zoo_tensor *a, zoo_tensor *b)
{
    if (!g || g->status || !a || !b)
        return zoo_node_new(g, &zoo_op_add, 1, (int64_t[]){1}, (zoo_tensor *[]){a, b}, 2);
    char sa[64], sb[64];
    int off = a->ndim - b->ndim;
    if (off < 0)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "add: %s cannot broadcast to %s", zoo_shape_str(b, sb, 64),
                             zoo_shape_str(a, sa, 64));
    for (int i = 0; i < b->ndim; i++)
        if (b->shape[i] != a->shape[off + i])
            return zoo_node_fail(g, ZOO_ERR_SHAPE, "add: %s cannot broadcast to %s", zoo_shape_str(b, sb, 64),
                                 zoo_shape_str(a, sa, 64));
    zoo_tensor *t = zoo_node_new(g, &zoo_op_add, a->ndim, a->shape, (zoo_tensor *[]){a, b}, 2);
    if (t)
        t->overwrite = 0x3u; /* da and db are written whole */
    return t;
}
