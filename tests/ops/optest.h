/* optest.h: the table-driven driver every op test shares. A test file describes its op
 * (how to build one case, optional input fills, attrs for the reference) and a table of
 * shapes; optest_main runs one mode given on the command line: gradcheck, torchref,
 * unit, or backend (the op on a backend against the CPU backend, the oracle).
 * Header-only so each test stays one executable. */
#ifndef ZOO_OPTEST_H
#define ZOO_OPTEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/src/internal.h" /* the backend comparison poisons planned buffers */
#include "testlib.h"

/* One shape/setting of an op under test; meaning of d[] and f[] is the test's own. */
typedef struct optest_case {
    const char *label; /* "B1 T1 D5" for messages */
    int64_t d[4];
    double f[4];
    int flag;
} optest_case;

typedef struct optest {
    const char *name;   /* op name, for messages and temp dirs */
    const char *script; /* PyTorch reference (absolute path), or NULL: no torchref */
    /* Build the nodes of one case; return the output (NULL on a builder failure). */
    zoo_tensor *(*build)(zoo_graph *g, const optest_case *c);
    /* After planning, the default fill (every trainable parameter N(0,1)) and
     * zoo_graph_set_training(g, training, step): fill inputs, adjust parameters or
     * the mode per case. Optional. */
    void (*fill)(zoo_graph *g, const optest_case *c, uint64_t seed);
    /* Before the reference run: dump inputs (role "input") and attrs. Optional. */
    void (*describe)(zt_dump *d, zoo_graph *g, zoo_tensor *out, const optest_case *c);
    /* Extra checks for the unit mode (shape errors, semantics); 0 ok. Optional. */
    int (*unit)(void);
    int training;       /* run cases in training mode (dropout on) at step `step` */
    uint64_t step;
    int max_checks;     /* finite-difference elements per parameter (0: 24) */
} optest;

/* Builds, plans and fills one case; NULL on failure (printed). keep_all: every buffer
 * its own memory, for the modes that read every node's values or gradient afterwards
 * or guard every buffer's padding. */
static zoo_graph *optest_setup(const optest *op, const optest_case *c, uint64_t seed, int keep_all, zoo_tensor **out)
{
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    char what[256];
    snprintf(what, sizeof what, "%s [%s]: build", op->name, c->label);
    *out = op->build(g, c);
    if (zt_check_graph(g, what) || !*out || (keep_all && zt_check_rc(zoo_graph_keep_all(g), what))) {
        zoo_graph_free(g);
        return NULL;
    }
    snprintf(what, sizeof what, "%s [%s]: plan", op->name, c->label);
    if (zt_check_rc(zoo_graph_plan(g, seed), what)) {
        zoo_graph_free(g);
        return NULL;
    }
    zt_fill_params(g, seed, 1.0f);
    zoo_graph_set_training(g, op->training, op->step);
    if (op->fill)
        op->fill(g, c, seed);
    return g;
}

/* Forward + finite-difference gradient check with guard words around every buffer. */
static int optest_gradcheck_case(const optest *op, const optest_case *c, uint64_t seed)
{
    zoo_tensor *out;
    zoo_graph *g = optest_setup(op, c, seed, 1, &out);
    if (!g)
        return 1;
    int bad = 0;
    zt_guard *gd = zt_guard_arm(g);
    char what[256];
    snprintf(what, sizeof what, "%s [%s] forward", op->name, c->label);
    bad |= !gd || zt_check_rc(zoo_graph_forward(g), what) || zt_guard_check(gd, what);
    if (!bad) {
        bad |= zt_gradcheck(g, out, seed, op->max_checks ? op->max_checks : 24, 0, 0, 0) != 0;
        snprintf(what, sizeof what, "%s [%s] backward", op->name, c->label);
        bad |= zt_guard_check(gd, what);
    }
    if (bad)
        fprintf(stderr, "  in case %s [%s]\n", op->name, c->label);
    zt_guard_free(gd);
    zoo_graph_free(g);
    return bad;
}

