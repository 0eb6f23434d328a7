/* ce_head.cu: the tied LM head at the supervised entries with its cross-entropy loss
 * (ops/ce_head.c). Forward: gather Hs = h[pos] (M, D), logits = Hs E^T (cuBLAS), one
 * thread per row for max, log-sum-exp (16 fixed lane sums, as the CPU's) and argmax,
 * then the loss and counts from fixed blocks of entries (double partial sums, added in
 * block order by one thread). Backward, in the CPU's chunks of rows: dlogits (one thread
 * per element), dHs = dlogits E and dE (+)= dlogits^T Hs (cuBLAS, chunks in order), then
 * dh[pos[i]] += dHs[i] by one thread per (first entry of a position, column) walking
 * that position's entries in entry order: repeated positions sum as on the CPU. No
 * atomics; nothing depends on the launch size.
 *
 * Differences from the CPU, forced by the device:
 * - The host does not know m (the entries before the trailing -100 padding) or the
 *   counts: every kernel and GEMM covers all M entries, and kernels read m, n_valid and
 *   the done flag from the side output on the device. Padding rows are gathered (or
 *   zero), their logits computed and never used; their dlogits are 0.
 * - A position or label out of range cannot fail the forward call (the check runs on
 *   the device after it returns). Nothing reads out of bounds: an out-of-range position
 *   gathers a zero row, an out-of-range label is left out of the sums. The loss is NaN
 *   (as the CPU leaves it), the counts are 0 with the done flag -1 - i for the first bad
 *   entry i (the CPU's order: positions, then labels, entry by entry), and backward
 *   leaves dh alone and dE zero (written whole) or unchanged. zoo_ce_head_stats and
 *   zoo_ce_head_logits then fail with the CPU's message for that entry; a training loop
 *   sees the NaN loss. */
#include <math.h>

#include "common.cuh"

extern "C" {
#include "../../ops/ce_head.h"
}

ZOO_CUDA_OP_FNS(ce_head)

#ifdef __CUDACC__
#define CE_UNROLL _Pragma("unroll")
#else
#define CE_UNROLL
#endif

#define LANES 16       /* partial sums of the log-sum-exp (vecmath.c's VEC_LANES) */
static_assert(LANES == 16, "ce_rows folds 16 lane sums");
#define ENT_BLOCK 256  /* entries per partial of the loss and counts */
#define PI_N 5         /* ints per partial: last labelled, first bad label, first bad position, valid, correct */

/* aux: Hs (M, D) | logits (M, V) | lse (M) | hit (M) | dHs (M, D) | dlogits (chunk, V) |
 * next (M) int | own (M) int | partials (nbe, PI_N) int | (even) | loss partials (nbe) double */
typedef struct ce_cu_bufs {
    float *hs, *logits, *lse, *hit, *dhs, *dlog;
    int32_t *next, *own, *pi;
    double *pd;
} ce_cu_bufs;

static int64_t nbe_of(int64_t M) { return (M + ENT_BLOCK - 1) / ENT_BLOCK; }

/* The offsets (floats) of the buffers above in aux; returns the total. */
static int64_t layout(int64_t M, int64_t D, int64_t V, int64_t off[10])
{
    int64_t o = 0, n[10] = {M * D, M * V, M, M, M * D, zoo_ce_chunk_rows(M) * V, M, M, nbe_of(M) * PI_N, 2 * nbe_of(M)};
    for (int k = 0; k < 10; k++) {
        if (k == 9)
            o = (o + 1) / 2 * 2; /* aux is 64-byte aligned: doubles at an even float offset */
        off[k] = o;
        o += n[k];
    }
    return o;
}

