/* test_concat.c: concatenation along the last dim of 1 to 6 inputs (6 goes through the
 * chained nodes) against finite differences and PyTorch; shape errors. */
#include "optest.h"

/* d = (B, T, -), f[0..3] = widths of inputs 0..3; flag = number of inputs (widths beyond
 * 4 repeat f[] from the start) */
static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    zoo_tensor *xs[8];
    for (int i = 0; i < c->flag; i++) {
        char name[16];
        snprintf(name, sizeof name, "x%d", i);
        xs[i] = optest_param(g, name, 3, c->d[0], c->d[1], (int64_t)c->f[i % 4]);
    }
    return zoo_concat(g, xs, c->flag);
}

static void describe(zt_dump *d, zoo_graph *g, zoo_tensor *out, const optest_case *c)
{
    (void)g, (void)out;
    zt_dump_attr(d, "n", c->flag);
}

static int unit(void)
{
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *xs[2] = {optest_param(g, "a", 3, 2, 3, 4), optest_param(g, "b", 3, 2, 4, 4)};
    zoo_tensor *y = zoo_concat(g, xs, 2);
    int bad = y != NULL || zoo_graph_status(g) != ZOO_ERR_SHAPE || !strstr(zoo_graph_error(g), "input 1");
    if (bad)
        fprintf(stderr, "FAIL concat: (2,3,4) with (2,4,4) should be refused, got '%s'\n", zoo_graph_error(g));
    zoo_graph_free(g);
    g = zoo_graph_new(ZOO_BACKEND_CPU);
    y = zoo_concat(g, xs, 0);
    bad |= y != NULL || zoo_graph_status(g) != ZOO_ERR_INVALID;
    zoo_graph_free(g);
    return bad;
}

static const optest_case cases[] = {
    {"one (1,1,5)", {1, 1}, {5, 0, 0, 0}, 1},
    {"two (3,7,[4,1])", {3, 7}, {4, 1, 0, 0}, 2},
    {"four (2,3,[3,5,1,2])", {2, 3}, {3, 5, 1, 2}, 4},
    {"six (1,4,[2,3,1,4,2,3])", {1, 4}, {2, 3, 1, 4}, 6},
};

int main(int argc, char **argv)
{
    const optest op = {"concat", ZT_OPS_DIR "/ref_concat.py", build, NULL, describe, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
