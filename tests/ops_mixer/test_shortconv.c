/* test_shortconv.c: depthwise causal short convolution with and without bias against
 * finite differences and PyTorch's Conv1d(groups=C, padding=k-1)[..., :L]; the tap order
 * (the last tap multiplies the current token) on a hand case; shape errors. */
#include "optest.h"

/* d = (B, L, C, k); flag: 1 with bias */
static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    zoo_tensor *x = optest_param(g, "x", 3, c->d[0], c->d[1], c->d[2]);
    zoo_tensor *w = optest_param(g, "weight", 3, c->d[2], 1, c->d[3]);
    zoo_tensor *b = c->flag ? optest_param(g, "bias", 1, c->d[2], 0, 0) : NULL;
    return zoo_shortconv(g, x, w, b);
}

/* x = (1, 2, 3, 4) on one channel, w = (0, 0, 1) must return x; w = (1, 0, 0) shifts by 2. */
static int taps(void)
{
    int bad = 0;
    for (int which = 0; which < 2; which++) {
        zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
        zoo_tensor *x = zoo_input(g, "x", ZOO_F32, 3, (int64_t[]){1, 4, 1});
        zoo_tensor *w = zoo_param(g, "w", 3, (int64_t[]){1, 1, 3}, zoo_init_zeros());
        zoo_tensor *y = zoo_shortconv(g, x, w, NULL);
        if (zt_check_graph(g, "shortconv taps") || zt_check_rc(zoo_graph_plan(g, 1), "plan")) {
            zoo_graph_free(g);
            return 1;
        }
        float *xd = zoo_tensor_data(x), *wd = zoo_tensor_data(w);
        for (int i = 0; i < 4; i++)
            xd[i] = (float)(i + 1);
        wd[which ? 0 : 2] = 1.0f;
        zoo_graph_forward(g);
        const float want[2][4] = {{1, 2, 3, 4}, {0, 0, 1, 2}};
        bad |= zt_compare(which ? "shortconv: first tap reads t-2" : "shortconv: last tap reads t", zoo_tensor_data(y),
                          want[which], 4, 0, 0);
        zoo_graph_free(g);
    }
    return bad;
}

static int unit(void)
{
    int bad = taps();
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *y = zoo_shortconv(g, optest_param(g, "x", 3, 2, 5, 4), optest_param(g, "w", 3, 4, 2, 3), NULL);
    if (y || zoo_graph_status(g) != ZOO_ERR_SHAPE) {
        fprintf(stderr, "FAIL shortconv: weight (4,2,3) should be refused, got '%s'\n", zoo_graph_error(g));
        bad = 1;
    }
    zoo_graph_free(g);
    g = zoo_graph_new(ZOO_BACKEND_CPU);
    y = zoo_shortconv(g, optest_param(g, "x", 3, 2, 5, 4), optest_param(g, "w", 3, 4, 1, 3), optest_param(g, "b", 1, 3, 0, 0));
    if (y || zoo_graph_status(g) != ZOO_ERR_SHAPE) {
        fprintf(stderr, "FAIL shortconv: bias (3) for 4 channels should be refused, got '%s'\n", zoo_graph_error(g));
        bad = 1;
    }
    zoo_graph_free(g);
    return bad;
}

static const optest_case cases[] = {
    {"(1,1,5) k3 bias", {1, 1, 5, 3}, {0}, 1},   {"(3,7,13) k3 bias", {3, 7, 13, 3}, {0}, 1},
    {"(2,5,19) k4", {2, 5, 19, 4}, {0}, 0},      {"(2,3,6) k5 > L bias", {2, 3, 6, 5}, {0}, 1},
    {"(1,9,3) k1 bias", {1, 9, 3, 1}, {0}, 1},   {"(2,11,37) k3 bias", {2, 11, 37, 3}, {0}, 1},
    /* more than 256 rows (b, t): the CUDA weight and bias gradients' partial sums span chunks */
    {"(3,100,5) k4 bias", {3, 100, 5, 4}, {0}, 1},
};

int main(int argc, char **argv)
{
    const optest op = {"shortconv", ZT_OPS_DIR "/ref_shortconv.py", build, NULL, NULL, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
