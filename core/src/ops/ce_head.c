/* ce_head.c: the tied LM head and its cross-entropy loss, computed only at the
 * supervised positions, with accuracy counts and the logits kept for evaluation.
 * It does not compute logits at unsupervised positions (nobody needs them).
 *
 * Why only some rows: MQAR supervises K of the L positions of each sequence (labels
 * are -100 elsewhere). Rows with label -100 add nothing to the loss of the full head
 * (F.cross_entropy with ignore_index=-100) and receive zero gradient, so gathering the
 * M supervised rows first gives the identical loss and identical gradients for h and E
 * at a cost of M*V*D instead of B*L*V*D flops (for L=256, K=16: 16x less).
 *
 * No valid label at all (n_valid == 0): the loss is 0 and all gradients are 0, where
 * PyTorch's mean over zero elements gives NaN; a NaN would only poison training. */
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "../backends/cuda/slot.h"
#include "../gemm.h"
#include "../internal.h"
#include "../vecmath.h"
#include "ce_head.h"

/* aux layout: Hs (M, D) | logits (M, V) | lse (M) | hit (M) | dHs (M, D) | dlogits (chunk, V)
 * | workspace of the dHs product (its k = V is long) */
typedef struct ce_bufs {
    float *hs, *logits, *lse, *hit, *dhs, *dlog, *ws;
} ce_bufs;

static int64_t chunk_rows(int64_t M) { return zoo_ce_chunk_rows(M); }

static ce_bufs bufs_of(const zoo_tensor *t, int64_t M, int64_t D, int64_t V)
{
    ce_bufs b;
    b.hs = t->aux;
    b.logits = b.hs + M * D;
    b.lse = b.logits + M * V;
    b.hit = b.lse + M;
    b.dhs = b.hit + M;
    b.dlog = b.dhs + M * D;
    b.ws = b.dlog + chunk_rows(M) * V;
    return b;
}

static int ce_head_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *H = t->src[0], *E = t->src[1];
    const float *h = H->data, *e = E->data;                                 /* (R, D), (V, D) */
    const int32_t *pos = t->src[2]->idata, *lab = t->src[3]->idata;         /* (M), (M) */
    int32_t *st = t->side->idata;                                           /* (ST_N) */
    int64_t M = t->ip[IP_M], R = zoo_rows(H), D = zoo_cols(H), V = E->shape[0];
    int64_t L = H->ndim >= 3 ? H->shape[H->ndim - 2] : R; /* rows per example, for messages */
    ce_bufs b = bufs_of(t, M, D, V);
    st[ST_DONE] = st[ST_ROWS] = st[ST_VALID] = st[ST_CORRECT] = 0;

    int64_t m = M; /* valid entries first: the trailing -100 padding is never computed */
    while (m > 0 && lab[m - 1] == IGNORE_LABEL)
        m--;
    for (int64_t i = 0; i < m; i++) {
        if (pos[i] < 0 || pos[i] >= R) {
            t->data[0] = NAN;
            return ZOO_FAIL(ZOO_ERR_INVALID, "position %d of supervised entry %lld is outside [0, %lld) (B*L rows)",
                            pos[i], (long long)i, (long long)R);
        }
        if (lab[i] != IGNORE_LABEL && (lab[i] < 0 || lab[i] >= V)) {
            t->data[0] = NAN;
            return ZOO_FAIL(ZOO_ERR_INVALID, "label %d out of range [0, %lld) at example %lld position %lld of the batch",
                            lab[i], (long long)V, (long long)(pos[i] / L), (long long)(pos[i] % L));
        }
    }
    if (m > 0) {
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < m; i++)
            memcpy(b.hs + i * D, h + (int64_t)pos[i] * D, (size_t)D * sizeof *h);
        /* logits (m, V) = Hs E^T */
        zoo_gemm(CblasNoTrans, CblasTrans, m, V, D, 1.0f, b.hs, D, e, D, 0.0f, b.logits, V);
    }
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < m; i++) {
        const float *row = b.logits + i * V; /* (V) */
        float mx = zoo_vec_max(row, V);
        b.lse[i] = mx + logf(zoo_vec_expsum(row, NULL, V, mx));
        int64_t arg = 0; /* argmax: first maximum, as torch.argmax */
        while (arg < V - 1 && !(row[arg] == mx))
            arg++;
        b.hit[i] = lab[i] != IGNORE_LABEL && arg == lab[i];
    }
    /* serial sums in entry order: the same loss whatever the thread count */
    double loss = 0.0;
    int64_t nv = 0, nc = 0;
    for (int64_t i = 0; i < m; i++) {
        if (lab[i] == IGNORE_LABEL)
            continue;
        loss += (double)b.lse[i] - (double)b.logits[i * V + lab[i]];
        nv++;
        nc += b.hit[i] != 0.0f;
    }
    t->data[0] = nv ? (float)(loss / (double)nv) : 0.0f;
    st[ST_ROWS] = (int32_t)m;
    st[ST_VALID] = (int32_t)nv;
    st[ST_CORRECT] = (int32_t)nc;
    st[ST_DONE] = 1;
    return 0;
}

