/* test_resume.c: a run stopped between two steps and resumed from its snapshot ends
 * bitwise where the uninterrupted run ends: parameters, both AdamW moments and every
 * curve. Stops mid-epoch, at an epoch boundary, at a random step, twice in one run;
 * snapshots taken by checkpoint_due at epoch ends; embed dropout on and off; a snapshot
 * that does not fit is refused and the run starts from step 0. Exit 0 pass, 1 fail. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testlib.h"
#include "zoo/error.h"
#include "zoo/run.h"

#define EPOCHS 3
#define STEPS_PER_EPOCH 5 /* 40 examples, batch 8 */

typedef struct final_state {
    zoo_run_result res;
    int64_t n;
    float *p, *m, *v;
} final_state;

/* The test's own deep copy of a snapshot (the one the hook gets is zoo_run's view). */
static void copy_snapshot(zoo_run_snapshot *dst, const zoo_run_snapshot *s)
{
    zoo_run_snapshot_free(dst);
    *dst = *s;
    size_t fb = (size_t)s->n_flat * sizeof(float), sb = (size_t)(s->step ? s->step : 1) * sizeof(float),
           eb = (size_t)(s->epoch ? s->epoch : 1) * sizeof(float);
    dst->params = malloc(fb), dst->adam_m = malloc(fb), dst->adam_v = malloc(fb);
    memcpy(dst->params, s->params, fb), memcpy(dst->adam_m, s->adam_m, fb), memcpy(dst->adam_v, s->adam_v, fb);
    dst->step_loss = malloc(sb);
    if (s->step)
        memcpy(dst->step_loss, s->step_loss, (size_t)s->step * sizeof(float));
    float **d[4] = {&dst->epoch_test_loss, &dst->epoch_test_acc, &dst->epoch_lr, &dst->epoch_train_loss};
    const float *src[4] = {s->epoch_test_loss, s->epoch_test_acc, s->epoch_lr, s->epoch_train_loss};
    for (int i = 0; i < 4; i++) {
        *d[i] = malloc(eb);
        if (s->epoch)
            memcpy(*d[i], src[i], (size_t)s->epoch * sizeof(float));
    }
    dst->origin = "the test's snapshot";
}

/* What the hooks do: stop when the global step reaches stop_at (-1: never); with
 * save_every, every checkpoint_due says yes and the save numbered keep_nth is kept. */
typedef struct ctl {
    int64_t stop_at, polls_from; /* polls count global steps from the resumed step */
    int save_every, keep_nth, n_saves;
    zoo_run_snapshot kept;
    int resumed, refused;
    char why[512];
} ctl;

static int should_stop(void *ud)
{
    ctl *c = ud;
    return c->stop_at >= 0 && c->polls_from++ >= c->stop_at;
}

static int due(void *ud) { return ((ctl *)ud)->save_every; }

static int save(const zoo_run_snapshot *s, void *ud)
{
    ctl *c = ud;
    if (c->n_saves++ == c->keep_nth || c->stop_at >= 0)
        copy_snapshot(&c->kept, s);
    return 0;
}

static void on_resume(const zoo_run_snapshot *s, int refused, const char *why, void *ud)
{
    (void)s;
    ctl *c = ud;
    c->resumed = !refused;
    c->refused = refused;
    snprintf(c->why, sizeof c->why, "%s", why ? why : "");
}

static void make_spec(zoo_run_spec *s, const char *dropout)
{
    zoo_run_spec_default(s);
    const char *kv[][2] = {{"vocab", "32"},          {"seq_len", "16"},        {"kv_pairs", "2"},
                           {"n_layers", "2"},        {"d_model", "16"},        {"mixer", "attention"},
                           {"train_examples", "40"}, {"test_examples", "16"},  {"batch_size", "8"},
                           {"epochs", "3"},          {"early_stop", "2"},      {"lr", "0.01"},
                           {"threads", "1"},         {"embed_dropout", dropout}, {"seed", "5"}};
    for (size_t i = 0; i < sizeof kv / sizeof *kv; i++)
        if (zoo_run_spec_set(s, kv[i][0], kv[i][1]))
            fprintf(stderr, "setting %s: %s\n", kv[i][0], zoo_error_last()->msg);
}

