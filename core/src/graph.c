/* graph.c: graph building, memory planning and execution (forward, reverse-mode
 * backward). Knows nothing about specific ops: each op brings its own kernels. */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define ALIGN_FLOATS 16 /* 64-byte alignment of every buffer in an arena */

static int64_t round_up(int64_t n) { return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

void zoo_rng_init(zoo_rng *r, uint64_t key)
{
    r->key = zoo_mix64(key);
    r->ctr = 0;
    r->have_spare = 0;
    r->spare = 0;
}

double zoo_rng_uniform(zoo_rng *r) { return zoo_hash_uniform(r->key, r->ctr++); }

double zoo_rng_normal(zoo_rng *r)
{
    if (r->have_spare) {
        r->have_spare = 0;
        return r->spare;
    }
    double u1, u2;
    do
        u1 = zoo_rng_uniform(r);
    while (u1 <= 0.0);
    u2 = zoo_rng_uniform(r);
    double rad = sqrt(-2.0 * log(u1)), th = 2.0 * M_PI * u2;
    r->spare = rad * sin(th);
    r->have_spare = 1;
    return rad * cos(th);
}

uint64_t zoo_node_step_key(const zoo_graph *g, const zoo_tensor *t)
{
    return zoo_mix64(g->seed ^ zoo_mix64(g->step * 1315423911ull + (uint64_t)t->id));
}

zoo_graph *zoo_graph_new(zoo_backend backend)
{
    zoo_graph *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->backend = backend;
    return g;
}

void zoo_graph_free(zoo_graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n_nodes; i++) {
        free(g->nodes[i]->name);
        free(g->nodes[i]);
    }
    free(g->nodes);
    free(g->params);
    free(g->pflat);
    free(g->gflat);
    free(g->adam_m);
    free(g->adam_v);
    free(g->tmask);
    free(g->arena);
    free(g->garena);
    free(g->iarena);
    free(g->zero_at);
    free(g->zero_first);
    free(g->zero_list);
    free(g);
}

int zoo_graph_status(const zoo_graph *g) { return g ? g->status : ZOO_ERR_INVALID; }
const char *zoo_graph_error(const zoo_graph *g) { return g ? g->errmsg : "no graph"; }

static void graph_vfail(zoo_graph *g, int code, const char *fmt, va_list ap)
{
    if (g->status)
        return; /* first failure wins: later ones are consequences */
    g->status = code;
    vsnprintf(g->errmsg, sizeof g->errmsg, fmt, ap);
    zoo_error_set(code, __FILE__, __LINE__, "%s", g->errmsg);
}

int zoo_graph_fail(zoo_graph *g, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    graph_vfail(g, code, fmt, ap);
    va_end(ap);
    return code;
}

zoo_tensor *zoo_node_fail(zoo_graph *g, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    graph_vfail(g, code, fmt, ap);
    va_end(ap);
    return NULL;
}

void zoo_graph_set_prefix(zoo_graph *g, const char *prefix)
{
    if (!g)
        return;
    snprintf(g->prefix, sizeof g->prefix, "%s", prefix ? prefix : "");
}

const char *zoo_shape_str(const zoo_tensor *t, char *buf, size_t n)
{
    size_t k = 0;
    k += snprintf(buf + k, n - k, "(");
    for (int i = 0; i < t->ndim && k < n; i++)
        k += snprintf(buf + k, n - k, i ? ", %lld" : "%lld", (long long)t->shape[i]);
    if (k < n)
        snprintf(buf + k, n - k, t->ndim == 1 ? ",)" : ")");
    return buf;
}

static int push(zoo_tensor ***arr, int *n, int *cap, zoo_tensor *t)
{
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 64;
        zoo_tensor **a = realloc(*arr, (size_t)nc * sizeof *a);
        if (!a)
            return ZOO_ERR_NOMEM;
        *arr = a;
        *cap = nc;
    }
    (*arr)[(*n)++] = t;
    return 0;
}

