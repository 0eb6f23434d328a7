/* test_layernorm.c: layernorm over the last dim (affine, eps) against finite differences
 * and PyTorch (x, weight and bias all trained), including D = 1 (output = bias, zero
 * input gradient) and rows with a large mean; builder refusals for bad shapes and eps. */
#include <math.h>

#include "optest.h"

/* d = (B, T, D), f[0] = eps, f[1] = offset added to x (tests cancellation) */
static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    zoo_tensor *x = optest_param(g, "x", 3, c->d[0], c->d[1], c->d[2]);
    zoo_tensor *w = optest_param(g, "weight", 1, c->d[2], 0, 0), *b = optest_param(g, "bias", 1, c->d[2], 0, 0);
    return zoo_layernorm(g, x, w, b, (float)c->f[0]);
}

static void fill(zoo_graph *g, const optest_case *c, uint64_t seed)
{
    (void)seed;
    zoo_tensor *x = zoo_graph_find_param(g, "x");
    float *xd = zoo_tensor_data(x);
    for (int64_t i = 0; i < zoo_tensor_numel(x); i++)
        xd[i] += (float)c->f[1];
}

static void describe(zt_dump *d, zoo_graph *g, zoo_tensor *out, const optest_case *c)
{
    (void)g, (void)out;
    zt_dump_attr(d, "eps", (float)c->f[0]);
}

static int refused(const char *what, int code, zoo_graph *g, zoo_tensor *y)
{
    int bad = y != NULL || zoo_graph_status(g) != code;
    if (bad)
        fprintf(stderr, "FAIL layernorm: %s should be refused (status %d, '%s')\n", what, zoo_graph_status(g),
                zoo_graph_error(g));
    zoo_graph_free(g);
    return bad;
}

static int unit(void)
{
    int bad = 0;
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    bad |= refused("weight (4) for x (2,3,5)", ZOO_ERR_SHAPE, g,
                   zoo_layernorm(g, optest_param(g, "x", 3, 2, 3, 5), optest_param(g, "w", 1, 4, 0, 0),
                                 optest_param(g, "b", 1, 5, 0, 0), 1e-5f));
    g = zoo_graph_new(ZOO_BACKEND_CPU);
    bad |= refused("bias (5,1) for x (2,3,5)", ZOO_ERR_SHAPE, g,
                   zoo_layernorm(g, optest_param(g, "x", 3, 2, 3, 5), optest_param(g, "w", 1, 5, 0, 0),
                                 optest_param(g, "b", 2, 5, 1, 0), 1e-5f));
    g = zoo_graph_new(ZOO_BACKEND_CPU);
    bad |= refused("eps 0", ZOO_ERR_INVALID, g,
                   zoo_layernorm(g, optest_param(g, "x", 2, 3, 5, 0), optest_param(g, "w", 1, 5, 0, 0),
                                 optest_param(g, "b", 1, 5, 0, 0), 0.0f));
    g = zoo_graph_new(ZOO_BACKEND_CPU);
    bad |= refused("a NULL bias", ZOO_ERR_INVALID, g,
                   zoo_layernorm(g, optest_param(g, "x", 2, 3, 5, 0), optest_param(g, "w", 1, 5, 0, 0), NULL, 1e-5f));
    return bad;
}

static const optest_case cases[] = {
    {"(1,1,5)", {1, 1, 5}, {1e-5, 0}, 0},
    {"(3,7,13)", {3, 7, 13}, {1e-5, 0}, 0},
    {"(2,3,1) D=1", {2, 3, 1}, {1e-5, 0}, 0},
    {"(2,5,70) eps 0.1", {2, 5, 70}, {0.1, 0}, 0},
    {"(1,4,33) mean 30", {1, 4, 33}, {1e-5, 30}, 0},
};

int main(int argc, char **argv)
{
    const optest op = {"layernorm", ZT_OPS_DIR "/ref_layernorm.py", build, fill, describe, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
