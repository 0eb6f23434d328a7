/* bench_sched.c: what multi-rank runs buy a sweep, from the scheduler and cost model
 * of `zoo sweep` (drivers/sweep_sched.c) driven by estimated run times: (a) the
 * simulated makespan of a sweep file on P = 8 .. 1024 ranks with one rank per run and
 * with `ranks: auto` for every run, each against its bound max(total work / P, longest
 * run on its ranks); (b) the model of one run's step on N = 1 .. 64 ranks (compute,
 * allreduce, overhead, speed-up, efficiency). Prints tables; judges nothing.
 *
 *   build/bench/zoo_bench_sched configs/zoology-fig2.yaml [--gflops 40] [--step-s S]
 *       [--net-gbytes-per-s 10] [--net-latency-us 5] [--step-overhead-ms 2] [--run ID]
 *
 * --step-s S: the measured compute seconds of one step of run ID on one rank (for (b);
 * default: its FLOPs at --gflops). --run: the run of (b) (default: the costliest). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "sweep.h"
#include "sweep_sched.h"
#include "zoo/error.h"

static double arg(int argc, char **argv, const char *name, double def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name))
            return atof(argv[i + 1]);
    return def;
}

/* Makespan and bound of the runs on P ranks (rank 0 single-rank runs only, as a sweep
 * with --train-on-root has it) with N[i] ranks each. */
static int plan(const zoo_sweep *sw, const int64_t *params, const sweep_netmodel *m, int P, const int *N,
                double *span, double *bound)
{
    return sweep_plan_span(sw, params, m, P, P > 1 ? P - 1 : P, N, span, bound);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: zoo_bench_sched SWEEP.yaml [--gflops X] [--step-s S] [--run ID] [--net-gbytes-per-s X] "
                        "[--net-latency-us X] [--step-overhead-ms X]\n");
        return 2;
    }
    zoo_sweep sw;
    if (zoo_sweep_load(argv[1], &sw)) {
        fprintf(stderr, "zoo_bench_sched: %s\n", zoo_error_last()->msg);
        return 2;
    }
    double gflops = arg(argc, argv, "--gflops", 40);
    sweep_netmodel m;
    sweep_netmodel_init(&m, &sw, gflops, arg(argc, argv, "--net-gbytes-per-s", 0), arg(argc, argv, "--net-latency-us", 0),
                        arg(argc, argv, "--step-overhead-ms", -1));
    int64_t n = sw.n_runs;
    int64_t *params = malloc((size_t)n * sizeof *params);
    int *N1 = malloc((size_t)n * sizeof *N1), *NA = malloc((size_t)n * sizeof *NA);
    int64_t top = 0;
    for (int64_t i = 0; i < n; i++) {
        params[i] = sweep_run_params(&sw.runs[i]);
        N1[i] = 1;
        sw.runs[i].ranks = 0; /* every run ranks: auto */
        if (sweep_run_cost(&sw.runs[i]) > sweep_run_cost(&sw.runs[top]))
            top = i;
    }
    printf("sweep %s: %lld runs; one rank at %g GFLOP/s; network %g GB/s, %g us; %g ms per multi-rank step\n\n",
           sw.name, (long long)n, gflops, m.bytes_per_s / 1e9, m.latency_s * 1e6, m.overhead_s * 1e3);
    printf("(a) makespan on P ranks (rank 0 trains single-rank runs only)\n\n");
    printf("| P | one rank per run | its bound | above | ranks: auto | its bound | above | runs on >1 rank | largest N |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    int rc = 0;
    for (int P = 8; P <= 1024 && !rc; P *= 2) {
        double s1, b1, sa, ba;
        if ((rc = plan(&sw, params, &m, P, N1, &s1, &b1)) ||
            (rc = sweep_resolve_ranks(&sw, params, P, P - 1, &m, NA, NULL)) ||
            (rc = plan(&sw, params, &m, P, NA, &sa, &ba)))
            break;
        int multi = 0, big = 1;
        for (int64_t i = 0; i < n; i++) {
            multi += NA[i] > 1;
            big = NA[i] > big ? NA[i] : big;
        }
        char t[4][32];
        zoo_cli_fmt_time(t[0], 32, s1), zoo_cli_fmt_time(t[1], 32, b1);
        zoo_cli_fmt_time(t[2], 32, sa), zoo_cli_fmt_time(t[3], 32, ba);
        printf("| %d | %s | %s | %.1f%% | %s | %s | %.1f%% | %d | %d |\n", P, t[0], t[1], 100 * (s1 / b1 - 1), t[2],
               t[3], 100 * (sa / ba - 1), multi, big);
    }
    if (rc) {
        fprintf(stderr, "zoo_bench_sched: %s\n", zoo_error_last()->msg);
        return 1;
    }
    int64_t id = (int64_t)arg(argc, argv, "--run", (double)top);
    if (id < 0 || id >= n)
        id = top;
    const zoo_run_spec *s = &sw.runs[id];
    double fl = zoo_run_spec_flops_per_step(s), step1 = arg(argc, argv, "--step-s", 0);
    /* With a measured step, the compute speed is that step's. */
    sweep_netmodel mm = m;
    if (step1 > 0)
        mm.flops_per_s = fl / step1;
    double bytes = 4.0 * (double)params[id], t1 = sweep_step_seconds(&mm, fl, params[id], 1);
    printf("\n(b) one step of run %lld (%s D=%lld L=%lld, batch %lld, %lld params, %.3g MB of gradients) on N ranks;\n"
           "    compute %.3f s per step on one rank (%s)\n\n",
           (long long)id, s->mixers[0].name, (long long)s->d_model, (long long)s->seq_len,
           (long long)sweep_run_batch(s), (long long)params[id], bytes / 1e6, t1,
           step1 > 0 ? "measured" : "FLOPs at --gflops");
    printf("| N | compute | allreduce | overhead | step | allreduce share | speed-up | efficiency |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int k = 1; k <= 64; k *= 2) {
        double ar = sweep_allreduce_seconds(&mm, bytes, k), st = sweep_step_seconds(&mm, fl, params[id], k);
        double ov = k > 1 ? mm.overhead_s : 0;
        printf("| %d | %.4f s | %.4f s | %.4f s | %.4f s | %.1f%% | %.2fx | %.1f%% |\n", k, t1 / k, ar, ov, st,
               100 * ar / st, t1 / st, 100 * t1 / (k * st));
    }
    free(params), free(N1), free(NA);
    zoo_sweep_free(&sw);
    return 0;
}
