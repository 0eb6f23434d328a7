/* test_mul.c: elementwise product, same shape, broadcast of a trailing part and of
 * trailing ones (a per-row scale), against finite differences and PyTorch (B=1, T=1,
 * odd sizes); broadcast shape errors. */
#include "optest.h"

/* d = a's shape (B, T, D); flag: 0 same shape, 1 b = (D), 2 b = (T, D), 3 b = (B, T, 1),
 * 4 b = (B, 1, 1), 5 b = (T, 1) */
static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    zoo_tensor *a = optest_param(g, "a", 3, c->d[0], c->d[1], c->d[2]);
    zoo_tensor *b = c->flag == 0   ? optest_param(g, "b", 3, c->d[0], c->d[1], c->d[2])
                    : c->flag == 1 ? optest_param(g, "b", 1, c->d[2], 0, 0)
                    : c->flag == 2 ? optest_param(g, "b", 2, c->d[1], c->d[2], 0)
                    : c->flag == 3 ? optest_param(g, "b", 3, c->d[0], c->d[1], 1)
                    : c->flag == 4 ? optest_param(g, "b", 3, c->d[0], 1, 1)
                                   : optest_param(g, "b", 2, c->d[1], 1, 0);
    return zoo_mul(g, a, b);
}

/* b of shape bs (nd dims) on a (2, 3, 4) must be refused */
static int refused(int nd, const int64_t *bs)
{
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *y = zoo_mul(g, optest_param(g, "a", 3, 2, 3, 4), optest_param(g, "b", nd, bs[0], bs[1], bs[2]));
    int bad = y != NULL || zoo_graph_status(g) != ZOO_ERR_SHAPE || !strstr(zoo_graph_error(g), "broadcast");
    if (bad)
        fprintf(stderr, "FAIL mul: b with %d dims (%lld ...) on a (2,3,4) should be refused, got '%s'\n", nd,
                (long long)bs[0], zoo_graph_error(g));
    zoo_graph_free(g);
    return bad;
}

static int unit(void)
{
    return refused(1, (int64_t[]){3, 0, 0}) | refused(2, (int64_t[]){2, 1, 0}) | refused(3, (int64_t[]){2, 2, 1}) |
           refused(3, (int64_t[]){2, 3, 2}) | refused(2, (int64_t[]){3, 2, 0});
}

static const optest_case cases[] = {
    {"(1,1,5) same", {1, 1, 5}, {0}, 0},    {"(3,7,13) same", {3, 7, 13}, {0}, 0},
    {"(3,7,13) b=(13)", {3, 7, 13}, {0}, 1}, {"(2,5,1) b=(1)", {2, 5, 1}, {0}, 1},
    {"(2,5,3) b=(5,3)", {2, 5, 3}, {0}, 2},   {"(3,7,13) b=(3,7,1) per row", {3, 7, 13}, {0}, 3},
    {"(1,1,5) b=(1,1,1)", {1, 1, 5}, {0}, 3}, {"(2,5,3) b=(2,1,1) per batch", {2, 5, 3}, {0}, 4},
    {"(2,5,3) b=(5,1) per position", {2, 5, 3}, {0}, 5},
};

int main(int argc, char **argv)
{
    const optest op = {"mul", ZT_OPS_DIR "/ref_mul.py", build, NULL, NULL, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
