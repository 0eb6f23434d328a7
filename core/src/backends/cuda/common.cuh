/* common.cuh: what every CUDA source of the backend shares: the engine's structs, the
 * run's device context, checked calls that name the file and line, and kernels written
 * so that their bodies also compile and run on the host.
 *
 * Kernel form. Every kernel is a 1-D grid of independent threads: ZOO_KERNEL
 * name(args) { int64_t i = ZOO_GID; if (i >= n) return; ... }. No shared memory, no
 * __syncthreads, no warp shuffles and no atomics: a thread that sums does so alone, in
 * a fixed order (or over fixed partials summed in order by a second kernel), so results
 * are deterministic and every kernel is exactly a loop over i. That loop is what the
 * host form runs: the test build compiles these sources with a C++ compiler (no
 * __CUDACC__) against a stand-in device library that keeps memory on the host, so the
 * kernels, their launch sizes and the backend's host code run in CI without a GPU. */
#ifndef ZOO_CUDA_COMMON_CUH
#define ZOO_CUDA_COMMON_CUH

#include <stdint.h>
#include <cuda_runtime_api.h>
#include <cublas_v2.h>
#include <cufft.h>

extern "C" {
#include "../../internal.h"
#include "zoo/error.h"
}

#define ZOO_CUDA_BLOCK 256

#ifdef __CUDACC__
#include <cuda_runtime.h>
#define ZOO_HD __host__ __device__ __forceinline__
#define ZOO_KERNEL __global__ void __launch_bounds__(ZOO_CUDA_BLOCK)
#define ZOO_GID ((int64_t)blockIdx.x * ZOO_CUDA_BLOCK + threadIdx.x)
/* Launch n threads of kernel k on stream s; evaluates to the launch's cudaError_t. */
#define ZOO_LAUNCH(k, n, s, ...)                                                           \
    ((n) > 0 ? (k<<<(unsigned)(((n) + ZOO_CUDA_BLOCK - 1) / ZOO_CUDA_BLOCK), ZOO_CUDA_BLOCK, 0, (s)>>>(__VA_ARGS__), \
                cudaGetLastError())                                                        \
             : cudaSuccess)
#else
/* Host form: the stand-in device runs (or records, when its stream is capturing) the
 * kernel as a loop that sets the thread index; arguments are bound at launch, as a
 * real launch copies them. */
#include <functional>
#define ZOO_HD static inline
#define ZOO_KERNEL static void
extern "C" int64_t zoo_fakedev_gid;
cudaError_t zoo_fakedev_launch(cudaStream_t s, int64_t n, std::function<void()> body);
#define ZOO_GID zoo_fakedev_gid
#define ZOO_LAUNCH(k, n, s, ...) zoo_fakedev_launch((s), (int64_t)(n), std::bind(k, __VA_ARGS__))
#endif

/* The run's device context (x->impl). */
typedef struct zoo_cuda_ctx {
    int device;
    cudaStream_t stream;
    cublasHandle_t blas;
    void *blas_ws;          /* cuBLAS workspace of this handle: bitwise-reproducible GEMMs */
    int tf32;               /* GEMMs may use TF32 tensor cores (run spec `tf32: true`) */
    zoo_step_state *step;   /* device copy of the step state */
    cufftHandle *plans;
    int n_plans, cap_plans;
    cudaGraphExec_t graph;  /* the captured training step (zoo_graph_step) */
} zoo_cuda_ctx;

static inline zoo_cuda_ctx *zoo_cuda_of(zoo_exec *x) { return (zoo_cuda_ctx *)x->impl; }

/* The cuBLAS calls the backend makes, through pointers that zoo_cublas_load fills
 * (cublas_load.cu says why it is not linked): X(field, cuBLAS function). */
#define ZOO_CUBLAS_FNS(X)                                                                  \
    X(create, cublasCreate)                                                                \
    X(destroy, cublasDestroy)                                                              \
    X(set_stream, cublasSetStream)                                                         \
    X(set_workspace, cublasSetWorkspace)                                                   \
    X(set_math_mode, cublasSetMathMode)                                                    \
    X(sgemm, cublasSgemm)                                                                  \
    X(sgemm_strided_batched, cublasSgemmStridedBatched)
