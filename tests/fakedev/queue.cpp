/* queue.cpp: how the stand-in device runs work. Every operation (a kernel, a copy, a
 * fill, a GEMM, an FFT) is submitted to a stream: it runs at once, inside a device
 * window (fakedev.h), unless that stream is capturing, in which case it is recorded,
 * arguments and all, as CUDA stream capture records a graph node; cudaGraphLaunch runs
 * the recording again in order. */
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#include "fakedev.h"

extern "C" int64_t zoo_fakedev_gid;

namespace {
using op = std::function<void()>;
struct graph {
    std::vector<op> ops;
};
cudaStream_t capturing_stream = nullptr;
graph *capture = nullptr;

cudaError_t run(const op &f)
{
    cudaError_t e = zoo_fakedev_kernel_begin(nullptr);
    if (e == cudaSuccess)
        f();
    cudaError_t e2 = zoo_fakedev_kernel_end(nullptr);
    return e != cudaSuccess ? e : e2;
}

cudaError_t submit(cudaStream_t s, op f)
{
    if (capture && s == capturing_stream) {
        capture->ops.push_back(std::move(f));
        return cudaSuccess;
    }
    return run(f);
}
} // namespace

cudaError_t zoo_fakedev_launch(cudaStream_t s, int64_t n, std::function<void()> body)
{
    if (n <= 0)
        return cudaSuccess;
    /* whole blocks, as the device runs them: each kernel's i >= n guard is exercised */
    const int64_t total = (n + 255) / 256 * 256;
    return submit(s, [total, body]() {
        for (zoo_fakedev_gid = 0; zoo_fakedev_gid < total; zoo_fakedev_gid++)
            body();
    });
}

extern "C" cudaError_t zoo_fakedev_submit(cudaStream_t s, void (*fn)(const void *arg), const void *arg, size_t size)
{
    std::vector<char> copy((const char *)arg, (const char *)arg + size);
    return submit(s, [fn, copy]() { fn(copy.data()); });
}

extern "C" int zoo_fakedev_capturing(cudaStream_t s) { return capture && s == capturing_stream; }

extern "C" cudaError_t cudaStreamBeginCapture(cudaStream_t stream, enum cudaStreamCaptureMode mode)
{
    (void)mode;
    if (capture)
        return zoo_fakedev_fail(cudaErrorIllegalState, "cudaStreamBeginCapture while a capture is open");
    capture = new graph;
    capturing_stream = stream;
    return cudaSuccess;
}

extern "C" cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *pGraph)
{
    if (!capture || stream != capturing_stream)
        return zoo_fakedev_fail(cudaErrorIllegalState, "cudaStreamEndCapture on a stream that is not capturing");
    *pGraph = (cudaGraph_t)capture;
    capture = nullptr;
    capturing_stream = nullptr;
    return cudaSuccess;
}

extern "C" cudaError_t cudaStreamIsCapturing(cudaStream_t stream, enum cudaStreamCaptureStatus *st)
{
    *st = zoo_fakedev_capturing(stream) ? cudaStreamCaptureStatusActive : cudaStreamCaptureStatusNone;
    return cudaSuccess;
}

extern "C" cudaError_t cudaGraphInstantiate(cudaGraphExec_t *pGraphExec, cudaGraph_t g, unsigned long long flags)
{
    (void)flags;
    *pGraphExec = (cudaGraphExec_t) new graph(*(graph *)g);
    return cudaSuccess;
}

extern "C" cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream)
{
    graph *g = (graph *)exec;
    return submit(stream, [g]() {
        for (const op &f : g->ops)
            f();
    });
}

extern "C" cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec)
{
    delete (graph *)exec;
    return cudaSuccess;
}

extern "C" cudaError_t cudaGraphDestroy(cudaGraph_t g)
{
    delete (graph *)g;
    return cudaSuccess;
}
