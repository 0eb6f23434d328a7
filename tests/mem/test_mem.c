/* test_mem.c: activation memory planned by liveness (docs/backends.md, activation
 * memory). For every mixer of tests/lib/mixer_cases.h:
 *   - a few training steps and an evaluation from the same seed with reuse on and off
 *     (ZOO_MEM_REUSE=0) give bitwise the same losses, parameters and test loss and
 *     accuracy: a buffer reused while something still reads it changes the numbers;
 *   - two builds plan the same offsets, every buffer 64-byte aligned;
 *   - a graph planned for forward passes alone computes the same output;
 *   - reuse plans less than without; for attention and the conv-only model, at most
 *     MAX_FRACTION of the no-reuse activation bytes (values, gradients, workspace).
 *
 *   test_mem [NAME]   one case of mixer_cases.h, or all of them */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/src/internal.h" /* planned offsets: node buffers against the arenas */
#include "mixer_cases.h"
#include "testlib.h"
#include "zoo/run.h"
#include "zoo/task.h"

#define STEPS 4
#define BATCH 16
#define MAX_FRACTION 0.6 /* attention and base_conv at D = 64, L = 64: measured 0.48 and 0.49 */

static int spec_for(const mixer_case *c, zoo_run_spec *s)
{
    zoo_run_spec_default(s);
    char train[32];
    snprintf(train, sizeof train, "%d", STEPS * BATCH);
    /* an evaluation batch of its own: zoo_run builds the forward-only evaluation model */
    const char *kv[][2] = {{"vocab", "128"},     {"seq_len", "64"},        {"kv_pairs", "4"},  {"d_model", "64"},
                           {"threads", "2"},     {"batch_size", "16"}, {"lr", "3e-3"},
                           {"epochs", "1"},      {"train_examples", train}, {"test_examples", "32"},
                           {"eval_batch_size", "8"}};
    for (size_t i = 0; i < sizeof kv / sizeof *kv; i++)
        if (zoo_run_spec_set(s, kv[i][0], kv[i][1]))
            return 1;
    return mixer_case_apply(s, c);
}

/* The case's model, planned with reuse on or off (the knob is read at planning). */
static zoo_model *build(const mixer_case *c, int reuse, zoo_run_spec *s)
{
    zoo_model *m = NULL;
    if (reuse)
        unsetenv("ZOO_MEM_REUSE");
    else
        setenv("ZOO_MEM_REUSE", "0", 1);
    if (spec_for(c, s) || zoo_model_build(s, BATCH, BATCH * s->kv_pairs, &m)) {
        fprintf(stderr, "FAIL %s: building the model: %s\n", c->name, zoo_error_last()->msg);
        m = NULL;
    }
    unsetenv("ZOO_MEM_REUSE");
    return m;
}

typedef struct outcome {
    float loss[STEPS];
    float *params;
    int64_t n;
    double run_loss, run_acc;   /* zoo_run's test loss and accuracy (the evaluation model) */
    double test_loss, test_acc; /* the training model's evaluation of the training data */
} outcome;

/* One epoch of zoo_run (the training model, and the evaluation model for the test
 * loss), then an evaluation of `d` on the trained model's own graph. */
static int train(const mixer_case *c, int reuse, const zoo_dataset *d, outcome *o)
{
    zoo_run_spec s;
    zoo_run_result r;
    zoo_model *m = NULL;
    memset(&r, 0, sizeof r);
    if (reuse)
        unsetenv("ZOO_MEM_REUSE");
    else
        setenv("ZOO_MEM_REUSE", "0", 1);
    int rc = spec_for(c, &s) || zoo_run(&s, NULL, &r, &m) || r.n_steps != STEPS;
    unsetenv("ZOO_MEM_REUSE");
    if (!rc) {
        memcpy(o->loss, r.step_loss, sizeof o->loss);
        o->run_loss = r.final_loss;
        o->run_acc = r.final_acc;
        rc = zoo_model_evaluate(m, d, &o->test_loss, &o->test_acc, NULL, NULL);
        o->n = zoo_graph_flat_size(m->g);
        o->params = malloc((size_t)o->n * sizeof *o->params);
        rc = rc || !o->params || zoo_graph_flat_get(m->g, ZOO_FLAT_PARAMS, o->params, 0, o->n);
    }
    if (rc)
        fprintf(stderr, "FAIL %s (reuse %d): training: %s\n", c->name, reuse, zoo_error_last()->msg);
    zoo_run_result_free(&r);
    zoo_model_free(m);
    return rc;
}

