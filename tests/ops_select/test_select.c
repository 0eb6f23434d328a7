/* test_select.c: the sequence selection ops of the sparse_attention mixer, zoo_softmax_seq
 * (softmax over dim 1 of (B, L, C)) and zoo_topk_seq (the eval-time top-k mask along dim
 * 1, the identity in training), against finite differences and PyTorch float64, with
 * B = 1, L = 1, C > 1, k at, below and above L, in both modes; unit: thread determinism,
 * the tie rule and the modes on hand cases, softmax at large inputs, shape errors. */
#include <math.h>

#include "optest.h"

/* d = (B, L, C, k); flag 0: softmax_seq, 1: topk_seq in eval mode, 2: topk_seq training */
static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    zoo_tensor *x = optest_param(g, "x", 3, c->d[0], c->d[1], c->d[2]);
    return c->flag ? zoo_topk_seq(g, x, c->d[3]) : zoo_softmax_seq(g, x);
}

/* Top-k cases: each column a shuffle of 0.1 * (0 .. L-1) plus noise below 0.02, so no two
 * entries are within the finite-difference step of each other (no selection flips). */
static void fill(zoo_graph *g, const optest_case *c, uint64_t seed)
{
    zoo_graph_set_training(g, c->flag == 2, 3);
    if (!c->flag)
        return;
    int64_t B = c->d[0], L = c->d[1], C = c->d[2];
    float *x = zoo_tensor_data(zoo_graph_find_param(g, "x"));
    float *r = malloc((size_t)(B * L * C) * sizeof *r);
    zt_fill_uniform(r, B * L * C, seed + 5, 0.0f, 1.0f);
    for (int64_t b = 0; b < B; b++)
        for (int64_t ch = 0; ch < C; ch++)
            for (int64_t t = 0; t < L; t++) {
                int64_t i = (b * L + t) * C + ch, rank = 0;
                for (int64_t s = 0; s < L; s++)
                    rank += r[(b * L + s) * C + ch] < r[i];
                x[i] = 0.1f * (float)rank + 0.02f * (float)fabs(x[i]) / (1.0f + (float)fabs(x[i]));
            }
    free(r);
}

static void describe(zt_dump *d, zoo_graph *g, zoo_tensor *out, const optest_case *c)
{
    (void)g, (void)out;
    zt_dump_attr(d, "op", c->flag);
    zt_dump_attr(d, "k", (double)c->d[3]);
}

/* y of zoo_topk_seq on x (B, L, C) in the given mode into y; 0 ok. */
static int topk_run(const float *x, int64_t B, int64_t L, int64_t C, int64_t k, int training, float *y)
{
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *X = optest_param(g, "x", 3, B, L, C), *Y = zoo_topk_seq(g, X, k);
    int bad = zt_check_graph(g, "topk_seq hand case") || zt_check_rc(zoo_graph_plan(g, 1), "plan");
    if (!bad) {
        memcpy(zoo_tensor_data(X), x, (size_t)(B * L * C) * sizeof *x);
        zoo_graph_set_training(g, training, 0);
        bad = zt_check_rc(zoo_graph_forward(g), "topk_seq forward");
        if (!bad)
            memcpy(y, zoo_tensor_data(Y), (size_t)(B * L * C) * sizeof *y);
    }
    zoo_graph_free(g);
    return bad;
}

/* Ties go to the lower position; training mode and k >= L keep everything. x is (2, 5, 2):
 * row 0 channel 0 = 1 3 3 2 3 (k = 2 keeps positions 1 and 2), channel 1 = 5 5 5 5 5
 * (keeps 0 and 1); row 1 channel 0 = -1 -2 -3 -4 -5 (keeps 0, 1), channel 1 = 0 0 7 0 0
 * (keeps 2 and 0). */
static int hand_cases(void)
{
    const float x[20] = {1, 5, 3, 5, 3, 5, 2, 5, 3, 5, -1, 0, -2, 0, -3, 7, -4, 0, -5, 0};
    const float want[20] = {0, 5, 3, 5, 3, 0, 0, 0, 0, 0, -1, 0, -2, 0, 0, 7, 0, 0, 0, 0};
    float y[20];
    int bad = topk_run(x, 2, 5, 2, 2, 0, y) || zt_compare("topk_seq k=2 eval: ties to the lower position", y, want, 20, 0, 0);
    bad |= topk_run(x, 2, 5, 2, 2, 1, y) || zt_compare("topk_seq in training: the identity", y, x, 20, 0, 0);
    bad |= topk_run(x, 2, 5, 2, 5, 0, y) || zt_compare("topk_seq k = L: the identity", y, x, 20, 0, 0);
    bad |= topk_run(x, 2, 5, 2, 9, 0, y) || zt_compare("topk_seq k > L: the identity", y, x, 20, 0, 0);
    const float want1[20] = {0, 5, 3, 0, 0, 0, 0, 0, 0, 0, -1, 0, 0, 0, 0, 7, 0, 0, 0, 0};
    bad |= topk_run(x, 2, 5, 2, 1, 0, y) || zt_compare("topk_seq k=1 eval: the first maximum", y, want1, 20, 0, 0);
    return bad;
}

