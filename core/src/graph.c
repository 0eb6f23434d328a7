/* graph.c: graph building, memory planning and execution (forward, reverse-mode
 * backward). Knows nothing about specific ops: each op brings its own kernels. */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "zoo/run.h"

#ifdef _OPENMP
#include <omp.h>
#endif

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

zoo_graph *zoo_graph_new(zoo_backend backend)
{
    zoo_graph *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->backend = backend >= 0 && backend < ZOO_BACKEND_COUNT ? backend : ZOO_BACKEND_CPU;
    g->be = zoo_backend_iface_of(g->backend);
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
    if (g->exec_ready) {
        void *bufs[] = {g->pflat, g->gflat, g->adam_m, g->adam_v, g->tmask, g->arena, g->garena, g->iarena, g->loss_hist};
        for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
            if (bufs[i])
                g->be->free(&g->exec, bufs[i]);
        g->be->exec_free(&g->exec);
    }
    free(g->zero_at);
    free(g->op_seconds);
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
    t->g = g;
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
    if (nsrc > ZOO_MAX_SRC)
        return zoo_node_fail(g, ZOO_ERR_INVALID, "%s: %d inputs, an op takes at most %d", op->name, nsrc, ZOO_MAX_SRC);
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

int zoo_graph_add_loss(zoo_graph *g, zoo_tensor *t)
{
    if (!g)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_graph_add_loss: no graph");
    if (g->status)
        return g->status;
    if (g->planned) /* refused without failing the graph, which still runs as planned */
        return ZOO_FAIL(ZOO_ERR_STATE, "zoo_graph_add_loss after zoo_graph_plan: add loss terms while building");
    if (!t || t->kind != ZOO_T_ACT || t->n != 1 || !t->requires_grad)
        return zoo_graph_fail(g, ZOO_ERR_INVALID,
                              "zoo_graph_add_loss: a loss term must be one element computed from a parameter (got %s)",
                              !t ? "none" : t->kind != ZOO_T_ACT ? "a leaf" : t->n != 1 ? "several elements" : "a constant");
    t->loss_term = 1;
    return 0;
}

zoo_tensor *zoo_graph_loss_term(const zoo_graph *g, int i)
{
    for (int k = 0; g && k < g->n_nodes; k++)
        if (g->nodes[k]->loss_term && i-- == 0)
            return g->nodes[k];
    return NULL;
}

/* ---- planning ---------------------------------------------------------------- */

zoo_tensor *zoo_side_new(zoo_graph *g, zoo_tensor *t, zoo_dtype dt, int64_t n)
{
    if (!t)
        return NULL;
    zoo_tensor *s = tensor_new(g, ZOO_T_ACT, dt, 1, &n);
    if (s)
        t->side = s;
    return s;
}

/* Draw a parameter's values into host memory x (its own stream, keyed by its name, so
 * adding a parameter elsewhere does not change this one's values). */
static void init_fill(const zoo_tensor *t, float *x, uint64_t seed, zoo_init init)
{
    zoo_rng r;
    uint64_t h = 1469598103934665603ull;
    for (const char *c = t->name; *c; c++)
        h = (h ^ (uint8_t)*c) * 1099511628211ull;
    zoo_rng_init(&r, seed ^ h);
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

/* Whether planning gives t a gradient: parameters, and activations that depend on
 * one unless the graph is planned for forward passes alone. */
static int has_grad(const zoo_graph *g, const zoo_tensor *t)
{
    if (t->kind == ZOO_T_PARAM)
        return 1;
    return (t->kind == ZOO_T_ACT || t->kind == ZOO_T_INPUT) && t->requires_grad && !g->forward_only;
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
            if (t->src[k] && has_grad(g, t->src[k]) && g->zero_at[t->src[k]->id] < i)
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

/* Clear a gradient of n floats (to 0, or to the test fill pattern). */
static int clear_grad(zoo_graph *g, float *p, int64_t n)
{
    return g->be->memset(&g->exec, p, g->grad_fill_byte, (size_t)n * sizeof *p);
}

static int alloc_buf(zoo_graph *g, void **out, size_t bytes, const char *what)
{
    int rc = g->be->alloc(&g->exec, bytes ? bytes : 64, out);
    if (rc)
        zoo_error_prefix("planning %.1f MiB of %s on the %s backend: ", (double)bytes / 1048576.0, what, g->be->name);
    return rc;
}

/* Every op has a kernel on this backend, and the backend runs here: checked before
 * anything is allocated, naming every missing op at once. */
static int plan_check_support(zoo_graph *g)
{
    char missing[768];
    int n = zoo_graph_missing_ops(g, g->backend, missing, sizeof missing);
    if (n)
        return ZOO_FAIL(ZOO_ERR_UNSUPPORTED, "the %s backend has no kernel for %d op%s this model uses: %s; use backend cpu",
                        g->be->name, n, n == 1 ? "" : "s", missing);
    return zoo_backend_available(g->backend);
}

/* Parameters, their gradients and the optimizer state: one flat buffer each. Values
 * are drawn into a host staging copy and uploaded once. */
static int plan_params(zoo_graph *g, uint64_t seed)
{
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
    g->pflat_n = pn;
    size_t fb = (size_t)pn * sizeof(float);
    int rc;
    if ((rc = alloc_buf(g, (void **)&g->pflat, fb, "parameters")) ||
        (rc = alloc_buf(g, (void **)&g->gflat, fb, "gradients")) ||
        (rc = alloc_buf(g, (void **)&g->adam_m, fb, "AdamW moments")) ||
        (rc = alloc_buf(g, (void **)&g->adam_v, fb, "AdamW moments")) ||
        (rc = alloc_buf(g, (void **)&g->tmask, (size_t)pn, "the trainable mask")))
        return rc;
    g->mem.params = fb;
    g->mem.grads = fb;
    g->mem.optimizer = 2 * fb + (size_t)pn;
    float *host = malloc(fb ? fb : 1);
    uint8_t *mask = calloc((size_t)(pn ? pn : 1), 1);
    if (!host || !mask) {
        free(host);
        free(mask);
        return ZOO_FAIL(ZOO_ERR_NOMEM, "cannot allocate the %.1f MiB host copy of the parameters", (double)fb / 1048576.0);
    }
    for (int i = 0; i < g->n_params; i++) {
        zoo_tensor *t = g->params[i];
        if (t->kind == ZOO_T_PARAM)
            memset(mask + t->poff, 1, (size_t)t->n);
        if (!t->alias_of) /* an alias must not re-draw (or zero) its source's values */
            init_fill(t, host + t->poff, seed, t->init);
    }
    zoo_exec *x = &g->exec;
    rc = g->be->copy(x, g->pflat, host, fb, ZOO_COPY_H2D);
    if (!rc)
        rc = g->be->copy(x, g->tmask, mask, (size_t)pn, ZOO_COPY_H2D);
    free(host);
    free(mask);
    if (!rc)
        rc = g->be->memset(x, g->gflat, 0, fb);
    if (!rc)
        rc = g->be->memset(x, g->adam_m, 0, fb);
    if (!rc)
        rc = g->be->memset(x, g->adam_v, 0, fb);
    for (int i = 0; i < g->n_params; i++) {
        zoo_tensor *t = g->params[i];
        t->data = g->pflat + t->poff;
        t->grad = t->kind == ZOO_T_PARAM ? g->gflat + t->poff : NULL;
    }
    return rc;
}

/* Activations and their workspace (one arena), their gradients, and the int32 inputs:
 * one allocation each, at offsets memplan.c chooses. With reuse (the default), a buffer
 * shares memory with others that hold nothing while it does; ZOO_MEM_REUSE=0 or
 * keep_all gives each its own (values and workspace interleaved node by node). The
 * accounting counts values and workspace apart, as the arena's two regions. */
static int plan_arenas(zoo_graph *g)
{
    const char *env = getenv("ZOO_MEM_REUSE");
    int reuse = !g->keep_all && !(env && !strcmp(env, "0"));
    zoo_memplan p;
    if (zoo_memplan_make(g, reuse, &p))
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory planning the activation memory");
    size_t an = (size_t)p.data_n, wn = (size_t)p.aux_n, gn = (size_t)p.grad_n, in = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        zoo_tensor *t = g->nodes[i];
        if ((t->kind == ZOO_T_ACT || t->kind == ZOO_T_INPUT) && t->dtype == ZOO_I32)
            in += (size_t)zoo_align_floats(t->n);
    }
    int rc;
    if ((rc = alloc_buf(g, (void **)&g->arena, (an + wn) * sizeof(float), "activations and op workspace")) ||
        (rc = alloc_buf(g, (void **)&g->garena, gn * sizeof(float), "activation gradients")) ||
        (rc = alloc_buf(g, (void **)&g->iarena, in * sizeof(int32_t), "int32 inputs")) ||
        (rc = alloc_buf(g, (void **)&g->loss_hist, ZOO_LOSS_SLOTS * sizeof(float), "the loss history"))) {
        zoo_memplan_free(&p);
        return rc;
    }
    zoo_exec *x = &g->exec;
    if ((rc = g->be->memset(x, g->arena, 0, (an + wn) * sizeof(float))) ||
        (rc = g->be->memset(x, g->iarena, 0, in * sizeof(int32_t)))) {
        zoo_memplan_free(&p);
        return rc;
    }
    g->arena_n = an + wn;
    g->garena_n = gn;
    g->iarena_n = in;
    g->mem.activations = an * sizeof(float) + in * sizeof(int32_t);
    g->mem.act_grads = gn * sizeof(float);
    g->mem.workspace = wn * sizeof(float);
    size_t io = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        zoo_tensor *t = g->nodes[i];
        if (t->kind != ZOO_T_ACT && t->kind != ZOO_T_INPUT)
            continue;
        if (t->dtype == ZOO_I32) {
            t->idata = g->iarena + io;
            io += (size_t)zoo_align_floats(t->n);
        } else
            t->data = g->arena + p.data_off[i];
        t->aux = p.aux_off[i] >= 0 ? g->arena + p.aux_off[i] : NULL;
        t->grad = p.grad_off[i] >= 0 ? g->garena + p.grad_off[i] : NULL;
    }
    zoo_memplan_free(&p);
    return 0;
}

int zoo_graph_plan(zoo_graph *g, uint64_t seed)
{
    if (!g)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_graph_plan: no graph");
    if (g->status)
        return ZOO_FAIL(g->status, "%s", g->errmsg);
    if (g->planned || g->exec_ready)
        return ZOO_FAIL(ZOO_ERR_STATE, "graph planned twice");
    int rc = plan_check_support(g);
    if (rc)
        return rc;
    /* a loss term's gradient is seeded, not accumulated: nothing may read it */
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i]->nsrc; k++)
            if (g->nodes[i]->src[k] && g->nodes[i]->src[k]->loss_term)
                return ZOO_FAIL(ZOO_ERR_INVALID,
                                "node %d is a loss term (zoo_graph_add_loss) and op '%s' (node %d) reads it: add a "
                                "term nothing else uses",
                                g->nodes[i]->src[k]->id, g->nodes[i]->op ? g->nodes[i]->op->name : "?", i);
    g->exec.be = g->be;
    g->exec.g = g;
    if ((rc = g->be->exec_init(&g->exec)))
        return rc;
    g->exec_ready = 1;
    const char *sync = getenv("ZOO_SYNC_EACH_OP"), *capture = getenv("ZOO_CUDA_GRAPH");
    g->sync_each_op = sync && *sync && strcmp(sync, "0");
    g->use_capture = g->be->capture_begin && !g->sync_each_op && !(capture && !strcmp(capture, "0"));
    for (int i = 0; i < g->n_nodes; i++) {
        zoo_tensor *t = g->nodes[i];
        zoo_prepare_fn prep = t->op ? t->op->k[g->backend].prepare : NULL;
        if (prep && (rc = prep(&g->exec, t))) {
            zoo_error_prefix("preparing op '%s' (node %d) on the %s backend: ", t->op->name, t->id, g->be->name);
            return rc;
        }
    }
    if ((rc = plan_params(g, seed)))
        return rc;
    if (plan_zeroing(g)) /* before the arenas: gradients live from their first clearing */
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory planning the graph");
    if ((rc = plan_arenas(g)))
        return rc;
    g->planned = 1;
    g->exec.host_step.seed = seed;
    return zoo_exec_push_step(&g->exec); /* a mode set before planning holds */
}

