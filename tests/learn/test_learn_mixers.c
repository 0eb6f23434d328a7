/* test_learn_mixers.c: every mixer trained on one small MQAR setting with one budget, and
 * the ordering the paper's Figure 2 reports (docs/paper.md): attention above the gated convolutions (BaseConv,
 * Hyena, H3) and RWKV at the same D when L >= 128.
 *
 *   test_learn_mixers run NAME OUT   train mixer NAME, write "NAME final_acc best_acc
 *                                    epochs wall_s params state_size test_loss" to OUT
 *   test_learn_mixers check DIR      read DIR/<name>.txt of every mixer, print the table,
 *                                    check the ordering
 *
 * One ctest test per mixer (they run in parallel), then the check (a fixture): every
 * mixer learns (test loss at least 0.5 nat below its start), attention recalls (>= 0.9),
 * the newer mixers with a floor in mixer_cases.h reach it, and each gated convolution is
 * at least 0.2 below attention.
 *
 * The setting: D=64, L=128, K=8, V=256, 10,000 training examples per epoch, batch 32,
 * lr 2.15e-3 (the paper grid's third value), at most EPOCHS epochs (the newer mixers: their
 * own budget, and GLA its own rate, in mixer_cases.h), early stop > 0.99, no
 * positional embeddings, every other setting the paper's (2 layers, identity state
 * mixer, AdamW wd 0.1, cosine per epoch). The attention-like mixers follow the Based
 * paper's MQAR sweeps and the later Zoology example sweeps: a k=3 BaseConv first
 * layer, then the mixer. Why not Figure 2's pure attention with learned positions: it
 * must learn the previous-token shift through 128 position vectors first, which took
 * about 200k examples at L=64 (the model.learn test) and had not left the 1/K plateau
 * after 80k examples at L=128 (0.13); with the k=3 conv in front, attention reached
 * 0.9965 after 20k examples at L=128 in 36 s on one core. The gated convolutions are
 * Figure 2's models as they are (BaseConv's kernels [3, -1, 3, -1], Hyena, H3 with
 * N = 64, head_dim 2): they have their short convolutions built in. RWKV and Mamba run
 * alone as in Figure 2 (Mamba in its MambaBlocks). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zoo/run.h"

#define EPOCHS "4"

#include "mixer_cases.h"

static int set(zoo_run_spec *s, const char *k, const char *v)
{
    if (zoo_run_spec_set(s, k, v)) {
        fprintf(stderr, "FAIL setting %s=%s: %s\n", k, v, zoo_error_last()->msg);
        return 1;
    }
    return 0;
}

static void print_epoch(const zoo_epoch_stats *st, void *ud)
{
    printf("%s: epoch %d/%d  train loss %.4f  test loss %.4f  acc %.4f  %.0f tok/s  %.1f s\n", (const char *)ud,
           st->epoch, st->epochs, st->train_loss, st->test_loss, st->test_acc, st->tokens_per_s, st->elapsed_s);
    fflush(stdout);
}

static int run_one(const char *name, const char *out)
{
    const mixer_case *c = NULL;
    for (int i = 0; i < N_CASES; i++)
        if (!strcmp(CASES[i].name, name))
            c = &CASES[i];
    if (!c) {
        fprintf(stderr, "FAIL unknown case '%s'\n", name);
        return 1;
    }
    zoo_run_spec s;
    zoo_run_spec_default(&s);
    const char *kv[][2] = {{"vocab", "256"},         {"seq_len", "128"},      {"kv_pairs", "8"},
                           {"train_examples", "10000"}, {"test_examples", "500"}, {"d_model", "64"},
                           {"batch_size", "32"},     {"lr", c->lr ? c->lr : "2.154434690031884e-3"}, {"epochs", c->epochs ? c->epochs : EPOCHS},
                           {"pos_emb", "off"},       {"mixer", c->mixer}};
    int bad = 0;
    for (size_t i = 0; i < sizeof kv / sizeof *kv; i++)
        bad |= set(&s, kv[i][0], kv[i][1]);
    for (int i = 0; i < 4 && c->knobs[i][0]; i++)
        bad |= set(&s, c->knobs[i][0], c->knobs[i][1]);
    if (bad)
        return 1;
    zoo_run_hooks hooks = {.on_epoch = print_epoch, .ud = (void *)name};
    zoo_run_result r;
    int rc = zoo_run(&s, &hooks, &r, NULL);
    printf("%s: status %d, final acc %.4f (best %.4f) after %d epoch(s), %.1f s, %lld params, state %.0f floats\n",
           name, rc, r.final_acc, r.best_acc, r.epochs_run, r.wall_s, (long long)r.params, r.state_size);
    if (rc) {
        fprintf(stderr, "FAIL %s: run failed: %s\n", name, r.message);
        zoo_run_result_free(&r);
        return 1;
    }
    double test_loss = r.n_epochs > 0 ? r.epoch_test_loss[r.n_epochs - 1] : NAN;
    FILE *f = fopen(out, "w");
    if (!f || fprintf(f, "%s %.6f %.6f %d %.3f %lld %.0f %.6f\n", name, r.final_acc, r.best_acc, r.epochs_run, r.wall_s,
                      (long long)r.params, r.state_size, test_loss) < 0 || fclose(f)) {
        fprintf(stderr, "FAIL cannot write %s\n", out);
        zoo_run_result_free(&r);
        return 1;
    }
    zoo_run_result_free(&r);
    return 0;
}

static int check(const char *dir)
{
    double acc[N_CASES], loss[N_CASES];
    int fails = 0;
    printf("MQAR D=64 L=128 K=8 V=256, 10k examples x <= %s epochs, batch 32, lr 2.15e-3 (the newer mixers: their own budget, GLA its own lr)\n",
           EPOCHS);
    printf("%-24s %10s %10s %10s %7s %9s %9s %12s\n", "mixer", "final acc", "best acc", "test loss", "epochs", "wall s",
           "params", "state floats");
    for (int i = 0; i < N_CASES; i++) {
        char path[4096], name[64];
        snprintf(path, sizeof path, "%s/%s.txt", dir, CASES[i].name);
        FILE *f = fopen(path, "r");
        double best = 0, wall = 0, state = 0;
        long long params = 0;
        int ep = 0;
        if (!f || fscanf(f, "%63s %lf %lf %d %lf %lld %lf %lf", name, &acc[i], &best, &ep, &wall, &params, &state,
                         &loss[i]) != 8) {
            fprintf(stderr, "FAIL %s: no result (did learn.%s pass?)\n", path, CASES[i].name);
            if (f)
                fclose(f);
            return 1;
        }
        fclose(f);
        printf("%-24s %10.4f %10.4f %10.4f %7d %9.1f %9lld %12.0f\n", CASES[i].name, acc[i], best, loss[i], ep, wall,
               params, state);
    }
    /* Every mixer learns: at init the logits are near zero, test loss ln V = 5.55; a model
     * that knows only that answers are values (uniform over V/2) has ln(V/2) = 4.85; one
     * that copies a random value of its context, ln K = 2.08 (accuracy 1/K); recall goes
     * below that. Each must at least gain 0.5 nat on the start. At this budget H3 and the
     * sliding window (w=16) get little further than the values prior (measured: 4.79 and
     * 4.57); attention, based and BaseConv are well below it. */
    const double at_init = log(256.0);
    for (int i = 0; i < N_CASES; i++)
        if (!(loss[i] < at_init - 0.5)) {
            fprintf(stderr, "FAIL %s did not learn: test loss %.4f, not below ln(V) - 0.5 = %.4f\n", CASES[i].name,
                    loss[i], at_init - 0.5);
            fails++;
        }
    /* Attention recalls (>= 0.9), and so do the mixers given a floor (mixer_cases.h); each
     * gated convolution (and RWKV) is clearly below attention (the paper at D=64, L=128:
     * attention ~0.98, BaseConv 0.37, H3 0.25, Hyena 0.19, RWKV 0.18). */
    for (int i = 0; i < N_CASES; i++)
        if (acc[i] < CASES[i].min_acc) {
            fprintf(stderr, "FAIL %s reached only %.4f (want >= %.2f)\n", CASES[i].name, acc[i], CASES[i].min_acc);
            fails++;
        }
    for (int i = 1; i < N_CASES; i++)
        if (CASES[i].below_attention && !(acc[i] <= acc[0] - 0.2)) {
            fprintf(stderr, "FAIL %s %.4f is not clearly below attention %.4f\n", CASES[i].name, acc[i], acc[0]);
            fails++;
        }
    if (!fails)
        printf("ordering holds: attention %.4f above every gated convolution and RWKV (by >= 0.2)\n", acc[0]);
    return fails ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "run"))
        return run_one(argv[2], argv[3]);
    if (argc == 3 && !strcmp(argv[1], "check"))
        return check(argv[2]);
    fprintf(stderr, "usage: test_learn_mixers run NAME OUT | check DIR\n");
    return 2;
}
