/* linear.c: y = x W^T + b with OpenBLAS sgemm (tiled by zoo_gemm), W stored (out, in)
 * as PyTorch does. Backward: dx += dy W, dW += dy^T x, db += sum_rows dy. */
#include "../backends/cuda/slot.h"
#include "../gemm.h"
#include "../internal.h"
#include "../vecmath.h"

#define ROWS_PER_BLOCK 256 /* rows per partial bias-gradient sum */

static int64_t nblocks_of(int64_t rows) { return (rows + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK; }

/* aux: the partial bias-gradient sums (nblocks, out), padded, then the dW workspace */
static int64_t bias_floats(const zoo_tensor *t)
{
    return t->nsrc > 2 ? (nblocks_of(zoo_rows(t->src[0])) * t->src[1]->shape[0] + 15) / 16 * 16 : 0;
}

/* s[o] = sum over the n rows of d[r, o], rows in order. */
VEC_CLONES static void col_sums(const float *d, float *s, int64_t n, int64_t cols)
{
    for (int64_t o = 0; o < cols; o++)
        s[o] = 0.0f;
    for (int64_t r = 0; r < n; r++) {
        const float *dr = d + r * cols;
#pragma omp simd
        for (int64_t o = 0; o < cols; o++)
            s[o] += dr[o];
    }
}

static int linear_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *X = t->src[0], *W = t->src[1], *B = t->nsrc > 2 ? t->src[2] : NULL;
    int64_t rows = zoo_rows(X), in = zoo_cols(X), out = W->shape[0];
    float *y = t->data; /* y: (rows, out) */
    if (B) {
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < rows; r++)
            for (int64_t o = 0; o < out; o++)
                y[r * out + o] = B->data[o];
    }
    zoo_gemm(CblasNoTrans, CblasTrans, rows, out, in, 1.0f, X->data, in, W->data, in, B ? 1.0f : 0.0f, y, out);
    return 0;
}

static int linear_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *X = t->src[0], *W = t->src[1], *B = t->nsrc > 2 ? t->src[2] : NULL;
    int64_t rows = zoo_rows(X), in = zoo_cols(X), out = W->shape[0];
    const float *dy = t->grad; /* dy: (rows, out) */
    if (X->grad)
        zoo_gemm(CblasNoTrans, CblasNoTrans, rows, in, out, 1.0f, dy, out, W->data, in,
                 zoo_grad_fresh(t, 0) ? 0.0f : 1.0f, X->grad, in);
    if (W->grad) /* k = rows is long: split it into the planned workspace */
        zoo_gemm_ws(CblasTrans, CblasNoTrans, out, in, rows, 1.0f, dy, out, X->data, in,
                    zoo_grad_fresh(t, 1) ? 0.0f : 1.0f, W->grad, in, t->aux + bias_floats(t));
    if (B && B->grad) {
        /* db = column sums of dy: each fixed block of rows sums its rows (contiguous
         * reads), then the block sums are added in block order (deterministic) */
        int64_t nb = nblocks_of(rows);
        float *part = t->aux; /* (nb, out) */
#pragma omp parallel for schedule(static)
        for (int64_t k = 0; k < nb; k++) {
            int64_t r0 = k * ROWS_PER_BLOCK, n = rows - r0 < ROWS_PER_BLOCK ? rows - r0 : ROWS_PER_BLOCK;
            col_sums(dy + r0 * out, part + k * out, n, out);
        }
#pragma omp parallel for schedule(static)
        for (int64_t o = 0; o < out; o++) {
            float s = zoo_grad_fresh(t, 2) ? 0.0f : B->grad[o];
            for (int64_t k = 0; k < nb; k++)
                s += part[k * out + o];
            B->grad[o] = s;
        }
    }
    return 0;
}

/* Workspace of the CPU kernels, sized for this backend (threads included). */
static int linear_prepare_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    const zoo_tensor *W = t->src[1];
    t->aux_n = bias_floats(t) + zoo_gemm_ws_floats(W->shape[0], W->shape[1], zoo_rows(t->src[0]));
    return 0;
}

ZOO_CUDA_DECLARE(linear)
const zoo_op_def zoo_op_linear = {
    "linear", {[ZOO_BACKEND_CPU] = {linear_prepare_cpu, linear_fwd_cpu, linear_bwd_cpu} ZOO_CUDA_SLOT(linear)}, ZOO_MEM_NO_OUT | ZOO_MEM_AUX_SCRATCH};

zoo_tensor *zoo_linear(zoo_graph *g, zoo_tensor *x, zoo_tensor *W, zoo_tensor *b)
{
    zoo_tensor *src[3] = {x, W, b};
    int nsrc = b ? 3 : 2;
    if (!g || g->status || !x || !W)
        return zoo_node_new(g, &zoo_op_linear, 1, (int64_t[]){1}, src, nsrc);
    char s1[64], s2[64];
    if (W->ndim != 2 || W->shape[1] != zoo_cols(x))
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "linear: weight %s does not fit input %s (need (out, %lld))",
                             zoo_shape_str(W, s1, 64), zoo_shape_str(x, s2, 64), (long long)zoo_cols(x));
    if (b && (b->ndim != 1 || b->shape[0] != W->shape[0]))
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "linear: bias %s does not fit weight %s", zoo_shape_str(b, s1, 64),
                             zoo_shape_str(W, s2, 64));
    int64_t shape[ZOO_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++)
        shape[i] = x->shape[i];
    shape[x->ndim - 1] = W->shape[0];
    zoo_tensor *t = zoo_node_new(g, &zoo_op_linear, x->ndim, shape, src, nsrc);
    if (t) {
        t->overwrite = 0x7u; /* dx, dW and db are written whole */
    }
    return t;
}