/* Run with hooks; *out gets the result and, when the run finished, the flat buffers. */
static int run(const zoo_run_spec *spec, ctl *c, const zoo_run_snapshot *resume, final_state *out)
{
    zoo_run_hooks h;
    memset(&h, 0, sizeof h);
    h.should_stop = should_stop;
    h.checkpoint_due = due;
    h.save = save;
    h.on_resume = on_resume;
    h.resume = resume;
    h.ud = c;
    c->polls_from = resume ? resume->step : 0;
    memset(out, 0, sizeof *out);
    zoo_model *m = NULL;
    int rc = zoo_run(spec, &h, &out->res, &m);
    if (!rc && m) {
        out->n = zoo_graph_flat_size(m->g);
        out->p = malloc((size_t)out->n * sizeof(float));
        out->m = malloc((size_t)out->n * sizeof(float));
        out->v = malloc((size_t)out->n * sizeof(float));
        zoo_graph_flat_get(m->g, ZOO_FLAT_PARAMS, out->p, 0, out->n);
        zoo_graph_flat_get(m->g, ZOO_FLAT_ADAM_M, out->m, 0, out->n);
        zoo_graph_flat_get(m->g, ZOO_FLAT_ADAM_V, out->v, 0, out->n);
    }
    zoo_model_free(m);
    return rc;
}

static void final_free(final_state *f)
{
    zoo_run_result_free(&f->res);
    free(f->p), free(f->m), free(f->v);
}

static int same(const float *a, const float *b, int64_t n) { return n == 0 || (a && b && !memcmp(a, b, (size_t)n * sizeof *a)); }

/* got == want bit for bit; `what` names the case. */
static void compare(const char *what, const final_state *got, const final_state *want)
{
    const zoo_run_result *g = &got->res, *w = &want->res;
    ZT_CHECK(g->status == 0, "%s: status %d (%s)", what, g->status, g->message);
    ZT_CHECK(got->n == want->n && got->n > 0, "%s: %lld flat floats, want %lld", what, (long long)got->n, (long long)want->n);
    ZT_CHECK(same(got->p, want->p, want->n), "%s: parameters differ", what);
    ZT_CHECK(same(got->m, want->m, want->n), "%s: AdamW m differs", what);
    ZT_CHECK(same(got->v, want->v, want->n), "%s: AdamW v differs", what);
    ZT_CHECK(g->n_steps == w->n_steps && same(g->step_loss, w->step_loss, w->n_steps), "%s: step losses differ (%lld steps, want %lld)",
             what, (long long)g->n_steps, (long long)w->n_steps);
    ZT_CHECK(g->n_epochs == w->n_epochs && g->epochs_run == w->epochs_run, "%s: %d epochs, want %d", what, g->n_epochs, w->n_epochs);
    ZT_CHECK(same(g->epoch_test_loss, w->epoch_test_loss, w->n_epochs) && same(g->epoch_test_acc, w->epoch_test_acc, w->n_epochs) &&
                 same(g->epoch_lr, w->epoch_lr, w->n_epochs) && same(g->epoch_train_loss, w->epoch_train_loss, w->n_epochs),
             "%s: epoch curves differ", what);
    ZT_CHECK(!memcmp(&g->final_acc, &w->final_acc, sizeof(double)) && !memcmp(&g->best_acc, &w->best_acc, sizeof(double)) &&
                 !memcmp(&g->final_loss, &w->final_loss, sizeof(double)),
             "%s: final_acc %.9g best %.9g loss %.9g, want %.9g %.9g %.9g", what, g->final_acc, g->best_acc, g->final_loss,
             w->final_acc, w->best_acc, w->final_loss);
}

/* Stop at each step of stops[] in turn (resuming from the last snapshot), then finish. */
static void stop_and_resume(const zoo_run_spec *spec, const final_state *ref, const int64_t *stops, int n, const char *what)
{
    zoo_run_snapshot snap;
    memset(&snap, 0, sizeof snap);
    int have = 0;
    for (int i = 0; i <= n; i++) {
        ctl c;
        memset(&c, 0, sizeof c);
        c.stop_at = i < n ? stops[i] : -1;
        c.keep_nth = -1;
        final_state f;
        int rc = run(spec, &c, have ? &snap : NULL, &f);
        ZT_CHECK(!have || c.resumed, "%s: resume %d not applied: %s", what, i, c.why);
        if (i < n) {
            ZT_CHECK(rc == ZOO_ERR_INTERRUPTED, "%s: stop at %lld: rc %d", what, (long long)stops[i], rc);
            ZT_CHECK(c.kept.step == stops[i], "%s: saved at step %lld, want %lld", what, (long long)c.kept.step,
                     (long long)stops[i]);
            ZT_CHECK(c.kept.epoch == stops[i] / STEPS_PER_EPOCH && c.kept.epoch_step == stops[i] % STEPS_PER_EPOCH,
                     "%s: saved at epoch %d step %lld", what, c.kept.epoch, (long long)c.kept.epoch_step);
            zoo_run_snapshot_free(&snap);
            snap = c.kept;
            have = 1;
        } else {
            compare(what, &f, ref);
        }
        final_free(&f);
    }
    zoo_run_snapshot_free(&snap);
    if (!zt_fails)
        printf("ok   %s\n", what);
}

