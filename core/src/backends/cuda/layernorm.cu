/* layernorm.cu: LayerNorm over the last dim with weight and bias (ops/layernorm.c).
 * Forward and the input gradient run one thread per row, each summing its row alone in
 * the CPU's order: LN_LANES double partial sums over the row (the tail into the first
 * lanes), folded in halves. The weight and bias gradients are the CPU's two passes: one
 * thread per (row block, column) sums its ROWS_PER_BLOCK rows in order into double
 * partials in aux, then one thread per column adds the blocks in block order. Nothing
 * depends on the launch size, so every run gives the same bits. aux holds what the CPU's
 * holds: per row (mean, rstd), then per block the dw and db partials (doubles). */
#include "common.cuh"

ZOO_CUDA_OP_FNS(layernorm)

/* The CPU's constants (ops/layernorm.c: ROWS_PER_BLOCK, LN_LANES = VEC_LANES). */
#define ROWS_PER_BLOCK 64
#define LN_LANES 16 /* ln_lanes_total folds exactly 16 */

/* Loops over the lanes unroll fully: constant indices keep the partials in registers. */
#ifdef __CUDA_ARCH__ /* device code only: host compilers know no such pragma */
#define LN_UNROLL _Pragma("unroll")
#else
#define LN_UNROLL
#endif

