/* backend.cu: the CUDA backend's interface: device choice, the run's stream and
 * handles, planned memory, copies, synchronisation and the AdamW kernel. One stream per
 * run; everything is queued on it, so a run's work is ordered without host syncs, and
 * the host waits only where it reads results back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.cuh"

#define ZOO_MATH_FN ZOO_HD
#include "../adamw_math.h"

#define BLAS_WS_BYTES (32u << 20) /* cuBLAS workspace per handle (Hopper's recommendation) */

extern "C" int zoo_cuda_fail_rt(cudaError_t e, const char *call, const char *file, int line)
{
    return zoo_error_set(ZOO_ERR_CUDA, file, line, "%s: %s (%s)", call, cudaGetErrorName(e), cudaGetErrorString(e));
}

extern "C" int zoo_cuda_fail_blas(cublasStatus_t s, const char *call, const char *file, int line)
{
    return zoo_error_set(ZOO_ERR_CUDA, file, line, "%s: cuBLAS status %d", call, (int)s);
}

extern "C" int zoo_cuda_fail_fft(cufftResult r, const char *call, const char *file, int line)
{
    return zoo_error_set(ZOO_ERR_CUDA, file, line, "%s: cuFFT result %d", call, (int)r);
}

/* The device a rank takes: ZOO_CUDA_DEVICE when set, else its node-local rank (Open
 * MPI, then SLURM) modulo the devices, so N ranks on one node spread over its GPUs and
 * several ranks share one GPU when there are more ranks than GPUs. */
static int pick_device(int count)
{
    const char *names[] = {"ZOO_CUDA_DEVICE", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *v = getenv(names[i]);
        if (v && *v) {
            long r = strtol(v, NULL, 10);
            return r < 0 ? 0 : (int)(i == 0 ? r : r % count);
        }
    }
    return 0;
}

static int cuda_available(void)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess)
        return ZOO_FAIL(ZOO_ERR_UNSUPPORTED, "no usable CUDA device here (%s: %s): use backend cpu or auto",
                        cudaGetErrorName(e), cudaGetErrorString(e));
    if (n < 1)
        return ZOO_FAIL(ZOO_ERR_UNSUPPORTED, "no CUDA device here: use backend cpu or auto");
    (void)cudaGetLastError(); /* a failed probe must not stick to the next call */
    return 0;
}

static int describe(char *buf, size_t n)
{
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count < 1)
        return ZOO_FAIL(ZOO_ERR_UNSUPPORTED, "no CUDA device");
    int d = pick_device(count);
    if (d >= count)
        return ZOO_FAIL(ZOO_ERR_INVALID, "ZOO_CUDA_DEVICE=%d but this node has %d CUDA device%s", d, count,
                        count == 1 ? "" : "s");
    cudaDeviceProp p;
    ZOO_CU(cudaGetDeviceProperties(&p, d));
    snprintf(buf, n, "cuda:%d of %d (%s, sm_%d%d, %.1f GiB)", d, count, p.name, p.major, p.minor,
             (double)p.totalGlobalMem / 1073741824.0);
    return 0;
}

static void ctx_free(zoo_cuda_ctx *c)
{
    if (!c)
        return;
    if (c->graph)
        cudaGraphExecDestroy(c->graph);
    for (int i = 0; i < c->n_plans; i++)
        cufftDestroy(c->plans[i]);
    free(c->plans);
    if (c->blas)
        zoo_cublas.destroy(c->blas);
    if (c->stream)
        cudaStreamSynchronize(c->stream);
    cudaFree(c->blas_ws);
    cudaFree(c->step);
    if (c->stream)
        cudaStreamDestroy(c->stream);
    free(c);
}

ZOO_KERNEL fill_kernel(float *p, float v, int64_t n)
{
    int64_t i = ZOO_GID;
    if (i < n)
        p[i] = v;
}

