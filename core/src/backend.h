/* backend.h: the one seam between the engine and a device. A backend is a table of
 * function pointers (memory, copies, synchronisation, its execution context and the
 * optimizer step); op kernels per backend sit in each op's zoo_op_def. The graph holds
 * its backend and one execution context; nothing outside kernels and this seam touches
 * tensor memory directly. Core sources only. docs/backends.md has the rules. */
#ifndef ZOO_BACKEND_H
#define ZOO_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "zoo/graph.h"

typedef struct zoo_exec zoo_exec;
typedef struct zoo_backend_iface zoo_backend_iface;

/* Per-step scalars. The backend owns the copy kernels read (host memory on CPU,
 * device memory elsewhere), so a captured step can be replayed unchanged and only this
 * small struct changes between steps. */
typedef struct zoo_step_state {
    uint64_t seed;     /* run seed: dropout keys are f(seed, step, node) */
    uint64_t step;     /* global step: dropout masks change per step */
    int32_t training;  /* dropout on */
    int32_t loss_slot; /* where this step's loss goes in the loss history (zoo_graph_step) */
    /* Data-parallel share: row 0 of this process's batch is row `row_base` of the run's
     * global batch, so dropout masks are those of the one-process run (docs/training.md). */
    int64_t row_base;
    /* AdamW, computed on the host in double and stored as the kernels use them */
    float decay;       /* 1 - lr * wd */
    float b1, b2;      /* beta1, beta2 */
    float a1, a2;      /* 1 - beta1, 1 - beta2 */
    float step_size;   /* lr / (1 - beta1^t) */
    float bc2s;        /* sqrt(1 - beta2^t) */
    float eps;
} zoo_step_state;

/* Execution context of one graph on one backend. */
struct zoo_exec {
    const zoo_backend_iface *be;
    zoo_graph *g;
    int threads;             /* CPU: OpenMP threads the kernels size their work buffers by */
    zoo_step_state *step;    /* backend-owned (see zoo_step_state) */
    zoo_step_state host_step; /* host mirror; zoo_exec_push_step uploads it */
    void *impl;              /* the backend's own state (CUDA: device, stream, handles) */
};

/* Where a copy goes. "Device" means the backend's memory (host memory on CPU). */
typedef enum zoo_copy_kind { ZOO_COPY_H2D = 0, ZOO_COPY_D2H, ZOO_COPY_D2D } zoo_copy_kind;

struct zoo_backend_iface {
    const char *name;   /* "cpu", "cuda" */
    zoo_backend id;
    int built;          /* 0: compiled out of this build (every other slot may be NULL) */
    int host_memory;    /* 1: buffers are host pointers (zoo_tensor_data may expose them) */
    /* 0 when usable on this machine; otherwise a code and a message naming why */
    int (*available)(void);
    /* optional: which device a run here would use, for messages ("cuda:0 of 1 (...)") */
    int (*describe)(char *buf, size_t n);
    int (*exec_init)(zoo_exec *x);             /* fill x->impl, x->step */
    void (*exec_free)(zoo_exec *x);
    int (*alloc)(zoo_exec *x, size_t bytes, void **out); /* 64-byte aligned */
    void (*free)(zoo_exec *x, void *p);
    int (*memset)(zoo_exec *x, void *dst, int value, size_t bytes);
    int (*copy)(zoo_exec *x, void *dst, const void *src, size_t bytes, zoo_copy_kind kind);
    int (*synchronize)(zoo_exec *x);
    /* One AdamW step over the flat buffers with the scalars of x->step. */
    int (*adamw)(zoo_exec *x, float *p, const float *g, float *m, float *v, const uint8_t *mask, int64_t n);
    /* dst[0..n) = value (the seed gradient of a loss, without a host copy) */
    int (*fill)(zoo_exec *x, float *dst, float value, int64_t n);
    /* hist[x->step->loss_slot] = *loss: step losses stay on the device until read */
    int (*log_loss)(zoo_exec *x, float *hist, const float *loss);
    /* Optional (NULL: every step runs eagerly). Record the work queued between begin and
     * end (end with keep = 0 discards it) as one replayable step; replay queues it. */
    int (*capture_begin)(zoo_exec *x);
    int (*capture_end)(zoo_exec *x, int keep);
    int (*replay)(zoo_exec *x);
};

/* The backend of `id`; never NULL for a valid id. */
const zoo_backend_iface *zoo_backend_iface_of(zoo_backend id);
extern const zoo_backend_iface zoo_backend_cpu_iface;
extern const zoo_backend_iface zoo_backend_cuda_iface;

/* Upload x->host_step to the backend's copy. */
int zoo_exec_push_step(zoo_exec *x);

#endif
