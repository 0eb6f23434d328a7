/* test_wkv.c: the RWKV v4 WKV recurrence (docs/mixers.md) against finite differences and a
 * PyTorch float64 softmax-form reference, on random shapes with B = 1, T = 1 and odd
 * sizes, with decays as the mixer makes them (w = -exp(.)) and unconstrained, and with
 * large keys that would overflow a naive f32 sum; unit: a double-precision reference at
 * |k| ~ 100, T = 1 gives v, thread determinism and shape errors. */
#include <math.h>

#include "optest.h"

/* d = (B, T, C); flag bit 0: w = -exp(N(0,1)) as the mixer passes it, else N(0,1);
 * f[0] > 0: k scaled by f[0] (large exponents) */
static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    zoo_tensor *w = optest_param(g, "w", 1, c->d[2], 0, 0);
    zoo_tensor *u = optest_param(g, "u", 1, c->d[2], 0, 0);
    zoo_tensor *k = optest_param(g, "k", 3, c->d[0], c->d[1], c->d[2]);
    zoo_tensor *v = optest_param(g, "v", 3, c->d[0], c->d[1], c->d[2]);
    return zoo_wkv(g, w, u, k, v);
}

static zoo_tensor *find(zoo_graph *g, const char *name) { return zoo_graph_find_param(g, name); }

static void fill(zoo_graph *g, const optest_case *c, uint64_t seed)
{
    (void)seed;
    zoo_tensor *w = find(g, "w"), *k = find(g, "k");
    float *wd = zoo_tensor_data(w), *kd = zoo_tensor_data(k);
    if (c->flag & 1)
        for (int64_t i = 0; i < zoo_tensor_numel(w); i++)
            wd[i] = -expf(wd[i]);
    if (c->f[0] > 0)
        for (int64_t i = 0; i < zoo_tensor_numel(k); i++)
            kd[i] *= (float)c->f[0];
}

/* y_t in double by the softmax form, max-subtracted (no recurrence, no overflow) */
static void reference(const float *w, const float *u, const float *k, const float *v, int64_t B, int64_t T,
                      int64_t C, double *y)
{
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t t = 0; t < T; t++) {
                double m = -INFINITY;
                for (int64_t i = 0; i <= t; i++) {
                    double l = i < t ? (double)(t - 1 - i) * w[c] + k[(b * T + i) * C + c] : (double)u[c] + k[(b * T + t) * C + c];
                    m = l > m ? l : m;
                }
                double num = 0, den = 0;
                for (int64_t i = 0; i <= t; i++) {
                    double l = i < t ? (double)(t - 1 - i) * w[c] + k[(b * T + i) * C + c] : (double)u[c] + k[(b * T + t) * C + c];
                    double e = exp(l - m);
                    num += e * v[(b * T + i) * C + c];
                    den += e;
                }
                y[(b * T + t) * C + c] = num / den;
            }
}

/* |k| up to ~300 (e^k far beyond f32) and T = 1 (y = v exactly) */
static int extremes(void)
{
    int bad = 0;
    const int64_t shapes[2][3] = {{2, 37, 5}, {3, 1, 4}};
    for (int s = 0; s < 2; s++) {
        int64_t B = shapes[s][0], T = shapes[s][1], C = shapes[s][2], n = B * T * C;
        zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
        optest_case c = {"extreme", {B, T, C, 0}, {0}, 1};
        zoo_tensor *y = build(g, &c);
        if (zt_check_graph(g, "wkv extremes") || zt_check_rc(zoo_graph_plan(g, 7), "plan")) {
            zoo_graph_free(g);
            return 1;
        }
        zt_fill_params(g, 11 + (uint64_t)s, 1.0f);
        float *kd = zoo_tensor_data(find(g, "k")), *wd = zoo_tensor_data(find(g, "w"));
        for (int64_t i = 0; i < n; i++)
            kd[i] *= 100.0f;
        for (int64_t i = 0; i < C; i++)
            wd[i] = -expf(wd[i]);
        zoo_graph_forward(g);
        double *ref = malloc((size_t)n * sizeof *ref);
        reference(wd, zoo_tensor_data(find(g, "u")), kd, zoo_tensor_data(find(g, "v")), B, T, C, ref);
        bad |= zt_compare_d(s ? "wkv T=1: y = v" : "wkv |k| ~ 100 vs double softmax form", zoo_tensor_data(y), ref, n,
                            1e-5, 1e-4);
        float *R = malloc((size_t)n * sizeof *R);
        zt_draw_dout(R, n, 3);
        bad |= zt_check_rc(zoo_graph_backward_seeded(g, y, R), "wkv extremes backward");
        int64_t pn = 0;
        float *gr = zoo_graph_grads_flat(g, &pn);
        bad |= zt_check_finite("wkv |k| ~ 100 gradients", gr, pn);
        free(R);
        free(ref);
        zoo_graph_free(g);
    }
    return bad;
}

