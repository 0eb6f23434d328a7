/* test_recurrence.c: the matrix-state recurrence zoo_recurrence (docs/mixers.md,
 * recurrence) against finite differences and a float64 PyTorch loop of its formula, on
 * shapes with L = 1, L past one and two checkpoint chunks (64 steps), H = 2, dk != dv,
 * w absent / per head / per key channel, a, b absent / given, a DeltaNet-like case
 * (b is k itself, a = -beta k, unit-norm k), and states of 32 x 32 and more (several
 * 16-lane blocks per row, tails), one with decays of 0 and tiny ones. unit: thread determinism (every case),
 * shape errors, and a model around the op trained with activation memory reuse on and
 * off (bitwise equal: what the op declares its backward reads is true). */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <math.h>

#include "optest.h"

/* d = (B, L, H, dk); f[0] = dv; flag: bits 0-1 how w is given, FL_AB a and b, FL_DELTA
 * the delta rule's a = -beta k and b = k (the same tensor) */
enum { W_NONE = 0, W_HEAD = 1, W_CHAN = 2, W_MASK = 3, FL_AB = 4, FL_DELTA = 8, FL_SMALLW = 16 };

static zoo_tensor *find(zoo_graph *g, const char *name) { return zoo_graph_find_param(g, name); }

static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    int64_t B = c->d[0], L = c->d[1], H = c->d[2], dk = c->d[3], dv = (int64_t)c->f[0];
    zoo_tensor *q = optest_param(g, "q", 3, B, L, H * dk);
    zoo_tensor *k = optest_param(g, "k", 3, B, L, H * dk);
    zoo_tensor *v = optest_param(g, "v", 3, B, L, H * dv);
    zoo_tensor *w = NULL, *a = NULL, *b = NULL;
    if ((c->flag & W_MASK) == W_HEAD)
        w = optest_param(g, "w", 3, B, L, H);
    else if ((c->flag & W_MASK) == W_CHAN)
        w = optest_param(g, "w", 3, B, L, H * dk);
    if (c->flag & (FL_AB | FL_DELTA)) {
        a = optest_param(g, "a", 3, B, L, H * dk);
        b = c->flag & FL_DELTA ? k : optest_param(g, "b", 3, B, L, H * dk);
    }
    return zoo_recurrence(g, q, k, v, w, a, b, (int)H);
}

static float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/* Values that keep the state O(1) over 130 steps: k scaled by 1/sqrt(dk), decays in
 * (0, 1) around 0.7, a and b small (|a||b| ~ 1/4); for the delta rule unit-norm k per
 * head and a = -beta k with beta in (0, 1). */
static void fill(zoo_graph *g, const optest_case *c, uint64_t seed)
{
    int64_t H = c->d[2], dk = c->d[3], rows = c->d[0] * c->d[1] * H;
    float *k = zoo_tensor_data(find(g, "k"));
    float sk = 1.0f / sqrtf((float)dk);
    for (int64_t i = 0; i < rows * dk; i++)
        k[i] *= sk;
    zoo_tensor *w = find(g, "w");
    if (w) {
        float *wd = zoo_tensor_data(w);
        for (int64_t i = 0; i < zoo_tensor_numel(w); i++)
            wd[i] = sigmoid(wd[i] + 1.0f);
        /* zero and tiny decays among the usual ones (a backward that divided by w
         * would fail on them) */
        static const float small[] = {0.0f, 1e-6f, 5e-5f, 2e-4f, 0.0f, 1e-3f};
        if (c->flag & FL_SMALLW)
            for (int64_t i = 0; i < zoo_tensor_numel(w); i += 7)
                wd[i] = small[(i / 7) % 6];
    }
    if (c->flag & FL_DELTA) {
        float *a = zoo_tensor_data(find(g, "a"));
        float *beta = malloc((size_t)rows * sizeof *beta);
        zt_fill_normal(beta, rows, seed ^ 0xbe7a, 1.0f);
        for (int64_t r = 0; r < rows; r++) {
            double n2 = 0;
            for (int64_t i = 0; i < dk; i++)
                n2 += (double)k[r * dk + i] * k[r * dk + i];
            float inv = (float)(1.0 / sqrt(n2)), bt = sigmoid(beta[r]);
            for (int64_t i = 0; i < dk; i++) {
                k[r * dk + i] *= inv;
                a[r * dk + i] = -bt * k[r * dk + i];
            }
        }
        free(beta);
    } else if (c->flag & FL_AB) {
        float *a = zoo_tensor_data(find(g, "a")), *b = zoo_tensor_data(find(g, "b"));
        for (int64_t i = 0; i < rows * dk; i++) {
            a[i] *= 0.5f * sk;
            b[i] *= 0.5f * sk;
        }
    }
}