static zoo_tensor *tensor_new(zoo_graph *g, zoo_tensor_kind kind, zoo_dtype dt, int ndim, const int64_t *shape)
{
    if (!g || g->status)
        return NULL;
    if (g->planned)
        return zoo_node_fail(g, ZOO_ERR_STATE, "graph already planned: build every node before zoo_graph_plan");
    if (ndim < 1 || ndim > ZOO_MAX_DIMS)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "tensors have 1 to %d dims, got %d", ZOO_MAX_DIMS, ndim);
    zoo_tensor *t = calloc(1, sizeof *t);
    if (!t || push(&g->nodes, &g->n_nodes, &g->cap_nodes, t)) {
        free(t);
        return zoo_node_fail(g, ZOO_ERR_NOMEM, "out of memory building the graph");
    }
    t->id = g->n_nodes - 1;
    t->kind = kind;
    t->dtype = dt;
    t->ndim = ndim;
    t->n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 1)
            return zoo_node_fail(g, ZOO_ERR_SHAPE, "dimension %d is %lld: every dimension must be >= 1", i,
                                 (long long)shape[i]);
        t->shape[i] = shape[i];
        t->n *= shape[i];
    }
    return t;
}

zoo_tensor *zoo_node_new(zoo_graph *g, const zoo_op_def *op, int ndim, const int64_t *shape,
                         zoo_tensor *const *src, int nsrc)
{
    if (!g || g->status)
        return NULL;
    for (int i = 0; i < nsrc; i++)
        if (!src[i])
            return zoo_node_fail(g, ZOO_ERR_INVALID, "%s: input %d is NULL", op->name, i);
    zoo_tensor *t = tensor_new(g, ZOO_T_ACT, ZOO_F32, ndim, shape);
    if (!t)
        return NULL;
    t->op = op;
    t->nsrc = nsrc;
    for (int i = 0; i < nsrc; i++) {
        t->src[i] = src[i];
        if (src[i]->requires_grad)
            t->requires_grad = 1;
    }
    return t;
}

zoo_tensor *zoo_input(zoo_graph *g, const char *name, zoo_dtype dtype, int ndim, const int64_t *shape)
{
    zoo_tensor *t = tensor_new(g, ZOO_T_INPUT, dtype, ndim, shape);
    if (t && name && !(t->name = strdup(name)))
        return zoo_node_fail(g, ZOO_ERR_NOMEM, "out of memory");
    return t;
}

static zoo_tensor *param_new(zoo_graph *g, zoo_tensor_kind kind, const char *name, int ndim,
                             const int64_t *shape, zoo_init init)
{
    if (!g || g->status)
        return NULL;
    if (!name || !*name)
        return zoo_node_fail(g, ZOO_ERR_INVALID, "parameters need a name");
    char full[512];
    snprintf(full, sizeof full, "%s%s", g->prefix, name);
    if (zoo_graph_find_param(g, full))
        return zoo_node_fail(g, ZOO_ERR_INVALID, "parameter '%s' is defined twice", full);
    zoo_tensor *t = tensor_new(g, kind, ZOO_F32, ndim, shape);
    if (!t)
        return NULL;
    t->name = strdup(full);
    if (!t->name || push(&g->params, &g->n_params, &g->cap_params, t))
        return zoo_node_fail(g, ZOO_ERR_NOMEM, "out of memory");
    t->init = init;
    t->requires_grad = kind == ZOO_T_PARAM;
    return t;
}

zoo_tensor *zoo_param(zoo_graph *g, const char *name, int ndim, const int64_t *shape, zoo_init init)
{
    return param_new(g, ZOO_T_PARAM, name, ndim, shape, init);
}

zoo_tensor *zoo_buffer(zoo_graph *g, const char *name, int ndim, const int64_t *shape, zoo_init init)
{
    return param_new(g, ZOO_T_BUFFER, name, ndim, shape, init);
}

zoo_tensor *zoo_alias(zoo_graph *g, const char *name, zoo_tensor *src)
{
    if (g && !g->status && (!src || (src->kind != ZOO_T_PARAM && src->kind != ZOO_T_BUFFER) || src->alias_of))
        return zoo_node_fail(g, ZOO_ERR_INVALID, "alias '%s' needs a parameter or buffer to name", name ? name : "?");
    zoo_tensor *t = param_new(g, ZOO_T_BUFFER, name, src ? src->ndim : 0, src ? src->shape : NULL, zoo_init_zeros());
    if (t)
        t->alias_of = src;
    return t;
}

zoo_tensor *zoo_graph_find_param(const zoo_graph *g, const char *full_name)
{
    if (!g || !full_name)
        return NULL;
    for (int i = 0; i < g->n_params; i++)
        if (!strcmp(g->params[i]->name, full_name))
            return g->params[i];
    return NULL;
}

/* ---- planning ---------------------------------------------------------------- */

