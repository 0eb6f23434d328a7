/* rmsnorm.cu: RMSNorm over the last dim with a weight (ops/rmsnorm.c). Forward and the
 * input gradient run one thread per row, each summing its row alone, element by element
 * in double, as the CPU does. The weight gradient is the CPU's two passes: one thread
 * per (row block, column) sums its ROWS_PER_BLOCK rows in order into a double partial
 * in aux, then one thread per column adds the blocks in block order. Nothing depends on
 * the launch size, so every run gives the same bits. aux holds what the CPU's holds:
 * each row's rstd, then per block the dw partials (doubles). */
#include "common.cuh"

ZOO_CUDA_OP_FNS(rmsnorm)

#define ROWS_PER_BLOCK 64 /* the CPU's (ops/rmsnorm.c) */

static int64_t nblocks_of(int64_t rows) { return (rows + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK; }
/* rstd slots rounded up to even: the double partials after them stay 8-byte aligned */
static int64_t stats_floats(int64_t rows) { return (rows + 1) / 2 * 2; }

/* One thread per row: rstd = 1 / sqrt(mean(x^2) + eps), y = x rstd w. */
ZOO_KERNEL rms_fwd(const float *x, const float *w, float *y, float *rs, int64_t rows, int64_t D, double eps)
{
    int64_t r = ZOO_GID;
    if (r >= rows)
        return;
    const float *xr = x + r * D;
    float *yr = y + r * D;
    double ss = 0.0;
    for (int64_t j = 0; j < D; j++)
        ss += (double)xr[j] * xr[j];
    float rstd = (float)(1.0 / sqrt(ss / (double)D + eps));
    rs[r] = rstd;
    for (int64_t j = 0; j < D; j++)
        yr[j] = xr[j] * rstd * (w ? w[j] : 1.0f); /* no weight: w = 1 */
}

/* One thread per row: dx = rstd * (dy w - xhat mean(dy w xhat)), xhat = x rstd. */
ZOO_KERNEL rms_bwd_dx(const float *x, const float *dy, const float *w, const float *rs, float *dx, int64_t rows,
                      int64_t D, int fresh)
{
    int64_t r = ZOO_GID;
    if (r >= rows)
        return;
    const float *xr = x + r * D, *dyr = dy + r * D;
    float *dxr = dx + r * D;
    float rstd = rs[r];
    double m = 0.0;
    for (int64_t j = 0; j < D; j++)
        m += (double)dyr[j] * (w ? w[j] : 1.0f) * ((double)xr[j] * rstd);
    float m2 = (float)(m / (double)D);
    for (int64_t j = 0; j < D; j++) {
        float g = rstd * (dyr[j] * (w ? w[j] : 1.0f) - xr[j] * rstd * m2);
        dxr[j] = fresh ? g : dxr[j] + g;
    }
}

/* One thread per (row block k, column j): the block's dw partial, rows in order. */
ZOO_KERNEL rms_bwd_part(const float *x, const float *dy, const float *rs, double *part, int64_t rows, int64_t D,
                        int64_t nb)
{
    int64_t i = ZOO_GID;
    if (i >= nb * D)
        return;
    int64_t k = i / D, j = i % D;
    int64_t r0 = k * ROWS_PER_BLOCK, r1 = r0 + ROWS_PER_BLOCK < rows ? r0 + ROWS_PER_BLOCK : rows;
    double s = 0.0;
    for (int64_t r = r0; r < r1; r++)
        s += (double)dy[r * D + j] * ((double)x[r * D + j] * rs[r]);
    part[k * D + j] = s;
}

/* One thread per column: the blocks' partials in block order. */
ZOO_KERNEL rms_bwd_w(const double *part, float *dw, int64_t D, int64_t nb, int fresh)
{
    int64_t j = ZOO_GID;
    if (j >= D)
        return;
    double s = 0.0;
    for (int64_t k = 0; k < nb; k++)
        s += part[k * D + j];
    dw[j] = fresh ? (float)s : dw[j] + (float)s;
}

extern "C" int zoo_cuda_rmsnorm_prepare(zoo_exec *x, zoo_tensor *t)
{
    (void)x;
    t->aux_n = stats_floats(zoo_rows(t)) + 2 * nblocks_of(zoo_rows(t)) * zoo_cols(t); /* rstd, then doubles */
    return 0;
}

extern "C" int zoo_cuda_rmsnorm_forward(zoo_exec *x, zoo_tensor *t)
{
    const zoo_tensor *X = t->src[0], *W = t->nsrc > 1 ? t->src[1] : NULL;
    int64_t rows = zoo_rows(X), D = zoo_cols(X);
    const float *w = W ? W->data : NULL;
    ZOO_CU(ZOO_LAUNCH(rms_fwd, rows, zoo_cuda_of(x)->stream, X->data, w, t->data, t->aux, rows, D,
                      (double)t->fp[0]));
    return 0;
}

extern "C" int zoo_cuda_rmsnorm_backward(zoo_exec *x, zoo_tensor *t)
{
    zoo_tensor *X = t->src[0], *W = t->nsrc > 1 ? t->src[1] : NULL;
    int64_t rows = zoo_rows(X), D = zoo_cols(X), nb = nblocks_of(rows);
    cudaStream_t s = zoo_cuda_of(x)->stream;
    const float *w = W ? W->data : NULL;
    if (X->grad)
        ZOO_CU(ZOO_LAUNCH(rms_bwd_dx, rows, s, X->data, t->grad, w, t->aux, X->grad, rows, D,
                          zoo_grad_fresh(t, 0)));
    if (W && W->grad) {
        double *part = (double *)(t->aux + stats_floats(rows)); /* (nb, D) */
        ZOO_CU(ZOO_LAUNCH(rms_bwd_part, nb * D, s, X->data, t->grad, t->aux, part, rows, D, nb));
        ZOO_CU(ZOO_LAUNCH(rms_bwd_w, D, s, part, W->grad, D, nb, zoo_grad_fresh(t, 1)));
    }
    return 0;
}
