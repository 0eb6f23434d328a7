/* cublas.c: the cuBLAS calls the backend makes, as OpenBLAS column-major sgemm on the
 * stand-in device's memory. Every operand must lie in device memory over the whole
 * extent its (rows, cols, ld) describe, which checks each transpose and leading
 * dimension the backend passes. */
#include <stdlib.h>

#include <cblas.h>
#include <cublas_v2.h>

#include "fakedev.h"

struct cublasContext {
    cudaStream_t stream;
    void *ws;
    size_t ws_bytes;
    cublasMath_t math;
};

cublasStatus_t cublasCreate_v2(cublasHandle_t *handle)
{
    *handle = calloc(1, sizeof **handle);
    return *handle ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_ALLOC_FAILED;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t handle)
{
    free(handle);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId)
{
    handle->stream = streamId;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void *workspace, size_t workspaceSizeInBytes)
{
    if (workspaceSizeInBytes && !zoo_fakedev_is_device(workspace, workspaceSizeInBytes))
        return CUBLAS_STATUS_INVALID_VALUE;
    handle->ws = workspace;
    handle->ws_bytes = workspaceSizeInBytes;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode)
{
    handle->math = mode;
    return CUBLAS_STATUS_SUCCESS;
}

/* A column-major rows x cols operand with leading dimension ld lies in device memory. */
static int operand_ok(const char *what, const float *p, int rows, int cols, int ld)
{
    if (rows < 0 || cols < 0 || ld < (rows > 1 ? rows : 1)) {
        zoo_fakedev_fail(cudaErrorInvalidValue, "cublas: operand %s is %d x %d with leading dimension %d", what, rows,
                         cols, ld);
        return 0;
    }
    if (!rows || !cols)
        return 1;
    size_t bytes = ((size_t)(cols - 1) * (size_t)ld + (size_t)rows) * sizeof(float);
    if (!zoo_fakedev_is_device(p, bytes)) {
        zoo_fakedev_fail(cudaErrorInvalidValue,
                         "cublas: operand %s (%d x %d, ld %d, %zu bytes at %p) is not inside one device allocation", what,
                         rows, cols, ld, bytes, (const void *)p);
        return 0;
    }
    return 1;
}

static enum CBLAS_TRANSPOSE op_of(cublasOperation_t t) { return t == CUBLAS_OP_N ? CblasNoTrans : CblasTrans; }

/* The scalars are read when the call is made (host pointer mode), as cuBLAS does. */
typedef struct gemm_args {
    cublasOperation_t ta, tb;
    int m, n, k;
    float alpha;
    const float *A;
    int lda;
    long long sa;
    const float *B;
    int ldb;
    long long sb;
    float beta;
    float *C;
    int ldc;
    long long sc;
    int batch;
} gemm_args;

static void do_gemm(const void *arg)
{
    const gemm_args *g = arg;
    for (int b = 0; b < g->batch && g->m && g->n; b++)
        cblas_sgemm(CblasColMajor, op_of(g->ta), op_of(g->tb), g->m, g->n, g->k, g->alpha, g->A + b * g->sa, g->lda,
                    g->B + b * g->sb, g->ldb, g->beta, g->C + b * g->sc, g->ldc);
}

static cublasStatus_t gemm_checked(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                   const float *alpha, const float *A, int lda, long long sa, const float *B, int ldb,
                                   long long sb, const float *beta, float *C, int ldc, long long sc, int batch)
{
    if (m < 0 || n < 0 || k < 0 || batch < 0)
        return CUBLAS_STATUS_INVALID_VALUE;
    for (int b = 0; b < batch; b++) {
        const float *a = A + b * sa, *bb = B + b * sb;
        float *c = C + b * sc;
        /* op(A) is m x k: A is m x k (N) or k x m (T) */
        if (!operand_ok("A", a, ta == CUBLAS_OP_N ? m : k, ta == CUBLAS_OP_N ? k : m, lda) ||
            !operand_ok("B", bb, tb == CUBLAS_OP_N ? k : n, tb == CUBLAS_OP_N ? n : k, ldb) ||
            !operand_ok("C", c, m, n, ldc))
            return CUBLAS_STATUS_INVALID_VALUE;
    }
    gemm_args g = {ta, tb, m, n, k, *alpha, A, lda, sa, B, ldb, sb, *beta, C, ldc, sc, batch};
    return zoo_fakedev_submit(h->stream, do_gemm, &g, sizeof g) == cudaSuccess ? CUBLAS_STATUS_SUCCESS
                                                                                : CUBLAS_STATUS_EXECUTION_FAILED;
}

cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                              int k, const float *alpha, const float *A, int lda, const float *B, int ldb,
                              const float *beta, float *C, int ldc)
{
    return gemm_checked(handle, transa, transb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1);
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                         int m, int n, int k, const float *alpha, const float *A, int lda,
                                         long long int strideA, const float *B, int ldb, long long int strideB,
                                         const float *beta, float *C, int ldc, long long int strideC, int batchCount)
{
    return gemm_checked(handle, transa, transb, m, n, k, alpha, A, lda, strideA, B, ldb, strideB, beta, C, ldc,
                        strideC, batchCount);
}
