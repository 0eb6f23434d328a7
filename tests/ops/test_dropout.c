/* test_dropout.c: inverted dropout in training mode (fixed step, so the mask is fixed and
 * the op is linear) and in eval mode (identity) against finite differences and PyTorch;
 * the mask must be the documented hash of (seed, step, node, index), drop a fraction p,
 * change with the step and the node, and not depend on the thread count. */
#include <math.h>

#include "../../core/src/internal.h" /* zoo_node_step_key, zoo_hash_uniform: the documented mask */
#include "optest.h"

/* d = (B, T, D, step), f[0] = p, flag: training */
static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    return zoo_dropout(g, optest_param(g, "x", 3, c->d[0], c->d[1], c->d[2]), (float)c->f[0]);
}

static void fill(zoo_graph *g, const optest_case *c, uint64_t seed)
{
    (void)seed;
    zoo_graph_set_training(g, c->flag, (uint64_t)c->d[3]);
}

static void describe(zt_dump *d, zoo_graph *g, zoo_tensor *out, const optest_case *c)
{
    int64_t n = zoo_tensor_numel(out), shape[3] = {c->d[0], c->d[1], c->d[2]};
    float *keep = malloc((size_t)n * sizeof *keep);
    uint64_t key = zoo_node_step_key(&g->exec, out);
    for (int64_t i = 0; i < n; i++)
        keep[i] = !c->flag || zoo_hash_uniform(key, (uint64_t)i) >= (float)c->f[0];
    zt_dump_f32(d, "keep", "input", keep, 3, shape);
    zt_dump_attr(d, "p", (float)c->f[0]);
    zt_dump_attr(d, "training", c->flag);
    free(keep);
}

/* One graph x -> dropout(p) twice (two nodes) of shape (8, 64, 129). */
typedef struct two {
    zoo_graph *g;
    zoo_tensor *x, *y1, *y2;
} two;

static int two_new(two *t, float p)
{
    t->g = zoo_graph_new(ZOO_BACKEND_CPU);
    t->x = optest_param(t->g, "x", 3, 8, 64, 129);
    t->y1 = zoo_dropout(t->g, t->x, p);
    t->y2 = zoo_dropout(t->g, t->x, p);
    if (zt_check_graph(t->g, "dropout build") || zt_check_rc(zoo_graph_plan(t->g, 3), "dropout plan"))
        return 1;
    zt_fill_normal(zoo_tensor_data(t->x), zoo_tensor_numel(t->x), 11, 1.0f);
    return 0;
}

static int64_t count_zero(const float *y, int64_t n)
{
    int64_t z = 0;
    for (int64_t i = 0; i < n; i++)
        z += y[i] == 0.0f;
    return z;
}

static int unit(void)
{
    const float p = 0.3f;
    two t;
    int bad = two_new(&t, p);
    int64_t n = zoo_tensor_numel(t.x);
    const float *x = zoo_tensor_data(t.x);
    if (!bad) {
        /* training: fraction dropped ~ p (sd 0.0018 at this n), kept values scaled */
        zoo_graph_set_training(t.g, 1, 5);
        bad |= zt_check_rc(zoo_graph_forward(t.g), "dropout forward");
        const float *y = zoo_tensor_data(t.y1);
        double frac = (double)count_zero(y, n) / (double)n;
        if (fabs(frac - p) > 0.01) {
            fprintf(stderr, "FAIL dropout: dropped fraction %.4f, expected %.2f +- 0.01\n", frac, (double)p);
            bad = 1;
        }
        float *ref = malloc((size_t)n * sizeof *ref), *y5 = malloc((size_t)n * sizeof *y5);
        for (int64_t i = 0; i < n; i++)
            ref[i] = y[i] == 0.0f ? 0.0f : x[i] * (float)(1.0 / (1.0 - p));
        bad |= zt_compare("dropout kept values = x / (1-p)", y, ref, n, 0, 0);
        memcpy(y5, y, (size_t)n * sizeof *y5);
        /* two nodes at the same step draw different masks */
        int64_t differ = 0;
        for (int64_t i = 0; i < n; i++)
            differ += (y[i] == 0.0f) != (zoo_tensor_data(t.y2)[i] == 0.0f);
        if (differ < n / 4) { /* independent masks differ at 2p(1-p) = 42% of places */
            fprintf(stderr, "FAIL dropout: two dropout nodes share their mask (%lld of %lld differ)\n",
                    (long long)differ, (long long)n);
            bad = 1;
        }
        /* the next step draws a new mask; the same step again gives the same one */
        zoo_graph_set_training(t.g, 1, 6);
        zoo_graph_forward(t.g);
        differ = 0;
        for (int64_t i = 0; i < n; i++)
            differ += (y5[i] == 0.0f) != (y[i] == 0.0f);
        if (differ < n / 4) {
            fprintf(stderr, "FAIL dropout: steps 5 and 6 drew the same mask (%lld of %lld differ)\n",
                    (long long)differ, (long long)n);
            bad = 1;
        }
        zoo_graph_set_training(t.g, 1, 5);
        zoo_graph_forward(t.g);
        bad |= zt_compare("dropout: step 5 again", y, y5, n, 0, 0);
        /* eval mode: identity forward and backward, bit for bit */
        zoo_graph_set_training(t.g, 0, 5);
        zoo_graph_forward(t.g);
        bad |= zt_compare("dropout eval forward = x", y, x, n, 0, 0);
        zt_fill_normal(ref, n, 99, 1.0f);
        bad |= zt_check_rc(zoo_graph_backward_seeded(t.g, t.y1, ref), "dropout backward");
        bad |= zt_compare("dropout eval backward = dout", zoo_tensor_grad(t.x), ref, n, 0, 0);
        free(ref);
        free(y5);
    }
    zoo_graph_free(t.g);
    const float badp[3] = {1.0f, -0.1f, NAN};
    for (int i = 0; i < 3; i++) {
        zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
        if (zoo_dropout(g, optest_param(g, "x", 1, 4, 0, 0), badp[i]) || zoo_graph_status(g) != ZOO_ERR_INVALID) {
            fprintf(stderr, "FAIL dropout: p = %g should be refused\n", (double)badp[i]);
            bad = 1;
        }
        zoo_graph_free(g);
    }
    return bad;
}

static const optest_case cases[] = {
    {"train (1,1,5) p=0.5", {1, 1, 5, 3}, {0.5}, 1},
    {"train (3,7,13) p=0.1", {3, 7, 13, 1}, {0.1}, 1},
    {"train (2,9,31) p=0.6", {2, 9, 31, 12345}, {0.6}, 1},
    {"eval (3,7,13) p=0.1", {3, 7, 13, 1}, {0.1}, 0},
    {"eval (1,1,5) p=0.5", {1, 1, 5, 3}, {0.5}, 0},
};

int main(int argc, char **argv)
{
    const optest op = {"dropout", ZT_OPS_DIR "/ref_dropout.py", build, fill, describe, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
