/* layernorm.c: LayerNorm over the last dim with affine weight and bias, as PyTorch's
 * nn.LayerNorm (biased variance, eps inside the square root). Saves each row's mean
 * and 1/std in aux for backward (and has room there for the dw/db partial sums). No
 * non-affine variant: pass w = 1, b = 0 buffers.
 *
 * Backward, with xhat = (x - mean) * rstd and gh = dy * w:
 *   dx = rstd * (gh - mean(gh) - xhat * mean(gh * xhat))   (means over the row)
 *   dw = sum_rows dy * xhat,  db = sum_rows dy */
#include <math.h>

#include "../backends/cuda/slot.h"
#include "../internal.h"
#include "../vecmath.h"

/* Rows per block of the dw/db reduction: each block's partial sums (in aux) are added
 * up in block order, so every sum is taken in the same order whatever the threads. */
#define ROWS_PER_BLOCK 64
#define LN_LANES VEC_LANES

static int64_t nblocks_of(int64_t rows) { return (rows + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK; }

/* Float slots for the per-row stats (mean, rstd), padded so the double partials after
 * them stay 8-byte aligned. */
static int64_t stats_floats(int64_t rows) { return 2 * rows; }

/* One row: mean and variance in double (fixed partial sums), then y. */
VEC_CLONES static void row_fwd(const float *x, const float *w, const float *b, float *y, int64_t D, double eps,
                               float *stats)
{
    double acc[LN_LANES] = {0};
    int64_t nv = D / LN_LANES * LN_LANES;
    for (int64_t i = 0; i < nv; i += LN_LANES) {
#pragma omp simd
        for (int j = 0; j < LN_LANES; j++)
            acc[j] += x[i + j];
    }
    for (int64_t i = nv; i < D; i++)
        acc[i - nv] += x[i];
    double m = zoo_lanes_total_d(acc) / (double)D;
    double acv[LN_LANES] = {0};
    for (int64_t i = 0; i < nv; i += LN_LANES) {
#pragma omp simd
        for (int j = 0; j < LN_LANES; j++) {
            double c = (double)x[i + j] - m;
            acv[j] += c * c;
        }
    }
    for (int64_t i = nv; i < D; i++) {
        double c = (double)x[i] - m;
        acv[i - nv] += c * c;
    }
    double v = zoo_lanes_total_d(acv) / (double)D;
    float mean = (float)m, rstd = (float)(1.0 / sqrt(v + eps));
    stats[0] = mean;
    stats[1] = rstd;
#pragma omp simd
    for (int64_t j = 0; j < D; j++)
        y[j] = (x[j] - mean) * rstd * w[j] + b[j];
}

static int layernorm_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *X = t->src[0], *W = t->src[1], *B = t->src[2];
    int64_t rows = zoo_rows(X), D = zoo_cols(X);
    const float *x = X->data;                /* x: (rows, D) */
    const float *w = W->data, *b = B->data;  /* w, b: (D) */
    float *y = t->data;                      /* y: (rows, D) */
    float *stats = t->aux;                   /* stats: (rows, 2) = mean, rstd */
    double eps = t->fp[0];
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++)
        row_fwd(x + r * D, w, b, y + r * D, D, eps, stats + 2 * r);
    return 0;
}

/* One block of rows: dx rows (when dx) and the block's partial dw, db sums (when pw). */
VEC_CLONES static void block_bwd(const float *x, const float *dy, const float *w, const float *stats, float *dx,
                                 int dx_fresh, double *pw, double *pb, int64_t n, int64_t D)
{
    if (pw)
        for (int64_t j = 0; j < D; j++)
            pw[j] = pb[j] = 0.0;
    int64_t nv = D / LN_LANES * LN_LANES;
    for (int64_t r = 0; r < n; r++) {
        const float *xr = x + r * D, *dyr = dy + r * D;
        float mean = stats[2 * r], rstd = stats[2 * r + 1];
        if (dx) {
            double a1[LN_LANES] = {0}, a2[LN_LANES] = {0};
            for (int64_t i = 0; i < nv; i += LN_LANES) {
#pragma omp simd
                for (int j = 0; j < LN_LANES; j++) {
                    double gh = (double)dyr[i + j] * w[i + j];
                    a1[j] += gh;
                    a2[j] += gh * ((xr[i + j] - mean) * rstd);
                }
            }
            for (int64_t i = nv; i < D; i++) {
                double gh = (double)dyr[i] * w[i];
                a1[i - nv] += gh;
                a2[i - nv] += gh * ((xr[i] - mean) * rstd);
            }
            float m1 = (float)(zoo_lanes_total_d(a1) / (double)D), m2 = (float)(zoo_lanes_total_d(a2) / (double)D);
            float *dxr = dx + r * D;
            if (dx_fresh) {
#pragma omp simd
                for (int64_t j = 0; j < D; j++) {
                    float xhat = (xr[j] - mean) * rstd;
                    dxr[j] = rstd * (dyr[j] * w[j] - m1 - xhat * m2);
                }
            } else {
#pragma omp simd
                for (int64_t j = 0; j < D; j++) {
                    float xhat = (xr[j] - mean) * rstd;
                    dxr[j] += rstd * (dyr[j] * w[j] - m1 - xhat * m2);
                }
            }
        }
        if (pw) {
#pragma omp simd
            for (int64_t j = 0; j < D; j++) {
                pw[j] += (double)dyr[j] * ((xr[j] - mean) * rstd);
                pb[j] += dyr[j];
            }
        }
    }
}