static void describe(zt_dump *d, zoo_graph *g, zoo_tensor *out, const optest_case *c)
{
    (void)g;
    (void)out;
    zt_dump_attr(d, "heads", (double)c->d[2]);
    zt_dump_attr(d, "b_is_k", c->flag & FL_DELTA ? 1.0 : 0.0);
}

/* ---- unit: shape errors --------------------------------------------------------- */
typedef struct bad_case {
    const char *what;
    int code;
    int64_t q[3], k[3], v[3], w[3], a[3], b[3]; /* w, a, b: q[0] == 0 means NULL */
    int heads;
} bad_case;

static zoo_tensor *maybe(zoo_graph *g, const char *name, const int64_t *s)
{
    return s[0] ? optest_param(g, name, 3, s[0], s[1], s[2]) : NULL;
}

static int refused(const bad_case *bc)
{
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *y = zoo_recurrence(g, maybe(g, "q", bc->q), maybe(g, "k", bc->k), maybe(g, "v", bc->v),
                                   maybe(g, "w", bc->w), maybe(g, "a", bc->a), maybe(g, "b", bc->b), bc->heads);
    int bad = y || zoo_graph_status(g) != bc->code;
    if (bad)
        fprintf(stderr, "FAIL recurrence: %s should be refused with %d, got %d '%s'\n", bc->what, bc->code,
                zoo_graph_status(g), zoo_graph_error(g));
    else
        printf("refused as expected: %s\n", zoo_graph_error(g));
    zoo_graph_free(g);
    return bad;
}

static const bad_case bad_cases[] = {
    {"heads 3 for q (2, 5, 8)", ZOO_ERR_SHAPE, {2, 5, 8}, {2, 5, 8}, {2, 5, 6}, {0}, {0}, {0}, 3},
    {"heads 0", ZOO_ERR_INVALID, {2, 5, 8}, {2, 5, 8}, {2, 5, 8}, {0}, {0}, {0}, 0},
    {"k (2, 5, 6) for q (2, 5, 8)", ZOO_ERR_SHAPE, {2, 5, 8}, {2, 5, 6}, {2, 5, 8}, {0}, {0}, {0}, 2},
    {"v (2, 4, 8) for q (2, 5, 8)", ZOO_ERR_SHAPE, {2, 5, 8}, {2, 5, 8}, {2, 4, 8}, {0}, {0}, {0}, 2},
    {"v (2, 5, 7) for 2 heads", ZOO_ERR_SHAPE, {2, 5, 8}, {2, 5, 8}, {2, 5, 7}, {0}, {0}, {0}, 2},
    {"w (2, 5, 3) for 2 heads of dk 4", ZOO_ERR_SHAPE, {2, 5, 8}, {2, 5, 8}, {2, 5, 8}, {2, 5, 3}, {0}, {0}, 2},
    {"w (1, 5, 8) for B = 2", ZOO_ERR_SHAPE, {2, 5, 8}, {2, 5, 8}, {2, 5, 8}, {1, 5, 8}, {0}, {0}, 2},
    {"a without b", ZOO_ERR_INVALID, {2, 5, 8}, {2, 5, 8}, {2, 5, 8}, {0}, {2, 5, 8}, {0}, 2},
    {"b without a", ZOO_ERR_INVALID, {2, 5, 8}, {2, 5, 8}, {2, 5, 8}, {0}, {0}, {2, 5, 8}, 2},
    {"a (2, 5, 4) for q (2, 5, 8)", ZOO_ERR_SHAPE, {2, 5, 8}, {2, 5, 8}, {2, 5, 8}, {0}, {2, 5, 4}, {2, 5, 8}, 2},
    {"b (2, 5, 4) for q (2, 5, 8)", ZOO_ERR_SHAPE, {2, 5, 8}, {2, 5, 8}, {2, 5, 8}, {0}, {2, 5, 8}, {2, 5, 4}, 2},
};

