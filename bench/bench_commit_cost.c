/* bench_commit_cost.c: what recording a finished run costs the sweep's results writer,
 * through the real zoo_results_* API, as the file grows: a sweep of N runs (default
 * 10,000), each committed alone with a step_loss curve of S floats (default 25,000, about
 * 100 KB: a Zoology Figure 2 run at batch 256 trains 100,000 / 256 x 64 epochs = 25,000
 * steps) and 64-entry epoch curves. Prints the time per commit (mean, p50, p99, max),
 * the bytes this process caused to be written (/proc/self/io write_bytes) and the final
 * file's size. A benchmark, never a test: nothing here judges a number.
 *   zoo_bench_commit_cost DIR [RUNS] [STEPS]     (DIR on the real disk, not tmpfs) */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "zoo/config.h"
#include "zoo/error.h"
#include "zoo/results.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A field of /proc/self/io ("write_bytes", ...); -1 when unreadable. */
static long long proc_io(const char *key)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[256];
    long long v = -1;
    size_t k = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, k) && line[k] == ':')
            v = atoll(line + k + 1);
    if (f)
        fclose(f);
    return v;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: zoo_bench_commit_cost DIR [RUNS (10000)] [STEPS (25000)]\n");
        return 2;
    }
    const char *dir = argv[1];
    long runs = argc > 2 ? atol(argv[2]) : 10000, steps = argc > 3 ? atol(argv[3]) : 25000;
    if (runs < 1 || steps < 1)
        return 2;
    /* RUNS runs: one lr axis of RUNS values (the sweep's other settings fixed). */
    size_t cap = (size_t)runs * 24 + 1024, k = 0;
    char *text = malloc(cap);
    k += (size_t)snprintf(text + k, cap - k,
                          "name: commit-cost\ntask: {vocab: 8192, seq_len: 256, kv_pairs: 16, train_examples: 100000}\n"
                          "model: {d_model: 128, n_layers: 2, mixers: [attention]}\ntrain: {epochs: 64, lr: [");
    for (long i = 0; i < runs; i++)
        k += (size_t)snprintf(text + k, cap - k, "%s%.9g", i ? ", " : "", 1e-4 * (1.0 + (double)i / (double)runs));
    snprintf(text + k, cap - k, "]}\n");
    zoo_sweep sw;
    if (zoo_sweep_parse(text, "commit-cost.yaml", &sw)) {
        fprintf(stderr, "zoo_bench_commit_cost: %s (set ZOO_PLUGIN_PATH to the build's plugins)\n", zoo_error_last()->msg);
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/commit-cost.h5", dir);
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s.d'", path, path);
    if (system(cmd))
        return 1;
    zoo_results_row *rows = calloc((size_t)runs, sizeof *rows);
    for (long i = 0; i < runs; i++)
        zoo_results_row_init(&rows[i], i, &sw.runs[i], "attention");
    zoo_results_session ss;
    memset(&ss, 0, sizeof ss);
    zoo_results_now(ss.started);
    ss.ranks = 1;
    ss.exit_code = -1;
    snprintf(ss.command, sizeof ss.command, "zoo_bench_commit_cost");
    float *curve = malloc((size_t)steps * sizeof *curve), epoch[4][64];
    for (long i = 0; i < steps; i++)
        curve[i] = 9.0f * expf(-(float)i / (float)steps * 3.0f) + 0.1f;
    for (int e = 0; e < 64; e++)
        epoch[0][e] = epoch[1][e] = epoch[2][e] = epoch[3][e] = 1.0f / (float)(e + 1);
    double *t = malloc((size_t)runs * sizeof *t);
    long long w0 = proc_io("write_bytes");
    double start = now();
    zoo_results *r;
    if (zoo_results_create(path, &sw, rows, &ss, &r)) {
        fprintf(stderr, "zoo_bench_commit_cost: %s\n", zoo_error_last()->msg);
        return 1;
    }
    for (long i = 0; i < runs; i++) {
        zoo_results_row row = rows[i];
        snprintf(row.status, sizeof row.status, "%s", ZOO_STATUS_OK);
        row.final_acc = row.best_acc = 0.5;
        row.final_loss = 1.0;
        row.epochs_run = 64;
        row.steps_run = steps;
        row.params = 100000;
        zoo_run_result res;
        memset(&res, 0, sizeof res);
        res.n_steps = steps;
        res.step_loss = curve;
        res.n_epochs = 64;
        res.epoch_train_loss = epoch[0];
        res.epoch_test_loss = epoch[1];
        res.epoch_test_acc = epoch[2];
        res.epoch_lr = epoch[3];
        zoo_results_update u = {&row, &sw.runs[i], &res};
        double t0 = now();
        if (zoo_results_commit(r, &u, 1)) {
            fprintf(stderr, "zoo_bench_commit_cost: run %ld: %s\n", i, zoo_error_last()->msg);
            return 1;
        }
        t[i] = now() - t0;
    }
    double t_end = now();
    if (zoo_results_end(r, 0)) {
        fprintf(stderr, "zoo_bench_commit_cost: %s\n", zoo_error_last()->msg);
        return 1;
    }
    t_end = now() - t_end;
    zoo_results_close(r);
    double total = now() - start;
    long long written = proc_io("write_bytes") - w0;
    struct stat st;
    long long size = stat(path, &st) ? -1 : (long long)st.st_size;
    double sum = 0;
    for (long i = 0; i < runs; i++)
        sum += t[i];
    qsort(t, (size_t)runs, sizeof *t, by_value);
    double p50 = t[runs / 2], p99 = t[(long)((double)(runs - 1) * 0.99)], mx = t[runs - 1];
    printf("| runs | step_loss floats/run | mean ms/commit | p50 | p99 | max | end (last fold) s | total s | bytes "
           "written | final file | written / file |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
    printf("| %ld | %ld | %.2f | %.2f | %.2f | %.1f | %.2f | %.1f | %.3g | %.3g | %.2fx |\n", runs, steps,
           1e3 * sum / (double)runs, 1e3 * p50, 1e3 * p99, 1e3 * mx, t_end, total, (double)written, (double)size,
           size > 0 ? (double)written / (double)size : NAN);
    printf("{\"runs\": %ld, \"steps\": %ld, \"mean_ms\": %.3f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, "
           "\"end_s\": %.3f, \"total_s\": %.3f, \"write_bytes\": %lld, \"file_bytes\": %lld}\n",
           runs, steps, 1e3 * sum / (double)runs, 1e3 * p50, 1e3 * p99, 1e3 * mx, t_end, total, written, size);
    free(t), free(curve), free(rows), free(text);
    zoo_sweep_free(&sw);
    return 0;
}