static ce_cu_bufs bufs_of(const zoo_tensor *t, int64_t M, int64_t D, int64_t V)
{
    int64_t off[10];
    layout(M, D, V, off);
    float *a = t->aux;
    ce_cu_bufs b;
    b.hs = a + off[0];
    b.logits = a + off[1]; /* at M*D, where zoo_ce_head_logits reads them */
    b.lse = a + off[2];
    b.hit = a + off[3];
    b.dhs = a + off[4];
    b.dlog = a + off[5];
    b.next = (int32_t *)(a + off[6]);
    b.own = (int32_t *)(a + off[7]);
    b.pi = (int32_t *)(a + off[8]);
    b.pd = (double *)(a + off[9]);
    return b;
}

/* hs[i, :] = h[pos[i], :], a zero row for a position outside [0, R) */
ZOO_KERNEL ce_gather(const float *h, const int32_t *pos, float *hs, int64_t n, int64_t D, int64_t R)
{
    int64_t k = ZOO_GID;
    if (k >= n)
        return;
    int64_t p = pos[k / D];
    hs[k] = p >= 0 && p < R ? h[p * D + k % D] : 0.0f;
}

/* Per row: lse = max + log(sum exp(x - max)), the sum in LANES partial sums combined
 * pairwise (vecmath.c's order); hit = the first maximum is the label. */
ZOO_KERNEL ce_rows(const float *logits, const int32_t *lab, float *lse, float *hit, int64_t M, int64_t V)
{
    int64_t i = ZOO_GID;
    if (i >= M)
        return;
    const float *row = logits + i * V;
    float mx = row[0];
    for (int64_t v = 1; v < V; v++)
        mx = row[v] > mx ? row[v] : mx;
    float acc[LANES];
    CE_UNROLL
    for (int l = 0; l < LANES; l++)
        acc[l] = 0.0f;
    int64_t nv = V / LANES * LANES;
    for (int64_t c = 0; c < nv; c += LANES) {
        CE_UNROLL
        for (int l = 0; l < LANES; l++)
            acc[l] += expf(row[c + l] - mx);
    }
    CE_UNROLL
    for (int l = 0; l < LANES; l++)
        if (nv + l < V)
            acc[l] += expf(row[nv + l] - mx);
    /* pairwise, halves folded onto the first (each level its own loop: constant indices
     * keep acc in registers) */
    CE_UNROLL
    for (int l = 0; l < 8; l++)
        acc[l] += acc[l + 8];
    CE_UNROLL
    for (int l = 0; l < 4; l++)
        acc[l] += acc[l + 4];
    acc[0] += acc[2];
    acc[1] += acc[3];
    acc[0] += acc[1];
    lse[i] = mx + logf(acc[0]);
    int64_t arg = 0; /* the first maximum, as torch.argmax */
    while (arg < V - 1 && !(row[arg] == mx))
        arg++;
    hit[i] = lab[i] != IGNORE_LABEL && arg == lab[i] ? 1.0f : 0.0f;
}

/* Block b of entries, in entry order: its last labelled entry, first bad label, first
 * bad position (-1: none), valid and correct counts, and the sum of lse - logit[label]. */
ZOO_KERNEL ce_part(const int32_t *pos, const int32_t *lab, const float *lse, const float *logits, const float *hit,
                   int32_t *pi, double *pd, int64_t M, int64_t V, int64_t R, int64_t nbe)
{
    int64_t b = ZOO_GID;
    if (b >= nbe)
        return;
    int64_t i1 = (b + 1) * ENT_BLOCK < M ? (b + 1) * ENT_BLOCK : M;
    int32_t last = -1, badlab = -1, badpos = -1, nv = 0, nc = 0;
    double loss = 0.0;
    for (int64_t i = b * ENT_BLOCK; i < i1; i++) {
        int32_t p = pos[i], l = lab[i];
        if (badpos < 0 && (p < 0 || p >= R))
            badpos = (int32_t)i;
        if (l == IGNORE_LABEL)
            continue;
        last = (int32_t)i;
        if (l < 0 || l >= V) {
            if (badlab < 0)
                badlab = (int32_t)i;
            continue;
        }
        loss += (double)lse[i] - (double)logits[i * V + l];
        nv++;
        nc += hit[i] != 0.0f;
    }
    int32_t *o = pi + b * PI_N;
    o[0] = last, o[1] = badlab, o[2] = badpos, o[3] = nv, o[4] = nc;
    pd[b] = loss;
}