/* ---- unit: activation memory reuse ------------------------------------------------
 * q, k, v, w, a, b are Linear projections of one input x; the recurrence's output goes
 * through a Linear with bias (a workspace of its own), a second recurrence (its chunk
 * states written between the first's forward and backward) and a product. Planned with
 * reuse, other buffers take the memory of whatever the planner believes dead, so a
 * wrong ZOO_MEM_* declaration (aux carries the chunk states; the backward reads every
 * source) changes the numbers. Two steps of plain SGD each, compared bit for bit with
 * the plan that shares nothing. */
#define MB 2
#define ML 70
#define MD 12
#define MH 2
#define MDK 4
#define MDV 6

static int mem_run(int reuse, float **res, int64_t *nres)
{
    if (reuse)
        unsetenv("ZOO_MEM_REUSE");
    else
        setenv("ZOO_MEM_REUSE", "0", 1);
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *x = optest_param(g, "x", 3, MB, ML, MD);
    zoo_tensor *p[6];
    const char *names[6] = {"Wq", "Wk", "Wv", "Ww", "Wa", "Wb"};
    const int64_t outs[6] = {MH * MDK, MH * MDK, MH * MDV, MH, MH * MDK, MH * MDK};
    for (int i = 0; i < 6; i++)
        p[i] = zoo_linear(g, x, optest_param(g, names[i], 2, outs[i], MD, 0), NULL);
    zoo_tensor *y = zoo_recurrence(g, p[0], p[1], p[2], zoo_sigmoid(g, p[3]), zoo_scale(g, p[4], 0.3f),
                                   zoo_scale(g, p[5], 0.3f), MH);
    zoo_tensor *z = zoo_linear(g, y, optest_param(g, "Wo", 2, MD, MH * MDV, 0), optest_param(g, "bo", 1, MD, 0, 0));
    zoo_tensor *q2 = zoo_linear(g, z, optest_param(g, "Wq2", 2, MH * MDK, MD, 0), NULL);
    zoo_tensor *k2 = zoo_linear(g, z, optest_param(g, "Wk2", 2, MH * MDK, MD, 0), NULL);
    zoo_tensor *v2 = zoo_linear(g, z, optest_param(g, "Wv2", 2, MH * MDV, MD, 0), NULL);
    zoo_tensor *w2 = zoo_sigmoid(g, zoo_linear(g, z, optest_param(g, "Ww2", 2, MH * MDK, MD, 0), NULL));
    zoo_tensor *y2 = zoo_recurrence(g, q2, k2, v2, w2, NULL, NULL, MH);
    zoo_tensor *out = zoo_mul(g, y2, y2);
    int bad = zt_check_graph(g, "recurrence memory case: build") || zt_check_rc(zoo_graph_plan(g, 5), "plan");
    unsetenv("ZOO_MEM_REUSE");
    if (bad) {
        zoo_graph_free(g);
        return 1;
    }
    zt_fill_params(g, 99, 0.3f);
    int64_t no = zoo_tensor_numel(out), pn = 0;
    float *R = malloc((size_t)no * sizeof *R);
    zt_draw_dout(R, no, 17);
    *nres = 0;
    *res = NULL;
    for (int step = 0; step < 2 && !bad; step++) {
        bad |= zt_check_rc(zoo_graph_forward(g), "forward") || zt_check_rc(zoo_graph_backward_seeded(g, out, R), "backward");
        float *gr = zoo_graph_grads_flat(g, &pn), *pv = zoo_graph_params_flat(g, &pn);
        for (int64_t i = 0; i < pn; i++)
            pv[i] -= 0.01f * gr[i];
    }
    if (!bad) {
        float *pv = zoo_graph_params_flat(g, &pn);
        *nres = no + pn;
        *res = malloc((size_t)*nres * sizeof **res);
        memcpy(*res, zoo_tensor_data(out), (size_t)no * sizeof(float));
        memcpy(*res + no, pv, (size_t)pn * sizeof(float));
    }
    free(R);
    zoo_graph_free(g);
    return bad;
}

