/* test_ce_head.c: the tied-head cross entropy computed only at supervised rows, against
 * finite differences and against PyTorch's FULL head (logits at every position,
 * F.cross_entropy with ignore_index=-100): same loss, same gradients for h and E, same
 * logits, valid and correct counts. Also -100 in the middle and as trailing padding,
 * repeated positions, no valid label (loss 0; unit mode, as finite differences of a
 * constant prove nothing), bad labels/positions and refusals. */
#include <math.h>

#include "optest.h"

static zoo_tensor *pos_t, *lab_t; /* the case's int inputs, filled after planning */

/* d = (B, L, D, V); f = (M entries, trailing -100 entries, every k-th entry -100 (0: none));
 * flag: repeat positions (then the reference gathers rows instead of the full head) */
static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    int64_t B = c->d[0], L = c->d[1], D = c->d[2], V = c->d[3], M = (int64_t)c->f[0];
    zoo_tensor *h = optest_param(g, "h", 3, B, L, D), *E = optest_param(g, "E", 2, V, D, 0);
    pos_t = zoo_input(g, "pos", ZOO_I32, 1, (int64_t[]){M});
    lab_t = zoo_input(g, "labels", ZOO_I32, 1, (int64_t[]){M});
    return zoo_ce_head(g, h, E, pos_t, lab_t);
}

/* argmax over V of h[row] . E[v], in double */
static int32_t argmax_row(const float *h, const float *E, int64_t row, int64_t D, int64_t V)
{
    double best = -INFINITY;
    int32_t arg = 0;
    for (int64_t v = 0; v < V; v++) {
        double s = 0;
        for (int64_t j = 0; j < D; j++)
            s += (double)h[row * D + j] * E[v * D + j];
        if (s > best)
            best = s, arg = (int32_t)v;
    }
    return arg;
}