static void init_fill(zoo_tensor *t, uint64_t seed, zoo_init init)
{
    zoo_rng r;
    /* Each parameter has its own stream keyed by its name, so adding a parameter
     * elsewhere does not change this one's values. */
    uint64_t h = 1469598103934665603ull;
    for (const char *c = t->name; *c; c++)
        h = (h ^ (uint8_t)*c) * 1099511628211ull;
    zoo_rng_init(&r, seed ^ h);
    float *x = t->data;
    switch (init.kind) {
    case ZOO_INIT_ZEROS: memset(x, 0, (size_t)t->n * sizeof *x); break;
    case ZOO_INIT_CONST:
        for (int64_t i = 0; i < t->n; i++) x[i] = init.a;
        break;
    case ZOO_INIT_NORMAL:
        for (int64_t i = 0; i < t->n; i++) x[i] = (float)(init.a + init.b * zoo_rng_normal(&r));
        break;
    case ZOO_INIT_UNIFORM:
        for (int64_t i = 0; i < t->n; i++) x[i] = (float)(init.a + (init.b - init.a) * zoo_rng_uniform(&r));
        break;
    case ZOO_INIT_FN: init.fill(x, t->n, t->shape, t->ndim, &r, init.ctx); break;
    }
}

/* For every tensor with a gradient, its last consumer whose backward runs: in reverse
 * order that backward is the first to accumulate into the gradient, so the gradient is
 * cleared right before it (while the memory is about to be used anyway). */
static int plan_zeroing(zoo_graph *g)
{
    int n = g->n_nodes;
    g->zero_at = malloc((size_t)(n ? n : 1) * sizeof *g->zero_at);
    g->zero_first = calloc((size_t)n + 1, sizeof *g->zero_first);
    g->zero_list = malloc((size_t)(n ? n : 1) * sizeof *g->zero_list);
    if (!g->zero_at || !g->zero_first || !g->zero_list)
        return ZOO_ERR_NOMEM;
    for (int i = 0; i < n; i++)
        g->zero_at[i] = -1;
    for (int i = 0; i < n; i++) {
        zoo_tensor *t = g->nodes[i];
        if (!t->op || !t->requires_grad)
            continue;
        for (int k = 0; k < t->nsrc; k++)
            if (t->src[k] && t->src[k]->grad && g->zero_at[t->src[k]->id] < i)
                g->zero_at[t->src[k]->id] = i;
    }
    for (int i = 0; i < n; i++)
        if (g->zero_at[i] >= 0)
            g->zero_first[g->zero_at[i] + 1]++;
    for (int i = 0; i < n; i++)
        g->zero_first[i + 1] += g->zero_first[i];
    int *fill = calloc((size_t)(n ? n : 1), sizeof *fill);
    if (!fill)
        return ZOO_ERR_NOMEM;
    for (int i = 0; i < n; i++)
        if (g->zero_at[i] >= 0)
            g->zero_list[g->zero_first[g->zero_at[i]] + fill[g->zero_at[i]]++] = i;
    free(fill);
    return 0;
}

/* Index of s among t's sources when it appears exactly once, else -1. */
static int sole_src(const zoo_tensor *t, const zoo_tensor *s)
{
    int k = -1;
    for (int j = 0; j < t->nsrc; j++)
        if (t->src[j] == s) {
            if (k >= 0)
                return -1;
            k = j;
        }
    return k;
}

/* Zero n floats, split over the threads when large. */
static void zero_floats(float *p, int64_t n)
{
    const int64_t chunk = 1 << 16;
    if (n < 4 * chunk) {
        memset(p, 0, (size_t)n * sizeof *p);
        return;
    }
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i += chunk)
        memset(p + i, 0, (size_t)(n - i < chunk ? n - i : chunk) * sizeof *p);
}