static int before_plan(zoo_graph *g, const char *fn)
{
    if (!g)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: no graph", fn);
    if (g->planned || g->exec_ready)
        return ZOO_FAIL(ZOO_ERR_STATE, "%s: the graph is already planned; call it before zoo_graph_plan", fn);
    return 0;
}

int zoo_graph_keep_all(zoo_graph *g)
{
    int rc = before_plan(g, "zoo_graph_keep_all");
    if (!rc)
        g->keep_all = 1;
    return rc;
}

int zoo_graph_forward_only(zoo_graph *g)
{
    int rc = before_plan(g, "zoo_graph_forward_only");
    if (!rc)
        g->forward_only = 1;
    return rc;
}

int zoo_graph_reinit_param(zoo_graph *g, zoo_tensor *p, zoo_init init, uint64_t seed)
{
    if (!g || !g->planned || !p || (p->kind != ZOO_T_PARAM && p->kind != ZOO_T_BUFFER))
        return ZOO_FAIL(ZOO_ERR_STATE, "reinit needs a planned graph and a parameter");
    float *host = malloc((size_t)p->n * sizeof *host);
    if (!host)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory re-drawing '%s'", p->name);
    /* A different stream from the first draw, like PyTorch's second normal_ call. */
    init_fill(p, host, zoo_mix64(seed + 0x5bd1e995u), init);
    int rc = zoo_tensor_set(p, host, 0, p->n);
    free(host);
    return rc;
}