#define ZOO_CUBLAS_FIELD(field, fn) decltype(&fn) field;
typedef struct zoo_cublas_api {
    ZOO_CUBLAS_FNS(ZOO_CUBLAS_FIELD)
} zoo_cublas_api;
#undef ZOO_CUBLAS_FIELD
extern zoo_cublas_api zoo_cublas;

extern "C" {
/* Failure of a CUDA runtime, cuBLAS or cuFFT call: ZOO_ERR_CUDA with the call, its
 * error name and where it was made (the engine prefixes the op and node). */
int zoo_cuda_fail_rt(cudaError_t e, const char *call, const char *file, int line);
int zoo_cuda_fail_blas(cublasStatus_t s, const char *call, const char *file, int line);
int zoo_cuda_fail_fft(cufftResult r, const char *call, const char *file, int line);
/* Fill zoo_cublas, once per process (thread-safe): 0, or ZOO_ERR_CUDA saying why. */
int zoo_cublas_load(void);
/* Register a cuFFT plan made by a prepare hook; destroyed with the context. */
int zoo_cuda_keep_plan(zoo_exec *x, cufftHandle h);
}

#define ZOO_CU(call)                                                                       \
    do {                                                                                   \
        cudaError_t e_ = (call);                                                           \
        if (e_ != cudaSuccess)                                                             \
            return zoo_cuda_fail_rt(e_, #call, __FILE__, __LINE__);                        \
    } while (0)
#define ZOO_CUBLAS(call)                                                                   \
    do {                                                                                   \
        cublasStatus_t s_ = (call);                                                        \
        if (s_ != CUBLAS_STATUS_SUCCESS)                                                   \
            return zoo_cuda_fail_blas(s_, #call, __FILE__, __LINE__);                      \
    } while (0)
#define ZOO_CUFFT(call)                                                                    \
    do {                                                                                   \
        cufftResult r_ = (call);                                                           \
        if (r_ != CUFFT_SUCCESS)                                                           \
            return zoo_cuda_fail_fft(r_, #call, __FILE__, __LINE__);                       \
    } while (0)

/* Row-major GEMM C (m x n) = alpha op(A) op(B) + beta C on the run's stream, written as
 * the CPU's cblas_sgemm(RowMajor) call is (lda etc. are row-major leading dimensions):
 * the column-major mapping lives here once. */
extern "C" int zoo_cuda_gemm(zoo_exec *x, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                             const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                             int64_t ldc);
/* The same, `batch` times, operands `stride_*` floats apart. */
extern "C" int zoo_cuda_gemm_batched(zoo_exec *x, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                                     float alpha, const float *A, int64_t lda, int64_t stride_a, const float *B,
                                     int64_t ldb, int64_t stride_b, float beta, float *C, int64_t ldc,
                                     int64_t stride_c, int64_t batch);

/* Counter-based dropout hash on the device, bit for bit the host's (internal.h). */
ZOO_HD uint64_t zoo_cu_mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
ZOO_HD double zoo_cu_hash_uniform(uint64_t key, uint64_t i)
{
    return (double)(zoo_cu_mix64(key ^ zoo_cu_mix64(i)) >> 11) * (1.0 / 9007199254740992.0);
}
/* Node `id`'s dropout key for the step in the device step state (zoo_node_step_key). */
ZOO_HD uint64_t zoo_cu_node_key(const zoo_step_state *st, int id)
{
    return zoo_cu_mix64(st->seed ^ zoo_cu_mix64(st->step * 1315423911ull + (uint64_t)id));
}

/* The op slot this file fills: prepare (may be NULL), forward, backward. */
#define ZOO_CUDA_OP_FNS(name)                                                              \
    extern "C" int zoo_cuda_##name##_prepare(zoo_exec *x, zoo_tensor *t);                  \
    extern "C" int zoo_cuda_##name##_forward(zoo_exec *x, zoo_tensor *t);                  \
    extern "C" int zoo_cuda_##name##_backward(zoo_exec *x, zoo_tensor *t);

#endif
