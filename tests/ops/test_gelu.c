/* test_gelu.c: exact (erf) GELU against finite differences and PyTorch (approximate=
 * 'none'), with inputs spread over [-6, 6] so both tails and the bend are exercised. */
#include "optest.h"

static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    return zoo_gelu(g, zoo_param(g, "x", c->flag, c->d, zoo_init_zeros()));
}

static void fill(zoo_graph *g, const optest_case *c, uint64_t seed)
{
    zoo_tensor *x = zoo_graph_find_param(g, "x");
    zt_fill_uniform(zoo_tensor_data(x), zoo_tensor_numel(x), seed, (float)-c->f[0], (float)c->f[0]);
}

/* The tanh approximation differs from erf GELU by up to ~1e-3 near |x| = 2: make sure
 * the kernel is the exact one at a few points computed in double. */
static int unit(void)
{
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *x = optest_param(g, "x", 1, 5, 0, 0), *y = zoo_gelu(g, x);
    int bad = zt_check_graph(g, "gelu build") || zt_check_rc(zoo_graph_plan(g, 1), "gelu plan");
    if (!bad) {
        const float xs[5] = {-3.0f, -1.0f, 0.0f, 1.5f, 2.0f};
        /* 0.5 x (1 + erf(x / sqrt 2)) evaluated in double */
        const double ref[5] = {-0.00404969409489031, -0.15865525393145707, 0.0, 1.399789198096713,
                               1.9544997361036416};
        memcpy(zoo_tensor_data(x), xs, sizeof xs);
        bad |= zt_check_rc(zoo_graph_forward(g), "gelu forward") ||
               zt_compare_d("gelu at fixed points", zoo_tensor_data(y), ref, 5, 1e-6, 1e-6);
    }
    zoo_graph_free(g);
    return bad;
}

static const optest_case cases[] = {
    {"(1,1,5)", {1, 1, 5}, {3}, 3},
    {"(3,7,13)", {3, 7, 13}, {6}, 3},
    {"(64)", {64}, {4}, 1},
};

int main(int argc, char **argv)
{
    const optest op = {"gelu", ZT_OPS_DIR "/ref_gelu.py", build, fill, NULL, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