int zoo_graph_set_training(zoo_graph *g, int training, uint64_t step)
{
    if (!g)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_graph_set_training: no graph");
    /* the step state is the one copy of the mode; before planning only its host mirror */
    g->exec.host_step.step = step;
    g->exec.host_step.training = training;
    return g->exec_ready ? zoo_exec_push_step(&g->exec) : 0;
}

int zoo_exec_push_step(zoo_exec *x)
{
    if (x->step == &x->host_step)
        return 0;
    return x->be->copy(x, x->step, &x->host_step, sizeof x->host_step, ZOO_COPY_H2D);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int zoo_graph_profile(zoo_graph *g, int on)
{
    if (!g || !g->planned)
        return ZOO_FAIL(ZOO_ERR_STATE, "zoo_graph_profile needs a planned graph");
    if (g->use_capture && on)
        return ZOO_FAIL(ZOO_ERR_STATE, "zoo_graph_profile: this graph's steps are captured (set ZOO_CUDA_GRAPH=0 "
                                       "before planning to time each op)");
    free(g->op_seconds);
    g->op_seconds = NULL;
    if (on && !(g->op_seconds = calloc((size_t)(2 * g->n_nodes + 1), sizeof *g->op_seconds)))
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory for the op profile");
    return 0;
}

int zoo_graph_profile_get(const zoo_graph *g, int node, const char **op, double *forward_s, double *backward_s)
{
    if (!g || !g->op_seconds || node < 0 || node >= g->n_nodes)
        return 0;
    const zoo_tensor *t = g->nodes[node];
    *op = t->op ? t->op->name : NULL;
    *forward_s = g->op_seconds[2 * node];
    *backward_s = g->op_seconds[2 * node + 1];
    return 1;
}

/* One kernel call: its status, the op named on failure, and a check after it when
 * the sync-each-op switch is on. Profiling waits for each kernel, so its time is its own. */
static int run_kernel(zoo_graph *g, zoo_kernel_fn fn, zoo_tensor *t, const char *dir)
{
    double t0 = g->op_seconds ? now_s() : 0.0;
    int rc = fn(&g->exec, t);
    if (!rc && (g->sync_each_op || g->op_seconds))
        rc = g->be->synchronize(&g->exec);
    if (rc)
        zoo_error_prefix("op '%s' %s (node %d) failed: ", t->op->name, dir, t->id);
    else if (g->op_seconds)
        g->op_seconds[2 * t->id + (dir[0] == 'b')] += now_s() - t0;
    return rc;
}

int zoo_graph_forward(zoo_graph *g)
{
    if (!g || !g->planned)
        return ZOO_FAIL(ZOO_ERR_STATE, "forward before zoo_graph_plan");
    for (int i = 0; i < g->n_nodes; i++) {
        zoo_tensor *t = g->nodes[i];
        if (!t->op)
            continue;
        int rc = run_kernel(g, t->op->k[g->backend].forward, t, "forward");
        if (rc)
            return rc;
    }
    return 0;
}

static int backward_from(zoo_graph *g, zoo_tensor *out, const float *dout);

int zoo_graph_backward(zoo_graph *g, zoo_tensor *loss)
{
    if (loss && loss->n != 1)
        return ZOO_FAIL(ZOO_ERR_INVALID, "backward needs a scalar loss");
    return backward_from(g, loss, NULL);
}

int zoo_graph_backward_seeded(zoo_graph *g, zoo_tensor *out, const float *dout)
{
    if (!dout)
        return ZOO_FAIL(ZOO_ERR_INVALID, "backward needs an output gradient");
    return backward_from(g, out, dout);
}

/* Backward from out, seeded with the host values dout, or with 1 (filled on the
 * backend, so a captured step holds no host copy) when dout is NULL. */
static int backward_from(zoo_graph *g, zoo_tensor *out, const float *dout)
{
    if (!g || !g->planned)
        return ZOO_FAIL(ZOO_ERR_STATE, "backward before zoo_graph_plan");
    if (g->forward_only)
        return ZOO_FAIL(ZOO_ERR_STATE, "backward on a graph planned for forward passes only (zoo_graph_forward_only)");
    if (!out || !out->requires_grad || out->kind != ZOO_T_ACT)
        return ZOO_FAIL(ZOO_ERR_INVALID, "backward needs an op output that depends on a parameter");
    /* Gradients no backward below `out` clears (no consumer there, or `out` itself)
     * are zeroed now; the others right before their first accumulating backward, which
     * instead writes them whole when its op can (zoo_grad_fresh). Either way every
     * gradient equals a zero-then-accumulate of the whole graph. */
    int rc = 0, top = out->id; /* the last node whose backward runs: a later loss term's too */
    for (int i = out->id + 1; i < g->n_nodes && !dout; i++)
        if (g->nodes[i]->loss_term)
            top = i;
    for (int i = 0; i < g->n_nodes && !rc; i++) {
        zoo_tensor *t = g->nodes[i];
        if (t->grad && (g->zero_at[i] < 0 || g->zero_at[i] > top))
            rc = clear_grad(g, t->grad, t->n);
    }
    if (!rc)
        rc = dout ? g->be->copy(&g->exec, out->grad, dout, (size_t)out->n * sizeof(float), ZOO_COPY_H2D)
                  : g->be->fill(&g->exec, out->grad, 1.0f, out->n);
    for (int i = top; i >= 0 && !rc; i--) {
        zoo_tensor *t = g->nodes[i];
        if (!t->op || !t->requires_grad)
            continue;
        t->fresh = 0;
        for (int z = g->zero_first[i]; z < g->zero_first[i + 1] && !rc; z++) {
            zoo_tensor *s = g->nodes[g->zero_list[z]];
            int k = sole_src(t, s);
            if (k >= 0 && (t->overwrite >> k & 1u) && !g->no_fresh)
                t->fresh |= 1u << k; /* t writes it whole: no need to clear it */
            else
                rc = clear_grad(g, s->grad, s->n);
        }
        /* a loss term: the objective's d/dt is 1 (only the loss's backward, not a seeded one) */
        if (!rc && t->loss_term && !dout && t != out)
            rc = g->be->fill(&g->exec, t->grad, 1.0f, t->n);
        if (!rc)
            rc = run_kernel(g, t->op->k[g->backend].backward, t, "backward");
    }
    return rc;
}

/* The work of one step, queued: forward, the loss logged, backward, AdamW. */
static int step_body(zoo_graph *g, zoo_tensor *loss)
{
    zoo_exec *x = &g->exec;
    int rc = zoo_graph_forward(g);
    if (!rc)
        rc = g->be->log_loss(x, g->loss_hist, loss->data);
    if (!rc)
        rc = backward_from(g, loss, NULL);
    if (!rc && (rc = g->be->adamw(x, g->pflat, g->gflat, g->adam_m, g->adam_v, g->tmask, g->pflat_n)))
        zoo_error_prefix("AdamW step on the %s backend: ", g->be->name);
    return rc;
}

int zoo_graph_step(zoo_graph *g, zoo_tensor *loss)
{
    if (!g || !g->planned || !loss || loss->n != 1 || !loss->requires_grad)
        return ZOO_FAIL(ZOO_ERR_STATE, "zoo_graph_step needs a planned graph and its scalar loss");
    zoo_exec *x = &g->exec;
    int rc = zoo_exec_push_step(x);
    if (rc)
        return rc;
    if (g->captured)
        return g->be->replay(x);
    /* the first step runs eagerly (lazy set-up inside libraries happens outside capture) */
    int capture = g->use_capture && g->eager_steps > 0;
    if (capture && (rc = g->be->capture_begin(x)))
        return rc;
    rc = step_body(g, loss);
    if (!capture) {
        g->eager_steps++;
        return rc;
    }
    int rc_end = g->be->capture_end(x, rc == 0); /* nothing captured has run yet */
    if (rc || (rc = rc_end))
        return rc;
    g->captured = 1;
    return g->be->replay(x);
}

int zoo_graph_grad_step(zoo_graph *g, zoo_tensor *loss)
{
    if (!g || !g->planned || !loss || loss->n != 1 || !loss->requires_grad)
        return ZOO_FAIL(ZOO_ERR_STATE, "zoo_graph_grad_step needs a planned graph and its scalar loss");
    int rc = zoo_exec_push_step(&g->exec);
    if (!rc)
        rc = zoo_graph_forward(g);
    if (!rc)
        rc = g->be->log_loss(&g->exec, g->loss_hist, loss->data);
    return rc ? rc : backward_from(g, loss, NULL);
}

int zoo_graph_adamw_step(zoo_graph *g)
{
    if (!g || !g->planned)
        return ZOO_FAIL(ZOO_ERR_STATE, "AdamW step before zoo_graph_plan");
    int rc = zoo_exec_push_step(&g->exec); /* the scalars may have changed since the forward */
    if (!rc && (rc = g->be->adamw(&g->exec, g->pflat, g->gflat, g->adam_m, g->adam_v, g->tmask, g->pflat_n)))
        zoo_error_prefix("AdamW step on the %s backend: ", g->be->name);
    return rc;
}

int zoo_graph_synchronize(zoo_graph *g)
{
    if (!g || !g->exec_ready)
        return 0;
    return g->be->synchronize(&g->exec);
}

/* ---- access ---------------------------------------------------------------------- */

static int range_ok(const zoo_tensor *t, const void *host, int64_t first, int64_t count, const char *fn)
{
    if (!t || !t->g || !t->g->planned)
        return ZOO_FAIL(ZOO_ERR_STATE, "%s: the tensor's graph is not planned", fn);
    if (!host && count)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: no host buffer", fn);
    if (first < 0 || count < 0 || first + count > t->n)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: elements [%lld, %lld) of a %lld-element tensor '%s'", fn,
                        (long long)first, (long long)(first + count), (long long)t->n, zoo_tensor_name(t));
    return 0;
}

