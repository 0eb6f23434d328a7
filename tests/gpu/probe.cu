/* probe.cu: what this GPU can do, measured: device facts, the fp32 SGEMM rate through
 * cuBLAS (no TF32, as zoo runs by default), and device-to-device copy bandwidth. Prints
 * one JSON object; exit 77 without a usable device. The ceilings the GPU check compares
 * zoo's step times against (tests/gpu/check.sh). */
#include <stdio.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#define CK(x)                                                                              \
    do {                                                                                   \
        cudaError_t e_ = (x);                                                              \
        if (e_ != cudaSuccess) {                                                           \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
            return 1;                                                                      \
        }                                                                                  \
    } while (0)

static float time_ms(cudaEvent_t a, cudaEvent_t b)
{
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    return ms;
}

int main(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n < 1) {
        printf("SKIP: no usable CUDA device\n");
        return 77;
    }
    cudaDeviceProp p;
    CK(cudaGetDeviceProperties(&p, 0));
    int rt = 0, drv = 0;
    cudaRuntimeGetVersion(&rt);
    cudaDriverGetVersion(&drv);
    const int N = 8192, reps = 5;
    const size_t copy_bytes = (size_t)1 << 30;
    float *A, *B, *C;
    char *src, *dst;
    CK(cudaMalloc(&A, (size_t)N * N * 4));
    CK(cudaMalloc(&B, (size_t)N * N * 4));
    CK(cudaMalloc(&C, (size_t)N * N * 4));
    CK(cudaMalloc(&src, copy_bytes));
    CK(cudaMalloc(&dst, copy_bytes));
    CK(cudaMemset(A, 0, (size_t)N * N * 4));
    CK(cudaMemset(B, 0, (size_t)N * N * 4));
    CK(cudaMemset(src, 1, copy_bytes));
    cublasHandle_t h;
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS || cublasSetMathMode(h, CUBLAS_PEDANTIC_MATH) != CUBLAS_STATUS_SUCCESS)
        return 1;
    const float one = 1, zero = 0;
    cudaEvent_t e0, e1;
    cudaEventCreate(&e0);
    cudaEventCreate(&e1);
    cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, N, N, N, &one, A, N, B, N, &zero, C, N); /* warm-up */
    CK(cudaEventRecord(e0));
    for (int i = 0; i < reps; i++)
        cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, N, N, N, &one, A, N, B, N, &zero, C, N);
    CK(cudaEventRecord(e1));
    CK(cudaEventSynchronize(e1));
    double sgemm_tflops = 2.0 * N * N * (double)N * reps / (time_ms(e0, e1) * 1e-3) / 1e12;
    CK(cudaMemcpy(dst, src, copy_bytes, cudaMemcpyDeviceToDevice));
    CK(cudaEventRecord(e0));
    for (int i = 0; i < reps; i++)
        CK(cudaMemcpyAsync(dst, src, copy_bytes, cudaMemcpyDeviceToDevice, 0));
    CK(cudaEventRecord(e1));
    CK(cudaEventSynchronize(e1));
    /* read + write */
    double copy_gbs = 2.0 * (double)copy_bytes * reps / (time_ms(e0, e1) * 1e-3) / 1e9;
    printf("{\"device\": \"%s\", \"sm\": \"%d.%d\", \"sms\": %d, \"memory_gib\": %.1f, \"devices\": %d, "
           "\"runtime\": %d, \"driver\": %d, \"sgemm_fp32_tflops\": %.2f, \"d2d_copy_gbs\": %.1f}\n",
           p.name, p.major, p.minor, p.multiProcessorCount, (double)p.totalGlobalMem / 1073741824.0, n, rt, drv,
           sgemm_tflops, copy_gbs);
    cublasDestroy(h);
    return 0;
}
