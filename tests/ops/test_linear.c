/* test_linear.c: linear (y = x W^T + b) with and without bias against finite differences
 * and PyTorch, on 2-D and 3-D inputs including B=1, T=1 and odd sizes; shape errors. */
#include "optest.h"

/* d = (B, T, in), f[0] = out, flag: 1 with bias; d[0] = 0 means a 2-D x (T, in) */
static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    int64_t out = (int64_t)c->f[0], in = c->d[2];
    zoo_tensor *x = c->d[0] ? optest_param(g, "x", 3, c->d[0], c->d[1], in) : optest_param(g, "x", 2, c->d[1], in, 0);
    zoo_tensor *W = optest_param(g, "weight", 2, out, in, 0);
    zoo_tensor *b = c->flag ? optest_param(g, "bias", 1, out, 0, 0) : NULL;
    return zoo_linear(g, x, W, b);
}

static int expect_fail(const char *what, zoo_tensor *(*mk)(zoo_graph *), const char *needle)
{
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *y = mk(g);
    int bad = y != NULL || zoo_graph_status(g) != ZOO_ERR_SHAPE || !strstr(zoo_graph_error(g), needle);
    if (bad)
        fprintf(stderr, "FAIL linear: %s should fail with '%s', got status %d '%s'\n", what, needle,
                zoo_graph_status(g), zoo_graph_error(g));
    zoo_graph_free(g);
    return bad;
}

static zoo_tensor *bad_in(zoo_graph *g)
{
    return zoo_linear(g, optest_param(g, "x", 3, 2, 3, 4), optest_param(g, "w", 2, 5, 3, 0), NULL);
}
static zoo_tensor *bad_bias(zoo_graph *g)
{
    return zoo_linear(g, optest_param(g, "x", 3, 2, 3, 4), optest_param(g, "w", 2, 5, 4, 0),
                      optest_param(g, "b", 1, 4, 0, 0));
}

static int unit(void)
{
    return expect_fail("x (2,3,4) with W (5,3)", bad_in, "does not fit input") |
           expect_fail("bias (4) with W (5,4)", bad_bias, "bias");
}

static const optest_case cases[] = {
    {"(1,1,5)->3 bias", {1, 1, 5}, {3}, 1},
    {"(1,1,5)->3", {1, 1, 5}, {3}, 0},
    {"(3,7,13)->11 bias", {3, 7, 13}, {11}, 1},
    {"(3,7,13)->11", {3, 7, 13}, {11}, 0},
    {"(2,5,1)->1 bias", {2, 5, 1}, {1}, 1},
    {"2-D (9,6)->17 bias", {0, 9, 6}, {17}, 1},
    {"2-D (1,4)->2", {0, 1, 4}, {2}, 0},
};

int main(int argc, char **argv)
{
    const optest op = {"linear", ZT_OPS_DIR "/ref_linear.py", build, NULL, NULL, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
