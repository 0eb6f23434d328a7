/* attention.cu: causal (optionally sliding-window) scaled softmax attention with dropout
 * on the probabilities (ops/attention.c), forward and backward on CUDA.
 *
 * Each (batch, head) works on full L x L matrices: S = scale Q K^T and out = Pd V are
 * cuBLAS GEMMs batched over heads and batches; masked scores are simply never read.
 * One thread per query row then takes the softmax of the visible keys (max, exp and
 * their sum in key order, times the reciprocal of the sum as the CPU does), zeroes the
 * rest of the row and applies dropout with the CPU's mask: element (b, h, t, s) is kept
 * when zoo_cu_hash_uniform(node key of the step, ((b*H + h)*L + t)*L + s) >= p. So P and
 * the masks are the CPU's (values up to rounding, masks bit for bit).
 * Backward, as on the CPU: dV = Pd^T dO, W = dO V^T, one thread per row dS = Pd*W - P*D
 * with D = dO_t . out_t, dQ = scale dS K, dK = scale dS^T Q, all GEMMs batched.
 * Deterministic: no atomics, every sum is one thread's, in a fixed order.
 * Workspace (aux): P (B, H, L, L), the dropped-out Pd (B, H, L, L) when dropout > 0,
 * and the backward's W / dS (B, H, L, L). */
#include <math.h>

#include "common.cuh"

extern "C" {
#include "../../ops/attention.h"
}
#include "gemm_bh.cuh"

ZOO_CUDA_OP_FNS(attention)


/* First key query t sees. */
ZOO_HD int64_t attention_first_key(int64_t window, int64_t t) { return window >= 0 && t > window ? t - window : 0; }

/* One thread per row r = (b*H + h)*L + t of P: softmax over keys f..t (the scores are
 * there, scaled), zeros elsewhere; with drop, Pd = P * keep / (1 - p), zeros elsewhere. */
ZOO_KERNEL attention_softmax_rows(float *P, float *Pd, int64_t rows, int64_t L, int64_t window, int drop, float p,
                                  float keep_scale, const zoo_step_state *st, int id, int64_t rows_per_example)
{
    int64_t r = ZOO_GID;
    if (r >= rows)
        return;
    int64_t tt = r % L, f = attention_first_key(window, tt);
    float *row = P + r * L;
    float m = row[f];
    for (int64_t s = f + 1; s <= tt; s++)
        m = row[s] > m ? row[s] : m;
    float sum = 0.0f;
    for (int64_t s = f; s <= tt; s++) {
        float e = expf(row[s] - m);
        row[s] = e;
        sum += e;
    }
    float inv = 1.0f / sum;
    for (int64_t s = 0; s < f; s++)
        row[s] = 0.0f;
    for (int64_t s = f; s <= tt; s++)
        row[s] *= inv;
    for (int64_t s = tt + 1; s < L; s++)
        row[s] = 0.0f;
    if (!drop)
        return;
    uint64_t key = zoo_cu_node_key(st, id);
    float *rd = Pd + r * L;
    for (int64_t s = 0; s < f; s++)
        rd[s] = 0.0f;
    for (int64_t s = f; s <= tt; s++)
        rd[s] = zoo_cu_hash_uniform(key, (uint64_t)((st->row_base * rows_per_example + r) * L + s)) >= (double)p
                    ? keep_scale * row[s]
                    : 0.0f; /* indexed in the global batch, as the CPU */
    for (int64_t s = tt + 1; s < L; s++)
        rd[s] = 0.0f;
}

/* One thread per row r = (b*H + h)*L + t: W = dO V^T becomes dS = Pd*W - P*D, D = dO_t . out_t
 * (zero outside the visible keys). */
ZOO_KERNEL attention_dscores_rows(float *W, const float *P, const float *Pd, const float *out, const float *dout,
                                  int64_t rows, int64_t L, int64_t H, int64_t dh, int64_t window)
{
    int64_t r = ZOO_GID;
    if (r >= rows)
        return;
    int64_t tt = r % L, bh = r / L, b = bh / H, h = bh % H, f = attention_first_key(window, tt);
    int64_t o = (b * L + tt) * H * dh + h * dh;
    float D = 0.0f;
    for (int64_t j = 0; j < dh; j++)
        D += dout[o + j] * out[o + j];
    float *w = W + r * L;
    const float *pr = P + r * L, *pdr = Pd + r * L;
    for (int64_t s = 0; s < f; s++)
        w[s] = 0.0f;
    for (int64_t s = f; s <= tt; s++)
        w[s] = pdr[s] * w[s] - pr[s] * D;
    for (int64_t s = tt + 1; s < L; s++)
        w[s] = 0.0f;
}