static int layernorm_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *X = t->src[0], *W = t->src[1], *B = t->src[2];
    int64_t rows = zoo_rows(X), D = zoo_cols(X), nb = nblocks_of(rows);
    const float *x = X->data, *w = W->data; /* x: (rows, D), w: (D) */
    const float *dy = t->grad;              /* dy: (rows, D) */
    const float *stats = t->aux;            /* stats: (rows, 2) */
    float *dx = X->grad, *dw = W->grad, *db = B->grad; /* (rows, D), (D), (D); any may be NULL */
    int want_p = dw || db;
    double *part = (double *)(t->aux + stats_floats(rows)); /* (nb, 2, D): per block dw, db */
#pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < nb; k++) {
        int64_t r0 = k * ROWS_PER_BLOCK, n = rows - r0 < ROWS_PER_BLOCK ? rows - r0 : ROWS_PER_BLOCK;
        block_bwd(x + r0 * D, dy + r0 * D, w, stats + 2 * r0, dx ? dx + r0 * D : NULL, zoo_grad_fresh(t, 0),
                  want_p ? part + k * 2 * D : NULL, want_p ? part + k * 2 * D + D : NULL, n, D);
    }
    if (!want_p)
        return 0;
    /* columns split over threads; each sums its blocks in block order */
#pragma omp parallel for schedule(static)
    for (int64_t j0 = 0; j0 < D; j0 += 64) {
        int64_t j1 = j0 + 64 < D ? j0 + 64 : D;
        double sw[64] = {0}, sb[64] = {0};
        for (int64_t k = 0; k < nb; k++) {
            const double *pw = part + k * 2 * D, *pb = pw + D;
            for (int64_t j = j0; j < j1; j++) {
                sw[j - j0] += pw[j];
                sb[j - j0] += pb[j];
            }
        }
        for (int64_t j = j0; j < j1; j++) {
            if (dw)
                dw[j] = zoo_grad_fresh(t, 1) ? (float)sw[j - j0] : dw[j] + (float)sw[j - j0];
            if (db)
                db[j] = zoo_grad_fresh(t, 2) ? (float)sb[j - j0] : db[j] + (float)sb[j - j0];
        }
    }
    return 0;
}

/* Workspace of the CPU kernels, sized for this backend (threads included). */
static int layernorm_prepare_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    /* stats, then per row block the double partials of dw and db */
    t->aux_n = stats_floats(zoo_rows(t)) + 4 * nblocks_of(zoo_rows(t)) * zoo_cols(t);
    return 0;
}

ZOO_CUDA_DECLARE(layernorm)
const zoo_op_def zoo_op_layernorm = {"layernorm", {[ZOO_BACKEND_CPU] = {layernorm_prepare_cpu, layernorm_fwd_cpu, layernorm_bwd_cpu} ZOO_CUDA_SLOT(layernorm)}, ZOO_MEM_NO_OUT};

zoo_tensor *zoo_layernorm(zoo_graph *g, zoo_tensor *x, zoo_tensor *w, zoo_tensor *b, float eps)
{
    zoo_tensor *src[3] = {x, w, b};
    if (!g || g->status || !x || !w || !b)
        return zoo_node_new(g, &zoo_op_layernorm, 1, (int64_t[]){1}, src, 3);
    char s1[64], s2[64];
    if (x->dtype != ZOO_F32 || w->dtype != ZOO_F32 || b->dtype != ZOO_F32)
        return zoo_node_fail(g, ZOO_ERR_INVALID, "layernorm: input, weight and bias must be f32");
    int64_t D = zoo_cols(x);
    if (w->ndim != 1 || w->shape[0] != D)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "layernorm: weight %s does not fit input %s (need (%lld,))",
                             zoo_shape_str(w, s1, 64), zoo_shape_str(x, s2, 64), (long long)D);
    if (b->ndim != 1 || b->shape[0] != D)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "layernorm: bias %s does not fit input %s (need (%lld,))",
                             zoo_shape_str(b, s1, 64), zoo_shape_str(x, s2, 64), (long long)D);
    if (!(eps > 0) || !isfinite(eps))
        return zoo_node_fail(g, ZOO_ERR_INVALID, "layernorm: eps must be a positive number, got %g", (double)eps);
    zoo_tensor *t = zoo_node_new(g, &zoo_op_layernorm, x->ndim, x->shape, src, 3);
    if (t) {
        t->fp[0] = eps;
        t->overwrite = 0x7u; /* dx, dw and db are written whole */
    }
    return t;
}
