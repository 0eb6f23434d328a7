/* test_shape_ops.c: transpose of the last two dims (2-D, 3-D, sizes across the 32-wide
 * tiles) and reshape, alone and chained, against finite differences and PyTorch; shape
 * errors. */
#include "optest.h"

/* d = x's shape (A, R, C) (A = 0: 2-D (R, C)); flag 0: transpose, 1: reshape to
 * (R, A*C) then transpose */
static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    zoo_tensor *x = c->d[0] ? optest_param(g, "x", 3, c->d[0], c->d[1], c->d[2]) : optest_param(g, "x", 2, c->d[1], c->d[2], 0);
    if (!c->flag)
        return zoo_transpose(g, x);
    return zoo_transpose(g, zoo_reshape(g, x, 2, (int64_t[]){c->d[1], c->d[0] * c->d[2]}));
}

static void describe(zt_dump *d, zoo_graph *g, zoo_tensor *out, const optest_case *c)
{
    (void)g, (void)out;
    zt_dump_attr(d, "reshape", c->flag);
}

static int unit(void)
{
    int bad = 0;
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *y = zoo_reshape(g, optest_param(g, "x", 2, 3, 5, 0), 2, (int64_t[]){4, 4});
    if (y || zoo_graph_status(g) != ZOO_ERR_SHAPE) {
        fprintf(stderr, "FAIL reshape: 15 elements into (4, 4) should be refused, got '%s'\n", zoo_graph_error(g));
        bad = 1;
    }
    zoo_graph_free(g);
    g = zoo_graph_new(ZOO_BACKEND_CPU);
    y = zoo_transpose(g, optest_param(g, "x", 1, 7, 0, 0));
    if (y || zoo_graph_status(g) != ZOO_ERR_SHAPE) {
        fprintf(stderr, "FAIL transpose: a 1-D input should be refused, got '%s'\n", zoo_graph_error(g));
        bad = 1;
    }
    zoo_graph_free(g);
    return bad;
}

static const optest_case cases[] = {
    {"T (1,1)", {0, 1, 1}, {0}, 0},       {"T (5,3)", {0, 5, 3}, {0}, 0},      {"T (33,70)", {0, 33, 70}, {0}, 0},
    {"T (3,7,13)", {3, 7, 13}, {0}, 0},   {"R+T (1,64,3)", {1, 64, 3}, {0}, 1}, {"R+T (2,5,3)", {2, 5, 3}, {0}, 1},
};

int main(int argc, char **argv)
{
    const optest op = {"shape_ops", ZT_OPS_DIR "/ref_shape_ops.py", build, NULL, describe, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