/* One thread: the blocks in order -> m, the first bad entry, the loss and the counts. */
ZOO_KERNEL ce_total(const int32_t *pi, const double *pd, float *loss_out, int32_t *st, int64_t nbe)
{
    if (ZOO_GID != 0)
        return;
    int32_t m = 0, badlab = -1, badpos = -1, nv = 0, nc = 0;
    double loss = 0.0;
    for (int64_t b = 0; b < nbe; b++) {
        const int32_t *o = pi + b * PI_N;
        if (o[0] >= 0)
            m = o[0] + 1;
        if (badlab < 0)
            badlab = o[1];
        if (badpos < 0)
            badpos = o[2];
        nv += o[3];
        nc += o[4];
        loss += pd[b];
    }
    /* the CPU checks entries i < m in order, the position before the label */
    int32_t bad = badlab;
    if (badpos >= 0 && badpos < m && (bad < 0 || badpos <= bad))
        bad = badpos;
    if (bad >= 0) {
        *loss_out = NAN;
        st[ST_ROWS] = st[ST_VALID] = st[ST_CORRECT] = 0;
        st[ST_DONE] = -1 - bad;
        return;
    }
    *loss_out = nv ? (float)(loss / (double)nv) : 0.0f;
    st[ST_ROWS] = m;
    st[ST_VALID] = nv;
    st[ST_CORRECT] = nc;
    st[ST_DONE] = 1;
}

/* dlogits of rows r0.. : (softmax - onehot(label)) * dloss / n_valid, 0 for -100 rows
 * (the padding after m among them) and when the forward pass found nothing to learn */
ZOO_KERNEL ce_dlog(const float *logits, const float *lse, const int32_t *lab, const int32_t *st, const float *dloss,
                   float *dlog, int64_t r0, int64_t n, int64_t V)
{
    int64_t k = ZOO_GID;
    if (k >= n)
        return;
    int64_t r = r0 + k / V, v = k % V;
    int32_t l = lab[r], nvalid = st[ST_VALID];
    float d = 0.0f;
    if (st[ST_DONE] == 1 && nvalid > 0 && l != IGNORE_LABEL) {
        float c = dloss[0] / (float)nvalid;
        d = c * expf(logits[r * V + v] - lse[r]);
        if (v == l)
            d -= c;
    }
    dlog[k] = d;
}

/* Entry i < m: own = no earlier entry has its position; next = the next entry that has
 * it (-1: none). The chains the scatter walks. */
ZOO_KERNEL ce_links(const int32_t *pos, const int32_t *st, int32_t *next, int32_t *own, int64_t M)
{
    int64_t i = ZOO_GID;
    if (i >= M || i >= st[ST_ROWS])
        return;
    int64_t m = st[ST_ROWS];
    int32_t p = pos[i], o = 1, nx = -1;
    for (int64_t k = 0; k < i; k++)
        if (pos[k] == p) {
            o = 0;
            break;
        }
    for (int64_t k = i + 1; k < m; k++)
        if (pos[k] == p) {
            nx = (int32_t)k;
            break;
        }
    own[i] = o;
    next[i] = nx;
}

/* dh[pos[i], j] += dHs[k, j] for the entries k of i's position in entry order, by the
 * thread of (its first entry i, j) */
ZOO_KERNEL ce_scatter(const float *dhs, const int32_t *pos, const int32_t *st, const int32_t *next,
                      const int32_t *own, float *dh, int64_t n, int64_t D)
{
    int64_t k = ZOO_GID;
    if (k >= n)
        return;
    int64_t i = k / D, j = k % D;
    if (st[ST_DONE] != 1 || st[ST_VALID] == 0 || i >= st[ST_ROWS] || !own[i])
        return;
    float *d = dh + (int64_t)pos[i] * D + j;
    float s = *d;
    for (int64_t e = i; e >= 0; e = next[e])
        s += dhs[e * D + j];
    *d = s;
}

