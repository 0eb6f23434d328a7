/* topk_seq.c: the evaluation-time top-k mask along the sequence (dim 1) of x: (B, L, C).
 * In eval mode each (batch row, channel) column keeps its k largest entries and zeroes
 * the rest; in training mode the op is the identity (the sparse_attention mixer's rule,
 * docs/mixers.md, which trains on the dense selection and evaluates on the top k).
 *
 * Ties are broken by position, lowest index first: entries are ranked by the order
 * "a before b" = x_a > x_b, or x_a == x_b and a < b, a total order on any finite column.
 * The column's k-th entry in that order (its threshold) is found by k passes, each
 * taking the first entry after the previous one: O(k L) per column with no scratch, and
 * the same answer on every backend and thread count. An entry is kept when it is the
 * threshold or comes before it.
 *
 * Workspace, kept from forward to backward: the mask (B, L, C), 1 kept / 0 dropped (all
 * 1 in training), so backward (dx = mask dy) reads neither x nor y. */
#include <string.h>

#include "../backends/cuda/slot.h"
#include "../internal.h"

/* 1 when entry a (value va) comes before entry b in the ranking. */
static inline int before(float va, int64_t a, float vb, int64_t b) { return va > vb || (va == vb && a < b); }

/* Time index of the k-th entry of the column at x (stride C, length L) in the ranking. */
static int64_t threshold(const float *x, int64_t L, int64_t C, int64_t k)
{
    int64_t prev = -1;
    for (int64_t j = 0; j < k; j++) {
        int64_t best = -1;
        for (int64_t s = 0; s < L; s++)
            if ((prev < 0 || before(x[prev * C], prev, x[s * C], s)) &&
                (best < 0 || before(x[s * C], s, x[best * C], best)))
                best = s;
        if (best < 0) /* fewer than k entries ranked (NaN compares with nothing) */
            break;
        prev = best;
    }
    return prev;
}

static int topk_seq_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    int64_t B = t->shape[0], L = t->shape[1], C = t->shape[2], k = t->ip[0];
    const float *x = t->src[0]->data; /* x: (B, L, C) */
    float *y = t->data, *mask = t->aux; /* y, mask: (B, L, C) */
    if (ex->step->training || k >= L) {
        memcpy(y, x, (size_t)t->n * sizeof *y);
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < t->n; i++)
            mask[i] = 1.0f;
        return 0;
    }
#pragma omp parallel for schedule(static)
    for (int64_t col = 0; col < B * C; col++) {
        int64_t off = (col / C) * L * C + col % C;
        int64_t th = threshold(x + off, L, C, k);
        for (int64_t s = 0; s < L; s++) {
            int64_t i = off + s * C;
            int keep = th >= 0 && (s == th || before(x[i], s, x[off + th * C], th));
            mask[i] = keep ? 1.0f : 0.0f;
            y[i] = keep ? x[i] : 0.0f;
        }
    }
    return 0;
}

static int topk_seq_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *X = t->src[0];
    if (!X->grad)
        return 0;
    const float *dy = t->grad, *mask = t->aux;
    float *dx = X->grad;
    int fresh = zoo_grad_fresh(t, 0);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < t->n; i++) {
        float g = mask[i] != 0.0f ? dy[i] : 0.0f;
        dx[i] = fresh ? g : dx[i] + g;
    }
    return 0;
}

static int topk_seq_prepare_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    t->aux_n = t->n; /* the mask */
    return 0;
}

ZOO_CUDA_DECLARE(topk_seq)
const zoo_op_def zoo_op_topk_seq = {
    "topk_seq",
    {[ZOO_BACKEND_CPU] = {topk_seq_prepare_cpu, topk_seq_fwd_cpu, topk_seq_bwd_cpu} ZOO_CUDA_SLOT(topk_seq)},
    ZOO_MEM_NO_SRCS | ZOO_MEM_NO_OUT};

zoo_tensor *zoo_topk_seq(zoo_graph *g, zoo_tensor *x, int64_t k)
{
    if (!g || g->status || !x)
        return zoo_node_new(g, &zoo_op_topk_seq, 1, (int64_t[]){1}, (zoo_tensor *[]){x}, 1);
    char s[64];
    if (x->dtype != ZOO_F32)
        return zoo_node_fail(g, ZOO_ERR_INVALID, "topk_seq: input must be f32 (got an int32 tensor)");
    if (x->ndim != 3)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "topk_seq: input %s must be (B, L, C)", zoo_shape_str(x, s, 64));
    if (k < 1)
        return zoo_node_fail(g, ZOO_ERR_INVALID, "topk_seq: k = %lld must be at least 1", (long long)k);
    zoo_tensor *t = zoo_node_new(g, &zoo_op_topk_seq, 3, x->shape, (zoo_tensor *[]){x}, 1);
    if (t) {
        t->ip[0] = k;
        t->overwrite = 0x1u; /* dx is written whole */
    }
    return t;
}