static int same_numbers(const mixer_case *c, const zoo_dataset *d)
{
    outcome on = {0}, off = {0};
    int bad = train(c, 1, d, &on) || train(c, 0, d, &off);
    if (!bad) {
        ZT_CHECK(!memcmp(on.loss, off.loss, sizeof on.loss), "%s: step losses differ with reuse (first %.9g vs %.9g)",
                 c->name, (double)on.loss[0], (double)off.loss[0]);
        ZT_CHECK(on.n == off.n && !memcmp(on.params, off.params, (size_t)on.n * sizeof *on.params),
                 "%s: parameters after %d steps differ with reuse", c->name, STEPS);
        ZT_CHECK(on.run_loss == off.run_loss && on.run_acc == off.run_acc,
                 "%s: the evaluation model's test loss or accuracy differs with reuse: %.9g vs %.9g, %.9g vs %.9g",
                 c->name, on.run_loss, off.run_loss, on.run_acc, off.run_acc);
        ZT_CHECK(on.test_loss == off.test_loss && on.test_acc == off.test_acc,
                 "%s: evaluation differs with reuse: loss %.9g vs %.9g, accuracy %.9g vs %.9g", c->name, on.test_loss,
                 off.test_loss, on.test_acc, off.test_acc);
    }
    free(on.params);
    free(off.params);
    return bad;
}

static int64_t off_of(const float *p, const float *base) { return p ? (int64_t)(p - base) : -1; }

/* Two builds, the same offsets; every buffer aligned. */
static int same_plan(const mixer_case *c)
{
    zoo_run_spec s;
    zoo_model *a = build(c, 1, &s), *b = build(c, 1, &s);
    int bad = !a || !b;
    for (int i = 0; !bad && i < a->g->n_nodes; i++) {
        const zoo_tensor *x = a->g->nodes[i], *y = b->g->nodes[i];
        if (x->kind != ZOO_T_ACT && x->kind != ZOO_T_INPUT)
            continue;
        int64_t o[3] = {off_of(x->data, a->g->arena), off_of(x->aux, a->g->arena), off_of(x->grad, a->g->garena)};
        int64_t p[3] = {off_of(y->data, b->g->arena), off_of(y->aux, b->g->arena), off_of(y->grad, b->g->garena)};
        if (memcmp(o, p, sizeof o)) {
            fprintf(stderr, "FAIL %s: node %d planned at %lld/%lld/%lld, then at %lld/%lld/%lld\n", c->name, i,
                    (long long)o[0], (long long)o[1], (long long)o[2], (long long)p[0], (long long)p[1],
                    (long long)p[2]);
            bad = 1;
        }
        for (int k = 0; k < 3; k++)
            if (o[k] % ZOO_ALIGN_FLOATS > 0) {
                fprintf(stderr, "FAIL %s: node %d buffer %d at float %lld: not 64-byte aligned\n", c->name, i, k,
                        (long long)o[k]);
                bad = 1;
            }
    }
    zoo_model_free(a);
    zoo_model_free(b);
    return bad;
}

/* Reuse plans fewer activation bytes; attention and base_conv at most MAX_FRACTION. */
static int smaller(const mixer_case *c)
{
    zoo_run_spec s;
    zoo_model *on = build(c, 1, &s), *off = build(c, 0, &s);
    int bad = !on || !off;
    if (!bad) {
        double f = (double)zoo_graph_arena_bytes(on->g) / (double)zoo_graph_arena_bytes(off->g);
        double limit = !strcmp(c->name, "attention") || !strcmp(c->name, "base_conv") ? MAX_FRACTION : 1.0;
        printf("%s: activation memory %.2f MiB with reuse, %.2f MiB without (%.2f)\n", c->name,
               zoo_graph_arena_bytes(on->g) / 1048576.0, zoo_graph_arena_bytes(off->g) / 1048576.0, f);
        ZT_CHECK(f < limit, "%s: reuse plans %.2f of the no-reuse bytes (must be below %.2f)", c->name, f, limit);
    }
    zoo_model_free(on);
    zoo_model_free(off);
    return bad;
}

