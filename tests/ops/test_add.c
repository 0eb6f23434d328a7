/* test_add.c: add (b broadcast over a's leading dims) against finite differences and
 * PyTorch, and its shape errors. Both operands are parameters so both gradients count. */
#include "optest.h"

/* d = shape of a (ndim = flag), b takes the last f[0] dims of a */
static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    int nd = c->flag, nb = (int)c->f[0];
    zoo_tensor *a = zoo_param(g, "a", nd, c->d, zoo_init_zeros());
    zoo_tensor *b = zoo_param(g, "b", nb, c->d + nd - nb, zoo_init_zeros());
    return zoo_add(g, a, b);
}

static int unit(void)
{
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *a = optest_param(g, "a", 3, 2, 3, 4), *b = optest_param(g, "b", 2, 4, 3, 1);
    int bad = zoo_add(g, a, b) != NULL || zoo_graph_status(g) != ZOO_ERR_SHAPE ||
              !strstr(zoo_graph_error(g), "cannot broadcast");
    if (bad)
        fprintf(stderr, "FAIL add: (4, 3) + (2, 3, 4) should fail with a shape error, got '%s'\n", zoo_graph_error(g));
    zoo_graph_free(g);
    return bad;
}

static const optest_case cases[] = {
    {"(1,1,5)+(5)", {1, 1, 5}, {1}, 3},
    {"(3,7,13)+(13)", {3, 7, 13}, {1}, 3},
    {"(3,7,13)+(7,13)", {3, 7, 13}, {2}, 3},
    {"(2,5)+(2,5)", {2, 5}, {2}, 2},
    {"(1)+(1)", {1}, {1}, 1},
};

int main(int argc, char **argv)
{
    const optest op = {"add", ZT_OPS_DIR "/ref_add.py", build, NULL, NULL, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