int zoo_graph_plan(zoo_graph *g, uint64_t seed)
{
    if (!g)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_graph_plan: no graph");
    if (g->status)
        return ZOO_FAIL(g->status, "%s", g->errmsg);
    if (g->planned)
        return ZOO_FAIL(ZOO_ERR_STATE, "graph planned twice");
    g->seed = seed;
    int64_t pn = 0;
    for (int i = 0; i < g->n_params; i++) {
        if (g->params[i]->alias_of)
            continue; /* shares its source's storage (the source is always created first) */
        g->params[i]->poff = pn;
        pn += g->params[i]->n; /* packed: the flat buffer is one vector for AdamW and MPI */
    }
    for (int i = 0; i < g->n_params; i++)
        if (g->params[i]->alias_of)
            g->params[i]->poff = g->params[i]->alias_of->poff;
    size_t an = 0, gn = 0, in = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        zoo_tensor *t = g->nodes[i];
        if (t->kind == ZOO_T_ACT || t->kind == ZOO_T_INPUT) {
            if (t->dtype == ZOO_I32)
                in += (size_t)round_up(t->n);
            else
                an += (size_t)round_up(t->n);
            an += (size_t)round_up(t->aux_n);
            if (t->requires_grad)
                gn += (size_t)round_up(t->n);
        }
    }
    size_t pb = (size_t)(pn ? pn : 1) * sizeof(float);
    g->pflat = aligned_alloc(64, (pb + 63) / 64 * 64);
    g->gflat = aligned_alloc(64, (pb + 63) / 64 * 64);
    g->adam_m = calloc((size_t)(pn ? pn : 1), sizeof(float));
    g->adam_v = calloc((size_t)(pn ? pn : 1), sizeof(float));
    g->tmask = calloc((size_t)(pn ? pn : 1), 1);
    g->arena = aligned_alloc(64, (an ? an : 16) * sizeof(float));
    g->garena = aligned_alloc(64, (gn ? gn : 16) * sizeof(float));
    g->iarena = aligned_alloc(64, (in ? in : 16) * sizeof(int32_t));
    if (!g->pflat || !g->gflat || !g->adam_m || !g->adam_v || !g->tmask || !g->arena || !g->garena || !g->iarena)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "cannot allocate %.1f MiB of parameters and %.1f MiB of activations",
                        4.0 * 4 * (double)pn / 1048576.0, 4.0 * (double)(an + gn) / 1048576.0);
    memset(g->arena, 0, (an ? an : 16) * sizeof(float));
    memset(g->iarena, 0, (in ? in : 16) * sizeof(int32_t));
    memset(g->gflat, 0, (size_t)(pn ? pn : 1) * sizeof(float));
    g->pflat_n = pn;
    g->arena_n = an;
    g->garena_n = gn;
    g->iarena_n = in;
    size_t ao = 0, go = 0, io = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        zoo_tensor *t = g->nodes[i];
        if (t->kind == ZOO_T_PARAM || t->kind == ZOO_T_BUFFER) {
            t->data = g->pflat + t->poff;
            t->grad = t->kind == ZOO_T_PARAM ? g->gflat + t->poff : NULL;
            if (t->kind == ZOO_T_PARAM)
                memset(g->tmask + t->poff, 1, (size_t)t->n);
            if (!t->alias_of) /* an alias must not re-draw (or zero) its source's values */
                init_fill(t, seed, t->init);
            continue;
        }
        if (t->dtype == ZOO_I32) {
            t->idata = g->iarena + io;
            io += (size_t)round_up(t->n);
        } else {
            t->data = g->arena + ao;
            ao += (size_t)round_up(t->n);
        }
        if (t->aux_n) {
            t->aux = g->arena + ao;
            ao += (size_t)round_up(t->aux_n);
        }
        if (t->requires_grad) {
            t->grad = g->garena + go;
            go += (size_t)round_up(t->n);
        }
    }
    for (int i = 0; i < g->n_nodes; i++) {
        zoo_tensor *t = g->nodes[i];
        if (t->op && (!t->op->forward[g->backend] || (t->requires_grad && !t->op->backward[g->backend])))
            return ZOO_FAIL(ZOO_ERR_UNSUPPORTED, "op '%s' has no %s kernel in this build", t->op->name,
                            g->backend == ZOO_BACKEND_CPU ? "CPU" : "CUDA");
    }
    if (plan_zeroing(g))
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory planning the graph");
    g->planned = 1;
    return 0;
}

int zoo_graph_reinit_param(zoo_graph *g, zoo_tensor *p, zoo_init init, uint64_t seed)
{
    if (!g || !g->planned || !p || (p->kind != ZOO_T_PARAM && p->kind != ZOO_T_BUFFER))
        return ZOO_FAIL(ZOO_ERR_STATE, "reinit needs a planned graph and a parameter");
    /* A different stream from the first draw, like PyTorch's second normal_ call. */
    init_fill(p, zoo_mix64(seed + 0x5bd1e995u), init);
    return 0;
}

void zoo_graph_set_training(zoo_graph *g, int training, uint64_t step)
{
    g->training = training;
    g->step = step;
}

int zoo_graph_forward(zoo_graph *g)
{
    if (!g || !g->planned)
        return ZOO_FAIL(ZOO_ERR_STATE, "forward before zoo_graph_plan");
    for (int i = 0; i < g->n_nodes; i++) {
        zoo_tensor *t = g->nodes[i];
        if (t->op)
            t->op->forward[g->backend](g, t);
    }
    return 0;
}

