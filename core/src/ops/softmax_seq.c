/* softmax_seq.c: softmax over the sequence (dim 1) of x: (B, L, C), one distribution per
 * (batch row, channel): y[b,t,c] = exp(x[b,t,c] - m) / sum_s exp(x[b,s,c] - m), m the
 * column's max (so no exp overflows). The selection weights of the sparse_attention mixer
 * (docs/mixers.md). Sums run in double, in time order, one column per task, so results do
 * not depend on the thread count.
 *
 * Backward from the op's own output: dx = y (dy - sum_s dy[s] y[s]). */
#include <math.h>

#include "../backends/cuda/slot.h"
#include "../internal.h"

static int softmax_seq_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    int64_t B = t->shape[0], L = t->shape[1], C = t->shape[2];
    const float *x = t->src[0]->data; /* x: (B, L, C) */
    float *y = t->data;               /* y: (B, L, C) */
#pragma omp parallel for schedule(static)
    for (int64_t col = 0; col < B * C; col++) {
        int64_t off = (col / C) * L * C + col % C;
        float m = x[off];
        for (int64_t s = 1; s < L; s++)
            m = fmaxf(m, x[off + s * C]);
        double z = 0.0;
        for (int64_t s = 0; s < L; s++)
            z += exp((double)x[off + s * C] - m);
        for (int64_t s = 0; s < L; s++)
            y[off + s * C] = (float)(exp((double)x[off + s * C] - m) / z);
    }
    return 0;
}

static int softmax_seq_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *X = t->src[0];
    if (!X->grad)
        return 0;
    int64_t B = t->shape[0], L = t->shape[1], C = t->shape[2];
    const float *y = t->data, *dy = t->grad; /* (B, L, C) */
    float *dx = X->grad;
    int fresh = zoo_grad_fresh(t, 0);
#pragma omp parallel for schedule(static)
    for (int64_t col = 0; col < B * C; col++) {
        int64_t off = (col / C) * L * C + col % C;
        double dot = 0.0;
        for (int64_t s = 0; s < L; s++)
            dot += (double)dy[off + s * C] * y[off + s * C];
        for (int64_t s = 0; s < L; s++) {
            int64_t i = off + s * C;
            float g = (float)((double)y[i] * ((double)dy[i] - dot));
            dx[i] = fresh ? g : dx[i] + g;
        }
    }
    return 0;
}

ZOO_CUDA_DECLARE(softmax_seq)
const zoo_op_def zoo_op_softmax_seq = {
    "softmax_seq",
    {[ZOO_BACKEND_CPU] = {NULL, softmax_seq_fwd_cpu, softmax_seq_bwd_cpu} ZOO_CUDA_SLOT(softmax_seq)},
    ZOO_MEM_NO_SRCS | ZOO_MEM_AUX_SCRATCH};

zoo_tensor *zoo_softmax_seq(zoo_graph *g, zoo_tensor *x)
{
    if (!g || g->status || !x)
        return zoo_node_new(g, &zoo_op_softmax_seq, 1, (int64_t[]){1}, (zoo_tensor *[]){x}, 1);
    char s[64];
    if (x->dtype != ZOO_F32)
        return zoo_node_fail(g, ZOO_ERR_INVALID, "softmax_seq: input must be f32 (got an int32 tensor)");
    if (x->ndim != 3)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "softmax_seq: input %s must be (B, L, C)", zoo_shape_str(x, s, 64));
    zoo_tensor *t = zoo_node_new(g, &zoo_op_softmax_seq, 3, x->shape, (zoo_tensor *[]){x}, 1);
    if (t)
        t->overwrite = 0x1u; /* dx is written whole */
    return t;
}