int main(void)
{
    srand((unsigned)time(NULL));
    for (int pass = 0; pass < 2; pass++) {
        const char *dropout = pass ? "0" : "0.1";
        zoo_run_spec spec;
        make_spec(&spec, dropout);
        final_state ref;
        ctl c0;
        memset(&c0, 0, sizeof c0);
        c0.stop_at = -1, c0.keep_nth = -1;
        if (run(&spec, &c0, NULL, &ref)) {
            fprintf(stderr, "reference run failed: %s\n", zoo_error_last()->msg);
            if (zoo_error_last()->code == ZOO_ERR_UNSUPPORTED || strstr(zoo_error_last()->msg, "plugin"))
                return ZT_SKIP;
            return 1;
        }
        ZT_CHECK(ref.res.n_steps == EPOCHS * STEPS_PER_EPOCH, "reference ran %lld steps", (long long)ref.res.n_steps);
        char what[128];
        int64_t rnd = 1 + rand() % (EPOCHS * STEPS_PER_EPOCH - 1);
        const int64_t cases[][2] = {{1, -1}, {3, -1}, {STEPS_PER_EPOCH, -1}, {2 * STEPS_PER_EPOCH - 1, -1}, {rnd, -1}, {2, 7}};
        for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
            int n = cases[k][1] < 0 ? 1 : 2;
            snprintf(what, sizeof what, "embed_dropout %s: stop at step %lld%s%s", dropout, (long long)cases[k][0],
                     n == 2 ? " and 7" : "", k == 4 ? " (random)" : "");
            stop_and_resume(&spec, &ref, cases[k], n, what);
        }
        /* checkpoint_due always yes: saving at every step and epoch end changes nothing,
         * and the state saved after epoch 1's evaluation resumes to the same end. */
        ctl c;
        memset(&c, 0, sizeof c);
        c.stop_at = -1, c.save_every = 1, c.keep_nth = STEPS_PER_EPOCH; /* saves 0-4: epoch 0's steps; 5: its end */
        final_state f, g;
        run(&spec, &c, NULL, &f);
        snprintf(what, sizeof what, "embed_dropout %s: saving at every step", dropout);
        compare(what, &f, &ref);
        ZT_CHECK(c.n_saves == EPOCHS * STEPS_PER_EPOCH + EPOCHS - 1, "%d saves, want %d", c.n_saves,
                 EPOCHS * STEPS_PER_EPOCH + EPOCHS - 1);
        ZT_CHECK(c.kept.epoch == 1 && c.kept.epoch_step == 0 && c.kept.epochs_run == 1,
                 "save %d is at epoch %d step %lld, want the end of epoch 1", c.keep_nth, c.kept.epoch,
                 (long long)c.kept.epoch_step);
        ctl c2;
        memset(&c2, 0, sizeof c2);
        c2.stop_at = -1, c2.keep_nth = -1;
        run(&spec, &c2, &c.kept, &g);
        snprintf(what, sizeof what, "embed_dropout %s: resumed from an epoch end's checkpoint", dropout);
        ZT_CHECK(c2.resumed, "%s: not applied: %s", what, c2.why);
        compare(what, &g, &ref);
        final_free(&f), final_free(&g);
        /* Snapshots that do not fit: refused with the reason, the run from step 0. */
        for (int k = 0; k < 4; k++) {
            zoo_run_snapshot bad = c.kept;
            const char *needle = "";
            if (k == 0)
                bad.n_flat--, needle = "parameter floats";
            else if (k == 1)
                bad.layout ^= 1, needle = "laid out differently";
            else if (k == 2)
                bad.step++, needle = "is not epoch";
            else
                bad.epoch = EPOCHS + 1, bad.epochs_run = EPOCHS + 1, needle = "of a run of 3 epochs";
            memset(&c2, 0, sizeof c2);
            c2.stop_at = -1, c2.keep_nth = -1;
            run(&spec, &c2, &bad, &g);
            snprintf(what, sizeof what, "embed_dropout %s: misfit %d refused, run from step 0", dropout, k);
            ZT_CHECK(c2.refused == ZOO_ERR_INVALID && strstr(c2.why, needle) && strstr(c2.why, "the test's snapshot"),
                     "%s: refused %d: %s (want '%s')", what, c2.refused, c2.why, needle);
            compare(what, &g, &ref);
            if (!zt_fails)
                printf("ok   %s: %s\n", what, c2.why);
            final_free(&g);
        }
        zoo_run_snapshot_free(&c.kept);
        final_free(&ref);
    }
    return zt_fails ? 1 : 0;
}
