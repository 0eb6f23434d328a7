/* optest.h: the table-driven driver every op test in tests/ops/ shares. A test file
 * describes its op (how to build one case, optional input fills, attrs for the
 * reference) and a table of shapes; optest_main runs one mode given on the command
 * line: gradcheck, torchref or unit. Header-only so each test stays one executable. */
#ifndef ZOO_OPTEST_H
#define ZOO_OPTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Builds, plans and fills one case; NULL on failure (printed). */
static zoo_graph *optest_setup(const optest *op, const optest_case *c, uint64_t seed, zoo_tensor **out)
{
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    char what[256];
    snprintf(what, sizeof what, "%s [%s]: build", op->name, c->label);
    *out = op->build(g, c);
    if (zt_check_graph(g, what) || !*out) {
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
    zoo_graph *g = optest_setup(op, c, seed, &out);
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
        zoo_graph *g = optest_setup(op, c, seed, &out);
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
        zoo_graph *g = optest_setup(op, &cases[i], seed + (uint64_t)i, &out);
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
    } else if (!strcmp(mode, "unit")) {
        for (int i = 0; i < ncases; i++)
            bad |= optest_threads_case(op, &cases[i], seed + (uint64_t)i);
        if (op->unit)
            bad |= op->unit() != 0;
    } else {
        fprintf(stderr, "usage: %s gradcheck|torchref|unit\n", argv[0]);
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
