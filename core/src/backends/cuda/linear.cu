/* linear.cu: y = x W^T + b (ops/linear.c), W stored (out, in). The three products
 * (y, dx = dy W, dW = dy^T x) are cuBLAS GEMMs; y starts as the broadcast bias and the
 * GEMM adds onto it (beta 1), as the CPU does. The bias gradient is the CPU's sum, bit
 * for bit: fixed blocks of ROWS_PER_BLOCK rows, each summed in row order by one thread
 * per (block, column) into aux, then one thread per column adds the block sums in block
 * order. No atomics: the same bits on every run. */
#include "common.cuh"

ZOO_CUDA_OP_FNS(linear)

#define ROWS_PER_BLOCK 256 /* rows per partial bias-gradient sum (linear.c's) */

static int64_t nblocks_of(int64_t rows) { return (rows + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK; }

/* y[r, o] = b[o] */
ZOO_KERNEL linear_bias_fill(const float *b, float *y, int64_t n, int64_t out)
{
    int64_t i = ZOO_GID;
    if (i < n)
        y[i] = b[i % out];
}

/* part[k, o] = sum of dy[r, o] over the rows r of block k, in row order */
ZOO_KERNEL linear_bias_part(const float *dy, float *part, int64_t rows, int64_t out, int64_t nb)
{
    int64_t i = ZOO_GID;
    if (i >= nb * out)
        return;
    int64_t k = i / out, o = i % out;
    int64_t r0 = k * ROWS_PER_BLOCK, r1 = r0 + ROWS_PER_BLOCK < rows ? r0 + ROWS_PER_BLOCK : rows;
    float s = 0.0f;
    for (int64_t r = r0; r < r1; r++)
        s += dy[r * out + o];
    part[i] = s;
}

/* db[o] (=, or +=) the block sums in block order */
ZOO_KERNEL linear_bias_total(const float *part, float *db, int64_t out, int64_t nb, int fresh)
{
    int64_t o = ZOO_GID;
    if (o >= out)
        return;
    float s = fresh ? 0.0f : db[o];
    for (int64_t k = 0; k < nb; k++)
        s += part[k * out + o];
    db[o] = s;
}

/* aux: the partial bias sums (nblocks, out); cuBLAS needs no workspace of ours */
extern "C" int zoo_cuda_linear_prepare(zoo_exec *x, zoo_tensor *t)
{
    (void)x;
    t->aux_n = t->nsrc > 2 ? nblocks_of(zoo_rows(t->src[0])) * t->src[1]->shape[0] : 0;
    return 0;
}

extern "C" int zoo_cuda_linear_forward(zoo_exec *x, zoo_tensor *t)
{
    const zoo_tensor *X = t->src[0], *W = t->src[1], *B = t->nsrc > 2 ? t->src[2] : NULL;
    int64_t rows = zoo_rows(X), in = zoo_cols(X), out = W->shape[0];
    if (B)
        ZOO_CU(ZOO_LAUNCH(linear_bias_fill, t->n, zoo_cuda_of(x)->stream, B->data, t->data, t->n, out));
    if (rows > 0 && out > 0)
        return zoo_cuda_gemm(x, 0, 1, rows, out, in, 1.0f, X->data, in, W->data, in, B ? 1.0f : 0.0f, t->data, out);
    return 0;
}

extern "C" int zoo_cuda_linear_backward(zoo_exec *x, zoo_tensor *t)
{
    zoo_tensor *X = t->src[0], *W = t->src[1], *B = t->nsrc > 2 ? t->src[2] : NULL;
    int64_t rows = zoo_rows(X), in = zoo_cols(X), out = W->shape[0];
    const float *dy = t->grad; /* (rows, out) */
    int rc;
    if (X->grad && (rc = zoo_cuda_gemm(x, 0, 0, rows, in, out, 1.0f, dy, out, W->data, in,
                                       zoo_grad_fresh(t, 0) ? 0.0f : 1.0f, X->grad, in)))
        return rc;
    if (W->grad && (rc = zoo_cuda_gemm(x, 1, 0, out, in, rows, 1.0f, dy, out, X->data, in,
                                       zoo_grad_fresh(t, 1) ? 0.0f : 1.0f, W->grad, in)))
        return rc;
    if (B && B->grad) {
        cudaStream_t s = zoo_cuda_of(x)->stream;
        int64_t nb = nblocks_of(rows);
        ZOO_CU(ZOO_LAUNCH(linear_bias_part, nb * out, s, dy, t->aux, rows, out, nb));
        ZOO_CU(ZOO_LAUNCH(linear_bias_total, out, s, t->aux, B->grad, out, nb, zoo_grad_fresh(t, 2)));
    }
    return 0;
}