/* d loss / d logits[i, :] = (softmax(logits[i]) - onehot(label_i)) * dloss / n_valid for
 * valid rows, 0 for -100 rows; dHs = dlogits E; dE += dlogits^T Hs; dh[pos[i]] += dHs[i]. */
static int ce_head_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *H = t->src[0], *E = t->src[1];
    const float *e = E->data;                                       /* (V, D) */
    float *dh = H->grad, *dE = E->grad;                             /* (R, D), (V, D) or NULL */
    const int32_t *pos = t->src[2]->idata, *lab = t->src[3]->idata; /* (M), (M) */
    int64_t M = t->ip[IP_M], D = zoo_cols(H), V = E->shape[0];
    const int32_t *st = t->side->idata;
    int64_t m = st[ST_ROWS], nv = st[ST_VALID];
    int fresh_e = dE && zoo_grad_fresh(t, 1); /* dE is written whole (tied: this is its first writer) */
    if (!st[ST_DONE] || nv == 0 || (!dh && !dE)) {
        if (fresh_e)
            memset(dE, 0, (size_t)(V * D) * sizeof *dE);
        return 0;
    }
    ce_bufs b = bufs_of(t, M, D, V);
    float c = t->grad[0] / (float)nv;
    int64_t ch = chunk_rows(M);
    for (int64_t r0 = 0; r0 < m; r0 += ch) {
        int64_t nr = r0 + ch < m ? ch : m - r0;
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < nr; i++) {
            int64_t r = r0 + i;
            float *d = b.dlog + i * V; /* (V) */
            if (lab[r] == IGNORE_LABEL) {
                memset(d, 0, (size_t)V * sizeof *d);
                continue;
            }
            zoo_vec_expscale(b.logits + r * V, d, V, b.lse[r], c);
            d[lab[r]] -= c;
        }
        if (dh) /* dHs[r0:r0+nr] = dlogits E */
            zoo_gemm_ws(CblasNoTrans, CblasNoTrans, nr, D, V, 1.0f, b.dlog, V, e, D, 0.0f, b.dhs + r0 * D, D, b.ws);
        if (dE) /* dE += dlogits^T Hs[r0:r0+nr], chunks in order */
            zoo_gemm(CblasTrans, CblasNoTrans, V, D, nr, 1.0f, b.dlog, V, b.hs + r0 * D, D,
                     fresh_e && r0 == 0 ? 0.0f : 1.0f, dE, D);
    }
    if (dh) {
        /* scatter-add in entry order, so repeated positions sum deterministically;
         * threads split the columns, never the entries */
#pragma omp parallel for schedule(static)
        for (int64_t j0 = 0; j0 < D; j0 += 16) {
            int64_t j1 = j0 + 16 < D ? j0 + 16 : D;
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = j0; j < j1; j++)
                    dh[(int64_t)pos[i] * D + j] += b.dhs[i * D + j];
        }
    }
    return 0;
}

static int ce_head_prepare_cpu(zoo_exec *ex, zoo_tensor *t);
ZOO_CUDA_DECLARE(ce_head)
const zoo_op_def zoo_op_ce_head = {
    "ce_head", {[ZOO_BACKEND_CPU] = {ce_head_prepare_cpu, ce_head_fwd_cpu, ce_head_bwd_cpu} ZOO_CUDA_SLOT(ce_head)}, 0};

