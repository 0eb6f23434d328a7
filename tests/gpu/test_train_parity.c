/* test_train_parity.c: 20 training steps of one mixer's model on the CPU backend and on
 * the backend under test (default cuda) from the same spec, so the same initialisation,
 * data, batches and dropout masks: the step losses and the final parameters must
 * agree within stated tolerances (only the summation order of GEMMs and FFTs differs).
 *
 *   test_train_parity NAME [BACKEND]     NAME: a case of tests/lib/mixer_cases.h
 *
 * Exit 77 when the backend cannot run here. Run against the stand-in device build
 * (tests/fakedev) in CI and against the real one on a GPU (tests/gpu/check.sh).
 *
 *   test_train_parity NAME BACKEND DUMP  also writes the backend run's 20 losses and
 *                                       final parameters (raw floats) to DUMP, for the
 *                                       bitwise determinism check */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mixer_cases.h"
#include "zoo/error.h"
#include "zoo/graph.h"
#include "zoo/run.h"

#define STEPS 20
#define BATCH 16
#define LOSS_RTOL 1e-4   /* |loss_x - loss_cpu| / |loss_cpu| at every step */
#define FIRST_RTOL 1e-5  /* the same at step 1, before any update has compounded */
#define PARAM_NMSE 1e-6  /* sum (p_x - p_cpu)^2 / sum p_cpu^2 after the 20 updates */

typedef struct outcome {
    float loss[STEPS];
    float *params;
    int64_t n;
    double test_loss;
} outcome;

static int spec_for(const mixer_case *c, zoo_backend b, zoo_run_spec *s)
{
    zoo_run_spec_default(s);
    char train[32];
    snprintf(train, sizeof train, "%d", STEPS * BATCH);
    const char *kv[][2] = {{"vocab", "64"},       {"seq_len", "32"},      {"kv_pairs", "4"}, {"train_examples", train},
                           {"test_examples", "64"}, {"d_model", "32"},   {"batch_size", "16"}, {"lr", "3e-3"},
                           {"epochs", "1"},        {"threads", "2"},
                           {"backend", b == ZOO_BACKEND_CUDA ? "cuda" : "cpu"}};
    for (size_t i = 0; i < sizeof kv / sizeof *kv; i++)
        if (zoo_run_spec_set(s, kv[i][0], kv[i][1]))
            return 1;
    return mixer_case_apply(s, c);
}

static int train(const mixer_case *c, zoo_backend b, outcome *o)
{
    zoo_run_spec s;
    if (spec_for(c, b, &s)) {
        fprintf(stderr, "FAIL %s: spec: %s\n", c->name, zoo_error_last()->msg);
        return 1;
    }
    zoo_run_result r;
    zoo_model *m = NULL;
    int rc = zoo_run(&s, NULL, &r, &m);
    if (rc || r.n_steps != STEPS) {
        fprintf(stderr, "FAIL %s on %s: %s (%lld steps)\n", c->name, zoo_backend_name(b), r.message,
                (long long)r.n_steps);
        zoo_run_result_free(&r);
        zoo_model_free(m);
        return 1;
    }
    memcpy(o->loss, r.step_loss, sizeof o->loss);
    o->test_loss = r.final_loss;
    o->n = zoo_graph_flat_size(m->g);
    o->params = malloc((size_t)o->n * sizeof *o->params);
    rc = !o->params || zoo_graph_flat_get(m->g, ZOO_FLAT_PARAMS, o->params, 0, o->n);
    zoo_run_result_free(&r);
    zoo_model_free(m);
    return rc;
}

static int compare(const mixer_case *c, const char *bname, const outcome *x, const outcome *ref)
{
    int bad = 0;
    double worst = 0;
    for (int i = 0; i < STEPS; i++) {
        double rel = fabs((double)x->loss[i] - ref->loss[i]) / fabs((double)ref->loss[i]);
        if (!(rel <= (i ? LOSS_RTOL : FIRST_RTOL))) {
            fprintf(stderr, "FAIL %s: step %d loss %.8g on %s, %.8g on cpu (rel %.3g)\n", c->name, i + 1,
                    (double)x->loss[i], bname, (double)ref->loss[i], rel);
            bad = 1;
        }
        worst = rel > worst ? rel : worst;
    }
    double se = 0, sr = 0;
    for (int64_t i = 0; i < ref->n && x->n == ref->n; i++) {
        double d = (double)x->params[i] - ref->params[i];
        se += d * d;
        sr += (double)ref->params[i] * ref->params[i];
    }
    double nmse = x->n == ref->n && sr > 0 ? se / sr : INFINITY;
    if (!(nmse <= PARAM_NMSE)) {
        fprintf(stderr, "FAIL %s: parameters after %d steps NMSE %.3g (max %.1g)\n", c->name, STEPS, nmse, PARAM_NMSE);
        bad = 1;
    }
    printf("%s: %s vs cpu over %d steps: worst loss rel diff %.3g, params NMSE %.3g, test loss %.6f vs %.6f\n",
           c->name, bname, STEPS, worst, nmse, x->test_loss, ref->test_loss);
    return bad;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "", *bname = argc > 2 ? argv[2] : getenv("ZOO_TEST_BACKEND");
    if (!bname || !*bname)
        bname = "cuda";
    zoo_backend b = !strcmp(bname, "cuda") ? ZOO_BACKEND_CUDA : ZOO_BACKEND_CPU;
    const mixer_case *c = NULL;
    for (int i = 0; i < N_CASES; i++)
        if (!strcmp(CASES[i].name, name))
            c = &CASES[i];
    if (!c) {
        fprintf(stderr, "usage: %s NAME [cpu|cuda]: unknown case '%s'\n", argv[0], name);
        return 2;
    }
    if (zoo_backend_available(b)) {
        printf("SKIP %s: %s\n", name, zoo_error_last()->msg);
        return 77;
    }
    outcome ref = {0}, x = {0};
    int bad = train(c, ZOO_BACKEND_CPU, &ref) || train(c, b, &x) || compare(c, bname, &x, &ref);
    if (!bad && argc > 3) {
        FILE *f = fopen(argv[3], "wb");
        bad = !f || fwrite(x.loss, sizeof x.loss, 1, f) != 1 ||
              fwrite(x.params, sizeof *x.params, (size_t)x.n, f) != (size_t)x.n;
        if ((f && fclose(f)) || bad) {
            fprintf(stderr, "FAIL cannot write %s\n", argv[3]);
            bad = 1;
        }
    }
    free(ref.params);
    free(x.params);
    return bad;
}
