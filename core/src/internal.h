/* internal.h: the graph and tensor structs and the op table, shared by core sources
 * only. Plugins never see this (they use zoo/graph.h accessors). */
#ifndef ZOO_INTERNAL_H
#define ZOO_INTERNAL_H

#include <stdint.h>
#include <stddef.h>

#include "backend.h"
#include "zoo/graph.h"

#define ZOO_MAX_SRC 6 /* zoo_recurrence: q, k, v, w, a, b */
#define ZOO_MAX_OPARAMS 8

/* Kernel rules (docs/backends.md): a kernel returns 0 or a ZOO_FAIL code naming what
 * is wrong; it reads and writes tensor memory only (data, grad, aux, side outputs),
 * never tensor metadata (ip[], fp[], shapes) or host state; its sums run in a fixed
 * order, so results do not depend on the thread count; per-step values come from
 * x->step. */
typedef int (*zoo_kernel_fn)(zoo_exec *x, zoo_tensor *t);
/* Called once at planning, before any memory exists: sets t->aux_n (floats of scratch
 * kept from forward to backward and work buffers) and makes prepared state (FFT plans)
 * for this backend. Builders only record nodes and check shapes. */
typedef int (*zoo_prepare_fn)(zoo_exec *x, zoo_tensor *t);

typedef struct zoo_op_kernels {
    zoo_prepare_fn prepare; /* optional */
    zoo_kernel_fn forward, backward;
} zoo_op_kernels;

/* One differentiable op: its kernels per backend. A NULL forward (or a NULL backward
 * where a gradient is needed) means the backend does not implement it: planning fails
 * before allocating, naming every such op. Each op file defines one, listed in
 * ops/table.c. */
typedef struct zoo_op_def {
    const char *name;
    zoo_op_kernels k[ZOO_BACKEND_COUNT];
    /* What the backward kernels of every backend never read (ZOO_MEM_*), so the memory
     * planner may reuse it earlier; 0 (the default) assumes they read it all. */
    unsigned mem;
} zoo_op_def;

/* zoo_op_def.mem: its backward never reads the values of src k / its own values; its
 * workspace carries nothing from forward to backward (each kernel uses it as scratch). */
#define ZOO_MEM_NO_SRC(k) (1u << (k))
#define ZOO_MEM_NO_SRCS ((1u << ZOO_MAX_SRC) - 1u)
#define ZOO_MEM_NO_OUT (1u << ZOO_MAX_SRC)
#define ZOO_MEM_AUX_SCRATCH (2u << ZOO_MAX_SRC)

/* Every op of the core, for support reports (zoo info); NULL-terminated. */
extern const zoo_op_def *const zoo_op_table[];

typedef enum { ZOO_T_INPUT = 0, ZOO_T_PARAM, ZOO_T_BUFFER, ZOO_T_ACT } zoo_tensor_kind;

struct zoo_rng {
    uint64_t key;
    uint64_t ctr;
    int have_spare;
    double spare;
};

struct zoo_tensor {
    int id;                      /* creation index in the graph */
    zoo_graph *g;                /* owner: get/set go through its backend */
    zoo_tensor_kind kind;
    zoo_dtype dtype;
    const zoo_op_def *op;        /* NULL for leaves */
    int ndim;
    int64_t shape[ZOO_MAX_DIMS];
    int64_t n;                   /* element count */
    zoo_tensor *src[ZOO_MAX_SRC];
    int nsrc;
    int requires_grad;
    int64_t ip[ZOO_MAX_OPARAMS]; /* integer op parameters */
    float fp[ZOO_MAX_OPARAMS];   /* float op parameters */
    int64_t aux_n;               /* floats of scratch saved between forward and backward */
    float *aux;
    float *data;                 /* f32 values (NULL for I32 inputs) */
    int32_t *idata;              /* I32 inputs */
    float *grad;                 /* NULL when !requires_grad */
    zoo_tensor *side;            /* a second output the kernel writes (ce_head's counts) */
    /* parameters and buffers */
    char *name;
    zoo_init init;
    int64_t poff;                /* offset in the flat parameter buffer */
    zoo_tensor *alias_of;        /* a second state_dict name for this parameter's values */
    /* Bit k of `overwrite` (set by the builder): this node's backward can WRITE all of
     * src k's gradient when told to, instead of the engine zeroing it first (one pass
     * over memory less). Nodes that leave it 0 always accumulate into zeroed gradients.
     * `fresh` is what the engine tells it before each backward: see zoo_grad_fresh. */
    unsigned overwrite, fresh;
    int loss_term;               /* zoo_graph_add_loss: backward seeds it with 1 too */
};