static char *tensor_mem(const zoo_tensor *t)
{
    return t->dtype == ZOO_I32 ? (char *)t->idata : (char *)t->data;
}

int zoo_tensor_get(const zoo_tensor *t, void *dst, int64_t first, int64_t count)
{
    int rc = range_ok(t, dst, first, count, "zoo_tensor_get");
    if (rc || !count)
        return rc;
    zoo_graph *g = t->g;
    return g->be->copy(&g->exec, dst, tensor_mem(t) + first * 4, (size_t)count * 4, ZOO_COPY_D2H);
}

int zoo_tensor_set(zoo_tensor *t, const void *src, int64_t first, int64_t count)
{
    int rc = range_ok(t, src, first, count, "zoo_tensor_set");
    if (rc || !count)
        return rc;
    zoo_graph *g = t->g;
    return g->be->copy(&g->exec, tensor_mem(t) + first * 4, src, (size_t)count * 4, ZOO_COPY_H2D);
}

int zoo_tensor_get_grad(const zoo_tensor *t, float *dst, int64_t first, int64_t count)
{
    int rc = range_ok(t, dst, first, count, "zoo_tensor_get_grad");
    if (rc || !count)
        return rc;
    if (!t->grad)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_tensor_get_grad: tensor '%s' has no gradient", zoo_tensor_name(t));
    zoo_graph *g = t->g;
    return g->be->copy(&g->exec, dst, t->grad + first, (size_t)count * sizeof *dst, ZOO_COPY_D2H);
}

