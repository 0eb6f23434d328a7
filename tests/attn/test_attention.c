/* test_attention.c: causal softmax attention (heads packed in the last dim, additive
 * -10000 mask, sliding window of w+1 keys, dropout on the probabilities) against finite
 * differences and a float64 PyTorch recomputation that applies the documented dropout
 * mask; window and dropout semantics, thread-count determinism and builder refusals. */
#include <math.h>

#include "../../core/src/internal.h" /* zoo_node_step_key, zoo_hash_uniform: the documented mask */
#include "../../core/src/vecmath.h"  /* the vector helpers the op is built on */
#include "optest.h"

/* d = (B, L, H, dh); f = (dropout p, scale (0: 1/sqrt(dh)), window, step); flag: training */
static float case_scale(const optest_case *c) { return c->f[1] > 0 ? (float)c->f[1] : 1.0f / sqrtf((float)c->d[3]); }

static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    int64_t B = c->d[0], L = c->d[1], C = c->d[2] * c->d[3];
    zoo_tensor *q = optest_param(g, "q", 3, B, L, C), *k = optest_param(g, "k", 3, B, L, C),
               *v = optest_param(g, "v", 3, B, L, C);
    return zoo_attention(g, q, k, v, (int)c->d[2], (int)c->f[2], case_scale(c), (float)c->f[0]);
}

static void fill(zoo_graph *g, const optest_case *c, uint64_t seed)
{
    (void)seed;
    zoo_graph_set_training(g, c->flag, (uint64_t)c->f[3]);
}

/* The mask the op documents: probability (b, h, t, s) is kept when
 * zoo_hash_uniform(step key of the node, ((b*H + h)*L + t)*L + s) >= p. */
static void describe(zt_dump *d, zoo_graph *g, zoo_tensor *out, const optest_case *c)
{
    int64_t B = c->d[0], L = c->d[1], H = c->d[2], n = B * H * L * L, shape[4] = {B, H, L, L};
    float p = (float)c->f[0], *keep = malloc((size_t)n * sizeof *keep);
    uint64_t key = zoo_node_step_key(&g->exec, out);
    for (int64_t i = 0; i < n; i++)
        keep[i] = !c->flag || p == 0.0f || zoo_hash_uniform(key, (uint64_t)i) >= p;
    zt_dump_f32(d, "keep", "input", keep, 4, shape);
    zt_dump_attr(d, "heads", (double)H);
    zt_dump_attr(d, "window", c->f[2]);
    zt_dump_attr(d, "scale", case_scale(c));
    zt_dump_attr(d, "p", p);
    zt_dump_attr(d, "training", c->flag);
    free(keep);
}

/* ---- unit: semantics -------------------------------------------------------------- */

typedef struct run {
    zoo_graph *g;
    zoo_tensor *q, *k, *v, *y;
} run;

/* Builds and plans attention on (B, L, H*dh) with q, k, v from fixed seeds. */
static int run_new(run *r, int64_t B, int64_t L, int H, int64_t dh, int window, float p)
{
    r->g = zoo_graph_new(ZOO_BACKEND_CPU);
    r->q = optest_param(r->g, "q", 3, B, L, H * dh);
    r->k = optest_param(r->g, "k", 3, B, L, H * dh);
    r->v = optest_param(r->g, "v", 3, B, L, H * dh);
    r->y = zoo_attention(r->g, r->q, r->k, r->v, H, window, 1.0f / sqrtf((float)dh), p);
    if (zt_check_graph(r->g, "attention build") || zt_check_rc(zoo_graph_plan(r->g, 1), "attention plan"))
        return 1;
    zt_fill_normal(zoo_tensor_data(r->q), zoo_tensor_numel(r->q), 1, 1.0f);
    zt_fill_normal(zoo_tensor_data(r->k), zoo_tensor_numel(r->k), 2, 1.0f);
    zt_fill_normal(zoo_tensor_data(r->v), zoo_tensor_numel(r->v), 3, 1.0f);
    return 0;
}

/* Output and q, k, v gradients of one forward/backward into a new buffer. */
static float *run_result(run *r, int training, uint64_t step, int64_t *n)
{
    int64_t no = zoo_tensor_numel(r->y);
    float *R = malloc((size_t)no * sizeof *R), *res = malloc((size_t)no * 4 * sizeof *res);
    zt_draw_dout(R, no, 77);
    zoo_graph_set_training(r->g, training, step);
    if (zt_check_rc(zoo_graph_forward(r->g), "attention forward") ||
        zt_check_rc(zoo_graph_backward_seeded(r->g, r->y, R), "attention backward")) {
        free(R);
        free(res);
        return NULL;
    }
    memcpy(res, zoo_tensor_data(r->y), (size_t)no * sizeof *res);
    memcpy(res + no, zoo_tensor_grad(r->q), (size_t)no * sizeof *res);
    memcpy(res + 2 * no, zoo_tensor_grad(r->k), (size_t)no * sizeof *res);
    memcpy(res + 3 * no, zoo_tensor_grad(r->v), (size_t)no * sizeof *res);
    free(R);
    *n = 4 * no;
    return res;
}

