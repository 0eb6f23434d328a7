/* mul.c: y = a * b elementwise (gates of the gated convolutions, per-row scales), a
 * seen as (reps, nb, inner): b (nb values) matches a run of a's dims and is broadcast
 * over the dims before it (reps, as in add.c) and, where b's shape ends in ones, over
 * the dims those ones stand for (inner): a (n, d) times b (n, 1) scales each row. */
#include "../backends/cuda/slot.h"
#include "../internal.h"

enum { IP_INNER = 0 }; /* elements of a per element of b in a run (1: no trailing ones) */
#define DB_COLS 16        /* elements of b per task of the backward's sum: one cache line */

static int mul_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    const float *a = t->src[0]->data, *b = t->src[1]->data; /* a: (reps, nb, inner), b: (nb) */
    float *y = t->data;                                      /* y: a's shape */
    int64_t nb = t->src[1]->n, inner = t->ip[IP_INNER], reps = t->n / (nb * inner);
    if (inner == 1) { /* b over whole rows: contiguous, vectorised loops */
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < reps; r++)
            for (int64_t i = 0; i < nb; i++)
                y[r * nb + i] = a[r * nb + i] * b[i];
        return 0;
    }
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < reps * nb; r++) {
        const float bi = b[r % nb], *ar = a + r * inner;
        float *yr = y + r * inner;
        for (int64_t j = 0; j < inner; j++)
            yr[j] = ar[j] * bi;
    }
    return 0;
}

/* db[i0 .. i0+m) += the sums over rows r, then the run j, in order, of dy * a: the
 * columns of one task walked together, row by row, so each row's block is one
 * contiguous read (one element per task read every cache line DB_COLS times over:
 * rwkv7's per-channel mixes spent 24% of its step there). */
static void db_block(const float *dy, const float *a, float *db, int64_t i0, int64_t m, int64_t nb, int64_t reps,
                     int64_t inner)
{
    float s[DB_COLS] = {0};
    for (int64_t r = 0; r < reps; r++) {
        const float *dyr = dy + (r * nb + i0) * inner, *ar = a + (r * nb + i0) * inner;
        if (inner == 1) {
#pragma omp simd
            for (int64_t i = 0; i < m; i++)
                s[i] += dyr[i] * ar[i];
        } else {
            for (int64_t i = 0; i < m; i++) {
                float acc = s[i];
                for (int64_t j = 0; j < inner; j++)
                    acc += dyr[i * inner + j] * ar[i * inner + j];
                s[i] = acc;
            }
        }
    }
    for (int64_t i = 0; i < m; i++)
        db[i0 + i] += s[i];
}

static int mul_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *A = t->src[0], *B = t->src[1];
    const float *dy = t->grad, *a = A->data, *b = B->data; /* dy, a: (reps, nb, inner); b: (nb) */
    int64_t nb = B->n, inner = t->ip[IP_INNER], reps = t->n / (nb * inner);
    if (A->grad) {
        float *da = A->grad;
        if (inner == 1) {
#pragma omp parallel for schedule(static)
            for (int64_t r = 0; r < reps; r++)
                for (int64_t i = 0; i < nb; i++)
                    da[r * nb + i] += dy[r * nb + i] * b[i];
        } else {
#pragma omp parallel for schedule(static)
            for (int64_t r = 0; r < reps * nb; r++) {
                const float bi = b[r % nb];
                for (int64_t j = 0; j < inner; j++)
                    da[r * inner + j] += dy[r * inner + j] * bi;
            }
        }
    }
    if (B->grad) {
        int64_t nblk = (nb + DB_COLS - 1) / DB_COLS;
#pragma omp parallel for schedule(static)
        for (int64_t blk = 0; blk < nblk; blk++) {
            int64_t i0 = blk * DB_COLS;
            db_block(dy, a, B->grad, i0, nb - i0 < DB_COLS ? nb - i0 : DB_COLS, nb, reps, inner);
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
    /* b aligned to a's end: b's trailing ones (not all of b) stand for a's last dims,
     * the rest of b must equal the dims of a just before those */
    int nb_dims = b->ndim, ones = 0;
    while (nb_dims > 1 && b->shape[nb_dims - 1] == 1 && ones < a->ndim)
        nb_dims--, ones++;
    int off = a->ndim - ones - nb_dims;
    for (int i = 0; off >= 0 && i < nb_dims; i++)
        if (b->shape[i] != a->shape[off + i])
            off = -1;
    if (off < 0)
        return zoo_node_fail(g, ZOO_ERR_SHAPE,
                             "mul: %s cannot broadcast to %s (b must match a's trailing dims, where ones at "
                             "b's end stand for any of a's)",
                             zoo_shape_str(b, sb, 64), zoo_shape_str(a, sa, 64));
    zoo_tensor *t = zoo_node_new(g, &zoo_op_mul, a->ndim, a->shape, (zoo_tensor *[]){a, b}, 2);
    if (!t)
        return NULL;
    int64_t inner = 1;
    for (int i = a->ndim - ones; i < a->ndim; i++)
        inner *= a->shape[i];
    t->ip[IP_INNER] = inner;
    return t;
}
