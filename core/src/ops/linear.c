/* linear.c: y = x W^T + b with OpenBLAS sgemm (tiled by zoo_gemm), W stored (out, in)
 * as PyTorch does. Backward: dx += dy W, dW += dy^T x, db += sum_rows dy. */
#include "../gemm.h"
#include "../internal.h"

#define COL_BLOCK 32 /* bias elements per reduction task */

static void linear_fwd_cpu(zoo_graph *g, zoo_tensor *t)
{
    (void)g;
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
}

static void linear_bwd_cpu(zoo_graph *g, zoo_tensor *t)
{
    (void)g;
    zoo_tensor *X = t->src[0], *W = t->src[1], *B = t->nsrc > 2 ? t->src[2] : NULL;
    int64_t rows = zoo_rows(X), in = zoo_cols(X), out = W->shape[0];
    const float *dy = t->grad; /* dy: (rows, out) */
    if (X->grad)
        zoo_gemm(CblasNoTrans, CblasNoTrans, rows, in, out, 1.0f, dy, out, W->data, in, 1.0f, X->grad, in);
    if (W->grad)
        zoo_gemm(CblasTrans, CblasNoTrans, out, in, rows, 1.0f, dy, out, X->data, in, 1.0f, W->grad, in);
    if (B && B->grad) {
        /* column sums in row order; threads own blocks of columns, rows read contiguously */
#pragma omp parallel for schedule(static)
        for (int64_t o0 = 0; o0 < out; o0 += COL_BLOCK) {
            int64_t n = out - o0 < COL_BLOCK ? out - o0 : COL_BLOCK;
            float s[COL_BLOCK] = {0};
            for (int64_t r = 0; r < rows; r++) {
                const float *d = dy + r * out + o0;
                for (int64_t i = 0; i < n; i++)
                    s[i] += d[i];
            }
            for (int64_t i = 0; i < n; i++)
                B->grad[o0 + i] += s[i];
        }
    }
}

static const zoo_op_def op = {"linear", {linear_fwd_cpu, NULL}, {linear_bwd_cpu, NULL}};

zoo_tensor *zoo_linear(zoo_graph *g, zoo_tensor *x, zoo_tensor *W, zoo_tensor *b)
{
    zoo_tensor *src[3] = {x, W, b};
    int nsrc = b ? 3 : 2;
    if (!g || g->status || !x || !W)
        return zoo_node_new(g, &op, 1, (int64_t[]){1}, src, nsrc);
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
    return zoo_node_new(g, &op, x->ndim, shape, src, nsrc);
}
