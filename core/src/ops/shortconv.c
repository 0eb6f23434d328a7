/* shortconv.c: depthwise causal short convolution with bias, as PyTorch's
 * Conv1d(C, C, k, groups=C, padding=k-1) keeping the first L outputs (docs/mixers.md):
 * y[b,t,c] = bias[c] + sum_j w[c,0,j] x[b, t-(k-1)+j, c], so the last tap w[c,0,k-1]
 * multiplies the current token (cross-correlation order). Channel-last; no dilation. */
#include <string.h>

#include "../backends/cuda/slot.h"
#include "../internal.h"

#define CBLK 16 /* channels per task in the weight gradient: contiguous, deterministic */

static int shortconv_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *X = t->src[0], *W = t->src[1], *Bi = t->nsrc > 2 ? t->src[2] : NULL;
    int64_t B = X->shape[0], L = X->shape[1], C = X->shape[2], K = W->shape[2];
    const float *x = X->data; /* x: (B, L, C) */
    float *wt = t->aux;       /* wt: (K, C), w transposed so the inner loop runs over channels */
    float *y = t->data;       /* y: (B, L, C) */
    for (int64_t c = 0; c < C; c++)
        for (int64_t j = 0; j < K; j++)
            wt[j * C + c] = W->data[c * K + j];
#pragma omp parallel for schedule(static)
    for (int64_t bt = 0; bt < B * L; bt++) {
        int64_t tt = bt % L;
        float *yr = y + bt * C;
        if (Bi)
            memcpy(yr, Bi->data, (size_t)C * sizeof *yr);
        else
            memset(yr, 0, (size_t)C * sizeof *yr);
        for (int64_t j = 0; j < K; j++) {
            int64_t src = tt - (K - 1) + j; /* tap j reads time t-(K-1)+j */
            if (src < 0)
                continue;
            const float *xr = x + (bt - tt + src) * C, *wr = wt + j * C;
#pragma omp simd
            for (int64_t c = 0; c < C; c++)
                yr[c] += wr[c] * xr[c];
        }
    }
    return 0;
}

static int shortconv_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *X = t->src[0], *W = t->src[1], *Bi = t->nsrc > 2 ? t->src[2] : NULL;
    int64_t B = X->shape[0], L = X->shape[1], C = X->shape[2], K = W->shape[2];
    const float *x = X->data, *dy = t->grad, *wt = t->aux; /* x, dy: (B, L, C); wt: (K, C) */
    if (X->grad) {
        float *dx = X->grad; /* dx[b,s,c] += sum_j w[c,j] dy[b, s+(K-1)-j, c] */
#pragma omp parallel for schedule(static)
        for (int64_t bs = 0; bs < B * L; bs++) {
            int64_t s = bs % L;
            float *dxr = dx + bs * C;
            for (int64_t j = 0; j < K; j++) {
                int64_t tt = s + (K - 1) - j;
                if (tt >= L)
                    continue;
                const float *dyr = dy + (bs - s + tt) * C, *wr = wt + j * C;
#pragma omp simd
                for (int64_t c = 0; c < C; c++)
                    dxr[c] += wr[c] * dyr[c];
            }
        }
    }
    int wgrad = W->grad != NULL, bgrad = Bi && Bi->grad;
    if (!wgrad && !bgrad)
        return 0;
    int64_t nblk = (C + CBLK - 1) / CBLK;
#pragma omp parallel for schedule(static)
    for (int64_t blk = 0; blk < nblk; blk++) {
        int64_t c0 = blk * CBLK, nc = C - c0 < CBLK ? C - c0 : CBLK;
        float acc[CBLK];
        if (bgrad) {
            memset(acc, 0, sizeof acc);
            for (int64_t bt = 0; bt < B * L; bt++)
#pragma omp simd
                for (int64_t c = 0; c < nc; c++)
                    acc[c] += dy[bt * C + c0 + c];
#pragma omp simd
            for (int64_t c = 0; c < nc; c++)
                Bi->grad[c0 + c] += acc[c];
        }
        for (int64_t j = 0; wgrad && j < K; j++) { /* dw[c,j] = sum_{b,t} dy[b,t,c] x[b,t-(K-1)+j,c] */
            memset(acc, 0, sizeof acc);
            for (int64_t b = 0; b < B; b++)
                for (int64_t tt = (K - 1) - j; tt < L; tt++) {
                    const float *dyr = dy + (b * L + tt) * C + c0;
                    const float *xr = x + (b * L + tt - (K - 1) + j) * C + c0;
#pragma omp simd
                    for (int64_t c = 0; c < nc; c++)
                        acc[c] += dyr[c] * xr[c];
                }
#pragma omp simd
            for (int64_t c = 0; c < nc; c++)
                W->grad[(c0 + c) * K + j] += acc[c];
        }
    }
    return 0;
}

/* Workspace of the CPU kernels, sized for this backend (threads included). */
static int shortconv_prepare_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    t->aux_n = t->src[1]->shape[2] * zoo_cols(t);
    return 0;
}

ZOO_CUDA_DECLARE(shortconv)
const zoo_op_def zoo_op_shortconv = {"shortconv",
                                     {[ZOO_BACKEND_CPU] = {shortconv_prepare_cpu, shortconv_fwd_cpu, shortconv_bwd_cpu}
                                          ZOO_CUDA_SLOT(shortconv)}, 0};

zoo_tensor *zoo_shortconv(zoo_graph *g, zoo_tensor *x, zoo_tensor *w, zoo_tensor *bias)
{
    zoo_tensor *src[3] = {x, w, bias};
    int nsrc = bias ? 3 : 2;
    if (!g || g->status || !x || !w)
        return zoo_node_new(g, &zoo_op_shortconv, 1, (int64_t[]){1}, src, nsrc);
    char s1[64], s2[64];
    if (x->dtype != ZOO_F32 || x->ndim != 3)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "shortconv: input %s must be f32 (B, L, C)", zoo_shape_str(x, s1, 64));
    int64_t C = x->shape[2];
    if (w->ndim != 3 || w->shape[0] != C || w->shape[1] != 1 || w->shape[2] < 1)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "shortconv: weight %s does not fit input %s (need (%lld, 1, k))",
                             zoo_shape_str(w, s1, 64), zoo_shape_str(x, s2, 64), (long long)C);
    if (bias && (bias->ndim != 1 || bias->shape[0] != C))
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "shortconv: bias %s does not fit %lld channels",
                             zoo_shape_str(bias, s1, 64), (long long)C);
    return zoo_node_new(g, &zoo_op_shortconv, 3, x->shape, src, nsrc);
}