static int refused(zoo_tensor *(*mk)(zoo_graph *), const char *what)
{
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *y = mk(g);
    int bad = y || zoo_graph_status(g) != ZOO_ERR_SHAPE;
    if (bad)
        fprintf(stderr, "FAIL wkv: %s should be refused, got '%s'\n", what, zoo_graph_error(g));
    zoo_graph_free(g);
    return bad;
}
static zoo_tensor *bad_w(zoo_graph *g)
{
    return zoo_wkv(g, optest_param(g, "w", 1, 5, 0, 0), optest_param(g, "u", 1, 4, 0, 0),
                   optest_param(g, "k", 3, 2, 3, 4), optest_param(g, "v", 3, 2, 3, 4));
}
static zoo_tensor *bad_u(zoo_graph *g)
{
    return zoo_wkv(g, optest_param(g, "w", 1, 4, 0, 0), optest_param(g, "u", 2, 1, 4, 0),
                   optest_param(g, "k", 3, 2, 3, 4), optest_param(g, "v", 3, 2, 3, 4));
}
static zoo_tensor *bad_v(zoo_graph *g)
{
    return zoo_wkv(g, optest_param(g, "w", 1, 4, 0, 0), optest_param(g, "u", 1, 4, 0, 0),
                   optest_param(g, "k", 3, 2, 3, 4), optest_param(g, "v", 3, 2, 4, 4));
}
static zoo_tensor *bad_k(zoo_graph *g)
{
    return zoo_wkv(g, optest_param(g, "w", 1, 4, 0, 0), optest_param(g, "u", 1, 4, 0, 0),
                   optest_param(g, "k", 2, 6, 4, 0), optest_param(g, "v", 2, 6, 4, 0));
}

static int unit(void)
{
    int bad = extremes();
    bad |= refused(bad_w, "w (5) for 4 channels");
    bad |= refused(bad_u, "u (1, 4)");
    bad |= refused(bad_v, "v (2, 4, 4) for k (2, 3, 4)");
    bad |= refused(bad_k, "k (6, 4) without a batch dim");
    return bad;
}

static const optest_case cases[] = {
    {"(1,1,1) decay", {1, 1, 1}, {0}, 1},        {"(1,1,6)", {1, 1, 6}, {0}, 0},
    {"(1,7,3) decay", {1, 7, 3}, {0}, 1},        {"(3,5,7)", {3, 5, 7}, {0}, 0},
    {"(2,13,5) decay", {2, 13, 5}, {0}, 1},      {"(2,9,11) decay, k x8", {2, 9, 11}, {8.0}, 1},
    {"(3,1,9) decay", {3, 1, 9}, {0}, 1},        {"(2,33,17) decay", {2, 33, 17}, {0}, 1},
    {"(1,24,4) k x30", {1, 24, 4}, {30.0}, 0},
};

int main(int argc, char **argv)
{
    const optest op = {"wkv", ZT_OPS_DIR "/ref_wkv.py", build, fill, NULL, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