int zoo_graph_backward(zoo_graph *g, zoo_tensor *loss)
{
    if (loss && loss->n != 1)
        return ZOO_FAIL(ZOO_ERR_INVALID, "backward needs a scalar loss");
    const float one = 1.0f;
    return zoo_graph_backward_seeded(g, loss, &one);
}

int zoo_graph_backward_seeded(zoo_graph *g, zoo_tensor *out, const float *dout)
{
    if (!g || !g->planned)
        return ZOO_FAIL(ZOO_ERR_STATE, "backward before zoo_graph_plan");
    if (!out || !dout || !out->requires_grad || out->kind != ZOO_T_ACT)
        return ZOO_FAIL(ZOO_ERR_INVALID, "backward needs an op output that depends on a parameter");
    /* Gradients no backward below `out` clears (no consumer there, or `out` itself)
     * are zeroed now; the others right before their first accumulating backward, which
     * instead writes them whole when its op can (zoo_grad_fresh). Either way every
     * gradient equals a zero-then-accumulate of the whole graph. */
    for (int i = 0; i < g->n_nodes; i++) {
        zoo_tensor *t = g->nodes[i];
        if (t->grad && (g->zero_at[i] < 0 || g->zero_at[i] > out->id))
            zero_floats(t->grad, t->n);
    }
    memcpy(out->grad, dout, (size_t)out->n * sizeof(float));
    for (int i = out->id; i >= 0; i--) {
        zoo_tensor *t = g->nodes[i];
        if (!t->op || !t->requires_grad)
            continue;
        t->fresh = 0;
        for (int z = g->zero_first[i]; z < g->zero_first[i + 1]; z++) {
            zoo_tensor *s = g->nodes[g->zero_list[z]];
            int k = sole_src(t, s);
            if (k >= 0 && (t->overwrite >> k & 1u))
                t->fresh |= 1u << k; /* t writes it whole: no need to clear it */
            else
                zero_floats(s->grad, s->n);
        }
        t->op->backward[g->backend](g, t);
    }
    return 0;
}

/* ---- accessors ---------------------------------------------------------------- */
int zoo_tensor_ndim(const zoo_tensor *t) { return t ? t->ndim : 0; }
int64_t zoo_tensor_dim(const zoo_tensor *t, int i)
{
    if (!t)
        return 0;
    if (i < 0)
        i += t->ndim;
    return i >= 0 && i < t->ndim ? t->shape[i] : 0;
}
int64_t zoo_tensor_numel(const zoo_tensor *t) { return t ? t->n : 0; }
const char *zoo_tensor_name(const zoo_tensor *t) { return t && t->name ? t->name : ""; }
float *zoo_tensor_data(zoo_tensor *t) { return t ? t->data : NULL; }
float *zoo_tensor_grad(zoo_tensor *t) { return t ? t->grad : NULL; }
int32_t *zoo_tensor_idata(zoo_tensor *t) { return t ? t->idata : NULL; }
int zoo_tensor_is_trainable(const zoo_tensor *t) { return t && t->kind == ZOO_T_PARAM; }
int zoo_tensor_is_alias(const zoo_tensor *t) { return t && t->alias_of; }
int zoo_graph_nparams(const zoo_graph *g) { return g ? g->n_params : 0; }
zoo_tensor *zoo_graph_param(const zoo_graph *g, int i) { return g && i >= 0 && i < g->n_params ? g->params[i] : NULL; }
int64_t zoo_graph_count_trainable(const zoo_graph *g)
{
    int64_t n = 0;
    for (int i = 0; g && i < g->n_params; i++)
        if (g->params[i]->kind == ZOO_T_PARAM)
            n += g->params[i]->n;
    return n;
}
float *zoo_graph_params_flat(zoo_graph *g, int64_t *n)
{
    if (n)
        *n = g->pflat_n;
    return g->pflat;
}
float *zoo_graph_grads_flat(zoo_graph *g, int64_t *n)
{
    if (n)
        *n = g->pflat_n;
    return g->gflat;
}
float *zoo_graph_adam_m(zoo_graph *g) { return g->adam_m; }
float *zoo_graph_adam_v(zoo_graph *g) { return g->adam_v; }
const uint8_t *zoo_graph_trainable_mask(zoo_graph *g) { return g->tmask; }
size_t zoo_graph_arena_bytes(const zoo_graph *g)
{
    return g ? (g->arena_n + g->garena_n) * sizeof(float) + g->iarena_n * sizeof(int32_t) : 0;
}