/* Same inputs, two settings: results (output and gradients) bit for bit equal. */
static int same_results(const char *what, int64_t B, int64_t L, int H, int64_t dh, int w1, float p1, int tr1, int w2,
                        float p2, int tr2)
{
    run a, b;
    int bad = run_new(&a, B, L, H, dh, w1, p1) | run_new(&b, B, L, H, dh, w2, p2);
    int64_t n1 = 0, n2 = 0;
    float *r1 = bad ? NULL : run_result(&a, tr1, 3, &n1), *r2 = bad ? NULL : run_result(&b, tr2, 3, &n2);
    bad = !r1 || !r2 || zt_compare(what, r1, r2, n1, 0, 0);
    free(r1);
    free(r2);
    zoo_graph_free(a.g);
    zoo_graph_free(b.g);
    return bad;
}

static int refused(const char *what, zoo_graph *g, zoo_tensor *y, int code)
{
    int bad = y != NULL || zoo_graph_status(g) != code;
    if (bad)
        fprintf(stderr, "FAIL attention: %s should be refused with code %d (status %d)\n", what, code,
                zoo_graph_status(g));
    else if (!strstr(zoo_graph_error(g), "attention:"))
        fprintf(stderr, "FAIL attention: message '%s' does not name the op\n", zoo_graph_error(g)), bad = 1;
    zoo_graph_free(g);
    return bad;
}

static int refusals(void)
{
    int bad = 0;
    struct {
        const char *what;
        int64_t kl, heads;
        int q2d;
        float p, scale;
        int code;
    } t[] = {
        {"k longer than q", 6, 2, 0, 0.0f, 1.0f, ZOO_ERR_SHAPE},
        {"3 heads for width 8", 5, 3, 0, 0.0f, 1.0f, ZOO_ERR_SHAPE},
        {"0 heads", 5, 0, 0, 0.0f, 1.0f, ZOO_ERR_SHAPE},
        {"2-D q", 5, 2, 1, 0.0f, 1.0f, ZOO_ERR_SHAPE},
        {"dropout 1", 5, 2, 0, 1.0f, 1.0f, ZOO_ERR_INVALID},
        {"dropout -0.1", 5, 2, 0, -0.1f, 1.0f, ZOO_ERR_INVALID},
        {"dropout NaN", 5, 2, 0, NAN, 1.0f, ZOO_ERR_INVALID},
        {"infinite scale", 5, 2, 0, 0.0f, INFINITY, ZOO_ERR_INVALID},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
        zoo_tensor *q = t[i].q2d ? optest_param(g, "q", 2, 5, 8, 0) : optest_param(g, "q", 3, 2, 5, 8);
        zoo_tensor *k = optest_param(g, "k", 3, 2, t[i].kl, 8), *v = optest_param(g, "v", 3, 2, 5, 8);
        bad |= refused(t[i].what, g, zoo_attention(g, q, k, v, (int)t[i].heads, -1, t[i].scale, t[i].p), t[i].code);
    }
    return bad;
}

/* exp within 2 ulp of expf (0 below -87), the sum of what it wrote, and the dropout
 * mask equal to zoo_hash_uniform(key, i) >= p, exactly at the boundary too. */
static int vec_helpers(void)
{
    int bad = 0;
    enum { N = 4099 };
    static float x[N], y[N];
    for (int i = 0; i < N; i++)
        x[i] = -100.0f * (float)i / (N - 1) + 0.5f;
    float sum = zoo_vec_expsum(x, y, N, 0.5f);
    double ref_sum = 0, worst = 0;
    int64_t wi = 0;
    for (int i = 0; i < N; i++) {
        float e = expf(x[i] - 0.5f), ulp = nextafterf(e, INFINITY) - e;
        double err = x[i] - 0.5f < -87.0f ? (y[i] == 0.0f ? 0 : 1e9) : fabs((double)y[i] - e) / ulp;
        ref_sum += y[i];
        if (err > worst)
            worst = err, wi = i;
    }
    if (worst > 2.0) {
        fprintf(stderr, "FAIL zoo_vec_expsum: exp(%g) = %.9g, expf %.9g (%.1f ulp)\n", (double)x[wi] - 0.5,
                (double)y[wi], (double)expf(x[wi] - 0.5f), worst);
        bad = 1;
    }
    if (fabs(sum - ref_sum) > 1e-5 * ref_sum) {
        fprintf(stderr, "FAIL zoo_vec_expsum: returned sum %.9g, values sum to %.9g\n", (double)sum, ref_sum);
        bad = 1;
    }
    float sum2 = zoo_vec_expsum(x, NULL, N, 0.5f);
    bad |= zt_compare("zoo_vec_expsum without output: same sum", &sum2, &sum, 1, 0, 0);
    const uint64_t key = 0x1234567, idx0 = 1000;
    double pk = zoo_hash_uniform(key, idx0 + 17); /* a p equal to one element's draw */
    const double ps[4] = {0.1, 0.5, pk, nextafter(pk, 1.0)};
    for (int k = 0; k < 4; k++) {
        zoo_vec_dropout(x, y, N, key, idx0, zoo_vec_dropout_threshold(ps[k]), 3.0f);
        int64_t miss = 0;
        for (int i = 0; i < N; i++) {
            float want = zoo_hash_uniform(key, idx0 + (uint64_t)i) >= ps[k] ? 3.0f * x[i] : 0.0f;
            miss += y[i] != want;
        }
        if (miss) {
            fprintf(stderr, "FAIL zoo_vec_dropout: p = %.17g: %lld of %d elements differ from the hash mask\n",
                    ps[k], (long long)miss, N);
            bad = 1;
        }
    }
    return bad;
}

