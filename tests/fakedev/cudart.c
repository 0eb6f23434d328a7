/* cudart.c: the CUDA runtime calls the backend makes, on host memory (fakedev.h).
 * One device, every stream synchronous (work runs when it is queued). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fakedev.h"

int64_t zoo_fakedev_gid;

typedef struct block {
    char *base;      /* mapping start */
    size_t map_len;  /* whole mapping, guard page included */
    char *p;         /* what cudaMalloc returned */
    size_t bytes;
} block;

static block *blocks;
static int n_blocks, cap_blocks, open_depth;
static cudaError_t sticky = cudaSuccess;
static int streams_live;

cudaError_t zoo_fakedev_fail(cudaError_t e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fake device: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    if (sticky == cudaSuccess)
        sticky = e;
    return e;
}

static size_t page(void) { return (size_t)sysconf(_SC_PAGESIZE); }

/* The usable part of each mapping (all but the trailing guard page). */
static void protect_all(int prot)
{
    for (int i = 0; i < n_blocks; i++)
        mprotect(blocks[i].base, blocks[i].map_len - page(), prot);
}

cudaError_t zoo_fakedev_kernel_begin(cudaStream_t s)
{
    (void)s;
    if (sticky != cudaSuccess)
        return sticky;
    if (open_depth++ == 0)
        protect_all(PROT_READ | PROT_WRITE);
    return cudaSuccess;
}

cudaError_t zoo_fakedev_kernel_end(cudaStream_t s)
{
    (void)s;
    if (--open_depth == 0)
        protect_all(PROT_NONE);
    return sticky;
}

int zoo_fakedev_is_device(const void *p, size_t bytes)
{
    const char *c = p;
    for (int i = 0; i < n_blocks; i++)
        if (c >= blocks[i].p && c + bytes <= blocks[i].p + blocks[i].bytes && c + bytes >= c)
            return 1;
    return 0;
}

static int is_in_any(const void *p)
{
    const char *c = p;
    for (int i = 0; i < n_blocks; i++)
        if (c >= blocks[i].base && c < blocks[i].base + blocks[i].map_len)
            return 1;
    return 0;
}

cudaError_t cudaMalloc(void **devPtr, size_t size)
{
    size_t pg = page(), want = (size + 63) / 64 * 64, body = (want + pg - 1) / pg * pg;
    if (!body)
        body = pg;
    if (n_blocks == cap_blocks) {
        int cap = cap_blocks ? 2 * cap_blocks : 64;
        block *b = realloc(blocks, (size_t)cap * sizeof *b);
        if (!b)
            return cudaErrorMemoryAllocation;
        blocks = b;
        cap_blocks = cap;
    }
    char *base = mmap(NULL, body + pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED)
        return cudaErrorMemoryAllocation;
    /* the buffer ends where the guard page starts: one float past it faults */
    block b = {base, body + pg, base + body - want, size};
    if (open_depth > 0)
        mprotect(base, body, PROT_READ | PROT_WRITE);
    blocks[n_blocks++] = b;
    *devPtr = b.p;
    return cudaSuccess;
}

cudaError_t cudaFree(void *devPtr)
{
    if (!devPtr)
        return cudaSuccess;
    for (int i = 0; i < n_blocks; i++)
        if (blocks[i].p == devPtr) {
            munmap(blocks[i].base, blocks[i].map_len);
            blocks[i] = blocks[--n_blocks];
            return cudaSuccess;
        }
    return zoo_fakedev_fail(cudaErrorInvalidValue, "cudaFree of %p, which cudaMalloc did not return", devPtr);
}

typedef struct fill_args {
    void *p;
    int value;
    size_t n;
} fill_args;

static void do_fill(const void *a)
{
    const fill_args *f = a;
    memset(f->p, f->value, f->n);
}

cudaError_t cudaMemsetAsync(void *devPtr, int value, size_t count, cudaStream_t stream)
{
    if (!zoo_fakedev_is_device(devPtr, count))
        return zoo_fakedev_fail(cudaErrorInvalidValue, "cudaMemsetAsync of %zu bytes at %p: not device memory", count,
                                devPtr);
    fill_args f = {devPtr, value, count};
    return zoo_fakedev_submit(stream, do_fill, &f, sizeof f);
}

typedef struct copy_args {
    void *dst;
    const void *src;
    size_t n;
} copy_args;

static void do_copy(const void *a)
{
    const copy_args *c = a;
    memmove(c->dst, c->src, c->n);
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind, cudaStream_t stream)
{
    static const char *names[] = {"HostToHost", "HostToDevice", "DeviceToHost", "DeviceToDevice", "Default"};
    int dd = zoo_fakedev_is_device(dst, count), sd = zoo_fakedev_is_device(src, count);
    int want_d = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    int want_s = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if (kind == cudaMemcpyDefault || kind == cudaMemcpyHostToHost || dd != want_d || sd != want_s ||
        (!dd && is_in_any(dst)) || (!sd && is_in_any(src)))
        return zoo_fakedev_fail(cudaErrorInvalidValue,
                                "cudaMemcpyAsync %s of %zu bytes: destination %s device memory, source %s", names[kind],
                                count, dd ? "is" : "is not", sd ? "is" : "is not");
    /* pageable host memory cannot be part of a captured graph (as with CUDA) */
    if (kind != cudaMemcpyDeviceToDevice && zoo_fakedev_capturing(stream))
        return zoo_fakedev_fail(cudaErrorStreamCaptureUnsupported,
                                "cudaMemcpyAsync %s of %zu bytes while the stream is capturing a graph", names[kind],
                                count);
    copy_args c = {dst, src, count};
    return zoo_fakedev_submit(stream, do_copy, &c, sizeof c);
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind)
{
    return cudaMemcpyAsync(dst, src, count, kind, NULL);
}

cudaError_t cudaGetDeviceCount(int *count)
{
    const char *n = getenv("ZOO_FAKEDEV_DEVICES"); /* tests: a node with N devices, or none */
    *count = n && *n ? atoi(n) : 1;
    return *count ? cudaSuccess : cudaErrorNoDevice;
}

cudaError_t cudaSetDevice(int device)
{
    int n;
    cudaGetDeviceCount(&n);
    return device >= 0 && device < n ? cudaSuccess : cudaErrorInvalidDevice;
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *prop, int device)
{
    memset(prop, 0, sizeof *prop);
    snprintf(prop->name, sizeof prop->name, "stand-in device %d (host memory, tests only)", device);
    prop->major = 0;
    prop->minor = 0;
    prop->totalGlobalMem = (size_t)1 << 30;
    return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *pStream, unsigned int flags)
{
    (void)flags;
    *pStream = (cudaStream_t)(intptr_t)(++streams_live); /* an opaque non-null handle */
    return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream)
{
    (void)stream;
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream)
{
    (void)stream;
    return sticky;
}

cudaError_t cudaDeviceSynchronize(void) { return sticky; }

cudaError_t cudaGetLastError(void)
{
    cudaError_t e = sticky;
    sticky = cudaSuccess;
    return e;
}

cudaError_t cudaPeekAtLastError(void) { return sticky; }

const char *cudaGetErrorName(cudaError_t error)
{
    switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    default: return "cudaError (stand-in)";
    }
}

const char *cudaGetErrorString(cudaError_t error)
{
    switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    default: return "stand-in device error (see the message above)";
    }
}