/* Softmax at |x| ~ 1000 (exp overflows f32 without the max) against double: finite, and
 * every column sums to 1. */
static int softmax_extremes(void)
{
    int64_t B = 2, L = 13, C = 3, n = B * L * C;
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *X = optest_param(g, "x", 3, B, L, C), *Y = zoo_softmax_seq(g, X);
    int bad = zt_check_graph(g, "softmax_seq extremes") || zt_check_rc(zoo_graph_plan(g, 2), "plan");
    if (bad) {
        zoo_graph_free(g);
        return 1;
    }
    float *x = zoo_tensor_data(X);
    zt_fill_normal(x, n, 9, 1000.0f);
    bad = zt_check_rc(zoo_graph_forward(g), "softmax_seq forward");
    double *ref = malloc((size_t)n * sizeof *ref);
    for (int64_t b = 0; b < B; b++)
        for (int64_t ch = 0; ch < C; ch++) {
            double m = -INFINITY, z = 0;
            for (int64_t t = 0; t < L; t++)
                m = fmax(m, x[(b * L + t) * C + ch]);
            for (int64_t t = 0; t < L; t++)
                z += exp(x[(b * L + t) * C + ch] - m);
            for (int64_t t = 0; t < L; t++)
                ref[(b * L + t) * C + ch] = exp(x[(b * L + t) * C + ch] - m) / z;
        }
    bad |= zt_compare_d("softmax_seq |x| ~ 1000 vs double", zoo_tensor_data(Y), ref, n, 1e-7, 1e-6);
    free(ref);
    zoo_graph_free(g);
    return bad;
}

/* L = 1: every column's softmax is 1 and its gradient 0 (finite differences see only 0). */
static int softmax_one(void)
{
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *X = optest_param(g, "x", 3, 2, 1, 3), *Y = zoo_softmax_seq(g, X);
    int bad = zt_check_graph(g, "softmax_seq L=1") || zt_check_rc(zoo_graph_plan(g, 4), "plan");
    if (!bad) {
        const float one[6] = {1, 1, 1, 1, 1, 1}, zero[6] = {0}, dy[6] = {1, -2, 3, 0.5f, 7, -1};
        zt_fill_normal(zoo_tensor_data(X), 6, 5, 3.0f);
        bad = zt_check_rc(zoo_graph_forward(g), "forward") || zt_check_rc(zoo_graph_backward_seeded(g, Y, dy), "backward");
        bad = bad || zt_compare("softmax_seq L=1: y = 1", zoo_tensor_data(Y), one, 6, 0, 0) ||
              zt_compare("softmax_seq L=1: dx = 0", zoo_tensor_grad(X), zero, 6, 0, 0);
    }
    zoo_graph_free(g);
    return bad;
}

static int refused(int topk, int ndim, int64_t k, int code, const char *what)
{
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *x = ndim == 3 ? optest_param(g, "x", 3, 2, 4, 1) : optest_param(g, "x", 2, 8, 1, 0);
    zoo_tensor *y = topk ? zoo_topk_seq(g, x, k) : zoo_softmax_seq(g, x);
    int bad = y != NULL || zoo_graph_status(g) != code;
    if (bad)
        fprintf(stderr, "FAIL select ops: %s should be refused (status %d, '%s')\n", what, zoo_graph_status(g),
                zoo_graph_error(g));
    zoo_graph_free(g);
    return bad;
}

static int unit(void)
{
    int bad = hand_cases() | softmax_extremes() | softmax_one();
    bad |= refused(0, 2, 0, ZOO_ERR_SHAPE, "softmax_seq of a 2-D input");
    bad |= refused(1, 2, 2, ZOO_ERR_SHAPE, "topk_seq of a 2-D input");
    bad |= refused(1, 3, 0, ZOO_ERR_INVALID, "topk_seq with k = 0");
    return bad;
}

static const optest_case cases[] = {
    {"softmax (1,2,1)", {1, 2, 1, 0}, {0}, 0},      {"softmax (2,9,1)", {2, 9, 1, 0}, {0}, 0},
    {"softmax (3,7,4)", {3, 7, 4, 0}, {0}, 0},      {"softmax (1,33,2)", {1, 33, 2, 0}, {0}, 0},
    {"topk (2,9,1) k3", {2, 9, 1, 3}, {0}, 1},      {"topk (1,16,1) k4", {1, 16, 1, 4}, {0}, 1},
    {"topk (3,7,3) k1", {3, 7, 3, 1}, {0}, 1},      {"topk (2,5,2) k5 = L", {2, 5, 2, 5}, {0}, 1},
    {"topk (1,1,2) k1", {1, 1, 2, 1}, {0}, 1},      {"topk (2,40,1) k7", {2, 40, 1, 7}, {0}, 1},
    {"topk (2,9,2) k3 training", {2, 9, 2, 3}, {0}, 2},
};

int main(int argc, char **argv)
{
    const optest op = {"select", ZT_OPS_DIR "/ref_select.py", build, fill, describe, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
