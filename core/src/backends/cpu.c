/* backends/cpu.c: the CPU backend. Memory is host memory (64-byte aligned), copies
 * are memcpy, synchronisation is a no-op, the context is the OpenMP thread count, and
 * the optimizer step is AdamW over the flat buffers in PyTorch's order of operations.
 * It is the oracle every other backend is tested against. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../backend.h"
#include "adamw_math.h"
#include "../vecmath.h"
#include "zoo/error.h"

#define CHUNK 16384 /* AdamW elements per task */
#define ZERO_CHUNK (1 << 16)

static int cpu_available(void) { return 0; }

static int cpu_exec_init(zoo_exec *x)
{
#ifdef _OPENMP
    x->threads = omp_get_max_threads();
#else
    x->threads = 1;
#endif
    x->impl = NULL;
    x->step = &x->host_step; /* host memory: the mirror is the backend's copy */
    return 0;
}

static void cpu_exec_free(zoo_exec *x) { (void)x; }

static int cpu_alloc(zoo_exec *x, size_t bytes, void **out)
{
    (void)x;
    size_t n = (bytes + 63) / 64 * 64;
    *out = aligned_alloc(64, n ? n : 64);
    if (!*out)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "cpu backend: cannot allocate %.1f MiB", (double)bytes / 1048576.0);
    return 0;
}

static void cpu_free(zoo_exec *x, void *p)
{
    (void)x;
    free(p);
}

/* Large fills are split over the threads (first touch spreads the pages too). */
static int cpu_memset(zoo_exec *x, void *dst, int value, size_t bytes)
{
    (void)x;
    char *p = dst;
    if (bytes < 4 * ZERO_CHUNK * sizeof(float)) {
        memset(p, value, bytes);
        return 0;
    }
    const size_t chunk = ZERO_CHUNK * sizeof(float);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < bytes; i += chunk)
        memset(p + i, value, bytes - i < chunk ? bytes - i : chunk);
    return 0;
}

static int cpu_copy(zoo_exec *x, void *dst, const void *src, size_t bytes, zoo_copy_kind kind)
{
    (void)x;
    (void)kind;
    if (bytes)
        memmove(dst, src, bytes);
    return 0;
}

static int cpu_synchronize(zoo_exec *x)
{
    (void)x;
    return 0;
}

/* One run of trainable elements; element-wise only, so every clone and every split of
 * the work gives the same bits. */
VEC_CLONES static void adamw_run(float *p, const float *g, float *m, float *v, int64_t n, const zoo_step_state *k)
{
    const zoo_step_state s = *k; /* scalars in registers, not reloaded per element */
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
        zoo_adamw_elem(p + i, g[i], m + i, v + i, &s);
}

static int cpu_adamw(zoo_exec *x, float *p, const float *gr, float *m, float *v, const uint8_t *mask, int64_t n)
{
    const zoo_step_state *k = x->step;
    /* fixed chunks; inside each, the runs of trainable elements (buffers are skipped) */
#pragma omp parallel for schedule(static)
    for (int64_t c0 = 0; c0 < n; c0 += CHUNK) {
        int64_t end = n - c0 < CHUNK ? n : c0 + CHUNK, i = c0;
        while (i < end) {
            if (!mask[i]) {
                i++;
                continue;
            }
            const uint8_t *z = memchr(mask + i, 0, (size_t)(end - i));
            int64_t j = z ? (int64_t)(z - mask) : end;
            adamw_run(p + i, gr + i, m + i, v + i, j - i, k);
            i = j;
        }
    }
    return 0;
}

static int cpu_fill(zoo_exec *x, float *dst, float value, int64_t n)
{
    (void)x;
    for (int64_t i = 0; i < n; i++)
        dst[i] = value;
    return 0;
}

static int cpu_log_loss(zoo_exec *x, float *hist, const float *loss)
{
    hist[x->step->loss_slot] = *loss;
    return 0;
}

const zoo_backend_iface zoo_backend_cpu_iface = {
    .name = "cpu",
    .id = ZOO_BACKEND_CPU,
    .built = 1,
    .host_memory = 1,
    .available = cpu_available,
    .exec_init = cpu_exec_init,
    .exec_free = cpu_exec_free,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .memset = cpu_memset,
    .copy = cpu_copy,
    .synchronize = cpu_synchronize,
    .adamw = cpu_adamw,
    .fill = cpu_fill,
    .log_loss = cpu_log_loss,
};
