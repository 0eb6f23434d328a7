/* test_slice.c: slice (a range of the last dim) against finite differences and
 * PyTorch; two overlapping slices of one tensor must both accumulate into its gradient;
 * out-of-range slices are refused by the builder. */
#include "optest.h"

/* d = shape of x (flag dims); f[0] = start, f[1] = len. A second slice f[2], f[3] of the
 * same x (when f[3] > 0) is added to the first, so backward must accumulate. */
static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    zoo_tensor *x = zoo_param(g, "x", c->flag, c->d, zoo_init_zeros());
    zoo_tensor *y = zoo_slice(g, x, (int64_t)c->f[0], (int64_t)c->f[1]);
    if (c->f[3] > 0)
        y = zoo_add(g, y, zoo_scale(g, zoo_slice(g, x, (int64_t)c->f[2], (int64_t)c->f[3]), 2.0f));
    return y;
}

static void describe(zt_dump *d, zoo_graph *g, zoo_tensor *out, const optest_case *c)
{
    (void)g, (void)out;
    zt_dump_attr(d, "start", c->f[0]);
    zt_dump_attr(d, "len", c->f[1]);
    zt_dump_attr(d, "start2", c->f[2]);
    zt_dump_attr(d, "len2", c->f[3]);
}

static int unit(void)
{
    int bad = 0;
    const int64_t ranges[][2] = {{-1, 2}, {0, 0}, {3, 3}, {5, 1}, {0, 6}};
    for (int i = 0; i < 5; i++) {
        zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
        zoo_tensor *y = zoo_slice(g, optest_param(g, "x", 2, 2, 5, 0), ranges[i][0], ranges[i][1]);
        if (y || zoo_graph_status(g) != ZOO_ERR_SHAPE || !strstr(zoo_graph_error(g), "slice")) {
            fprintf(stderr, "FAIL slice: [%lld, +%lld) of (2, 5) should be refused, got '%s'\n",
                    (long long)ranges[i][0], (long long)ranges[i][1], zoo_graph_error(g));
            bad = 1;
        }
        zoo_graph_free(g);
    }
    /* the exact copy: y[r, i] = x[r, start + i] */
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *x = optest_param(g, "x", 2, 3, 7, 0);
    zoo_tensor *y = zoo_slice(g, x, 2, 4);
    if (zt_check_graph(g, "slice copy") || zt_check_rc(zoo_graph_plan(g, 1), "slice plan"))
        bad = 1;
    else {
        zt_fill_params(g, 3, 1.0f);
        zoo_graph_forward(g);
        float ref[12];
        for (int r = 0; r < 3; r++)
            for (int i = 0; i < 4; i++)
                ref[r * 4 + i] = zoo_tensor_data(x)[r * 7 + 2 + i];
        bad |= zt_compare("slice copy", zoo_tensor_data(y), ref, 12, 0, 0);
        bad |= zoo_tensor_dim(y, 0) != 3 || zoo_tensor_dim(y, 1) != 4;
    }
    zoo_graph_free(g);
    return bad;
}

static const optest_case cases[] = {
    {"(1,1,5)[0:5]", {1, 1, 5}, {0, 5, 0, 0}, 3},
    {"(2,3,12)[4:8] (q/k/v)", {2, 3, 12}, {4, 4, 0, 0}, 3},
    {"(3,7,13)[12:13]", {3, 7, 13}, {12, 1, 0, 0}, 3},
    {"(5,9)[1:4]+2*(5,9)[2:5] overlap", {5, 9}, {1, 3, 2, 3}, 2},
    {"(4)[1:3]", {4}, {1, 2, 0, 0}, 1},
};

int main(int argc, char **argv)
{
    const optest op = {"slice", ZT_OPS_DIR "/ref_slice.py", build, NULL, describe, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
