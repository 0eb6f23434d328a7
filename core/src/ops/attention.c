/* attention.c: causal (optionally sliding-window) scaled softmax attention with dropout
 * on the probabilities, forward and backward on the CPU, heads read in place from the
 * packed (B, L, H*dh) layout. It does not project q, k, v or the output (linears do). */
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "../backends/cuda/slot.h"
#include "../gemm.h"
#include "../internal.h"
#include "attention.h"
#include "../vecmath.h"

/* Query rows per block. Block (t0..t1) only needs keys lo..t1 (causal, window), so the
 * masked upper triangle is mostly skipped while every matrix product stays an sgemm
 * big enough to run near BLAS speed. */
#define QBLOCK 64

/* Zoology's attention ADDS -10000 to masked scores (not -inf). We skip them: their
 * probability is exp(score - 10000 - rowmax), which is exactly 0 in fp32 (underflow)
 * unless a masked score exceeds the row's visible maximum by more than ~9896, which
 * scaled dot products of normalised activations never do. So the results equal
 * PyTorch's additive-mask softmax while costing about half the work. */

/* Keys needed by query block t0..t1-1: lo..hi-1. */
static void key_range(const zoo_attention_geom *a, int64_t t0, int64_t t1, int64_t *lo, int64_t *hi)
{
    *hi = t1;
    *lo = a->window >= 0 && t0 - a->window > 0 ? t0 - a->window : 0;
}

/* First key query t sees. */
static int64_t first_key(const zoo_attention_geom *a, int64_t t)
{
    return a->window >= 0 && t > a->window ? t - a->window : 0;
}

/* Softmax of row[a..b] in place (b inclusive); zeroes row[lo..a) and row(b..hi). */
static void softmax_row(float *row, int64_t lo, int64_t a, int64_t b, int64_t hi)
{
    int64_t n = b - a + 1;
    float m = zoo_vec_max(row + a, n);
    float sum = zoo_vec_expsum(row + a, row + a, n, m);
    zoo_vec_scale(row + a, n, 1.0f / sum);
    if (a > lo)
        memset(row + lo, 0, (size_t)(a - lo) * sizeof *row);
    if (hi > b + 1)
        memset(row + b + 1, 0, (size_t)(hi - b - 1) * sizeof *row);
}

static int attention_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    zoo_attention_geom a = zoo_attention_geom_of(t);
    const float *q = t->src[0]->data, *k = t->src[1]->data, *v = t->src[2]->data; /* (B, L, C) */
    float *out = t->data;                                                        /* (B, L, C) */
    float *P = t->aux;                                /* (B, H, L, L): softmax probabilities */
    int drop = ex->step->training && a.p > 0.0f;
    int64_t LL = a.L * a.L;
    float *Pd = drop ? P + a.B * a.H * LL : P;      /* (B, H, L, L): after dropout */
    uint64_t key = drop ? zoo_node_step_key(ex, t) : 0;
    uint64_t thresh = zoo_vec_dropout_threshold(a.p);
    uint64_t mask0 = zoo_row_base_index(ex, a.H * LL); /* masks of the global batch's rows */
    float keep_scale = drop ? 1.0f / (1.0f - a.p) : 1.0f;
    int64_t nblk = (a.L + QBLOCK - 1) / QBLOCK, ntask = a.B * a.H * nblk;

    zoo_blas_single(); /* BLAS calls below run inside OpenMP tasks */
    /* Query blocks are independent in the forward pass: one task each. */
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t task = 0; task < ntask; task++) {
        int64_t bh = task / nblk, blk = nblk - 1 - task % nblk; /* long blocks first */
        int64_t b = bh / a.H, h = bh % a.H;
        int64_t t0 = blk * QBLOCK, t1 = t0 + QBLOCK < a.L ? t0 + QBLOCK : a.L, lo, hi;
        key_range(&a, t0, t1, &lo, &hi);
        int64_t base = b * a.L * a.C + h * a.dh;
        const float *Q = q + base, *K = k + base, *Vh = v + base; /* rows stride C */
        float *Pb = P + bh * LL, *Pdb = Pd + bh * LL;              /* (L, L) */
        /* S[t0:t1, lo:hi] = scale * Q[t0:t1] K[lo:hi]^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(t1 - t0), (int)(hi - lo), (int)a.dh, a.scale,
                    Q + t0 * a.C, (int)a.C, K + lo * a.C, (int)a.C, 0.0f, Pb + t0 * a.L + lo, (int)a.L);
        for (int64_t tt = t0; tt < t1; tt++) {
            float *row = Pb + tt * a.L;
            int64_t f = first_key(&a, tt);
            softmax_row(row, lo, f, tt, hi);
            if (drop) {
                /* inverted dropout; the mask is a pure function of (step key, element) */
                float *rd = Pdb + tt * a.L;
                uint64_t idx = mask0 + (uint64_t)(bh * LL + tt * a.L);
                if (f > lo)
                    memset(rd + lo, 0, (size_t)(f - lo) * sizeof *rd);
                zoo_vec_dropout(row + f, rd + f, tt - f + 1, key, idx + (uint64_t)f, thresh, keep_scale);
                if (hi > tt + 1)
                    memset(rd + tt + 1, 0, (size_t)(hi - tt - 1) * sizeof *rd);
            }
        }
        /* out[t0:t1] = Pd[t0:t1, lo:hi] V[lo:hi] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(t1 - t0), (int)a.dh, (int)(hi - lo), 1.0f,
                    Pdb + t0 * a.L + lo, (int)a.L, Vh + lo * a.C, (int)a.C, 0.0f, out + base + t0 * a.C, (int)a.C);
    }
    return 0;
}

/* Backward. With Pd = P*m/(1-p) and out = Pd V:
 *   dV  = Pd^T dO,  dPd = dO V^T,  dP = dPd*m/(1-p),
 *   dS  = P*(dP - rowsum(dP*P)) = Pd*dPd - P*D_t,  since P*dP = Pd*dPd and
 *   D_t = rowsum(dPd*Pd) = dO_t . out_t  (no mask needs to be kept or re-drawn),
 *   dQ  = scale * dS K,  dK = scale * dS^T Q.
 * dK and dV collect every query block of a (batch, head), so one task per (b, h) runs
 * its blocks in order: deterministic whatever the thread count. */
