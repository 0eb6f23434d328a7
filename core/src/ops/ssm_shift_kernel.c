/* ssm_shift_kernel.c: H3's shift-SSM convolution kernel (docs/mixers.md, h3),
 * K[h,j] = sum_n B[h,n] C[h,n+j] for j < min(N, L), zero beyond: the cross-correlation of
 * B and C. Computed directly (N^2 per channel, once per step); the conv itself is fftconv. */
#include <string.h>

#include "../backends/cuda/slot.h"
#include "../internal.h"

static int shift_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    const zoo_tensor *Bt = t->src[0], *Ct = t->src[1];
    int64_t H = Bt->shape[0], N = Bt->shape[1], L = t->shape[1], J = N < L ? N : L;
    const float *B = Bt->data, *C = Ct->data; /* B, C: (H, N) */
    float *K = t->data;                       /* K: (H, L) */
#pragma omp parallel for schedule(static)
    for (int64_t h = 0; h < H; h++) {
        const float *b = B + h * N, *c = C + h * N;
        float *k = K + h * L;
        memset(k, 0, (size_t)L * sizeof *k);
        for (int64_t j = 0; j < J; j++) {
            float s = 0;
            for (int64_t n = 0; n + j < N; n++)
                s += b[n] * c[n + j];
            k[j] = s;
        }
    }
    return 0;
}

/* dB[h,n] = sum_j dK[h,j] C[h,n+j]; dC[h,m] = sum_{j<=m} dK[h,j] B[h,m-j] (j < min(N, L)) */
static int shift_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *Bt = t->src[0], *Ct = t->src[1];
    int64_t H = Bt->shape[0], N = Bt->shape[1], L = t->shape[1], J = N < L ? N : L;
    const float *dK = t->grad; /* dK: (H, L) */
#pragma omp parallel for schedule(static)
    for (int64_t h = 0; h < H; h++) {
        const float *b = Bt->data + h * N, *c = Ct->data + h * N, *dk = dK + h * L;
        if (Bt->grad)
            for (int64_t n = 0; n < N; n++) {
                float s = 0;
                for (int64_t j = 0; j < J && n + j < N; j++)
                    s += dk[j] * c[n + j];
                Bt->grad[h * N + n] += s;
            }
        if (Ct->grad)
            for (int64_t m = 0; m < N; m++) {
                float s = 0;
                for (int64_t j = 0; j < J && j <= m; j++)
                    s += dk[j] * b[m - j];
                Ct->grad[h * N + m] += s;
            }
    }
    return 0;
}

ZOO_CUDA_DECLARE(ssm_shift_kernel)
const zoo_op_def zoo_op_ssm_shift_kernel = {
    "ssm_shift_kernel",
    {[ZOO_BACKEND_CPU] = {NULL, shift_fwd_cpu, shift_bwd_cpu} ZOO_CUDA_SLOT_NOPREP(ssm_shift_kernel)}, 0};

zoo_tensor *zoo_ssm_shift_kernel(zoo_graph *g, zoo_tensor *B, zoo_tensor *C, int64_t L)
{
    if (!g || g->status || !B || !C)
        return zoo_node_new(g, &zoo_op_ssm_shift_kernel, 1, (int64_t[]){1}, (zoo_tensor *[]){B, C}, 2);
    char s1[64], s2[64];
    if (B->ndim != 2)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "ssm_shift_kernel: B %s must be (H, N)", zoo_shape_str(B, s1, 64));
    int64_t H = B->shape[0], N = B->shape[1];
    int ok = (C->ndim == 2 && C->shape[0] == H && C->shape[1] == N) ||
             (C->ndim == 3 && C->shape[0] == 1 && C->shape[1] == H && C->shape[2] == N);
    if (!ok)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "ssm_shift_kernel: C %s does not fit B %s (need (1, %lld, %lld))",
                             zoo_shape_str(C, s1, 64), zoo_shape_str(B, s2, 64), (long long)H, (long long)N);
    if (L < 1)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "ssm_shift_kernel: length must be >= 1 (got %lld)", (long long)L);
    return zoo_node_new(g, &zoo_op_ssm_shift_kernel, 2, (int64_t[]){H, L}, (zoo_tensor *[]){B, C}, 2);
}
