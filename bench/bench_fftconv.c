/* bench_fftconv.c: the long convolution's FFT path against its direct path, forward +
 * backward wall time per configuration, to place the crossover (fftconv.c CROSSOVER_L).
 * Prints one table row per (D, L); never a test (timings vary by machine). */
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

/* Seconds per forward+backward of fftconv(u (B, L, D), k (D, L), skip (D)) on one path. */
static double time_path(int64_t B, int64_t L, int64_t D, zoo_conv_path path)
{
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *u = zoo_param(g, "u", 3, (int64_t[]){B, L, D}, zoo_init_normal(0, 1));
    zoo_tensor *k = zoo_param(g, "k", 2, (int64_t[]){D, L}, zoo_init_normal(0, 0.1f));
    zoo_tensor *s = zoo_param(g, "s", 1, (int64_t[]){D}, zoo_init_normal(0, 1));
    zoo_tensor *y = zoo_fftconv_path(g, u, k, s, path);
    if (!y || zoo_graph_plan(g, 1)) {
        fprintf(stderr, "bench_fftconv: %s\n", zoo_graph_error(g));
        exit(1);
    }
    float *dy = malloc((size_t)(B * L * D) * sizeof *dy);
    for (int64_t i = 0; i < B * L * D; i++)
        dy[i] = (float)((i * 7919) % 13) / 13.0f - 0.5f;
    int reps = 0;
    double t0 = now(), t = 0;
    while (t < 0.3 || reps < 3) {
        zoo_graph_forward(g);
        zoo_graph_backward_seeded(g, y, dy);
        reps++;
        t = now() - t0;
    }
    free(dy);
    zoo_graph_free(g);
    return t / reps;
}

int main(int argc, char **argv)
{
    /* usage: zoo_bench_fftconv [TOKENS [THREADS [L,L,...]]]; B*L = TOKENS per configuration */
    zoo_prefer_passive_wait(argv);
    int64_t tokens = argc > 1 ? atoll(argv[1]) : 8192;
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    int64_t Ls[64] = {16, 32, 64, 128, 256, 512, 1024, 2048};
    size_t nL = 8;
    if (argc > 3) {
        nL = 0;
        for (char *p = argv[3]; *p && nL < 64; p += *p == ',')
            Ls[nL++] = strtoll(p, &p, 10);
    }
    if (tokens < 1 || threads < 1 || nL == 0) {
        fprintf(stderr, "usage: zoo_bench_fftconv [TOKENS [THREADS [L,L,...]]]\n");
        return 2;
    }
    zoo_set_threads(threads);
    static const int64_t Ds[] = {64, 256};
    printf("# fftconv forward + backward, B*L = %lld tokens, %d threads, crossover constant L <= %lld -> direct\n",
           (long long)tokens, threads, (long long)zoo_fftconv_crossover());
    printf("%6s %6s %6s %12s %12s %8s\n", "D", "L", "B", "fft_ms", "direct_ms", "faster");
    for (size_t i = 0; i < sizeof Ds / sizeof Ds[0]; i++)
        for (size_t j = 0; j < nL; j++) {
            int64_t L = Ls[j], B = tokens / L > 0 ? tokens / L : 1;
            double f = time_path(B, L, Ds[i], ZOO_CONV_FFT), d = time_path(B, L, Ds[i], ZOO_CONV_DIRECT);
            printf("%6lld %6lld %6lld %12.3f %12.3f %8s\n", (long long)Ds[i], (long long)L, (long long)B, 1e3 * f,
                   1e3 * d, f < d ? "fft" : "direct");
            fflush(stdout);
        }
    return 0;
}
