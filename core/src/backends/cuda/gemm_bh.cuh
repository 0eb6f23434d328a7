/* gemm_bh.cuh: a GEMM per (batch, head) of packed multi-head tensors, as few cuBLAS
 * strided-batched calls as the strides allow (attention.cu, linear_attention.cu). */
#ifndef ZOO_CUDA_GEMM_BH_CUH
#define ZOO_CUDA_GEMM_BH_CUH

#include "common.cuh"

/* One operand of a per-(batch, head) GEMM: base pointer, row-major leading dimension,
 * and the strides between batches and between heads. */
typedef struct zoo_bh_op {
    const float *p;
    int64_t ld, sb, sh;
} zoo_bh_op;

/* C[b, h] = alpha op(A[b, h]) op(B[b, h]) + beta C[b, h] for every (b, h): one strided
 * batch over all B*H when the strides allow, else batches over the longer of the two
 * axes, one call per entry of the shorter. */
static inline int zoo_cuda_gemm_bh(zoo_exec *x, int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                                   zoo_bh_op A, zoo_bh_op Bm, float beta, zoo_bh_op C, int64_t B, int64_t H)
{
    float *c = (float *)C.p;
    if (H == 1)
        return zoo_cuda_gemm_batched(x, ta, tb, m, n, k, alpha, A.p, A.ld, A.sb, Bm.p, Bm.ld, Bm.sb, beta, c, C.ld,
                                     C.sb, B);
    if (B == 1 || (A.sb == H * A.sh && Bm.sb == H * Bm.sh && C.sb == H * C.sh))
        return zoo_cuda_gemm_batched(x, ta, tb, m, n, k, alpha, A.p, A.ld, A.sh, Bm.p, Bm.ld, Bm.sh, beta, c, C.ld,
                                     C.sh, B * H);
    if (B <= H) {
        for (int64_t b = 0; b < B; b++) {
            int rc = zoo_cuda_gemm_batched(x, ta, tb, m, n, k, alpha, A.p + b * A.sb, A.ld, A.sh, Bm.p + b * Bm.sb,
                                           Bm.ld, Bm.sh, beta, c + b * C.sb, C.ld, C.sh, H);
            if (rc)
                return rc;
        }
        return 0;
    }
    for (int64_t h = 0; h < H; h++) {
        int rc = zoo_cuda_gemm_batched(x, ta, tb, m, n, k, alpha, A.p + h * A.sh, A.ld, A.sb, Bm.p + h * Bm.sh, Bm.ld,
                                       Bm.sb, beta, c + h * C.sh, C.ld, C.sb, B);
        if (rc)
            return rc;
    }
    return 0;
}

#endif