static int attention_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_attention_geom a = zoo_attention_geom_of(t);
    zoo_tensor *TQ = t->src[0], *TK = t->src[1], *TV = t->src[2];
    const float *q = TQ->data, *k = TK->data, *v = TV->data; /* (B, L, C) */
    float *dq = TQ->grad, *dk = TK->grad, *dv = TV->grad;     /* (B, L, C) or NULL */
    const float *out = t->data, *dout = t->grad;             /* (B, L, C) */
    int64_t LL = a.L * a.L, BH = a.B * a.H;
    const float *P = t->aux;                                  /* (B, H, L, L) */
    int drop = ex->step->training && t->fp[1] > 0.0f;         /* the forward's mode: same step state */
    const float *Pd = drop ? P + BH * LL : P;             /* (B, H, L, L) */
    float *scratch = t->aux + (a.p > 0.0f ? 2 : 1) * BH * LL; /* (B, H, QBLOCK, L) */
    int64_t bq = QBLOCK < a.L ? QBLOCK : a.L;
    int need_ds = dq || dk;
    /* fresh gradients: dQ rows are written once per block (beta 0); dK and dV gather
     * all blocks, so their head columns are cleared first, in the task (cache-warm) */
    float beta_q = zoo_grad_fresh(t, 0) ? 0.0f : 1.0f;
    int clear_k = dk && zoo_grad_fresh(t, 1), clear_v = dv && zoo_grad_fresh(t, 2);

    zoo_blas_single(); /* BLAS calls below run inside OpenMP tasks */
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t bh = 0; bh < BH; bh++) {
        int64_t b = bh / a.H, h = bh % a.H;
        int64_t base = b * a.L * a.C + h * a.dh;
        for (int64_t r = 0; r < a.L && (clear_k || clear_v); r++) {
            if (clear_k)
                memset(dk + base + r * a.C, 0, (size_t)a.dh * sizeof *dk);
            if (clear_v)
                memset(dv + base + r * a.C, 0, (size_t)a.dh * sizeof *dv);
        }
        const float *Q = q + base, *K = k + base, *Vh = v + base, *O = out + base, *dO = dout + base;
        const float *Pb = P + bh * LL, *Pdb = Pd + bh * LL; /* (L, L) */
        float *W = scratch + bh * bq * a.L;                 /* (bq, L): dPd, then dS */
        for (int64_t t0 = 0; t0 < a.L; t0 += QBLOCK) {
            int64_t t1 = t0 + QBLOCK < a.L ? t0 + QBLOCK : a.L, lo, hi;
            key_range(&a, t0, t1, &lo, &hi);
            int m = (int)(t1 - t0), n = (int)(hi - lo);
            if (dv) /* dV[lo:hi] += Pd[t0:t1, lo:hi]^T dO[t0:t1] */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, (int)a.dh, m, 1.0f, Pdb + t0 * a.L + lo,
                            (int)a.L, dO + t0 * a.C, (int)a.C, 1.0f, dv + base + lo * a.C, (int)a.C);
            if (!need_ds)
                continue;
            /* W = dO[t0:t1] V[lo:hi]^T : (m, n) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, (int)a.dh, 1.0f, dO + t0 * a.C, (int)a.C,
                        Vh + lo * a.C, (int)a.C, 0.0f, W, n);
            for (int64_t i = 0; i < m; i++) {
                int64_t tt = t0 + i;
                const float *o = O + tt * a.C, *go = dO + tt * a.C;
                float D = 0.0f;
#pragma omp simd reduction(+ : D)
                for (int64_t j = 0; j < a.dh; j++)
                    D += go[j] * o[j];
                const float *pr = Pb + tt * a.L + lo, *pdr = Pdb + tt * a.L + lo;
                float *w = W + i * n;
                /* P and Pd are 0 outside the visible keys, so dS is too */
#pragma omp simd
                for (int64_t s = 0; s < n; s++)
                    w[s] = pdr[s] * w[s] - pr[s] * D;
            }
            if (dq) /* dQ[t0:t1] += scale * dS K[lo:hi] */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, (int)a.dh, n, a.scale, W, n, K + lo * a.C,
                            (int)a.C, beta_q, dq + base + t0 * a.C, (int)a.C);
            if (dk) /* dK[lo:hi] += scale * dS^T Q[t0:t1] */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, (int)a.dh, m, a.scale, W, n, Q + t0 * a.C,
                            (int)a.C, 1.0f, dk + base + lo * a.C, (int)a.C);
        }
    }
    return 0;
}