static int mem_reuse(void)
{
    float *r[2] = {NULL, NULL};
    int64_t n[2] = {0, 0};
    int bad = mem_run(0, &r[0], &n[0]) || mem_run(1, &r[1], &n[1]) ||
              zt_check_finite("recurrence memory case: output and parameters", r[0], n[0]);
    if (!bad && (n[0] != n[1] || memcmp(r[0], r[1], (size_t)n[0] * sizeof(float)))) {
        zt_compare("recurrence: output and parameters after 2 steps, memory reuse on vs off", r[1], r[0], n[0], 0, 0);
        bad = 1;
    }
    free(r[0]);
    free(r[1]);
    return bad;
}

static int unit(void)
{
    int bad = 0;
    for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++)
        bad |= refused(&bad_cases[i]);
    bad |= mem_reuse();
    return bad;
}

static const optest_case cases[] = {
    {"B1 L1 H1 dk3 dv2, no w, no ab", {1, 1, 1, 3}, {2}, W_NONE},
    {"B1 L1 H2 dk4 dv4, w per channel, ab", {1, 1, 2, 4}, {4}, W_CHAN | FL_AB},
    {"B2 L7 H1 dk5 dv3, w per head", {2, 7, 1, 5}, {3}, W_HEAD},
    {"B2 L9 H2 dk3 dv5, w per channel", {2, 9, 2, 3}, {5}, W_CHAN},
    {"B1 L11 H2 dk4 dv3, ab, no w", {1, 11, 2, 4}, {3}, FL_AB},
    {"B2 L13 H2 dk3 dv4, w per head, ab", {2, 13, 2, 3}, {4}, W_HEAD | FL_AB},
    {"B1 L70 H2 dk4 dv3, w per channel, ab (2 chunks)", {1, 70, 2, 4}, {3}, W_CHAN | FL_AB},
    {"B2 L130 H2 dk3 dv5, w per head, ab (3 chunks)", {2, 130, 2, 3}, {5}, W_HEAD | FL_AB},
    {"B1 L130 H1 dk17 dv19, w per channel (lanes and tails)", {1, 130, 1, 17}, {19}, W_CHAN},
    {"B2 L12 H2 dk4 dv3, delta rule, no w", {2, 12, 2, 4}, {3}, FL_DELTA},
    {"B1 L67 H2 dk5 dv4, gated delta rule (w per head)", {1, 67, 2, 5}, {4}, W_HEAD | FL_DELTA},
    {"B1 L130 H2 dk32 dv32, w per head (3 chunks)", {1, 130, 2, 32}, {32}, W_HEAD},
    {"B2 L70 H1 dk48 dv24, no w", {2, 70, 1, 48}, {24}, W_NONE},
    {"B1 L100 H1 dk32 dv40, w per head with zeros and tiny decays", {1, 100, 1, 32}, {40}, W_HEAD | FL_SMALLW},
};

int main(int argc, char **argv)
{
    const optest op = {"recurrence", ZT_OPS_DIR "/ref_recurrence.py", build, fill, describe, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