static int ctx_init(zoo_exec *x, zoo_cuda_ctx *c)
{
    int count = 0;
    ZOO_CU(cudaGetDeviceCount(&count));
    c->device = pick_device(count);
    if (c->device >= count)
        return ZOO_FAIL(ZOO_ERR_INVALID, "ZOO_CUDA_DEVICE=%d but this node has %d CUDA device%s", c->device, count,
                        count == 1 ? "" : "s");
    ZOO_CU(cudaSetDevice(c->device));
    ZOO_CU(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
    int rc = zoo_cublas_load();
    if (rc)
        return rc;
    ZOO_CUBLAS(zoo_cublas.create(&c->blas));
    ZOO_CUBLAS(zoo_cublas.set_stream(c->blas, c->stream));
    ZOO_CU(cudaMalloc(&c->blas_ws, BLAS_WS_BYTES));
    ZOO_CUBLAS(zoo_cublas.set_workspace(c->blas, c->blas_ws, BLAS_WS_BYTES));
    c->tf32 = x->g && x->g->tf32;
    ZOO_CUBLAS(zoo_cublas.set_math_mode(c->blas, c->tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH));
    ZOO_CU(cudaMalloc((void **)&c->step, sizeof(zoo_step_state)));
    return 0;
}

static int cuda_exec_init(zoo_exec *x)
{
    zoo_cuda_ctx *c = (zoo_cuda_ctx *)calloc(1, sizeof *c);
    if (!c)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "cuda backend: out of host memory");
    int rc = ctx_init(x, c);
    if (rc) {
        ctx_free(c);
        return rc;
    }
    x->impl = c;
    x->threads = 1;
    x->step = c->step;
    return 0;
}

static void cuda_exec_free(zoo_exec *x)
{
    ctx_free(zoo_cuda_of(x));
    x->impl = NULL;
    x->step = NULL;
}

extern "C" int zoo_cuda_keep_plan(zoo_exec *x, cufftHandle h)
{
    zoo_cuda_ctx *c = zoo_cuda_of(x);
    if (c->n_plans == c->cap_plans) {
        int cap = c->cap_plans ? 2 * c->cap_plans : 8;
        cufftHandle *p = (cufftHandle *)realloc(c->plans, (size_t)cap * sizeof *p);
        if (!p) {
            cufftDestroy(h);
            return ZOO_FAIL(ZOO_ERR_NOMEM, "out of host memory keeping a cuFFT plan");
        }
        c->plans = p;
        c->cap_plans = cap;
    }
    c->plans[c->n_plans++] = h;
    return 0;
}

static int cuda_alloc(zoo_exec *x, size_t bytes, void **out)
{
    (void)x;
    cudaError_t e = cudaMalloc(out, bytes ? bytes : 256); /* 256-byte aligned */
    if (e != cudaSuccess) {
        *out = NULL;
        (void)cudaGetLastError();
        return ZOO_FAIL(ZOO_ERR_NOMEM, "cuda backend: cannot allocate %.1f MiB of device memory (%s)",
                        (double)bytes / 1048576.0, cudaGetErrorString(e));
    }
    return 0;
}

static void cuda_free(zoo_exec *x, void *p)
{
    (void)x;
    cudaFree(p);
}

static int cuda_memset(zoo_exec *x, void *dst, int value, size_t bytes)
{
    ZOO_CU(cudaMemsetAsync(dst, value, bytes, zoo_cuda_of(x)->stream));
    return 0;
}

/* Ordered on the run's stream. From pageable host memory the call returns once the
 * source is staged, and to it once the data has arrived, so a host buffer is free to
 * reuse, and a read sees every kernel queued before it. */
static int cuda_copy(zoo_exec *x, void *dst, const void *src, size_t bytes, zoo_copy_kind kind)
{
    static const cudaMemcpyKind kinds[] = {cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice};
    if (!bytes)
        return 0;
    cudaStream_t s = zoo_cuda_of(x)->stream;
    ZOO_CU(cudaMemcpyAsync(dst, src, bytes, kinds[kind], s));
    if (kind == ZOO_COPY_D2H)
        ZOO_CU(cudaStreamSynchronize(s));
    return 0;
}

static int cuda_synchronize(zoo_exec *x)
{
    ZOO_CU(cudaStreamSynchronize(zoo_cuda_of(x)->stream));
    ZOO_CU(cudaGetLastError());
    return 0;
}

ZOO_KERNEL adamw_kernel(float *p, const float *g, float *m, float *v, const uint8_t *mask, int64_t n,
                        const zoo_step_state *k)
{
    int64_t i = ZOO_GID;
    if (i < n && mask[i])
        zoo_adamw_elem(p + i, g[i], m + i, v + i, k);
}

static int cuda_adamw(zoo_exec *x, float *p, const float *g, float *m, float *v, const uint8_t *mask, int64_t n)
{
    ZOO_CU(ZOO_LAUNCH(adamw_kernel, n, zoo_cuda_of(x)->stream, p, g, m, v, mask, n, x->step));
    return 0;
}