/* A small graph planned for forward passes alone gives the output of the same graph
 * with every buffer kept, has no activation gradients, refuses backward, and takes
 * the memory switches only before planning. */
static int forward_only(void)
{
    enum { R = 8, D = 16, H = 32 };
    float out[2][R * D], xin[R * D], dout[R * D];
    zt_fill_normal(xin, R * D, 5, 1.0f);
    zt_fill_normal(dout, R * D, 6, 1.0f);
    int bad = 0;
    for (int k = 0; k < 2 && !bad; k++) {
        zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
        zoo_tensor *x = zoo_input(g, "x", ZOO_F32, 2, (int64_t[]){R, D});
        zoo_tensor *W1 = zoo_param(g, "w1", 2, (int64_t[]){H, D}, zoo_init_normal(0.0f, 0.3f));
        zoo_tensor *b1 = zoo_param(g, "b1", 1, (int64_t[]){H}, zoo_init_normal(0.0f, 0.1f));
        zoo_tensor *W2 = zoo_param(g, "w2", 2, (int64_t[]){D, H}, zoo_init_normal(0.0f, 0.3f));
        zoo_tensor *h = zoo_gelu(g, zoo_linear(g, x, W1, b1));
        zoo_tensor *y = zoo_add(g, zoo_linear(g, zoo_gelu(g, zoo_linear(g, h, W2, NULL)), W1, NULL), h);
        y = zoo_linear(g, y, W2, NULL);
        zoo_mem_plan mp;
        bad = zt_check_graph(g, "forward-only graph") ||
              zt_check_rc(k ? zoo_graph_forward_only(g) : zoo_graph_keep_all(g), "memory switch") ||
              zt_check_rc(zoo_graph_plan(g, 3), "plan") || zt_check_rc(zoo_tensor_set(x, xin, 0, R * D), "set x") ||
              zt_check_rc(zoo_graph_forward(g), "forward") || zt_check_rc(zoo_tensor_get(y, out[k], 0, R * D), "get y") ||
              zt_check_rc(zoo_graph_mem_plan(g, &mp), "mem plan");
        if (!bad && k) {
            ZT_CHECK(mp.act_grads == 0, "a forward-only graph plans %zu bytes of activation gradients", mp.act_grads);
            ZT_CHECK(zoo_graph_backward_seeded(g, y, dout) == ZOO_ERR_STATE, "backward ran on a forward-only graph");
        }
        ZT_CHECK(zoo_graph_keep_all(g) == ZOO_ERR_STATE && zoo_graph_forward_only(g) == ZOO_ERR_STATE,
                 "a memory switch was taken after planning");
        zoo_graph_free(g);
    }
    ZT_CHECK(bad || !memcmp(out[0], out[1], sizeof out[0]), "the forward-only graph computes another output");
    return bad;
}

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL;
    zoo_mqar_spec ms = {128, 64, 4, STEPS * BATCH, 0.01, 0, 7};
    zoo_dataset d = {0};
    if (zoo_mqar_generate(&ms, &d)) {
        fprintf(stderr, "FAIL data: %s\n", zoo_error_last()->msg);
        return 1;
    }
    int ran = 0;
    if (!only && forward_only())
        zt_fails++;
    for (int i = 0; i < N_CASES; i++) {
        if (only && strcmp(only, CASES[i].name))
            continue;
        ran++;
        if (same_numbers(&CASES[i], &d) || same_plan(&CASES[i]) || smaller(&CASES[i]))
            zt_fails++;
    }
    zoo_dataset_free(&d);
    if (!ran) {
        fprintf(stderr, "usage: %s [NAME]: unknown case '%s'\n", argv[0], only);
        return 2;
    }
    printf("mem: %s (%d case%s)\n", zt_fails ? "FAIL" : "ok", ran, ran == 1 ? "" : "s");
    return zt_fails ? 1 : 0;
}
