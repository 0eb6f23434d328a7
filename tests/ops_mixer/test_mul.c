/* test_mul.c: elementwise product, same shape and broadcast of a trailing part, against
 * finite differences and PyTorch (B=1, T=1, odd sizes); broadcast shape errors. */
#include "optest.h"

/* d = a's shape (B, T, D); flag: 0 same shape, 1 b = (D), 2 b = (T, D) */
static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    zoo_tensor *a = optest_param(g, "a", 3, c->d[0], c->d[1], c->d[2]);
    zoo_tensor *b = c->flag == 0   ? optest_param(g, "b", 3, c->d[0], c->d[1], c->d[2])
                    : c->flag == 1 ? optest_param(g, "b", 1, c->d[2], 0, 0)
                                   : optest_param(g, "b", 2, c->d[1], c->d[2], 0);
    return zoo_mul(g, a, b);
}

static int unit(void)
{
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *y = zoo_mul(g, optest_param(g, "a", 3, 2, 3, 4), optest_param(g, "b", 1, 3, 0, 0));
    int bad = y != NULL || zoo_graph_status(g) != ZOO_ERR_SHAPE || !strstr(zoo_graph_error(g), "broadcast");
    if (bad)
        fprintf(stderr, "FAIL mul: b (3) on a (2,3,4) should be refused, got '%s'\n", zoo_graph_error(g));
    zoo_graph_free(g);
    return bad;
}

static const optest_case cases[] = {
    {"(1,1,5) same", {1, 1, 5}, {0}, 0},    {"(3,7,13) same", {3, 7, 13}, {0}, 0},
    {"(3,7,13) b=(13)", {3, 7, 13}, {0}, 1}, {"(2,5,1) b=(1)", {2, 5, 1}, {0}, 1},
    {"(2,5,3) b=(5,3)", {2, 5, 3}, {0}, 2},
};

int main(int argc, char **argv)
{
    const optest op = {"mul", ZT_OPS_DIR "/ref_mul.py", build, NULL, NULL, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