/* Workspace of the CPU kernels, sized for this backend (threads included). */
static int attention_prepare_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    int64_t B = t->shape[0], L = t->shape[1], LL = L * L, H = t->ip[0];
    int64_t bq = QBLOCK < L ? QBLOCK : L;
    /* P, the dropped-out P when dropout > 0, and one backward block per (b, h) */
    t->aux_n = (t->fp[1] > 0.0f ? 2 : 1) * B * H * LL + B * H * bq * L;
    return 0;
}

ZOO_CUDA_DECLARE(attention)
const zoo_op_def zoo_op_attention = {
    "attention",
    {[ZOO_BACKEND_CPU] = {attention_prepare_cpu, attention_fwd_cpu, attention_bwd_cpu} ZOO_CUDA_SLOT(attention)}, 0};

zoo_tensor *zoo_attention(zoo_graph *g, zoo_tensor *q, zoo_tensor *k, zoo_tensor *v, int heads, int window,
                          float scale, float dropout)
{
    zoo_tensor *src[3] = {q, k, v};
    if (!g || g->status || !q || !k || !v)
        return zoo_node_new(g, &zoo_op_attention, 1, (int64_t[]){1}, src, 3);
    char s1[64], s2[64];
    if (q->ndim != 3 || q->dtype != ZOO_F32)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "attention: q is %s; it must be f32 (B, L, heads*head_dim)",
                             zoo_shape_str(q, s1, 64));
    for (int i = 1; i < 3; i++) {
        zoo_tensor *x = src[i];
        if (x->ndim != 3 || x->dtype != ZOO_F32 || x->shape[0] != q->shape[0] || x->shape[1] != q->shape[1] ||
            x->shape[2] != q->shape[2])
            return zoo_node_fail(g, ZOO_ERR_SHAPE, "attention: %s is %s but q is %s; q, k, v must have one shape",
                                 i == 1 ? "k" : "v", zoo_shape_str(x, s1, 64), zoo_shape_str(q, s2, 64));
    }
    if (heads < 1 || q->shape[2] % heads)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "attention: width %lld is not divisible by %d heads",
                             (long long)q->shape[2], heads);
    if (!(dropout >= 0.0f && dropout < 1.0f))
        return zoo_node_fail(g, ZOO_ERR_INVALID, "attention: dropout %g must be in [0, 1)", (double)dropout);
    if (!isfinite(scale))
        return zoo_node_fail(g, ZOO_ERR_INVALID, "attention: scale %g must be finite", (double)scale);
    zoo_tensor *t = zoo_node_new(g, &zoo_op_attention, 3, q->shape, src, 3);
    if (!t)
        return NULL;
    t->ip[0] = heads;
    t->ip[1] = window < 0 ? -1 : window;
    t->fp[0] = scale;
    t->fp[1] = dropout;
    t->overwrite = 0x7u; /* dq, dk and dv are written whole */
    return t;
}