static float *flat_of(zoo_graph *g, zoo_flat which)
{
    switch (which) {
    case ZOO_FLAT_PARAMS: return g->pflat;
    case ZOO_FLAT_GRADS: return g->gflat;
    case ZOO_FLAT_ADAM_M: return g->adam_m;
    case ZOO_FLAT_ADAM_V: return g->adam_v;
    }
    return NULL;
}

static int flat_ok(const zoo_graph *g, zoo_flat which, const void *host, int64_t first, int64_t count)
{
    if (!g || !g->planned)
        return ZOO_FAIL(ZOO_ERR_STATE, "flat-buffer access before zoo_graph_plan");
    if (which < ZOO_FLAT_PARAMS || which > ZOO_FLAT_ADAM_V || (!host && count))
        return ZOO_FAIL(ZOO_ERR_INVALID, "flat-buffer access: unknown buffer %d or no host buffer", (int)which);
    if (first < 0 || count < 0 || first + count > g->pflat_n)
        return ZOO_FAIL(ZOO_ERR_INVALID, "flat-buffer access: elements [%lld, %lld) of %lld", (long long)first,
                        (long long)(first + count), (long long)g->pflat_n);
    return 0;
}

int zoo_graph_flat_get(zoo_graph *g, zoo_flat which, float *dst, int64_t first, int64_t count)
{
    int rc = flat_ok(g, which, dst, first, count);
    if (rc || !count)
        return rc;
    return g->be->copy(&g->exec, dst, flat_of(g, which) + first, (size_t)count * sizeof *dst, ZOO_COPY_D2H);
}

