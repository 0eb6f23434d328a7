/* test_rmsnorm.c: RMSNorm (zoo_rmsnorm, the norm of the Mamba blocks) against finite
 * differences and PyTorch; a hand case; thread determinism; shape and eps errors. */
#include <math.h>

#include "optest.h"

/* d = (rows, D); f[0] = eps; flag 1: no weight (w = 1) */
static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    zoo_tensor *x = optest_param(g, "x", 2, c->d[0], c->d[1], 0);
    zoo_tensor *w = c->flag ? NULL : optest_param(g, "weight", 1, c->d[1], 0, 0);
    return zoo_rmsnorm(g, x, w, (float)c->f[0]);
}

static void describe(zt_dump *d, zoo_graph *g, zoo_tensor *out, const optest_case *c)
{
    (void)g;
    (void)out;
    zt_dump_attr(d, "eps", (double)(float)c->f[0]);
}

static int unit(void)
{
    int bad = 0;
    /* x = (3, 4), w = 1, eps tiny: rms = 5/sqrt(2), y = x * sqrt(2)/5 */
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *x = zoo_input(g, "x", ZOO_F32, 2, (int64_t[]){1, 2});
    zoo_tensor *w = zoo_param(g, "w", 1, (int64_t[]){2}, zoo_init_const(1.0f));
    zoo_tensor *y = zoo_rmsnorm(g, x, w, 1e-12f);
    if (zt_check_graph(g, "rmsnorm hand") || zt_check_rc(zoo_graph_plan(g, 1), "plan")) {
        zoo_graph_free(g);
        return 1;
    }
    zoo_tensor_data(x)[0] = 3.0f;
    zoo_tensor_data(x)[1] = 4.0f;
    zoo_graph_forward(g);
    const float want[2] = {(float)(3 * sqrt(2.0) / 5), (float)(4 * sqrt(2.0) / 5)};
    bad |= zt_compare("rmsnorm: (3, 4)", zoo_tensor_data(y), want, 2, 1e-6, 1e-6);
    zoo_graph_free(g);
    g = zoo_graph_new(ZOO_BACKEND_CPU);
    y = zoo_rmsnorm(g, optest_param(g, "x", 2, 3, 5, 0), optest_param(g, "w", 1, 4, 0, 0), 1e-5f);
    if (y || zoo_graph_status(g) != ZOO_ERR_SHAPE) {
        fprintf(stderr, "FAIL rmsnorm: weight (4) for D = 5 should be refused, got '%s'\n", zoo_graph_error(g));
        bad = 1;
    }
    zoo_graph_free(g);
    g = zoo_graph_new(ZOO_BACKEND_CPU);
    y = zoo_rmsnorm(g, optest_param(g, "x", 2, 3, 5, 0), optest_param(g, "w", 1, 5, 0, 0), 0.0f);
    if (y || zoo_graph_status(g) != ZOO_ERR_INVALID) {
        fprintf(stderr, "FAIL rmsnorm: eps 0 should be refused, got '%s'\n", zoo_graph_error(g));
        bad = 1;
    }
    zoo_graph_free(g);
    return bad;
}

static const optest_case cases[] = {
    {"(1,1)", {1, 1}, {1e-5}, 0},      {"(1,7)", {1, 7}, {1e-5}, 0},     {"(5,13)", {5, 13}, {1e-5}, 0},
    {"(130,9) 3 row blocks", {130, 9}, {1e-5}, 0}, {"(3,64) eps 0.1", {3, 64}, {0.1}, 0},
    {"(5,13) no weight", {5, 13}, {1e-5}, 1},      {"(130,8) no weight, eps 1e-6/8", {130, 8}, {1.25e-7}, 1},
};

int main(int argc, char **argv)
{
    const optest op = {"rmsnorm", ZT_OPS_DIR "/ref_rmsnorm.py", build, NULL, describe, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
