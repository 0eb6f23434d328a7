/* bench_ckpt_cost.c: the cost of one mid-run checkpoint (zoo_checkpoint_save_state: the
 * flat buffers copied off the model, written, fsynced, renamed, the folder fsynced) for
 * the attention model at a few d_model, and its share of a run at a checkpoint interval.
 * No training: the model is built and its state taken once; only the write is timed.
 * usage: zoo_bench_ckpt_cost OUT_DIR [REPEATS] [INTERVAL_S] [D...]   (defaults: 5, 300, 64 512) */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "zoo/checkpoint.h"
#include "zoo/error.h"
#include "zoo/run.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: zoo_bench_ckpt_cost OUT_DIR [REPEATS] [INTERVAL_S] [D...]\n");
        return 2;
    }
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    double interval = argc > 3 ? atof(argv[3]) : 300;
    const char *defaults[] = {"64", "512"};
    int nd = argc > 4 ? argc - 4 : 2;
    char **ds = argc > 4 ? argv + 4 : (char **)defaults;
    printf("| d_model | params | file MiB | write+fsync s (median of %d) | share of a %.0f s interval |\n", reps, interval);
    printf("|---|---|---|---|---|\n");
    for (int i = 0; i < nd; i++) {
        zoo_run_spec spec;
        zoo_run_spec_default(&spec);
        const char *kv[][2] = {{"mixer", "attention"}, {"d_model", ds[i]}, {"seq_len", "512"}, {"vocab", "8192"},
                               {"kv_pairs", "64"},     {"n_layers", "2"},   {"threads", "1"}};
        for (size_t k = 0; k < sizeof kv / sizeof *kv; k++)
            if (zoo_run_spec_set(&spec, kv[k][0], kv[k][1])) {
                fprintf(stderr, "%s\n", zoo_error_last()->msg);
                return 1;
            }
        zoo_model *m = NULL;
        if (zoo_model_build(&spec, 1, 64, &m)) {
            fprintf(stderr, "%s\n", zoo_error_last()->msg);
            return 1;
        }
        int64_t n = zoo_graph_flat_size(m->g);
        zoo_run_snapshot s;
        memset(&s, 0, sizeof s);
        s.layout = zoo_run_snapshot_layout(m);
        s.n_flat = n;
        s.params = malloc((size_t)n * sizeof(float));
        s.adam_m = malloc((size_t)n * sizeof(float));
        s.adam_v = malloc((size_t)n * sizeof(float));
        /* a run at the end of epoch 32 of 64 at 100k examples, batch 64: its curves too */
        s.epoch = s.epochs_run = 32;
        s.step = 32 * 1563;
        s.step_loss = calloc((size_t)s.step, sizeof(float));
        s.epoch_test_loss = calloc(32, sizeof(float)), s.epoch_test_acc = calloc(32, sizeof(float));
        s.epoch_lr = calloc(32, sizeof(float)), s.epoch_train_loss = calloc(32, sizeof(float));
        double *t = calloc((size_t)reps, sizeof *t);
        char path[4200];
        snprintf(path, sizeof path, "%s/ckpt_d%s.h5", argv[1], ds[i]);
        for (int r = 0; r < reps; r++) {
            double t0 = now_s();
            /* the state off the model (the copy zoo_run makes before each save), then the file */
            if (zoo_graph_flat_get(m->g, ZOO_FLAT_PARAMS, s.params, 0, n) ||
                zoo_graph_flat_get(m->g, ZOO_FLAT_ADAM_M, s.adam_m, 0, n) ||
                zoo_graph_flat_get(m->g, ZOO_FLAT_ADAM_V, s.adam_v, 0, n) || zoo_checkpoint_save_state(&s, &spec, path)) {
                fprintf(stderr, "%s\n", zoo_error_last()->msg);
                return 1;
            }
            t[r] = now_s() - t0;
        }
        qsort(t, (size_t)reps, sizeof *t, cmp);
        struct stat st;
        stat(path, &st);
        double med = t[reps / 2];
        printf("| %s | %lld | %.1f | %.3f | %.3f%% |\n", ds[i], (long long)zoo_graph_count_trainable(m->g),
               (double)st.st_size / 1048576.0, med, 100.0 * med / interval);
        fflush(stdout);
        remove(path);
        free(t);
        zoo_run_snapshot_free(&s);
        zoo_model_free(m);
    }
    return 0;
}