/* Same forward/backward with 1 and 2 threads: outputs and gradients bit for bit. */
static int optest_threads_case(const optest *op, const optest_case *c, uint64_t seed)
{
    float *res[2] = {NULL, NULL};
    int64_t nres = 0;
    int bad = 0;
    for (int k = 0; k < 2 && !bad; k++) {
        zoo_set_threads(k + 1);
        zoo_tensor *out;
        zoo_graph *g = optest_setup(op, c, seed, 0, &out);
        if (!g)
            return 1;
        int64_t no = zoo_tensor_numel(out), pn = 0;
        float *R = malloc((size_t)no * sizeof *R);
        zt_draw_dout(R, no, seed);
        bad |= zt_check_rc(zoo_graph_forward(g), "forward") || zt_check_rc(zoo_graph_backward_seeded(g, out, R), "backward");
        float *gr = zoo_graph_grads_flat(g, &pn);
        nres = no + pn;
        res[k] = malloc((size_t)nres * sizeof(float));
        memcpy(res[k], zoo_tensor_data(out), (size_t)no * sizeof(float));
        memcpy(res[k] + no, gr, (size_t)pn * sizeof(float));
        free(R);
        zoo_graph_free(g);
    }
    zoo_set_threads(2);
    if (!bad && memcmp(res[0], res[1], (size_t)nres * sizeof(float))) {
        char what[256];
        snprintf(what, sizeof what, "%s [%s]: 2 threads vs 1 (output, then gradients)", op->name, c->label);
        zt_compare(what, res[1], res[0], nres, 0, 0);
        bad = 1;
    }
    free(res[0]);
    free(res[1]);
    return bad;
}

static int optest_torchref(const optest *op, const optest_case *cases, int ncases, uint64_t seed)
{
    if (!op->script) {
        fprintf(stderr, "FAIL %s: no reference script\n", op->name);
        return 1;
    }
    char root[1024];
    if (zt_tmpdir(root, sizeof root, op->name))
        return 1;
    int bad = 0;
    for (int i = 0; i < ncases && !bad; i++) {
        zoo_tensor *out;
        zoo_graph *g = optest_setup(op, &cases[i], seed + (uint64_t)i, 0, &out);
        if (!g) {
            bad = 1;
            break;
        }
        char sub[1100];
        snprintf(sub, sizeof sub, "%s/case%02d", root, i);
        zt_dump *d = zt_dump_open(sub, NULL);
        if (d && op->describe)
            op->describe(d, g, out, &cases[i]);
        bad |= !d || zt_torchref(d, g, out, seed + (uint64_t)i, NULL);
        zoo_graph_free(g);
    }
    char args[1100];
    snprintf(args, sizeof args, "'%s'", root);
    int rc = bad ? 1 : zt_python(op->script, args);
    if (rc == 0 || rc == ZT_SKIP)
        zt_rmtree(root);
    else
        fprintf(stderr, "  (reference inputs kept in %s)\n", root);
    return rc;
}

/* ---- backend comparison ---------------------------------------------------------
 * The case runs on the CPU backend (inputs drawn as in the other modes) and on backend
 * X from the same values, copied through zoo_tensor_get/set. X's planned memory is
 * poisoned first (every byte 0xFF: NaN), so an output or a gradient a kernel leaves
 * unwritten shows as NaN. Backward runs twice: on the usual path (gradients a node can
 * write whole are left poisoned for it to overwrite: zoo_grad_fresh) and on the
 * accumulate path (no overwrites; every gradient starts at the float whose bytes are
 * all 0x3F, 0.747..., on both backends, so "=" where "+=" is due shows). Outputs and
 * every gradient are compared by NMSE = sum (x-c)^2 / sum c^2 and by max |x-c|; a NaN
 * where the CPU has none fails. With X = cpu the two must agree exactly. */
#define OPTEST_NMSE_MAX 1e-10
#define OPTEST_FILL_BYTE 0x3F

typedef struct optest_vec {
    float *x;
    int64_t n;
} optest_vec;

/* Values of out, then the flat parameter gradients, then every activation gradient. */
static int optest_collect(zoo_graph *g, zoo_tensor *out, int grads, optest_vec *v)
{
    int64_t n = zoo_tensor_numel(out), pn = zoo_graph_flat_size(g);
    if (grads) {
        n += pn;
        for (int i = 0; i < g->n_nodes; i++)
            if (g->nodes[i]->kind == ZOO_T_ACT && g->nodes[i]->grad)
                n += g->nodes[i]->n;
    }
    v->n = n;
    v->x = malloc((size_t)(n ? n : 1) * sizeof *v->x);
    if (!v->x)
        return 1;
    int64_t o = zoo_tensor_numel(out);
    if (zoo_tensor_get(out, v->x, 0, o))
        return 1;
    if (!grads)
        return 0;
    if (zoo_graph_flat_get(g, ZOO_FLAT_GRADS, v->x + o, 0, pn))
        return 1;
    o += pn;
    for (int i = 0; i < g->n_nodes; i++) {
        zoo_tensor *t = g->nodes[i];
        if (t->kind != ZOO_T_ACT || !t->grad)
            continue;
        if (zoo_tensor_get_grad(t, v->x + o, 0, t->n))
            return 1;
        o += t->n;
    }
    return 0;
}

