/* layernorm.c: LayerNorm over the last dim with affine weight and bias, as PyTorch's
 * nn.LayerNorm (biased variance, eps inside the square root). Saves each row's mean
 * and 1/std in aux for backward. No non-affine variant: pass w = 1, b = 0 buffers.
 *
 * Backward, with xhat = (x - mean) * rstd and gh = dy * w:
 *   dx = rstd * (gh - mean(gh) - xhat * mean(gh * xhat))   (means over the row)
 *   dw = sum_rows dy * xhat,  db = sum_rows dy */
#include <math.h>

#include "../internal.h"

/* Column block for the dw/db reduction: each thread owns whole columns, so every sum is
 * taken in row order whatever the thread count. */
#define COLS_PER_BLOCK 32

static void layernorm_fwd_cpu(zoo_graph *g, zoo_tensor *t)
{
    (void)g;
    zoo_tensor *X = t->src[0], *W = t->src[1], *B = t->src[2];
    int64_t rows = zoo_rows(X), D = zoo_cols(X);
    const float *x = X->data;                /* x: (rows, D) */
    const float *w = W->data, *b = B->data;  /* w, b: (D) */
    float *y = t->data;                      /* y: (rows, D) */
    float *stats = t->aux;                   /* stats: (rows, 2) = mean, rstd */
    double eps = t->fp[0];
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * D;
        double m = 0, v = 0;
        for (int64_t j = 0; j < D; j++)
            m += xr[j];
        m /= (double)D;
        for (int64_t j = 0; j < D; j++)
            v += ((double)xr[j] - m) * ((double)xr[j] - m);
        v /= (double)D;
        float mean = (float)m, rstd = (float)(1.0 / sqrt(v + eps));
        stats[2 * r] = mean;
        stats[2 * r + 1] = rstd;
        float *yr = y + r * D;
        for (int64_t j = 0; j < D; j++)
            yr[j] = (xr[j] - mean) * rstd * w[j] + b[j];
    }
}

static void layernorm_bwd_cpu(zoo_graph *g, zoo_tensor *t)
{
    (void)g;
    zoo_tensor *X = t->src[0], *W = t->src[1], *B = t->src[2];
    int64_t rows = zoo_rows(X), D = zoo_cols(X);
    const float *x = X->data, *w = W->data; /* x: (rows, D), w: (D) */
    const float *dy = t->grad;              /* dy: (rows, D) */
    const float *stats = t->aux;            /* stats: (rows, 2) */
    if (X->grad) {
        float *dx = X->grad; /* dx: (rows, D) */
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            const float *xr = x + r * D, *dyr = dy + r * D;
            float mean = stats[2 * r], rstd = stats[2 * r + 1];
            double s1 = 0, s2 = 0;
            for (int64_t j = 0; j < D; j++) {
                double gh = (double)dyr[j] * w[j];
                s1 += gh;
                s2 += gh * ((xr[j] - mean) * rstd);
            }
            float m1 = (float)(s1 / (double)D), m2 = (float)(s2 / (double)D);
            float *dxr = dx + r * D;
            for (int64_t j = 0; j < D; j++) {
                float xhat = (xr[j] - mean) * rstd;
                dxr[j] += rstd * (dyr[j] * w[j] - m1 - xhat * m2);
            }
        }
    }
    if (W->grad || B->grad) {
        float *dw = W->grad, *db = B->grad; /* dw, db: (D), either may be NULL */
        int64_t nblocks = (D + COLS_PER_BLOCK - 1) / COLS_PER_BLOCK;
#pragma omp parallel for schedule(static)
        for (int64_t blk = 0; blk < nblocks; blk++) {
            int64_t j0 = blk * COLS_PER_BLOCK, j1 = j0 + COLS_PER_BLOCK < D ? j0 + COLS_PER_BLOCK : D;
            double sw[COLS_PER_BLOCK] = {0}, sb[COLS_PER_BLOCK] = {0};
            for (int64_t r = 0; r < rows; r++) {
                const float *xr = x + r * D, *dyr = dy + r * D;
                float mean = stats[2 * r], rstd = stats[2 * r + 1];
                for (int64_t j = j0; j < j1; j++) {
                    sw[j - j0] += (double)dyr[j] * ((xr[j] - mean) * rstd);
                    sb[j - j0] += dyr[j];
                }
            }
            for (int64_t j = j0; j < j1; j++) {
                if (dw)
                    dw[j] += (float)sw[j - j0];
                if (db)
                    db[j] += (float)sb[j - j0];
            }
        }
    }
}

static const zoo_op_def op = {"layernorm", {layernorm_fwd_cpu, NULL}, {layernorm_bwd_cpu, NULL}};

zoo_tensor *zoo_layernorm(zoo_graph *g, zoo_tensor *x, zoo_tensor *w, zoo_tensor *b, float eps)
{
    zoo_tensor *src[3] = {x, w, b};
    if (!g || g->status || !x || !w || !b)
        return zoo_node_new(g, &op, 1, (int64_t[]){1}, src, 3);
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
    zoo_tensor *t = zoo_node_new(g, &op, x->ndim, x->shape, src, 3);
    if (t) {
        t->fp[0] = eps;
        t->aux_n = 2 * zoo_rows(x);
    }
    return t;
}