static int cuda_fill(zoo_exec *x, float *dst, float value, int64_t n)
{
    ZOO_CU(ZOO_LAUNCH(fill_kernel, n, zoo_cuda_of(x)->stream, dst, value, n));
    return 0;
}

ZOO_KERNEL log_loss_kernel(float *hist, const float *loss, const zoo_step_state *st)
{
    if (ZOO_GID == 0)
        hist[st->loss_slot] = *loss;
}

static int cuda_log_loss(zoo_exec *x, float *hist, const float *loss)
{
    ZOO_CU(ZOO_LAUNCH(log_loss_kernel, 1, zoo_cuda_of(x)->stream, hist, loss, (const zoo_step_state *)x->step));
    return 0;
}

/* Whole-step graphs: the step's kernels, fills, GEMMs and FFTs are captured from the
 * run's stream once and replayed; per-step values come from the step state, which is
 * uploaded before each replay. */
static int cuda_capture_begin(zoo_exec *x)
{
    ZOO_CU(cudaStreamBeginCapture(zoo_cuda_of(x)->stream, cudaStreamCaptureModeThreadLocal));
    return 0;
}

static int cuda_capture_end(zoo_exec *x, int keep)
{
    zoo_cuda_ctx *c = zoo_cuda_of(x);
    cudaGraph_t g = NULL;
    cudaError_t e = cudaStreamEndCapture(c->stream, &g);
    if (e == cudaSuccess && keep) {
        if (c->graph)
            cudaGraphExecDestroy(c->graph);
        c->graph = NULL;
        e = cudaGraphInstantiate(&c->graph, g, 0);
    }
    if (g)
        cudaGraphDestroy(g);
    if (e != cudaSuccess)
        return zoo_cuda_fail_rt(e, keep ? "capturing the training step as a CUDA graph" : "ending a discarded capture",
                                __FILE__, __LINE__);
    return 0;
}

static int cuda_replay(zoo_exec *x)
{
    zoo_cuda_ctx *c = zoo_cuda_of(x);
    if (!c->graph)
        return ZOO_FAIL(ZOO_ERR_STATE, "no captured step to replay");
    ZOO_CU(cudaGraphLaunch(c->graph, c->stream));
    return 0;
}

extern "C" int zoo_cuda_gemm(zoo_exec *x, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                             const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                             int64_t ldc)
{
    /* row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands */
    ZOO_CUBLAS(zoo_cublas.sgemm(zoo_cuda_of(x)->blas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                           (int)n, (int)m, (int)k, &alpha, B, (int)ldb, A, (int)lda, &beta, C, (int)ldc));
    return 0;
}

extern "C" int zoo_cuda_gemm_batched(zoo_exec *x, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                                     float alpha, const float *A, int64_t lda, int64_t stride_a, const float *B,
                                     int64_t ldb, int64_t stride_b, float beta, float *C, int64_t ldc,
                                     int64_t stride_c, int64_t batch)
{
    ZOO_CUBLAS(zoo_cublas.sgemm_strided_batched(zoo_cuda_of(x)->blas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                         trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, (int)n, (int)m, (int)k, &alpha, B,
                                         (int)ldb, stride_b, A, (int)lda, stride_a, &beta, C, (int)ldc, stride_c,
                                         (int)batch));
    return 0;
}

extern "C" const zoo_backend_iface zoo_backend_cuda_iface = {
    /* .name = */ "cuda",
    /* .id = */ ZOO_BACKEND_CUDA,
    /* .built = */ 1,
    /* .host_memory = */ 0,
    /* .available = */ cuda_available,
    /* .describe = */ describe,
    /* .exec_init = */ cuda_exec_init,
    /* .exec_free = */ cuda_exec_free,
    /* .alloc = */ cuda_alloc,
    /* .free = */ cuda_free,
    /* .memset = */ cuda_memset,
    /* .copy = */ cuda_copy,
    /* .synchronize = */ cuda_synchronize,
    /* .adamw = */ cuda_adamw,
    /* .fill = */ cuda_fill,
    /* .log_loss = */ cuda_log_loss,
    /* .capture_begin = */ cuda_capture_begin,
    /* .capture_end = */ cuda_capture_end,
    /* .replay = */ cuda_replay,
};
