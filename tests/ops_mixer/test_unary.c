/* test_unary.c: the elementwise maps sin, exp, relu, silu, sigmoid, softplus against
 * finite differences and PyTorch, with values kept off relu's kink and softplus tested
 * on both sides of its threshold (20); refusal of int inputs. */
#include <math.h>

#include "optest.h"

static zoo_tensor *(*const ops[])(zoo_graph *, zoo_tensor *) = {zoo_sin, zoo_exp, zoo_relu,
                                                                zoo_silu, zoo_sigmoid, zoo_softplus};

/* d = (B, T, D); flag = index in ops[]; f[0] = offset added to x; f[1] = scale of x */
static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    return ops[c->flag](g, optest_param(g, "x", 3, c->d[0], c->d[1], c->d[2]));
}

static void fill(zoo_graph *g, const optest_case *c, uint64_t seed)
{
    (void)seed;
    zoo_tensor *x = zoo_graph_find_param(g, "x");
    float *xd = zoo_tensor_data(x);
    for (int64_t i = 0; i < zoo_tensor_numel(x); i++) {
        float v = xd[i] * (float)c->f[1];
        v += v >= 0 ? 0.05f : -0.05f; /* finite differences never straddle relu's kink */
        xd[i] = v + (float)c->f[0];
    }
}

static void describe(zt_dump *d, zoo_graph *g, zoo_tensor *out, const optest_case *c)
{
    (void)g, (void)out;
    zt_dump_attr(d, "op", c->flag);
}

static int unit(void)
{
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *ids = zoo_input(g, "ids", ZOO_I32, 1, (int64_t[]){4});
    zoo_tensor *y = zoo_exp(g, ids);
    int bad = y != NULL || zoo_graph_status(g) != ZOO_ERR_INVALID;
    if (bad)
        fprintf(stderr, "FAIL unary: exp of an int32 input should be refused, got '%s'\n", zoo_graph_error(g));
    zoo_graph_free(g);
    return bad;
}

static const optest_case cases[] = {
    {"sin (1,1,5)", {1, 1, 5}, {0, 1}, 0},       {"sin (3,7,13) x3", {3, 7, 13}, {0, 3}, 0},
    {"exp (2,5,7)", {2, 5, 7}, {0, 1}, 1},       {"relu (1,1,5)", {1, 1, 5}, {0, 1}, 2},
    {"relu (3,7,13)", {3, 7, 13}, {0, 1}, 2},    {"silu (3,7,13) x4", {3, 7, 13}, {0, 4}, 3},
    {"sigmoid (2,5,7) x6", {2, 5, 7}, {0, 6}, 4}, {"softplus (3,7,13) x4", {3, 7, 13}, {0, 4}, 5},
    {"softplus (2,3,11) near 20", {2, 3, 11}, {20, 0.5}, 5},
};

int main(int argc, char **argv)
{
    const optest op = {"unary", ZT_OPS_DIR "/ref_unary.py", build, fill, describe, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