zoo_tensor *zoo_ce_head(zoo_graph *g, zoo_tensor *h, zoo_tensor *E, zoo_tensor *pos, zoo_tensor *labels)
{
    zoo_tensor *src[4] = {h, E, pos, labels};
    if (!g || g->status || !h || !E || !pos || !labels)
        return zoo_node_new(g, &zoo_op_ce_head, 1, (int64_t[]){1}, src, 4);
    char s1[64], s2[64];
    if (h->dtype != ZOO_F32 || h->ndim < 2)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "ce_head: hidden states %s must be f32 (..., D)",
                             zoo_shape_str(h, s1, 64));
    if (E->dtype != ZOO_F32 || E->ndim != 2 || E->shape[1] != zoo_cols(h))
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "ce_head: embedding %s does not fit hidden states %s (need (V, %lld))",
                             zoo_shape_str(E, s1, 64), zoo_shape_str(h, s2, 64), (long long)zoo_cols(h));
    if (pos->dtype != ZOO_I32 || labels->dtype != ZOO_I32 || pos->ndim != 1 || labels->ndim != 1 ||
        pos->shape[0] != labels->shape[0])
        return zoo_node_fail(g, ZOO_ERR_SHAPE,
                             "ce_head: positions %s and labels %s must be int32 vectors of one length",
                             zoo_shape_str(pos, s1, 64), zoo_shape_str(labels, s2, 64));
    zoo_tensor *t = zoo_node_new(g, &zoo_op_ce_head, 1, (int64_t[]){1}, src, 4);
    if (!t)
        return NULL;
    t->ip[IP_M] = pos->shape[0];
    t->overwrite = 0x2u; /* dE is written whole (dh only at the supervised rows: never) */
    if (!zoo_side_new(g, t, ZOO_I32, ST_N))
        return NULL;
    return t;
}

/* A forward pass on a backend that cannot fail it synchronously (CUDA) records its
 * first entry with a position or label out of range as a done flag of -1 - i (its loss
 * is NaN, its gradients zero): the accessors report it as the CPU forward does. */
static int bad_entry(const zoo_tensor *ce, int64_t i, const char *fn)
{
    const zoo_tensor *H = ce->src[0];
    int64_t R = zoo_rows(H), V = ce->src[1]->shape[0], L = H->ndim >= 3 ? H->shape[H->ndim - 2] : R;
    int32_t p = 0, l = 0;
    int rc = zoo_tensor_get(ce->src[2], &p, i, 1);
    if (!rc)
        rc = zoo_tensor_get(ce->src[3], &l, i, 1);
    if (rc)
        return rc;
    if (p < 0 || p >= R)
        return ZOO_FAIL(ZOO_ERR_INVALID,
                        "%s: the last forward pass found position %d of supervised entry %lld outside [0, %lld) "
                        "(B*L rows)",
                        fn, p, (long long)i, (long long)R);
    return ZOO_FAIL(ZOO_ERR_INVALID,
                    "%s: the last forward pass found label %d out of range [0, %lld) at example %lld position %lld "
                    "of the batch",
                    fn, l, (long long)V, (long long)(p / L), (long long)(p % L));
}

/* The forward pass's counts (st[ST_N]) of a ce_head output, for both accessors. */
static int read_counts(const zoo_tensor *ce, int32_t *st, const char *fn)
{
    if (!ce || ce->op != &zoo_op_ce_head)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: the tensor is not a zoo_ce_head output", fn);
    int rc = zoo_tensor_get(ce->side, st, 0, ST_N);
    if (!rc && !st[ST_DONE])
        rc = ZOO_FAIL(ZOO_ERR_STATE, "%s: run zoo_graph_forward first", fn);
    if (!rc && st[ST_DONE] < 0)
        rc = bad_entry(ce, -1 - (int64_t)st[ST_DONE], fn);
    return rc;
}

int zoo_ce_head_stats(const zoo_tensor *ce, int64_t *n_valid, int64_t *n_correct)
{
    int32_t st[ST_N];
    int rc = read_counts(ce, st, "zoo_ce_head_stats");
    if (rc)
        return rc;
    if (n_valid)
        *n_valid = st[ST_VALID];
    if (n_correct)
        *n_correct = st[ST_CORRECT];
    return 0;
}

int zoo_ce_head_logits(const zoo_tensor *ce, float *dst, int64_t cap_rows, int64_t *m, int64_t *V)
{
    if (m)
        *m = 0;
    if (V)
        *V = 0;
    int32_t st[ST_N];
    int rc = read_counts(ce, st, "zoo_ce_head_logits");
    if (rc)
        return rc;
    int64_t rows = st[ST_ROWS], nv = ce->src[1]->shape[0];
    if (m)
        *m = rows;
    if (V)
        *V = nv;
    if (!dst)
        return 0;
    int64_t n = (rows < cap_rows ? rows : cap_rows) * nv;
    zoo_graph *g = ce->g;
    const float *src = ce->aux + ce->ip[IP_M] * zoo_cols(ce->src[0]);
    return n ? g->be->copy(&g->exec, dst, src, (size_t)n * sizeof *dst, ZOO_COPY_D2H) : 0;
}

/* Workspace of the CPU kernels (see bufs_of). */
static int ce_head_prepare_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    int64_t M = t->ip[IP_M], D = zoo_cols(t->src[0]), V = t->src[1]->shape[0];
    t->aux_n = M * D + M * V + 2 * M + M * D + chunk_rows(M) * V + zoo_gemm_ws_floats(chunk_rows(M), D, V);
    return 0;
}