extern "C" int zoo_cuda_ce_head_prepare(zoo_exec *x, zoo_tensor *t)
{
    (void)x;
    int64_t off[10];
    t->aux_n = layout(t->ip[IP_M], zoo_cols(t->src[0]), t->src[1]->shape[0], off);
    return 0;
}

extern "C" int zoo_cuda_ce_head_forward(zoo_exec *x, zoo_tensor *t)
{
    const zoo_tensor *H = t->src[0], *E = t->src[1];
    const int32_t *pos = t->src[2]->idata, *lab = t->src[3]->idata; /* (M), (M) */
    int64_t M = t->ip[IP_M], R = zoo_rows(H), D = zoo_cols(H), V = E->shape[0], nbe = nbe_of(M);
    cudaStream_t s = zoo_cuda_of(x)->stream;
    ce_cu_bufs b = bufs_of(t, M, D, V);
    if (M > 0) {
        ZOO_CU(ZOO_LAUNCH(ce_gather, M * D, s, H->data, pos, b.hs, M * D, D, R));
        int rc = zoo_cuda_gemm(x, 0, 1, M, V, D, 1.0f, b.hs, D, E->data, D, 0.0f, b.logits, V);
        if (rc)
            return rc;
        ZOO_CU(ZOO_LAUNCH(ce_rows, M, s, b.logits, lab, b.lse, b.hit, M, V));
        ZOO_CU(ZOO_LAUNCH(ce_part, nbe, s, pos, lab, b.lse, b.logits, b.hit, b.pi, b.pd, M, V, R, nbe));
    }
    ZOO_CU(ZOO_LAUNCH(ce_total, 1, s, b.pi, b.pd, t->data, t->side->idata, nbe));
    return 0;
}

extern "C" int zoo_cuda_ce_head_backward(zoo_exec *x, zoo_tensor *t)
{
    zoo_tensor *H = t->src[0], *E = t->src[1];
    float *dh = H->grad, *dE = E->grad; /* (R, D), (V, D) or NULL */
    const int32_t *pos = t->src[2]->idata, *lab = t->src[3]->idata, *st = t->side->idata;
    int64_t M = t->ip[IP_M], D = zoo_cols(H), V = E->shape[0];
    int fresh_e = dE && zoo_grad_fresh(t, 1); /* dE is written whole (tied: this is its first writer) */
    cudaStream_t s = zoo_cuda_of(x)->stream;
    if (!dh && !dE)
        return 0;
    if (M == 0) {
        if (fresh_e)
            ZOO_CU(cudaMemsetAsync(dE, 0, (size_t)(V * D) * sizeof *dE, s));
        return 0;
    }
    ce_cu_bufs b = bufs_of(t, M, D, V);
    int64_t ch = zoo_ce_chunk_rows(M);
    int rc;
    for (int64_t r0 = 0; r0 < M; r0 += ch) {
        int64_t nr = r0 + ch < M ? ch : M - r0;
        ZOO_CU(ZOO_LAUNCH(ce_dlog, nr * V, s, b.logits, b.lse, lab, st, t->grad, b.dlog, r0, nr * V, V));
        if (dh && (rc = zoo_cuda_gemm(x, 0, 0, nr, D, V, 1.0f, b.dlog, V, E->data, D, 0.0f, b.dhs + r0 * D, D)))
            return rc;
        if (dE && (rc = zoo_cuda_gemm(x, 1, 0, V, D, nr, 1.0f, b.dlog, V, b.hs + r0 * D, D,
                                      fresh_e && r0 == 0 ? 0.0f : 1.0f, dE, D)))
            return rc;
    }
    if (dh) {
        ZOO_CU(ZOO_LAUNCH(ce_links, M, s, pos, st, b.next, b.own, M));
        ZOO_CU(ZOO_LAUNCH(ce_scatter, M * D, s, b.dhs, pos, st, b.next, b.own, dh, M * D, D));
    }
    return 0;
}
