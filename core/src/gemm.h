/* gemm.h: the CPU backend's matrix product: row-major sgemm cut into tiles of C fixed
 * by the shape alone and spread over the OpenMP threads. Internal to libzoo. */
#ifndef ZOO_GEMM_H
#define ZOO_GEMM_H

#include <stdint.h>

#include <cblas.h>

/* C (m, n) = alpha op(A) op(B) + beta C, all row-major; op(A) is (m, k), op(B) (k, n).
 * Outside a parallel region the tiles run in parallel; inside one (a kernel's own
 * tasks), in order on the calling thread. Every element of C is one BLAS dot product
 * over all of k, and the tiles depend only on (m, n, k): the same bits on any number
 * of threads. */
void zoo_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k, float alpha,
              const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

/* The same with a workspace of zoo_gemm_ws_floats(m, n, k) floats (NULL: none), which
 * lets a product with a long k and a small C split k into chunks: each chunk is one
 * sgemm over all of C, and the chunks are added in chunk order (still the same bits on
 * any number of threads, though not those of zoo_gemm). Request it as aux scratch. */
void zoo_gemm_ws(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k, float alpha,
                 const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc,
                 float *ws);
int64_t zoo_gemm_ws_floats(int64_t m, int64_t n, int64_t k);

/* OpenBLAS to one thread (threads.c); call before BLAS from inside a parallel region. */
void zoo_blas_single(void);

#endif