static int optest_close(const char *what, const optest_vec *got, const optest_vec *ref, int exact)
{
    if (got->n != ref->n) {
        fprintf(stderr, "FAIL %s: %lld values, CPU %lld\n", what, (long long)got->n, (long long)ref->n);
        return 1;
    }
    double se = 0, sr = 0, maxabs = 0;
    int64_t nan_at = -1, worst = 0;
    for (int64_t i = 0; i < ref->n; i++) {
        double a = got->x[i], c = ref->x[i];
        if (isnan(a) != isnan(c) || isinf(a) != isinf(c)) {
            nan_at = i;
            break;
        }
        if (!isfinite(c))
            continue;
        se += (a - c) * (a - c);
        sr += c * c;
        if (fabs(a - c) > maxabs)
            maxabs = fabs(a - c), worst = i;
    }
    double nmse = sr > 0 ? se / sr : se;
    if (nan_at >= 0) {
        fprintf(stderr, "FAIL %s: value %lld is %g, CPU %g (unwritten or non-finite)\n", what, (long long)nan_at,
                (double)got->x[nan_at], (double)ref->x[nan_at]);
        return 1;
    }
    if (exact ? memcmp(got->x, ref->x, (size_t)ref->n * sizeof(float)) != 0 : nmse > OPTEST_NMSE_MAX) {
        fprintf(stderr, "FAIL %s: NMSE %.3g (max %.1g), max |diff| %.3g at %lld\n", what, nmse,
                exact ? 0.0 : OPTEST_NMSE_MAX, maxabs, (long long)worst);
        return 1;
    }
    return 0;
}

/* The same graph on backend b, planned, its leaves copied from ref (CPU). */
static zoo_graph *optest_twin(const optest *op, const optest_case *c, uint64_t seed, zoo_graph *ref, zoo_backend b,
                              zoo_tensor **out)
{
    zoo_graph *g = zoo_graph_new(b);
    *out = op->build(g, c);
    char what[256];
    snprintf(what, sizeof what, "%s [%s] on %s: plan", op->name, c->label, zoo_backend_name(b));
    if (zt_check_graph(g, what) || !*out || zt_check_rc(zoo_graph_keep_all(g), what) ||
        zt_check_rc(zoo_graph_plan(g, seed), what)) {
        zoo_graph_free(g);
        return NULL;
    }
    int rc = 0;
    for (int i = 0; i < g->n_nodes && !rc; i++) {
        zoo_tensor *t = g->nodes[i], *r = ref->nodes[i];
        if (t->kind == ZOO_T_ACT || t->alias_of)
            continue;
        void *tmp = malloc((size_t)t->n * 4);
        rc = !tmp || zoo_tensor_get(r, tmp, 0, r->n) || zoo_tensor_set(t, tmp, 0, t->n);
        free(tmp);
    }
    if (!rc)
        rc = zoo_graph_set_training(g, ref->exec.host_step.training, ref->exec.host_step.step);
    if (rc) {
        zt_check_rc(rc ? zoo_error_last()->code : 0, "copying inputs to the backend under test");
        zoo_graph_free(g);
        return NULL;
    }
    return g;
}

/* Poison X's activations and workspace, their gradients and parameter gradients. */
static int optest_poison(zoo_graph *g)
{
    zoo_exec *x = &g->exec;
    return g->be->memset(x, g->arena, 0xFF, g->arena_n * sizeof(float)) ||
           g->be->memset(x, g->garena, 0xFF, g->garena_n * sizeof(float)) ||
           g->be->memset(x, g->gflat, 0xFF, (size_t)g->pflat_n * sizeof(float));
}