struct zoo_graph {
    zoo_backend backend;
    zoo_tensor **nodes;
    int n_nodes, cap_nodes;
    zoo_tensor **params;         /* parameters and buffers, creation order */
    int n_params, cap_params;
    int status;
    char errmsg[1024];
    char prefix[256];
    int planned;
    int tf32;                    /* GEMMs may use TF32 (run spec tf32: true); CUDA only */
    /* training steps (zoo_graph_step): losses kept on the backend until read, and the
     * whole step captured and replayed where the backend can (CUDA graphs) */
    float *loss_hist;            /* ZOO_LOSS_SLOTS floats, backend memory */
    int use_capture;             /* the backend captures and ZOO_CUDA_GRAPH is not 0 */
    int eager_steps;             /* steps run before the capture (warm-up) */
    int captured;
    int sync_each_op;            /* ZOO_SYNC_EACH_OP=1: synchronise and check after every kernel */
    double *op_seconds;          /* zoo_graph_profile: per node, forward and backward kernel time */
    /* test switches (optest's backend comparison): never write gradients whole, and
     * clear gradients by filling every byte with grad_fill_byte instead of 0 */
    int no_fresh;
    int grad_fill_byte;
    /* activation memory: keep_all gives every buffer its own memory (no reuse), as do
     * ZOO_MEM_REUSE=0 and tests that read every node after a step; forward_only plans
     * for forward passes alone (no activation gradients; backward refused) */
    int keep_all;
    int forward_only;
    /* execution */
    const zoo_backend_iface *be;
    zoo_exec exec;
    int exec_ready;
    /* planned memory, one allocation per kind (backend memory) */
    float *pflat, *gflat, *adam_m, *adam_v;
    uint8_t *tmask;
    int64_t pflat_n;
    float *arena, *garena;       /* arena: activations, each followed by its node's workspace */
    int32_t *iarena;
    size_t arena_n, garena_n, iarena_n;
    zoo_mem_plan mem;
    /* gradient zeroing: each grad is cleared right before the backward of its last
     * consumer (the first to accumulate into it), not all up front */
    int *zero_at;                /* per node: that consumer's id, -1 when none */
    int *zero_first, *zero_list; /* per node i: the grads it clears, zero_list[zero_first[i]..zero_first[i+1]) */
};

/* Every buffer in an arena starts 64 bytes aligned: sizes rounded up to 16 floats. */
#define ZOO_ALIGN_FLOATS 16
static inline int64_t zoo_align_floats(int64_t n) { return (n + ZOO_ALIGN_FLOATS - 1) / ZOO_ALIGN_FLOATS * ZOO_ALIGN_FLOATS; }

/* Offsets (floats) of each node's values and workspace in the arena and of its
 * gradient in the gradient arena, -1 where it has none; the regions' sizes. Values
 * come first in the arena, then workspace (memplan.c). */
typedef struct zoo_memplan {
    int64_t *data_off, *aux_off, *grad_off;
    int64_t data_n, aux_n, grad_n;
} zoo_memplan;
/* With reuse, buffers whose lifetimes in the step do not overlap share memory;
 * without, every buffer has its own. Needs g->zero_at. 0 or ZOO_ERR_NOMEM. */
