/* fakedev.h: the test-only stand-in for the CUDA runtime, cuBLAS and cuFFT (this
 * folder). "Device" memory is host memory that stays inaccessible (PROT_NONE) except
 * while a stand-in device operation runs, so host code that touches a device pointer
 * crashes in CI instead of passing; each allocation ends at a guard page. Copies check
 * their direction against the allocations, GEMMs their operand extents. */
#ifndef ZOO_FAKEDEV_H
#define ZOO_FAKEDEV_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Open / close a device-side operation (nests): device memory readable and writable
 * in between. Returns the first error of the operation's checks. */
cudaError_t zoo_fakedev_kernel_begin(cudaStream_t s);
cudaError_t zoo_fakedev_kernel_end(cudaStream_t s);
/* 1 when [p, p + bytes) lies inside one device allocation. */
int zoo_fakedev_is_device(const void *p, size_t bytes);
/* Run fn(copy of arg) on stream s now, or record it when s is capturing (queue.cpp). */
cudaError_t zoo_fakedev_submit(cudaStream_t s, void (*fn)(const void *arg), const void *arg, size_t size);
int zoo_fakedev_capturing(cudaStream_t s);
/* Record a failure of a stand-in call (sticky, like a device error): returns e. */
cudaError_t zoo_fakedev_fail(cudaError_t e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#include <functional>
/* A kernel of n threads: body runs once per thread index (zoo_fakedev_gid). */
cudaError_t zoo_fakedev_launch(cudaStream_t s, int64_t n, std::function<void()> body);
#endif

#endif