static int optest_backend_case(const optest *op, const optest_case *c, uint64_t seed, zoo_backend b)
{
    zoo_tensor *rout, *xout;
    zoo_graph *ref = optest_setup(op, c, seed, 1, &rout);
    if (!ref)
        return 1;
    int bad = 0;
    int64_t no = zoo_tensor_numel(rout);
    float *R = malloc((size_t)no * sizeof *R);
    zt_draw_dout(R, no, seed);
    for (int path = 0; path < 2 && !bad; path++) { /* 0: usual (overwrites), 1: accumulate */
        zoo_graph *x = optest_twin(op, c, seed, ref, b, &xout);
        if (!x) {
            bad = 1;
            break;
        }
        ref->no_fresh = x->no_fresh = path;
        ref->grad_fill_byte = x->grad_fill_byte = path ? OPTEST_FILL_BYTE : 0;
        int grads = zoo_tensor_is_trainable(rout) || rout->requires_grad;
        char what[256];
        snprintf(what, sizeof what, "%s [%s] %s vs cpu, %s", op->name, c->label, zoo_backend_name(b),
                 path ? "accumulate path" : "overwrite path");
        optest_vec vr = {0}, vx = {0};
        bad |= zt_check_rc(optest_poison(x) ? ZOO_ERR_INVALID : 0, "poisoning the backend's memory");
        bad |= zt_check_rc(zoo_graph_forward(ref), "cpu forward") || zt_check_rc(zoo_graph_forward(x), what);
        if (!bad && grads)
            bad |= zt_check_rc(zoo_graph_backward_seeded(ref, rout, R), "cpu backward") ||
                   zt_check_rc(zoo_graph_backward_seeded(x, xout, R), what);
        bad |= zt_check_rc(zoo_graph_synchronize(x), what);
        if (!bad)
            bad |= optest_collect(ref, rout, grads, &vr) || optest_collect(x, xout, grads, &vx) ||
                   optest_close(what, &vx, &vr, b == ZOO_BACKEND_CPU);
        free(vr.x);
        free(vx.x);
        zoo_graph_free(x);
    }
    free(R);
    zoo_graph_free(ref);
    if (bad)
        fprintf(stderr, "  in case %s [%s]\n", op->name, c->label);
    return bad;
}

/* argv[2] or ZOO_TEST_BACKEND names the backend under test (default cpu). 77 when it
 * cannot run here. */
static int optest_backend(const optest *op, const optest_case *cases, int ncases, uint64_t seed, const char *name)
{
    zoo_backend b = ZOO_BACKEND_CPU;
    if (name && !strcmp(name, "cuda"))
        b = ZOO_BACKEND_CUDA;
    else if (name && strcmp(name, "cpu")) {
        fprintf(stderr, "FAIL %s: unknown backend '%s' (cpu or cuda)\n", op->name, name);
        return 1;
    }
    if (zoo_backend_available(b)) {
        printf("SKIP %s backend %s: %s\n", op->name, zoo_backend_name(b), zoo_error_last()->msg);
        return ZT_SKIP;
    }
    /* an op the backend lacks is a skip naming it (the backend's coverage test counts) */
    zoo_graph *probe = zoo_graph_new(b);
    char missing[256] = "";
    int nmiss = probe && op->build(probe, &cases[0]) ? zoo_graph_missing_ops(probe, b, missing, sizeof missing) : 0;
    zoo_graph_free(probe);
    if (nmiss) {
        printf("SKIP %s backend %s: no kernel for %s\n", op->name, zoo_backend_name(b), missing);
        return ZT_SKIP;
    }
    int bad = 0;
    for (int i = 0; i < ncases; i++)
        bad |= optest_backend_case(op, &cases[i], seed + (uint64_t)i, b);
    return bad;
}

/* main() of an op test: argv[1] is the mode. Exit 0 pass, 1 fail, 77 skip. */
static int optest_main(int argc, char **argv, const optest *op, const optest_case *cases, int ncases)
{
    const char *mode = argc > 1 ? argv[1] : "";
    uint64_t seed = 20240601;
    int bad = 0;
    zoo_set_threads(2);
    if (!strcmp(mode, "gradcheck")) {
        for (int i = 0; i < ncases; i++)
            bad |= optest_gradcheck_case(op, &cases[i], seed + (uint64_t)i);
    } else if (!strcmp(mode, "torchref")) {
        int rc = optest_torchref(op, cases, ncases, seed);
        if (rc == ZT_SKIP)
            return ZT_SKIP;
        bad = rc != 0;
    } else if (!strcmp(mode, "backend")) {
        const char *b = argc > 2 ? argv[2] : getenv("ZOO_TEST_BACKEND");
        int rc = optest_backend(op, cases, ncases, seed, b);
        if (rc == ZT_SKIP)
            return ZT_SKIP;
        bad = rc != 0;
    } else if (!strcmp(mode, "unit")) {
        for (int i = 0; i < ncases; i++)
            bad |= optest_threads_case(op, &cases[i], seed + (uint64_t)i);
        if (op->unit)
            bad |= op->unit() != 0;
    } else {
        fprintf(stderr, "usage: %s gradcheck|torchref|unit|backend [cpu|cuda]\n", argv[0]);
        return 2;
    }
    printf("%s %s: %s (%d cases)\n", op->name, mode, bad ? "FAIL" : "ok", ncases);
    return bad ? 1 : 0;
}

/* Shape helpers for builders. */
static inline zoo_tensor *optest_param(zoo_graph *g, const char *name, int nd, int64_t a, int64_t b, int64_t c)
{
    int64_t s[3] = {a, b, c};
    return zoo_param(g, name, nd, s, zoo_init_zeros());
}

#endif