static void fill(zoo_graph *g, const optest_case *c, uint64_t seed)
{
    int64_t B = c->d[0], L = c->d[1], D = c->d[2], V = c->d[3], M = (int64_t)c->f[0], R = B * L;
    int64_t pad = (int64_t)c->f[1], every = (int64_t)c->f[2];
    int32_t *pos = zoo_tensor_idata(pos_t), *lab = zoo_tensor_idata(lab_t);
    /* distinct positions: the first M of a seeded shuffle of 0..R-1 */
    int32_t *perm = malloc((size_t)R * sizeof *perm), *r = malloc((size_t)R * sizeof *r);
    zt_fill_int(r, R, seed, 0, 1 << 30);
    for (int64_t i = 0; i < R; i++)
        perm[i] = (int32_t)i;
    for (int64_t i = R - 1; i > 0; i--) {
        int64_t j = r[i] % (i + 1);
        int32_t t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    for (int64_t i = 0; i < M; i++)
        pos[i] = perm[i % R];
    if (c->flag && M >= 3)
        pos[1] = pos[0], pos[M - pad - 1] = pos[0];
    zt_fill_int(lab, M, seed + 1, 0, (int32_t)V);
    zoo_tensor *h = zoo_graph_param(g, 0), *E = zoo_graph_param(g, 1);
    for (int64_t i = 0; i < M; i += 2) /* every other entry labelled with the true argmax */
        lab[i] = argmax_row(zoo_tensor_data(h), zoo_tensor_data(E), pos[i], D, V);
    for (int64_t i = 0; every && i < M; i += every)
        lab[i] = -100;
    for (int64_t i = M - pad; i < M; i++)
        lab[i] = -100;
    free(perm);
    free(r);
}

static void describe(zt_dump *d, zoo_graph *g, zoo_tensor *out, const optest_case *c)
{
    zt_dump_tensor(d, "pos", "input", pos_t);
    zt_dump_tensor(d, "labels", "input", lab_t);
    zt_dump_attr(d, "distinct", !c->flag);
    /* logits and counts are read after a forward pass */
    int64_t m = 0, V = 0, nv = -1, nc = -1;
    if (zt_check_rc(zoo_graph_forward(g), "ce_head forward") || zt_check_rc(zoo_ce_head_stats(out, &nv, &nc), "stats"))
        return;
    if (zt_check_rc(zoo_ce_head_logits(out, NULL, 0, &m, &V), "logits size"))
        return;
    float *lg = malloc((size_t)(m * V + 1) * sizeof *lg);
    if (m > 0 && lg && !zt_check_rc(zoo_ce_head_logits(out, lg, m, &m, &V), "logits"))
        zt_dump_f32(d, "logits", "other", lg, 2, (int64_t[]){m, V});
    free(lg);
    zt_dump_attr(d, "m", (double)m);
    zt_dump_attr(d, "n_valid", (double)nv);
    zt_dump_attr(d, "n_correct", (double)nc);
}

/* ---- unit ------------------------------------------------------------------------ */

typedef struct ce {
    zoo_graph *g;
    zoo_tensor *h, *E, *pos, *lab, *loss;
} ce;

/* h (2, 5, 3), E (7, 3) random; pos/labels of length M from the arrays given. */
static int ce_new(ce *t, int64_t M, const int32_t *pos, const int32_t *lab)
{
    t->g = zoo_graph_new(ZOO_BACKEND_CPU);
    t->h = optest_param(t->g, "h", 3, 2, 5, 3);
    t->E = optest_param(t->g, "E", 2, 7, 3, 0);
    t->pos = zoo_input(t->g, "pos", ZOO_I32, 1, (int64_t[]){M});
    t->lab = zoo_input(t->g, "labels", ZOO_I32, 1, (int64_t[]){M});
    t->loss = zoo_ce_head(t->g, t->h, t->E, t->pos, t->lab);
    if (zt_check_graph(t->g, "ce_head build") || zt_check_rc(zoo_graph_plan(t->g, 1), "ce_head plan"))
        return 1;
    zt_fill_params(t->g, 9, 1.0f);
    memcpy(zoo_tensor_idata(t->pos), pos, (size_t)M * sizeof *pos);
    memcpy(zoo_tensor_idata(t->lab), lab, (size_t)M * sizeof *lab);
    return 0;
}

static int expect_i64(const char *what, int64_t got, int64_t want)
{
    if (got == want)
        return 0;
    fprintf(stderr, "FAIL ce_head: %s is %lld, expected %lld\n", what, (long long)got, (long long)want);
    return 1;
}

static int all_zero(const char *what, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (x[i] != 0.0f) {
            fprintf(stderr, "FAIL ce_head: %s[%lld] = %g, expected 0\n", what, (long long)i, (double)x[i]);
            return 1;
        }
    return 0;
}

static int refused(const char *what, zoo_graph *g, zoo_tensor *y)
{
    int bad = y != NULL || zoo_graph_status(g) != ZOO_ERR_SHAPE;
    if (bad)
        fprintf(stderr, "FAIL ce_head: %s should be refused as a shape error\n", what);
    else if (!strstr(zoo_graph_error(g), "ce_head:"))
        fprintf(stderr, "FAIL ce_head: message '%s' does not name the op\n", zoo_graph_error(g)), bad = 1;
    zoo_graph_free(g);
    return bad;
}

static int unit(void)
{
    int bad = 0;
    int64_t nv = -1, nc = -1, m = -1, V = -1;
    ce t;
    /* no valid label: loss 0 and zero gradients (PyTorch's mean would be NaN) */
    const int32_t p0[3] = {1, 4, 7}, l0[3] = {-100, -100, -100};
    if (!(bad |= ce_new(&t, 3, p0, l0))) {
        bad |= zt_check_rc(zoo_graph_forward(t.g), "forward") || zt_check_rc(zoo_graph_backward(t.g, t.loss), "backward");
        bad |= all_zero("loss with no valid label", zoo_tensor_data(t.loss), 1);
        bad |= all_zero("dh with no valid label", zoo_tensor_grad(t.h), zoo_tensor_numel(t.h));
        bad |= all_zero("dE with no valid label", zoo_tensor_grad(t.E), zoo_tensor_numel(t.E));
        bad |= zt_check_rc(zoo_ce_head_stats(t.loss, &nv, &nc), "stats") || expect_i64("n_valid", nv, 0) ||
               expect_i64("n_correct", nc, 0);
        bad |= zt_check_rc(zoo_ce_head_logits(t.loss, NULL, 0, &m, &V), "logits");
        bad |= expect_i64("logit rows with no valid label", m, 0);
    }
    zoo_graph_free(t.g);
    /* -100 in the middle is computed but not counted; trailing -100 entries are skipped */
    const int32_t p1[6] = {9, 0, 3, 3, 5, 6}, l1[6] = {2, -100, 6, 0, -100, -100};
    if (!(bad |= ce_new(&t, 6, p1, l1))) {
        bad |= zt_check_rc(zoo_graph_forward(t.g), "forward");
        bad |= zt_check_rc(zoo_ce_head_stats(t.loss, &nv, &nc), "stats") || expect_i64("n_valid", nv, 3);
        float lg[6 * 7];
        bad |= zt_check_rc(zoo_ce_head_logits(t.loss, lg, 6, &m, &V), "logits");
        bad |= expect_i64("logit rows (last valid entry + 1)", m, 4) || expect_i64("logit columns", V, 7);
        /* each logit row is h[pos] . E, and the loss is the mean of lse - logit[label] */
        const float *h = zoo_tensor_data(t.h), *E = zoo_tensor_data(t.E);
        double ref[28], loss = 0;
        for (int i = 0; i < 4; i++) {
            double mx = -INFINITY, se = 0;
            for (int v = 0; v < 7; v++) {
                ref[i * 7 + v] = 0;
                for (int j = 0; j < 3; j++)
                    ref[i * 7 + v] += (double)h[p1[i] * 3 + j] * E[v * 3 + j];
                mx = fmax(mx, ref[i * 7 + v]);
            }
            for (int v = 0; v < 7; v++)
                se += exp(ref[i * 7 + v] - mx);
            if (l1[i] != -100)
                loss += mx + log(se) - ref[i * 7 + l1[i]];
        }
        bad |= zt_compare_d("ce_head logits", lg, ref, 28, ZT_TOL_FWD_ATOL, ZT_TOL_FWD_RTOL);
        loss /= 3;
        bad |= zt_compare_d("ce_head loss", zoo_tensor_data(t.loss), &loss, 1, ZT_TOL_FWD_ATOL, ZT_TOL_FWD_RTOL);
    }
    zoo_graph_free(t.g);
    /* bad labels and positions fail the forward pass: it returns the kernel's code at
     * once, the message names the op and the value, the loss is NaN */
    struct {
        int32_t pos, lab;
        const char *what, *msg;
    } badin[] = {{2, 7, "label V", "label 7 out of range [0, 7) at example"},
                 {2, -5, "label -5", "label -5 out of range [0, 7)"},
                 {10, 1, "position B*L", "position 10 of supervised entry 1 is outside [0, 10)"},
                 {-1, 1, "position -1", "position -1 of supervised entry 1"}};
    for (int i = 0; i < 4; i++) {
        const int32_t p[2] = {1, badin[i].pos}, l[2] = {3, badin[i].lab};
        if ((bad |= ce_new(&t, 2, p, l)))
            break;
        int rc = zoo_graph_forward(t.g);
        const char *msg = zoo_error_last()->msg;
        if (rc != ZOO_ERR_INVALID || !isnan(zoo_tensor_data(t.loss)[0]) || !strstr(msg, "op 'ce_head' forward") ||
            !strstr(msg, badin[i].msg)) {
            fprintf(stderr, "FAIL ce_head: %s not reported (rc %d, loss %g, '%s')\n", badin[i].what, rc,
                    (double)zoo_tensor_data(t.loss)[0], msg);
            bad = 1;
        }
        zoo_graph_free(t.g);
    }
    /* accessors on the wrong tensor or before forward */
    if (!(bad |= ce_new(&t, 6, p1, l1))) {
        bad |= expect_i64("stats before forward", zoo_ce_head_stats(t.loss, &nv, &nc), ZOO_ERR_STATE);
        bad |= expect_i64("stats of a parameter", zoo_ce_head_stats(t.h, &nv, &nc), ZOO_ERR_INVALID);
        bad |= expect_i64("logits of a parameter", zoo_ce_head_logits(t.h, NULL, 0, &m, &V), ZOO_ERR_INVALID);
        bad |= expect_i64("logits before forward", zoo_ce_head_logits(t.loss, NULL, 0, &m, &V), ZOO_ERR_STATE);
    }
    zoo_graph_free(t.g);
    /* builder refusals */
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *pi = zoo_input(g, "p", ZOO_I32, 1, (int64_t[]){4}), *li = zoo_input(g, "l", ZOO_I32, 1, (int64_t[]){4});
    bad |= refused("E of width 4 for h of width 3", g,
                   zoo_ce_head(g, optest_param(g, "h", 3, 2, 5, 3), optest_param(g, "E", 2, 7, 4, 0), pi, li));
    g = zoo_graph_new(ZOO_BACKEND_CPU);
    pi = zoo_input(g, "p", ZOO_F32, 1, (int64_t[]){4});
    li = zoo_input(g, "l", ZOO_I32, 1, (int64_t[]){4});
    bad |= refused("f32 positions", g,
                   zoo_ce_head(g, optest_param(g, "h", 3, 2, 5, 3), optest_param(g, "E", 2, 7, 3, 0), pi, li));
    g = zoo_graph_new(ZOO_BACKEND_CPU);
    pi = zoo_input(g, "p", ZOO_I32, 1, (int64_t[]){4});
    li = zoo_input(g, "l", ZOO_I32, 1, (int64_t[]){5});
    bad |= refused("4 positions with 5 labels", g,
                   zoo_ce_head(g, optest_param(g, "h", 3, 2, 5, 3), optest_param(g, "E", 2, 7, 3, 0), pi, li));
    return bad;
}

static const optest_case cases[] = {
    /* label                               B  L   D   V      M  pad every  repeat */
    {"B1 L1 D4 V5 M1", {1, 1, 4, 5}, {1, 0, 0}, 0},
    {"B2 L5 D3 V7 M6 pad2", {2, 5, 3, 7}, {6, 2, 0}, 0},
    {"B3 L17 D9 V31 M20 pad3 every5", {3, 17, 9, 31}, {20, 3, 5, 0}, 0},
    {"B2 L9 D5 V13 M8 repeated positions", {2, 9, 5, 13}, {8, 1, 3, 0}, 1},
    {"B4 L33 D16 V600 M132 (all rows)", {4, 33, 16, 600}, {132, 0, 0, 0}, 0},
    {"B5 L128 D7 V40 M600 (two chunks)", {5, 128, 7, 40}, {600, 7, 9, 0}, 0},
};

int main(int argc, char **argv)
{
    const optest op = {"ce_head", ZT_ATTN_DIR "/ref_ce_head.py", build, fill, describe, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