static int unit(void)
{
    int bad = vec_helpers();
    /* window 0: each query sees only itself, so out = v exactly (eval) */
    run r;
    if (!(bad |= run_new(&r, 2, 9, 2, 3, 0, 0.0f))) {
        zoo_graph_set_training(r.g, 0, 0);
        bad |= zt_check_rc(zoo_graph_forward(r.g), "attention forward") ||
               zt_compare("attention window 0: out = v", zoo_tensor_data(r.y), zoo_tensor_data(r.v),
                          zoo_tensor_numel(r.y), 0, 0);
    }
    zoo_graph_free(r.g);
    /* a window of at least L-1 keys back is plain causal attention (L crosses a block) */
    bad |= same_results("attention window L-1 vs no window", 2, 131, 2, 5, 130, 0.0f, 0, -1, 0.0f, 0);
    bad |= same_results("attention window 1000 vs no window", 1, 70, 1, 4, 1000, 0.2f, 1, -1, 0.2f, 1);
    /* eval mode ignores dropout; dropout 0 in training is no dropout */
    bad |= same_results("attention eval p=0.3 vs p=0", 2, 67, 2, 4, -1, 0.3f, 0, -1, 0.0f, 0);
    bad |= same_results("attention training p=0 vs eval", 2, 67, 2, 4, 5, 0.0f, 1, 5, 0.0f, 0);
    /* dropout: training differs from eval, masks change with the step, repeat exactly */
    if (!(bad |= run_new(&r, 2, 40, 2, 4, -1, 0.4f))) {
        int64_t n = 0, no = zoo_tensor_numel(r.y);
        float *e = run_result(&r, 0, 1, &n), *s1 = run_result(&r, 1, 1, &n), *s2 = run_result(&r, 1, 2, &n),
              *s1b = run_result(&r, 1, 1, &n);
        if (!e || !s1 || !s2 || !s1b) {
            bad = 1;
        } else {
            int64_t d_eval = 0, d_step = 0;
            for (int64_t i = 0; i < no; i++) {
                d_eval += e[i] != s1[i];
                d_step += s1[i] != s2[i];
            }
            if (d_eval < no / 2 || d_step < no / 2) {
                fprintf(stderr,
                        "FAIL attention dropout: outputs barely change (%lld of %lld vs eval, %lld vs next step)\n",
                        (long long)d_eval, (long long)no, (long long)d_step);
                bad = 1;
            }
            bad |= zt_compare("attention dropout: same step again", s1b, s1, n, 0, 0);
        }
        free(e);
        free(s1);
        free(s2);
        free(s1b);
    }
    zoo_graph_free(r.g);
    bad |= refusals();
    return bad;
}

static const optest_case cases[] = {
    /* label                          B  L    H  dh    p    scale window step  train */
    {"B1 L1 H1 dh4", {1, 1, 1, 4}, {0.0, 0, -1, 0}, 0},
    {"B2 L7 H2 dh3", {2, 7, 2, 3}, {0.0, 0, -1, 0}, 0},
    {"B3 L5 H1 dh5 window 0", {3, 5, 1, 5}, {0.0, 0, 0, 0}, 0},
    {"B1 L9 H2 dh3 window 3", {1, 9, 2, 3}, {0.0, 0, 3, 0}, 0},
    {"B2 L70 H1 dh4 (two blocks)", {2, 70, 1, 4}, {0.0, 0, -1, 0}, 0},
    {"B1 L131 H2 dh2 window 3", {1, 131, 2, 2}, {0.0, 0, 3, 0}, 0},
    {"B1 L130 H1 dh3 window 70", {1, 130, 1, 3}, {0.0, 0, 70, 0}, 0},
    {"B2 L11 H2 dh3 scale 3 (large scores)", {2, 11, 2, 3}, {0.0, 3.0, -1, 0}, 0},
    {"train B1 L6 H2 dh2 p0.5", {1, 6, 2, 2}, {0.5, 0, -1, 7}, 1},
    {"train B2 L67 H2 dh3 p0.3 window 3", {2, 67, 2, 3}, {0.3, 0, 3, 11}, 1},
    {"train B1 L1 H1 dh3 p0.1", {1, 1, 1, 3}, {0.1, 0, -1, 2}, 1},
    {"eval B2 L7 H2 dh3 p0.5", {2, 7, 2, 3}, {0.5, 0, -1, 7}, 0},
};

int main(int argc, char **argv)
{
    const optest op = {"attention", ZT_ATTN_DIR "/ref_attention.py", build, fill, describe, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
