/* test_dp.c: a run trained data-parallel by the processes of MPI_COMM_WORLD (run it
 * under mpirun -np N) against the same run on one process: the step losses agree within
 * a tolerance over the first 50 steps, the final accuracy matches, every process ends
 * with the same parameters, and a second data-parallel run repeats the first bit for bit.
 * The batch does not split evenly over 3 processes and the last batch is partial. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../drivers/mpi_dp.h"
#include "testlib.h"
#include "zoo/error.h"
#include "zoo/run.h"

int zt_fails;

static void spec_of(zoo_run_spec *s, int ranks)
{
    zoo_run_spec_default(s);
    const char *kv[][2] = {{"vocab", "64"},         {"seq_len", "32"},       {"kv_pairs", "4"},
                           {"train_examples", "2000"}, {"test_examples", "300"}, {"d_model", "32"},
                           {"epochs", "6"},          {"batch_size", "64"},    {"eval_batch_size", "50"},
                           {"lr", "6e-3"},           {"threads", "1"},        {"embed_dropout", "0.1"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (zoo_run_spec_set(s, kv[i][0], kv[i][1]))
            fprintf(stderr, "spec %s: %s\n", kv[i][0], zoo_error_last()->msg), exit(1);
    s->ranks = ranks;
}

static float *params_of(zoo_model *m, int64_t *n)
{
    *n = zoo_graph_flat_size(m->g);
    float *p = malloc((size_t)*n * sizeof *p);
    if (!p || zoo_graph_flat_get(m->g, ZOO_FLAT_PARAMS, p, 0, *n))
        exit(1);
    return p;
}

int main(int argc, char **argv)
{
    if (!dp_launched_by_mpi()) {
        fprintf(stderr, "skipped: start under mpirun -np N\n");
        return ZT_SKIP;
    }
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    dp_ring ring = {MPI_COMM_WORLD, rank, size, NULL, 0, NULL, NULL};
    zoo_reducer red = {rank, size, dp_ring_reduce_cb, &ring};
    zoo_run_hooks hooks = {.reducer = &red};

    zoo_run_spec s1, sn;
    spec_of(&s1, 1);
    spec_of(&sn, size);
    zoo_run_result r1, ra, rb;
    memset(&r1, 0, sizeof r1);
    zoo_model *ma = NULL, *mb = NULL, *m1 = NULL;
    if (rank == 0)
        ZT_CHECK(zoo_run(&s1, NULL, &r1, &m1) == 0, "one-process run: %s", r1.message);
    ZT_CHECK(zoo_run(&sn, &hooks, &ra, &ma) == 0, "rank %d: data-parallel run: %s", rank, ra.message);
    ZT_CHECK(zoo_run(&sn, &hooks, &rb, &mb) == 0, "rank %d: repeat: %s", rank, rb.message);
    if (!ma || !mb)
        return 1;

    int64_t n = 0, nb = 0;
    float *pa = params_of(ma, &n), *pb = params_of(mb, &nb);
    ZT_CHECK(n == nb && !memcmp(pa, pb, (size_t)n * sizeof *pa), "rank %d: the repeat ended with other parameters", rank);
    ZT_CHECK(ra.n_steps == rb.n_steps && !memcmp(ra.step_loss, rb.step_loss, (size_t)ra.n_steps * sizeof(float)),
             "rank %d: the repeat has other step losses", rank);
    /* Every process holds the same parameters: compare with rank 0's. */
    float *p0 = malloc((size_t)n * sizeof *p0);
    memcpy(p0, pa, (size_t)n * sizeof *p0);
    MPI_Bcast(p0, (int)n, MPI_FLOAT, 0, MPI_COMM_WORLD);
    ZT_CHECK(!memcmp(p0, pa, (size_t)n * sizeof *pa), "rank %d: parameters differ from rank 0's", rank);
    ZT_CHECK(ra.final_acc == rb.final_acc, "rank %d: accuracy %g then %g", rank, ra.final_acc, rb.final_acc);

    if (rank == 0) {
        ZT_CHECK(r1.n_steps == ra.n_steps, "steps: one process %lld, %d processes %lld", (long long)r1.n_steps, size,
                 (long long)ra.n_steps);
        double worst = 0;
        int64_t upto = ra.n_steps < 50 ? ra.n_steps : 50;
        for (int64_t i = 0; i < upto && i < r1.n_steps; i++) {
            double d = fabs((double)r1.step_loss[i] - (double)ra.step_loss[i]) / fabs((double)r1.step_loss[i]);
            worst = d > worst ? d : worst;
        }
        /* float sums in another order drift apart slowly: 1e-3 relative over 50 steps, and
         * the final accuracy within one point (chance is 1/64, the run reaches ~0.2) */
        ZT_CHECK(worst <= 1e-3, "step losses of 1 and %d processes differ by %.3g relative (first 50 steps)", size,
                 worst);
        ZT_CHECK(fabs(r1.final_acc - ra.final_acc) <= 0.01, "final accuracy: one process %.4f, %d processes %.4f",
                 r1.final_acc, size, ra.final_acc);
        ZT_CHECK(r1.final_acc > 0.1, "the run did not learn (accuracy %.4f): the comparison proves little",
                 r1.final_acc);
        printf("ranks %d: %lld steps, worst relative loss difference %.3g over the first %lld, final accuracy %.4f "
               "(one process %.4f), test loss %.5f (%.5f)\n",
               size, (long long)ra.n_steps, worst, (long long)upto, ra.final_acc, r1.final_acc, ra.final_loss,
               r1.final_loss);
    }
    /* ranks must match the processes: a 1-rank spec under a reducer of `size` is refused. */
    zoo_run_result rx;
    ZT_CHECK(zoo_run(&s1, &hooks, &rx, NULL) == ZOO_ERR_INVALID && strstr(rx.message, "mpirun -np 1"),
             "a ranks=1 spec on %d processes: '%s'", size, rx.message);
    free(pa), free(pb), free(p0);
    zoo_model_free(ma), zoo_model_free(mb), zoo_model_free(m1);
    zoo_run_result_free(&r1), zoo_run_result_free(&ra), zoo_run_result_free(&rb);
    dp_ring_free(&ring);
    int fails = zt_fails, all = 0;
    MPI_Allreduce(&fails, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Finalize();
    return all ? 1 : 0;
}