extern "C" int zoo_cuda_attention_prepare(zoo_exec *x, zoo_tensor *t)
{
    (void)x;
    int64_t B = t->shape[0], L = t->shape[1], H = t->ip[0], n = B * H * L * L;
    /* P, Pd when dropout > 0, the backward's W */
    t->aux_n = (t->fp[1] > 0.0f ? 2 : 1) * n + n;
    return 0;
}

extern "C" int zoo_cuda_attention_forward(zoo_exec *x, zoo_tensor *t)
{
    zoo_attention_geom a = zoo_attention_geom_of(t);
    int64_t LL = a.L * a.L, BH = a.B * a.H;
    int drop = x->host_step.training && a.p > 0.0f;
    float *P = t->aux, *Pd = drop ? P + BH * LL : P;
    zoo_bh_op q = {t->src[0]->data, a.C, a.L * a.C, a.dh}, k = {t->src[1]->data, a.C, a.L * a.C, a.dh},
              v = {t->src[2]->data, a.C, a.L * a.C, a.dh}, out = {t->data, a.C, a.L * a.C, a.dh};
    zoo_bh_op Pm = {P, a.L, a.H * LL, LL}, Pdm = {Pd, a.L, a.H * LL, LL};
    int rc = zoo_cuda_gemm_bh(x, 0, 1, a.L, a.L, a.dh, a.scale, q, k, 0.0f, Pm, a.B, a.H); /* S = scale Q K^T */
    if (rc)
        return rc;
    float keep_scale = drop ? 1.0f / (1.0f - a.p) : 1.0f;
    ZOO_CU(ZOO_LAUNCH(attention_softmax_rows, BH * a.L, zoo_cuda_of(x)->stream, P, Pd, BH * a.L, a.L, a.window, drop,
                      a.p, keep_scale, x->step, t->id, a.H * a.L));
    return zoo_cuda_gemm_bh(x, 0, 0, a.L, a.dh, a.L, 1.0f, Pdm, v, 0.0f, out, a.B, a.H); /* out = Pd V */
}

extern "C" int zoo_cuda_attention_backward(zoo_exec *x, zoo_tensor *t)
{
    zoo_attention_geom a = zoo_attention_geom_of(t);
    zoo_tensor *TQ = t->src[0], *TK = t->src[1], *TV = t->src[2];
    int64_t LL = a.L * a.L, BH = a.B * a.H;
    int drop = x->host_step.training && a.p > 0.0f; /* the forward's mode: same step state */
    const float *P = t->aux, *Pd = drop ? P + BH * LL : P;
    float *W = t->aux + (a.p > 0.0f ? 2 : 1) * BH * LL;
    int64_t sb = a.L * a.C;
    zoo_bh_op q = {TQ->data, a.C, sb, a.dh}, k = {TK->data, a.C, sb, a.dh}, v = {TV->data, a.C, sb, a.dh},
              dout = {t->grad, a.C, sb, a.dh};
    zoo_bh_op Pdm = {Pd, a.L, a.H * LL, LL}, Wm = {W, a.L, a.H * LL, LL};
    int rc;
    if (TV->grad) { /* dV = Pd^T dO */
        zoo_bh_op dv = {TV->grad, a.C, sb, a.dh};
        if ((rc = zoo_cuda_gemm_bh(x, 1, 0, a.L, a.dh, a.L, 1.0f, Pdm, dout, zoo_grad_fresh(t, 2) ? 0.0f : 1.0f, dv,
                                   a.B, a.H)))
            return rc;
    }
    if (!TQ->grad && !TK->grad)
        return 0;
    if ((rc = zoo_cuda_gemm_bh(x, 0, 1, a.L, a.L, a.dh, 1.0f, dout, v, 0.0f, Wm, a.B, a.H))) /* W = dO V^T */
        return rc;
    ZOO_CU(ZOO_LAUNCH(attention_dscores_rows, BH * a.L, zoo_cuda_of(x)->stream, W, P, Pd, t->data, t->grad, BH * a.L,
                      a.L, a.H, a.dh, a.window));
    if (TQ->grad) { /* dQ = scale dS K */
        zoo_bh_op dq = {TQ->grad, a.C, sb, a.dh};
        if ((rc = zoo_cuda_gemm_bh(x, 0, 0, a.L, a.dh, a.L, a.scale, Wm, k, zoo_grad_fresh(t, 0) ? 0.0f : 1.0f, dq, a.B,
                                   a.H)))
            return rc;
    }
    if (TK->grad) { /* dK = scale dS^T Q */
        zoo_bh_op dk = {TK->grad, a.C, sb, a.dh};
        if ((rc = zoo_cuda_gemm_bh(x, 1, 0, a.L, a.dh, a.L, a.scale, Wm, q, zoo_grad_fresh(t, 1) ? 0.0f : 1.0f, dk, a.B,
                                   a.H)))
            return rc;
    }
    return 0;
}
