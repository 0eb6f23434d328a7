/* dropout.c: inverted dropout. In training mode each element is kept when
 * zoo_hash_uniform(step key, i) >= p and scaled by 1/(1-p); in eval mode (or p = 0) it
 * is the identity. The mask is a pure function of (seed, step, node, index), so it does
 * not depend on the thread count and backward recomputes it instead of storing it. The
 * index counts from the run's global batch (the first dimension is the batch): a
 * data-parallel share draws the masks its rows have in the one-process run.
 * Not bit-compatible with PyTorch's masks (different generator); same distribution. */
#include <math.h>
#include <string.h>

#include "../backends/cuda/slot.h"
#include "../internal.h"
#include "../vecmath.h"

#define CHUNK 4096 /* elements per task; the mask depends on the index only */

static int active(const zoo_exec *ex, const zoo_tensor *t) { return ex->step->training && t->fp[0] > 0.0f; }

static int dropout_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    const float *x = t->src[0]->data; /* x: (n) any shape */
    float *y = t->data;               /* y: (n) */
    if (!active(ex, t)) {
        memcpy(y, x, (size_t)t->n * sizeof *y);
        return 0;
    }
    double p = t->fp[0];
    float keep_scale = (float)(1.0 / (1.0 - p));
    uint64_t key = zoo_node_step_key(ex, t);
    uint64_t thresh = zoo_vec_dropout_threshold(p); /* kept <=> zoo_hash_uniform(key, i) >= p */
    uint64_t base = zoo_row_base_index(ex, t->n / t->shape[0]);
#pragma omp parallel for schedule(static)
    for (int64_t i0 = 0; i0 < t->n; i0 += CHUNK)
        zoo_vec_dropout(x + i0, y + i0, t->n - i0 < CHUNK ? t->n - i0 : CHUNK, key, base + (uint64_t)i0, thresh,
                        keep_scale);
    return 0;
}

static int dropout_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    zoo_tensor *X = t->src[0];
    if (!X->grad)
        return 0;
    const float *dy = t->grad; /* dy: (n) */
    float *dx = X->grad;       /* dx: (n) */
    int fresh = zoo_grad_fresh(t, 0);
    if (!active(ex, t)) {
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < t->n; i++)
            dx[i] = fresh ? dy[i] : dx[i] + dy[i];
        return 0;
    }
    double p = t->fp[0];
    float keep_scale = (float)(1.0 / (1.0 - p));
    uint64_t key = zoo_node_step_key(ex, t); /* same step as the forward: same mask */
    uint64_t thresh = zoo_vec_dropout_threshold(p);
    uint64_t base = zoo_row_base_index(ex, t->n / t->shape[0]);
#pragma omp parallel for schedule(static)
    for (int64_t i0 = 0; i0 < t->n; i0 += CHUNK) {
        int64_t n = t->n - i0 < CHUNK ? t->n - i0 : CHUNK;
        if (fresh)
            zoo_vec_dropout(dy + i0, dx + i0, n, key, base + (uint64_t)i0, thresh, keep_scale);
        else
            zoo_vec_dropout_acc(dy + i0, dx + i0, n, key, base + (uint64_t)i0, thresh, keep_scale);
    }
    return 0;
}

ZOO_CUDA_DECLARE(dropout)
const zoo_op_def zoo_op_dropout = {"dropout", {[ZOO_BACKEND_CPU] = {NULL, dropout_fwd_cpu, dropout_bwd_cpu} ZOO_CUDA_SLOT_NOPREP(dropout)}, ZOO_MEM_NO_OUT | ZOO_MEM_NO_SRCS};

zoo_tensor *zoo_dropout(zoo_graph *g, zoo_tensor *x, float p)
{
    if (!g || g->status || !x)
        return zoo_node_new(g, &zoo_op_dropout, 1, (int64_t[]){1}, (zoo_tensor *[]){x}, 1);
    if (x->dtype != ZOO_F32)
        return zoo_node_fail(g, ZOO_ERR_INVALID, "dropout: input must be f32 (got an int32 tensor)");
    if (!(p >= 0.0f && p < 1.0f))
        return zoo_node_fail(g, ZOO_ERR_INVALID, "dropout: probability %g is outside [0, 1)", (double)p);
    zoo_tensor *t = zoo_node_new(g, &zoo_op_dropout, x->ndim, x->shape, (zoo_tensor *[]){x}, 1);
    if (t) {
        t->fp[0] = p;
        t->overwrite = 0x1u; /* dx is written whole */
    }
    return t;
}
