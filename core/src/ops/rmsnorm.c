/* rmsnorm.c: RMSNorm over the last dim with a weight and no bias, as the RMSNorm of the
 * Mamba blocks (docs/model.md): y = x * rstd * w, rstd = 1 / sqrt(mean(x^2) + eps); without
 * a weight (w = 1), the plain normalisation (the L2 norm of q and k in the delta rules is
 * this with eps / D, times 1 / sqrt(D)).
 * Saves each row's rstd in aux for backward (and has room there for the dw partial sums).
 *
 * Backward, with xhat = x * rstd and gh = dy * w:
 *   dx = rstd * (gh - xhat * mean(gh * xhat)),  dw = sum_rows dy * xhat */
#include <math.h>

#include "../backends/cuda/slot.h"
#include "../internal.h"

/* Rows per block of the dw reduction: block partial sums (in aux) are added up in block
 * order, so the sum is the same whatever the threads. */
#define ROWS_PER_BLOCK 64

static int64_t nblocks_of(int64_t rows) { return (rows + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK; }

/* Float slots for the per-row rstd, rounded up to even so the double partials after
 * them stay 8-byte aligned. */
static int64_t stats_floats(int64_t rows) { return (rows + 1) / 2 * 2; }

static int rmsnorm_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *X = t->src[0], *W = t->nsrc > 1 ? t->src[1] : NULL;
    int64_t rows = zoo_rows(X), D = zoo_cols(X);
    const float *x = X->data, *w = W ? W->data : NULL; /* x: (rows, D), w: (D) or none */
    float *y = t->data, *rs = t->aux;       /* y: (rows, D), rs: (rows) */
    double eps = t->fp[0];
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * D;
        double ss = 0.0;
        for (int64_t j = 0; j < D; j++)
            ss += (double)xr[j] * xr[j];
        float rstd = (float)(1.0 / sqrt(ss / (double)D + eps));
        rs[r] = rstd;
        float *yr = y + r * D;
#pragma omp simd
        for (int64_t j = 0; j < D; j++)
            yr[j] = xr[j] * rstd * (w ? w[j] : 1.0f);
    }
    return 0;
}

static int rmsnorm_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *X = t->src[0], *W = t->nsrc > 1 ? t->src[1] : NULL;
    int64_t rows = zoo_rows(X), D = zoo_cols(X), nb = nblocks_of(rows);
    const float *x = X->data, *w = W ? W->data : NULL, *dy = t->grad, *rs = t->aux;
    float *dx = X->grad, *dw = W ? W->grad : NULL; /* either may be NULL */
    double *part = (double *)(t->aux + stats_floats(rows)); /* (nb, D): per block dw */
#pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < nb; k++) {
        int64_t r0 = k * ROWS_PER_BLOCK, r1 = r0 + ROWS_PER_BLOCK < rows ? r0 + ROWS_PER_BLOCK : rows;
        double *pw = part + k * D;
        if (dw)
            for (int64_t j = 0; j < D; j++)
                pw[j] = 0.0;
        for (int64_t r = r0; r < r1; r++) {
            const float *xr = x + r * D, *dyr = dy + r * D;
            float rstd = rs[r];
            if (dx) {
                double m = 0.0;
                for (int64_t j = 0; j < D; j++)
                    m += (double)dyr[j] * (w ? w[j] : 1.0f) * ((double)xr[j] * rstd);
                float m2 = (float)(m / (double)D), *dxr = dx + r * D;
                if (zoo_grad_fresh(t, 0)) {
#pragma omp simd
                    for (int64_t j = 0; j < D; j++)
                        dxr[j] = rstd * (dyr[j] * (w ? w[j] : 1.0f) - xr[j] * rstd * m2);
                } else {
#pragma omp simd
                    for (int64_t j = 0; j < D; j++)
                        dxr[j] += rstd * (dyr[j] * (w ? w[j] : 1.0f) - xr[j] * rstd * m2);
                }
            }
            if (dw)
                for (int64_t j = 0; j < D; j++)
                    pw[j] += (double)dyr[j] * ((double)xr[j] * rstd);
        }
    }
    if (!dw)
        return 0;
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < D; j++) {
        double s = 0.0;
        for (int64_t k = 0; k < nb; k++)
            s += part[k * D + j];
        dw[j] = zoo_grad_fresh(t, 1) ? (float)s : dw[j] + (float)s;
    }
    return 0;
}

/* Workspace of the CPU kernels, sized for this backend (threads included). */
static int rmsnorm_prepare_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    t->aux_n = stats_floats(zoo_rows(t)) + 2 * nblocks_of(zoo_rows(t)) * zoo_cols(t); /* rstd, then doubles */
    return 0;
}

ZOO_CUDA_DECLARE(rmsnorm)
const zoo_op_def zoo_op_rmsnorm = {"rmsnorm", {[ZOO_BACKEND_CPU] = {rmsnorm_prepare_cpu, rmsnorm_fwd_cpu, rmsnorm_bwd_cpu} ZOO_CUDA_SLOT(rmsnorm)}, ZOO_MEM_NO_OUT};

zoo_tensor *zoo_rmsnorm(zoo_graph *g, zoo_tensor *x, zoo_tensor *w, float eps)
{
    zoo_tensor *src[2] = {x, w};
    int nsrc = w ? 2 : 1; /* no weight: w = 1 */
    if (!g || g->status || !x)
        return zoo_node_new(g, &zoo_op_rmsnorm, 1, (int64_t[]){1}, src, 2);
    char s1[64], s2[64];
    if (x->dtype != ZOO_F32 || (w && w->dtype != ZOO_F32))
        return zoo_node_fail(g, ZOO_ERR_INVALID, "rmsnorm: input and weight must be f32");
    int64_t D = zoo_cols(x);
    if (w && (w->ndim != 1 || w->shape[0] != D))
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "rmsnorm: weight %s does not fit input %s (need (%lld,))",
                             zoo_shape_str(w, s1, 64), zoo_shape_str(x, s2, 64), (long long)D);
    if (!(eps > 0) || !isfinite(eps))
        return zoo_node_fail(g, ZOO_ERR_INVALID, "rmsnorm: eps must be a positive number, got %g", (double)eps);
    zoo_tensor *t = zoo_node_new(g, &zoo_op_rmsnorm, x->ndim, x->shape, src, nsrc);
    if (t) {
        t->fp[0] = eps;
        t->overwrite = 0x3u; /* dx and dw are written whole */
    }
    return t;
}