int zoo_graph_flat_set(zoo_graph *g, zoo_flat which, const float *src, int64_t first, int64_t count)
{
    int rc = flat_ok(g, which, src, first, count);
    if (rc || !count)
        return rc;
    return g->be->copy(&g->exec, flat_of(g, which) + first, src, (size_t)count * sizeof *src, ZOO_COPY_H2D);
}

int64_t zoo_graph_flat_size(const zoo_graph *g) { return g ? g->pflat_n : 0; }

/* Host pointers only where the backend's memory is host memory. */
static int host_ok(const zoo_graph *g) { return g && g->be->host_memory; }

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
zoo_dtype zoo_tensor_dtype(const zoo_tensor *t) { return t ? t->dtype : ZOO_F32; }
const char *zoo_tensor_name(const zoo_tensor *t) { return t && t->name ? t->name : ""; }
float *zoo_tensor_data(zoo_tensor *t) { return t && host_ok(t->g) ? t->data : NULL; }
float *zoo_tensor_grad(zoo_tensor *t) { return t && host_ok(t->g) ? t->grad : NULL; }
int32_t *zoo_tensor_idata(zoo_tensor *t) { return t && host_ok(t->g) ? t->idata : NULL; }
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
        *n = g ? g->pflat_n : 0;
    return host_ok(g) ? g->pflat : NULL;
}
float *zoo_graph_grads_flat(zoo_graph *g, int64_t *n)
{
    if (n)
        *n = g ? g->pflat_n : 0;
    return host_ok(g) ? g->gflat : NULL;
}
float *zoo_graph_adam_m(zoo_graph *g) { return host_ok(g) ? g->adam_m : NULL; }
float *zoo_graph_adam_v(zoo_graph *g) { return host_ok(g) ? g->adam_v : NULL; }

int zoo_graph_mem_plan(const zoo_graph *g, zoo_mem_plan *out)
{
    if (!out)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_graph_mem_plan: no output");
    memset(out, 0, sizeof *out);
    if (!g || !g->planned)
        return ZOO_FAIL(ZOO_ERR_STATE, "zoo_graph_mem_plan before zoo_graph_plan");
    *out = g->mem;
    return 0;
}

size_t zoo_mem_plan_total(const zoo_mem_plan *m)
{
    return m ? m->params + m->grads + m->optimizer + m->activations + m->act_grads + m->workspace : 0;
}

size_t zoo_graph_arena_bytes(const zoo_graph *g)
{
    return g ? g->mem.activations + g->mem.act_grads + g->mem.workspace : 0;
}
