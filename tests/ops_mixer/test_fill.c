/* test_fill.c: zoo_fill, a constant tensor made by the graph, added to a parameter so
 * the case has something to differentiate (the gradient passes the fill by: it has no
 * inputs) against finite differences and PyTorch, CUDA against CPU; refused shapes and
 * values, and no state-dict entry. */
#include <math.h>

#include "optest.h"

/* d = x's shape (A, R, C) (A = 0: 2-D (R, C)); f[0] the constant; flag 1: the fill is
 * the last dim only (broadcast over x's leading dims), 0: x's whole shape */
static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    int nd = c->d[0] ? 3 : 2;
    const int64_t *shape = c->d[0] ? c->d : c->d + 1;
    zoo_tensor *x = c->d[0] ? optest_param(g, "x", 3, c->d[0], c->d[1], c->d[2]) : optest_param(g, "x", 2, c->d[1], c->d[2], 0);
    zoo_tensor *k = c->flag ? zoo_fill(g, 1, shape + nd - 1, (float)c->f[0]) : zoo_fill(g, nd, shape, (float)c->f[0]);
    return zoo_add(g, x, k);
}

static void describe(zt_dump *d, zoo_graph *g, zoo_tensor *out, const optest_case *c)
{
    (void)g, (void)out;
    zt_dump_attr(d, "value", c->f[0]);
}

static int refused(const char *what, int ndim, const int64_t *shape, float v, int code)
{
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *y = zoo_fill(g, ndim, shape, v);
    int bad = y || zoo_graph_status(g) != code;
    if (bad)
        fprintf(stderr, "FAIL fill: %s should be refused with %d, got %d '%s'\n", what, code, zoo_graph_status(g),
                zoo_graph_error(g));
    else
        printf("refused as expected: %s\n", zoo_graph_error(g));
    zoo_graph_free(g);
    return bad;
}

static int unit(void)
{
    int bad = refused("a 0 dim", 2, (int64_t[]){3, 0}, 1.0f, ZOO_ERR_SHAPE);
    bad |= refused("no dims", 0, (int64_t[]){1}, 1.0f, ZOO_ERR_SHAPE);
    bad |= refused("a NaN value", 1, (int64_t[]){4}, NAN, ZOO_ERR_INVALID);
    bad |= refused("an infinite value", 1, (int64_t[]){4}, INFINITY, ZOO_ERR_INVALID);
    /* a constant is not a parameter: nothing to save, train or load */
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *y = zoo_fill(g, 2, (int64_t[]){2, 3}, -0.5f);
    if (!y || zoo_graph_plan(g, 0) || zoo_graph_forward(g) || zoo_graph_nparams(g) != 0) {
        fprintf(stderr, "FAIL fill: a lone fill should plan and run with no parameter: '%s'\n", zoo_graph_error(g));
        bad = 1;
    } else {
        const float *v = zoo_tensor_data(y);
        for (int i = 0; i < 6; i++)
            if (v[i] != -0.5f) {
                fprintf(stderr, "FAIL fill: element %d is %g, not -0.5\n", i, (double)v[i]);
                bad = 1;
            }
    }
    zoo_graph_free(g);
    return bad;
}

static const optest_case cases[] = {
    {"(1,1) 0", {0, 1, 1}, {0.0}, 0},
    {"(5,3) 1", {0, 5, 3}, {1.0}, 0},
    {"(3,7,13) -0.75", {3, 7, 13}, {-0.75}, 0},
    {"(2,4,33) 2.5 over the last dim", {2, 4, 33}, {2.5}, 1},
};

int main(int argc, char **argv)
{
    const optest op = {"fill", ZT_OPS_DIR "/ref_fill.py", build, NULL, describe, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