int zoo_memplan_make(const zoo_graph *g, int reuse, zoo_memplan *p);
void zoo_memplan_free(zoo_memplan *p);

/* One training step of a planned graph, with the step state already set on the host
 * (training, step, loss_slot and AdamW's scalars): uploads it, then runs forward, logs
 * `loss` into loss_hist[loss_slot], runs backward from it and the AdamW step. After one
 * eager step the whole step is captured and later steps replay it (when the backend can
 * and ZOO_CUDA_GRAPH is not 0; never with ZOO_SYNC_EACH_OP). */
int zoo_graph_step(zoo_graph *g, zoo_tensor *loss);
/* The two halves of zoo_graph_step for a data-parallel step, run eagerly (never
 * captured): forward, the loss logged, backward (the gradients in the flat buffer, where
 * the caller sums them over the run's processes); then AdamW on the flat buffers. */
int zoo_graph_grad_step(zoo_graph *g, zoo_tensor *loss);
int zoo_graph_adamw_step(zoo_graph *g);
/* AdamW's scalars for step t into the host step state (not uploaded). */
int zoo_adamw_scalars(zoo_graph *g, double lr, double beta1, double beta2, double eps, double wd, int64_t t);

/* In the backward of t: 1 when src k's gradient holds garbage and t must write every
 * element of it (=), 0 when t adds (+=) as usual. Only ever 1 for a src whose bit is
 * set in t->overwrite, and t is then the first node to touch that gradient. */
static inline int zoo_grad_fresh(const zoo_tensor *t, int k) { return (int)((t->fresh >> k) & 1u); }

/* Builder helper: a new activation node of `op` with sources; checks g->status and
 * NULL sources (returns NULL). Shape copied; requires_grad from the sources. */
zoo_tensor *zoo_node_new(zoo_graph *g, const zoo_op_def *op, int ndim, const int64_t *shape,
                         zoo_tensor *const *src, int nsrc);
/* Shape-check failure from a builder: records it on the graph, returns NULL. */
zoo_tensor *zoo_node_fail(zoo_graph *g, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "(2, 3, 4)" for messages; returns buf. */
const char *zoo_shape_str(const zoo_tensor *t, char *buf, size_t n);
/* Rows = product of all dims but the last. */
static inline int64_t zoo_rows(const zoo_tensor *t) { return t->n / t->shape[t->ndim - 1]; }
static inline int64_t zoo_cols(const zoo_tensor *t) { return t->shape[t->ndim - 1]; }

/* Counter-based hash -> uniform [0,1): same value for the same (key, i) on any thread. */
static inline uint64_t zoo_mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static inline double zoo_hash_uniform(uint64_t key, uint64_t i)
{
    return (double)(zoo_mix64(key ^ zoo_mix64(i)) >> 11) * (1.0 / 9007199254740992.0);
}
void zoo_rng_init(zoo_rng *r, uint64_t key);
/* Key for node t's dropout masks at the step in x->step (the same on every backend). */
static inline uint64_t zoo_node_step_key(const zoo_exec *x, const zoo_tensor *t)
{
    return zoo_mix64(x->step->seed ^ zoo_mix64(x->step->step * 1315423911ull + (uint64_t)t->id));
}
/* Mask index offset of batch row 0 for a tensor whose first dimension is the batch and
 * which holds per_row mask elements per row: the share's place in the global batch. */
static inline uint64_t zoo_row_base_index(const zoo_exec *x, int64_t per_row)
{
    return (uint64_t)x->step->row_base * (uint64_t)per_row;
}
/* A second output of node t (ce_head's counts): a leaf of n elements of dtype dt that
 * t's kernel writes; planned with the activations. */
zoo_tensor *zoo_side_new(zoo_graph *g, zoo_tensor *t, zoo_dtype dt, int64_t n);

#endif
