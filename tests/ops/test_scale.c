/* test_scale.c: scale (y = c x) against finite differences and PyTorch for a few
 * factors and shapes; a non-finite factor must be refused by the builder. */
#include <math.h>

#include "optest.h"

/* d = shape (flag dims), f[0] = c */
static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    return zoo_scale(g, zoo_param(g, "x", c->flag, c->d, zoo_init_zeros()), (float)c->f[0]);
}

static void describe(zt_dump *d, zoo_graph *g, zoo_tensor *out, const optest_case *c)
{
    (void)g, (void)out;
    zt_dump_attr(d, "c", (float)c->f[0]);
}

static int unit(void)
{
    int bad = 0;
    const float nonfinite[] = {NAN, INFINITY};
    for (int i = 0; i < 2; i++) {
        zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
        zoo_tensor *y = zoo_scale(g, optest_param(g, "x", 1, 3, 0, 0), nonfinite[i]);
        if (y || zoo_graph_status(g) != ZOO_ERR_INVALID) {
            fprintf(stderr, "FAIL scale: factor %g should be refused\n", (double)nonfinite[i]);
            bad = 1;
        }
        zoo_graph_free(g);
    }
    return bad;
}

static const optest_case cases[] = {
    {"(1,1,5)*0.125", {1, 1, 5}, {0.125}, 3},
    {"(3,7,13)*-2.5", {3, 7, 13}, {-2.5}, 3},
    {"(4,9)*1", {4, 9}, {1.0}, 2},
    {"(1)*3", {1}, {3.0}, 1},
};

int main(int argc, char **argv)
{
    const optest op = {"scale", ZT_OPS_DIR "/ref_scale.py", build, NULL, describe, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
