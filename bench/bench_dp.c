/* bench_dp.c: one run's training step on N data-parallel processes (start it under
 * mpirun -np N): seconds per step, and the share of it spent summing the gradients
 * (the ring allreduce of drivers/mpi_dp.c, the one zoo train and sweeps use). Rank 0
 * prints one JSON line. Not a test: it prints numbers and never judges them.
 *
 * The in-step share holds the wait for the slowest process; "allreduce_s" is the sum
 * alone (after a barrier, median of 5).
 *
 * usage: mpirun -np N zoo_bench_dp [--steps S] [--<spec key> VALUE ...]
 * Defaults: the run spec's (attention, 2 layers), D=512, L=512, the paper's batch for L
 * (128), 1 thread per process, 3 steps after one warm-up epoch of 1 step. */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_dp.h"
#include "zoo/error.h"
#include "zoo/run.h"

static int set(zoo_run_spec *s, const char *k, const char *v)
{
    if (zoo_run_spec_set(s, k, v)) {
        fprintf(stderr, "zoo_bench_dp: --%s %s: %s\n", k, v, zoo_error_last()->msg);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    zoo_run_spec s;
    zoo_run_spec_default(&s);
    int steps = 3, bad = set(&s, "d_model", "512") || set(&s, "seq_len", "512") || set(&s, "vocab", "8192") ||
                         set(&s, "kv_pairs", "64") || set(&s, "threads", "1");
    for (int i = 1; i + 1 < argc && !bad; i += 2) {
        if (!strcmp(argv[i], "--steps"))
            steps = atoi(argv[i + 1]);
        else
            bad = set(&s, argv[i] + 2, argv[i + 1]);
    }
    char b[64];
    int64_t B = 0;
    if (!bad) { /* the resolved batch: one epoch of `steps` steps, a test set of one batch */
        zoo_run_field_format(&s, zoo_run_spec_find("batch_size"), b, sizeof b);
        B = strtoll(b, NULL, 10);
        snprintf(b, sizeof b, "%lld", (long long)(B * steps));
        bad = set(&s, "train_examples", b) || set(&s, "epochs", "1") || set(&s, "early_stop", "2");
        snprintf(b, sizeof b, "%lld", (long long)B);
        bad = bad || set(&s, "test_examples", b);
    }
    if (bad) {
        MPI_Finalize();
        return 2;
    }
    s.ranks = size;
    dp_ring ring = {MPI_COMM_WORLD, rank, size, NULL, 0, NULL, NULL};
    zoo_reducer red = {rank, size, dp_ring_reduce_cb, &ring};
    zoo_run_hooks hooks = {.reducer = size > 1 ? &red : NULL};
    zoo_run_result r;
    int rc = zoo_run(&s, &hooks, &r, NULL);
    if (rc) {
        fprintf(stderr, "zoo_bench_dp: rank %d: %s\n", rank, r.message);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    /* the slowest process sets the pace */
    double mine[2] = {r.train_s, r.comm_s}, worst[2];
    MPI_Reduce(mine, worst, 2, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    /* The sum alone, all processes lined up by a barrier first: the in-step figure above
     * also holds the wait for the slowest process. Median of 5. */
    int64_t nf = r.params + 3;
    float *buf = calloc((size_t)nf, sizeof *buf);
    double t[5], pure = 0;
    for (int k = 0; k < 5 && buf && size > 1; k++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        dp_ring_allreduce(&ring, buf, nf);
        t[k] = MPI_Wtime() - t0;
    }
    for (int k = 0; k < 5 && size > 1; k++) { /* median by counting */
        int below = 0;
        for (int j = 0; j < 5; j++)
            below += t[j] < t[k];
        if (below == 2)
            pure = t[k];
    }
    free(buf);
    if (rank == 0)
        printf("{\"ranks\": %d, \"threads\": %d, \"d_model\": %lld, \"seq_len\": %lld, \"batch\": %lld, \"steps\": %d, "
               "\"params\": %lld, \"grad_bytes\": %lld, \"step_s\": %.4f, \"comm_s_per_step\": %.5f, "
               "\"comm_share\": %.4f, \"allreduce_s\": %.5f, \"planned_bytes_per_rank\": %zu}\n",
               size, s.threads, (long long)s.d_model, (long long)s.seq_len, (long long)B, steps, (long long)r.params,
               (long long)r.params * 4, worst[0] / steps, worst[1] / steps, worst[0] > 0 ? worst[1] / worst[0] : 0.0,
               pure, zoo_mem_plan_total(&r.mem));
    zoo_run_result_free(&r);
    dp_ring_free(&ring);
    MPI_Finalize();
    return 0;
}
