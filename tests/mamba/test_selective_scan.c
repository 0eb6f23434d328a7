/* test_selective_scan.c: Mamba's selective scan (zoo_selective_scan) against finite
 * differences and a float64 PyTorch loop over time; a hand case (one channel, N = 1);
 * thread determinism across the channel blocks; shape errors. */
#include <math.h>

#include "optest.h"

/* d = (B, L, Di, N) */
static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    int64_t B = c->d[0], L = c->d[1], Di = c->d[2], N = c->d[3];
    zoo_tensor *x = optest_param(g, "x", 3, B, L, Di);
    zoo_tensor *dl = optest_param(g, "delta", 3, B, L, Di);
    zoo_tensor *A = optest_param(g, "A", 2, Di, N, 0);
    zoo_tensor *bc = optest_param(g, "BC", 3, B, L, 2 * N);
    return zoo_selective_scan(g, x, dl, A, bc);
}

/* As the mixer feeds it: delta > 0 (a softplus) and A < 0 (-exp(A_log)). */
static void fill(zoo_graph *g, const optest_case *c, uint64_t seed)
{
    (void)c;
    (void)seed;
    zoo_tensor *dl = zoo_graph_find_param(g, "delta"), *A = zoo_graph_find_param(g, "A");
    float *d = zoo_tensor_data(dl), *a = zoo_tensor_data(A);
    for (int64_t i = 0; i < zoo_tensor_numel(dl); i++)
        d[i] = 0.05f + 0.5f * fabsf(d[i]);
    for (int64_t i = 0; i < zoo_tensor_numel(A); i++)
        a[i] = -(0.1f + fabsf(a[i]));
}

/* One channel, N = 1, delta = 1, A = ln(0.5), B = C = 1: h_t = h_{t-1}/2 + x_t. */
static int hand(void)
{
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *x = zoo_input(g, "x", ZOO_F32, 3, (int64_t[]){1, 3, 1});
    zoo_tensor *dl = zoo_input(g, "delta", ZOO_F32, 3, (int64_t[]){1, 3, 1});
    zoo_tensor *A = zoo_input(g, "A", ZOO_F32, 2, (int64_t[]){1, 1});
    zoo_tensor *bc = zoo_input(g, "BC", ZOO_F32, 3, (int64_t[]){1, 3, 2});
    zoo_tensor *y = zoo_selective_scan(g, x, dl, A, bc);
    if (zt_check_graph(g, "selective_scan hand") || zt_check_rc(zoo_graph_plan(g, 1), "plan")) {
        zoo_graph_free(g);
        return 1;
    }
    const float xs[3] = {1, 2, 4};
    for (int i = 0; i < 3; i++) {
        zoo_tensor_data(x)[i] = xs[i];
        zoo_tensor_data(dl)[i] = 1.0f;
        zoo_tensor_data(bc)[2 * i] = zoo_tensor_data(bc)[2 * i + 1] = 1.0f;
    }
    zoo_tensor_data(A)[0] = logf(0.5f);
    zoo_graph_forward(g);
    const float want[3] = {1.0f, 2.5f, 5.25f};
    int bad = zt_compare("selective_scan: h_t = h_{t-1}/2 + x_t", zoo_tensor_data(y), want, 3, 1e-6, 1e-6);
    zoo_graph_free(g);
    return bad;
}

static int refused(int64_t ash0, int64_t ash1, int64_t bcn, const char *what)
{
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *y = zoo_selective_scan(g, optest_param(g, "x", 3, 2, 5, 4), optest_param(g, "d", 3, 2, 5, 4),
                                       optest_param(g, "A", 2, ash0, ash1, 0), optest_param(g, "BC", 3, 2, 5, bcn));
    int bad = 0;
    if (y || zoo_graph_status(g) != ZOO_ERR_SHAPE) {
        fprintf(stderr, "FAIL selective_scan: %s should be refused, got '%s'\n", what, zoo_graph_error(g));
        bad = 1;
    }
    zoo_graph_free(g);
    return bad;
}

static int unit(void)
{
    int bad = hand();
    bad |= refused(3, 2, 4, "A (3, 2) for 4 channels");
    bad |= refused(4, 2, 5, "BC with 5 != 2N = 4 columns");
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *y = zoo_selective_scan(g, optest_param(g, "x", 3, 2, 5, 4), optest_param(g, "d", 3, 2, 4, 4),
                                       optest_param(g, "A", 2, 4, 2, 0), optest_param(g, "BC", 3, 2, 5, 4));
    if (y || zoo_graph_status(g) != ZOO_ERR_SHAPE) {
        fprintf(stderr, "FAIL selective_scan: delta of another shape should be refused, got '%s'\n", zoo_graph_error(g));
        bad = 1;
    }
    zoo_graph_free(g);
    return bad;
}

static const optest_case cases[] = {
    {"B1 T1 Di1 N1", {1, 1, 1, 1}, {0}, 0},   {"B1 T1 Di5 N3", {1, 1, 5, 3}, {0}, 0},
    {"B2 T7 Di5 N4", {2, 7, 5, 4}, {0}, 0},   {"B3 T5 Di37 N2 (2 blocks)", {3, 5, 37, 2}, {0}, 0},
    {"B1 T9 Di33 N16", {1, 9, 33, 16}, {0}, 0}, {"B2 T4 Di70 N1 (3 blocks)", {2, 4, 70, 1}, {0}, 0},
};

int main(int argc, char **argv)
{
    const optest op = {"selective_scan", ZT_OPS_DIR "/ref_selective_scan.py", build, fill, NULL, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
