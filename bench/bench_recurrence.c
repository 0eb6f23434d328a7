/* bench_recurrence.c: wall time of the matrix-state recurrence (zoo_recurrence) forward
 * and backward on the CPU, per way of giving w and a, b (the GLA / Mamba-2 / DeltaNet /
 * RWKV-7 forms). Prints one table row per form; never a test (timings vary by machine). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zoo/graph.h"
#include "zoo/run.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

enum { W_NONE, W_HEAD, W_CHAN };

/* Seconds per forward and per backward (best of the repetitions). */
static void time_form(int64_t B, int64_t H, int64_t L, int64_t dk, int64_t dv, int wmode, int ab, double *fwd,
                      double *bwd)
{
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_init n01 = zoo_init_normal(0, 1), n_k = zoo_init_normal(0, 0.125f);
    zoo_tensor *q = zoo_param(g, "q", 3, (int64_t[]){B, L, H * dk}, n01);
    zoo_tensor *k = zoo_param(g, "k", 3, (int64_t[]){B, L, H * dk}, n_k);
    zoo_tensor *v = zoo_param(g, "v", 3, (int64_t[]){B, L, H * dv}, n01);
    zoo_tensor *w = NULL, *a = NULL, *b = NULL;
    if (wmode != W_NONE)
        w = zoo_param(g, "w", 3, (int64_t[]){B, L, wmode == W_HEAD ? H : H * dk}, zoo_init_uniform(0.8f, 1.0f));
    if (ab) {
        a = zoo_param(g, "a", 3, (int64_t[]){B, L, H * dk}, n_k);
        b = zoo_param(g, "b", 3, (int64_t[]){B, L, H * dk}, n_k);
    }
    zoo_tensor *y = zoo_recurrence(g, q, k, v, w, a, b, (int)H);
    if (!y || zoo_graph_plan(g, 1)) {
        fprintf(stderr, "bench_recurrence: %s\n", zoo_graph_error(g));
        exit(1);
    }
    int64_t n = B * L * H * dv;
    float *dy = malloc((size_t)n * sizeof *dy);
    for (int64_t i = 0; i < n; i++)
        dy[i] = (float)((i * 7919) % 13) / 13.0f - 0.5f;
    *fwd = *bwd = 1e30;
    double start = now();
    for (int reps = 0; reps < 3 || now() - start < 2.0; reps++) {
        double t0 = now();
        zoo_graph_forward(g);
        double t1 = now();
        zoo_graph_backward_seeded(g, y, dy);
        double t2 = now();
        *fwd = t1 - t0 < *fwd ? t1 - t0 : *fwd;
        *bwd = t2 - t1 < *bwd ? t2 - t1 : *bwd;
    }
    free(dy);
    zoo_graph_free(g);
}

int main(int argc, char **argv)
{
    /* usage: zoo_bench_recurrence [B H L DK DV THREADS] */
    zoo_prefer_passive_wait(argv);
    int64_t d[5] = {32, 4, 512, 64, 64};
    for (int i = 0; i < 5 && i + 1 < argc; i++)
        d[i] = atoll(argv[i + 1]);
    int threads = argc > 6 ? atoi(argv[6]) : 2;
    if (d[0] < 1 || d[1] < 1 || d[2] < 1 || d[3] < 1 || d[4] < 1 || threads < 1) {
        fprintf(stderr, "usage: zoo_bench_recurrence [B H L DK DV THREADS]\n");
        return 2;
    }
    zoo_set_threads(threads);
    static const struct {
        const char *name;
        int wmode, ab;
    } forms[] = {
        {"no w (linear attention)", W_NONE, 0},      {"w per head (Mamba-2)", W_HEAD, 0},
        {"w per channel (GLA)", W_CHAN, 0},          {"a, b, no w (DeltaNet)", W_NONE, 1},
        {"w per head, a, b (Gated DeltaNet)", W_HEAD, 1}, {"w per channel, a, b (RWKV-7)", W_CHAN, 1},
    };
    printf("# recurrence forward / backward, B %lld H %lld L %lld dk %lld dv %lld, %d threads (best of >= 3)\n",
           (long long)d[0], (long long)d[1], (long long)d[2], (long long)d[3], (long long)d[4], threads);
    printf("%-36s %10s %10s\n", "form", "fwd_ms", "bwd_ms");
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        double f, b;
        time_form(d[0], d[1], d[2], d[3], d[4], forms[i].wmode, forms[i].ab, &f, &b);
        printf("%-36s %10.1f %10.1f\n", forms[i].name, 1e3 * f, 1e3 * b);
        fflush(stdout);
    }
    return 0;
}
