/* test_sched.c: the quality of the sweep's dispatch order (drivers/sweep_plan.c) on the
 * cost mix of the paper's Figure 2 grid (448 runs: 7 mixers x 4 D x 4 (L, K, batch) x 4
 * lr, costs from zoo_run_spec_flops_per_step x steps). For P = 1 .. 1024 ranks the
 * makespan of costliest-first dispatch must be within 5% of the lower bound
 * max(total / P, longest run); file order is printed alongside to show what the order
 * buys. A simulation: no timing, no training. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep.h"

static void fig2(zoo_sweep *sw)
{
    static const char *mixers[7][2] = {{"attention", NULL}, {"hyena", NULL}, {"rwkv", NULL}, {"base_conv", NULL},
                                       {"h3", NULL},        {"base_conv", "based"}, {"mamba", NULL}};
    static const int64_t L[4] = {64, 128, 256, 512}, K[4] = {4, 8, 16, 64}, B[4] = {512, 512, 256, 128},
                         D[4] = {64, 128, 256, 512};
    static const double lr[4] = {1e-4, 4.6415888336127786e-4, 2.1544346900318823e-3, 1e-2};
    sw->n_runs = 448;
    sw->runs = calloc(448, sizeof *sw->runs);
    int64_t n = 0;
    for (int l = 0; l < 4; l++)
        for (int d = 0; d < 4; d++)
            for (int m = 0; m < 7; m++)
                for (int r = 0; r < 4; r++) {
                    zoo_run_spec *s = &sw->runs[n++];
                    zoo_run_spec_default(s);
                    s->seq_len = L[l], s->kv_pairs = K[l], s->batch_size = B[l], s->d_model = D[d], s->lr = lr[r];
                    s->n_mixers = mixers[m][1] ? 2 : 1;
                    for (int i = 0; i < s->n_mixers; i++)
                        snprintf(s->mixers[i].name, sizeof s->mixers[i].name, "%s", mixers[m][i]);
                }
}

int main(void)
{
    zoo_sweep sw;
    memset(&sw, 0, sizeof sw);
    fig2(&sw);
    int64_t n = sw.n_runs, *ids = malloc((size_t)n * sizeof *ids);
    double *file = malloc((size_t)n * sizeof *file), *sorted = malloc((size_t)n * sizeof *sorted), total = 0, longest = 0;
    for (int64_t i = 0; i < n; i++) {
        ids[i] = i;
        file[i] = sweep_run_cost(&sw.runs[i]);
        total += file[i];
        longest = fmax(longest, file[i]);
    }
    int64_t *order = sweep_order_by_cost(&sw, ids, n);
    for (int64_t i = 0; i < n; i++)
        sorted[i] = file[order[i]];
    int bad = 0;
    for (int64_t i = 1; i < n; i++)
        if (sorted[i] > sorted[i - 1]) {
            fprintf(stderr, "FAIL: dispatch order is not costliest first at position %lld\n", (long long)i);
            bad = 1;
            break;
        }
    printf("Figure 2 grid: %lld runs; longest run %.1f%% of the total\n", (long long)n, 100 * longest / total);
    printf("%6s %16s %16s\n", "ranks", "costliest first", "file order");
    double worst = 0;
    int64_t worst_p = 0;
    for (int64_t P = 1; P <= 1024; P++) {
        double lb = fmax(total / (double)P, longest);
        double a = sweep_makespan(sorted, n, P) / lb, b = sweep_makespan(file, n, P) / lb;
        if (a > worst)
            worst = a, worst_p = P;
        if ((P & (P - 1)) == 0 || P == 448)
            printf("%6lld %15.2f%% %15.2f%%   above the bound\n", (long long)P, 100 * (a - 1), 100 * (b - 1));
    }
    printf("worst over P = 1..1024: %.2f%% above the bound at P = %lld (goal: within 5%%)\n", 100 * (worst - 1),
           (long long)worst_p);
    if (worst > 1.05) {
        fprintf(stderr, "FAIL: costliest-first makespan %.2f%% above the bound at P = %lld\n", 100 * (worst - 1),
                (long long)worst_p);
        bad = 1;
    }
    free(order), free(ids), free(file), free(sorted), free(sw.runs);
    return bad;
}