static int64_t nblocks_of(int64_t rows) { return (rows + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK; }
static int64_t stats_floats(int64_t rows) { return 2 * rows; }

/* Fold LN_LANES (16) partials in halves, as the CPU's lanes_total: each step a loop of
 * constant length, so the indices stay constant once unrolled. */
ZOO_HD double ln_lanes_total(double *acc)
{
    LN_UNROLL
    for (int j = 0; j < 8; j++)
        acc[j] += acc[j + 8];
    LN_UNROLL
    for (int j = 0; j < 4; j++)
        acc[j] += acc[j + 4];
    LN_UNROLL
    for (int j = 0; j < 2; j++)
        acc[j] += acc[j + 2];
    acc[0] += acc[1];
    return acc[0];
}

/* One thread per row: mean and variance in double, then y; saves (mean, rstd). The
 * lane loops are unrolled with constant indices so the partials stay in registers. */
ZOO_KERNEL ln_fwd(const float *x, const float *w, const float *b, float *y, float *stats, int64_t rows, int64_t D,
                  double eps)
{
    int64_t r = ZOO_GID;
    if (r >= rows)
        return;
    const float *xr = x + r * D;
    float *yr = y + r * D;
    int64_t nv = D / LN_LANES * LN_LANES;
    double acc[LN_LANES];
    LN_UNROLL
    for (int j = 0; j < LN_LANES; j++)
        acc[j] = 0.0;
    for (int64_t i = 0; i < nv; i += LN_LANES) {
        LN_UNROLL
        for (int j = 0; j < LN_LANES; j++)
            acc[j] += xr[i + j];
    }
    LN_UNROLL
    for (int j = 0; j < LN_LANES; j++)
        if (nv + j < D)
            acc[j] += xr[nv + j];
    double m = ln_lanes_total(acc) / (double)D;
    LN_UNROLL
    for (int j = 0; j < LN_LANES; j++)
        acc[j] = 0.0;
    for (int64_t i = 0; i < nv; i += LN_LANES) {
        LN_UNROLL
        for (int j = 0; j < LN_LANES; j++) {
            double c = (double)xr[i + j] - m;
            acc[j] += c * c;
        }
    }
    LN_UNROLL
    for (int j = 0; j < LN_LANES; j++)
        if (nv + j < D) {
            double c = (double)xr[nv + j] - m;
            acc[j] += c * c;
        }
    double v = ln_lanes_total(acc) / (double)D;
    float mean = (float)m, rstd = (float)(1.0 / sqrt(v + eps));
    stats[2 * r] = mean;
    stats[2 * r + 1] = rstd;
    for (int64_t j = 0; j < D; j++)
        yr[j] = (xr[j] - mean) * rstd * w[j] + b[j];
}

/* One thread per row: dx = rstd * (dy w - mean(dy w) - xhat mean(dy w xhat)). */
ZOO_KERNEL ln_bwd_dx(const float *x, const float *dy, const float *w, const float *stats, float *dx, int64_t rows,
                     int64_t D, int fresh)
{
    int64_t r = ZOO_GID;
    if (r >= rows)
        return;
    const float *xr = x + r * D, *dyr = dy + r * D;
    float *dxr = dx + r * D;
    float mean = stats[2 * r], rstd = stats[2 * r + 1];
    int64_t nv = D / LN_LANES * LN_LANES;
    double a1[LN_LANES], a2[LN_LANES];
    LN_UNROLL
    for (int j = 0; j < LN_LANES; j++)
        a1[j] = a2[j] = 0.0;
    for (int64_t i = 0; i < nv; i += LN_LANES) {
        LN_UNROLL
        for (int j = 0; j < LN_LANES; j++) {
            double gh = (double)dyr[i + j] * w[i + j];
            a1[j] += gh;
            a2[j] += gh * ((xr[i + j] - mean) * rstd);
        }
    }
    LN_UNROLL
    for (int j = 0; j < LN_LANES; j++)
        if (nv + j < D) {
            double gh = (double)dyr[nv + j] * w[nv + j];
            a1[j] += gh;
            a2[j] += gh * ((xr[nv + j] - mean) * rstd);
        }
    float m1 = (float)(ln_lanes_total(a1) / (double)D), m2 = (float)(ln_lanes_total(a2) / (double)D);
    for (int64_t j = 0; j < D; j++) {
        float xhat = (xr[j] - mean) * rstd;
        float g = rstd * (dyr[j] * w[j] - m1 - xhat * m2);
        dxr[j] = fresh ? g : dxr[j] + g;
    }
}

/* One thread per (row block k, column j): the block's dw and db partials, rows in order. */
ZOO_KERNEL ln_bwd_part(const float *x, const float *dy, const float *stats, double *part, int64_t rows, int64_t D,
                       int64_t nb)
{
    int64_t i = ZOO_GID;
    if (i >= nb * D)
        return;
    int64_t k = i / D, j = i % D;
    int64_t r0 = k * ROWS_PER_BLOCK, r1 = r0 + ROWS_PER_BLOCK < rows ? r0 + ROWS_PER_BLOCK : rows;
    double sw = 0.0, sb = 0.0;
    for (int64_t r = r0; r < r1; r++) {
        float d = dy[r * D + j];
        sw += (double)d * ((x[r * D + j] - stats[2 * r]) * stats[2 * r + 1]);
        sb += d;
    }
    part[k * 2 * D + j] = sw;
    part[k * 2 * D + D + j] = sb;
}

/* One thread per column: the blocks' partials in block order. dw or db may be NULL. */
ZOO_KERNEL ln_bwd_wb(const double *part, float *dw, float *db, int64_t D, int64_t nb, int fresh_w, int fresh_b)
{
    int64_t j = ZOO_GID;
    if (j >= D)
        return;
    double sw = 0.0, sb = 0.0;
    for (int64_t k = 0; k < nb; k++) {
        sw += part[k * 2 * D + j];
        sb += part[k * 2 * D + D + j];
    }
    if (dw)
        dw[j] = fresh_w ? (float)sw : dw[j] + (float)sw;
    if (db)
        db[j] = fresh_b ? (float)sb : db[j] + (float)sb;
}

extern "C" int zoo_cuda_layernorm_prepare(zoo_exec *x, zoo_tensor *t)
{
    (void)x;
    /* stats, then per row block the double partials of dw and db (as on the CPU) */
    t->aux_n = stats_floats(zoo_rows(t)) + 4 * nblocks_of(zoo_rows(t)) * zoo_cols(t);
    return 0;
}

extern "C" int zoo_cuda_layernorm_forward(zoo_exec *x, zoo_tensor *t)
{
    const zoo_tensor *X = t->src[0], *W = t->src[1], *B = t->src[2];
    int64_t rows = zoo_rows(X), D = zoo_cols(X);
    ZOO_CU(ZOO_LAUNCH(ln_fwd, rows, zoo_cuda_of(x)->stream, X->data, W->data, B->data, t->data, t->aux, rows, D,
                      (double)t->fp[0]));
    return 0;
}

extern "C" int zoo_cuda_layernorm_backward(zoo_exec *x, zoo_tensor *t)
{
    zoo_tensor *X = t->src[0], *W = t->src[1], *B = t->src[2];
    int64_t rows = zoo_rows(X), D = zoo_cols(X), nb = nblocks_of(rows);
    cudaStream_t s = zoo_cuda_of(x)->stream;
    if (X->grad)
        ZOO_CU(ZOO_LAUNCH(ln_bwd_dx, rows, s, X->data, t->grad, W->data, t->aux, X->grad, rows, D,
                          zoo_grad_fresh(t, 0)));
    if (W->grad || B->grad) {
        double *part = (double *)(t->aux + stats_floats(rows)); /* (nb, 2, D) */
        ZOO_CU(ZOO_LAUNCH(ln_bwd_part, nb * D, s, X->data, t->grad, t->aux, part, rows, D, nb));
        ZOO_CU(ZOO_LAUNCH(ln_bwd_wb, D, s, part, W->grad, B->grad, D, nb, zoo_grad_fresh(t, 1), zoo_grad_fresh(t, 2)));
    }
    return 0;
}
