/* sweep_sched.h: which run a sweep starts next, and on which ranks, when runs may train
 * on several ranks each; the cost model those decisions use (a run's seconds on N ranks:
 * compute shared, ring allreduce and a fixed overhead added per step) and `ranks: auto`.
 * Driver-internal. One scheduler serves the coordinator (real times) and a simulator
 * (estimated times, for --dry-run, the bench and the tests); neither makes MPI calls. */
#ifndef ZOO_DRIVERS_SWEEP_SCHED_H
#define ZOO_DRIVERS_SWEEP_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "zoo/config.h"

/* ---- the cost model ------------------------------------------------------------------ */
/* Defaults for a typical cluster: 100 Gb/s InfiniBand (about 10 GB/s achieved by a ring
 * allreduce), ~5 us per message, and a fixed cost per data-parallel step (the optimizer
 * step every rank repeats, the batch split, waiting for the slowest rank). */
#define SWEEP_NET_GBYTES_PER_S 10.0
#define SWEEP_NET_LATENCY_US 5.0
#define SWEEP_STEP_OVERHEAD_MS 2.0
/* The most ranks one run may train on, whatever else allows more. */
#define SWEEP_RANKS_CAP 256

typedef struct sweep_netmodel {
    double flops_per_s; /* one rank's training speed (--gflops x 1e9) */
    double bytes_per_s; /* allreduce bandwidth between ranks */
    double latency_s;   /* per allreduce message */
    double overhead_s;  /* per step of a run on more than one rank */
} sweep_netmodel;

/* The model from the defaults, then the sweep file's net_gbytes_per_s / net_latency_us
 * (when set), then the arguments of --dry-run: gbytes_per_s and latency_us when > 0,
 * overhead_ms when >= 0 (--net-gbytes-per-s, --net-latency-us, --step-overhead-ms). */
void sweep_netmodel_init(sweep_netmodel *m, const zoo_sweep *sw, double gflops, double gbytes_per_s,
                         double latency_us, double overhead_ms);
/* Seconds of a ring allreduce (reduce-scatter + allgather) of `bytes` over n ranks:
 * 2(n-1)/n x bytes / bandwidth + 2(n-1) x latency; 0 for n <= 1. */
double sweep_allreduce_seconds(const sweep_netmodel *m, double bytes, int n);
/* Seconds of one training step on n ranks of a model with `params` trainable floats:
 * compute / n, plus the gradient allreduce (4 bytes x params) and the overhead when
 * n > 1. A one-rank step is compute only, as the single-rank estimates always were. */
double sweep_step_seconds(const sweep_netmodel *m, double flops_per_step, int64_t params, int n);
/* The most ranks `s` can use: one row of every batch each, and SWEEP_RANKS_CAP. */
int sweep_run_max_ranks(const zoo_run_spec *s);

/* Each run's rank count n_of_run[i] for P training ranks of which max_n may train a
 * multi-rank run (the others only single-rank runs; max_n <= P). A spec's ranks N >= 1 is
 * kept; ranks: auto (0) is chosen so the sweep's makespan approaches
 * max(total work / P, longest run / its N): each run longer than a target time gets the
 * fewest ranks that bring it under the target, at a parallel efficiency of 50% or more
 * and within sweep_run_max_ranks and max_n; a few targets (the total work over P, and
 * fractions of it) are tried in the simulator and the best makespan wins (ties: the
 * fewest rank-seconds). A pure function of its arguments: a resumed sweep on the same P
 * gets the same N. params[i]: run i's trainable parameters (< 0: unknown, counted as
 * none). is_auto (may be NULL) gets 1 for runs whose N was picked here. ZOO_ERR_INVALID,
 * naming the run and the fix, when a fixed N exceeds max_n or the run's batch. */
int sweep_resolve_ranks(const zoo_sweep *sw, const int64_t *params, int P, int max_n, const sweep_netmodel *m,
                        int *n_of_run, unsigned char *is_auto);

/* ---- the scheduler ------------------------------------------------------------------- */
/* What a rank may train: nothing (rank 0 with --no-train-on-root), single-rank runs only
 * (rank 0, which also coordinates), or anything. */
enum { SWEEP_RANK_OFF = 0, SWEEP_RANK_SOLO = 1, SWEEP_RANK_ANY = 2 };

typedef struct sweep_sched sweep_sched;

/* P ranks; host_of[r]: any integer naming rank r's node (equal on one node); usable[r]:
 * SWEEP_RANK_*. Copies both. */
int sweep_sched_new(int P, const int *host_of, const unsigned char *usable, sweep_sched **out);
void sweep_sched_free(sweep_sched *s); /* accepts NULL */
/* A pending run: its id, its estimated seconds on its n_ranks (>= 1). ZOO_ERR_INVALID
 * when fewer ranks may ever train it than it needs (the message says what to change). */
int sweep_sched_add(sweep_sched *s, int64_t id, double est_s, int n_ranks);
/* The run to start now, if any: 1 with *id, its *n ranks in ranks[] (room for P; lowest
 * first), 0 when nothing should start now. Costliest (longest estimate) first, ties by
 * id. When the first run does not fit on the free ranks, ranks are held for it from the
 * earliest time enough free up (by the estimates of the runs in flight; one past its
 * estimate counts as ending now) and later runs start only when they do not delay that:
 * they end by then, or use ranks it will not need (EASY backfilling). Places a run on
 * one node when it can, else on the fewest nodes; single-rank runs go first to ranks
 * that only train those, then to the fullest node. Call again until it returns 0. */
int sweep_sched_next(sweep_sched *s, double now, int64_t *id, int *ranks, int *n);
/* The ranks of a run that ended (finished, failed or abandoned) are free again. */
void sweep_sched_release(sweep_sched *s, const int *ranks, int n);
/* Runs not started yet. */
int64_t sweep_sched_pending(const sweep_sched *s);

/* Drive a scheduler over n runs that each take exactly their estimate: *makespan, and
 * start[i] (may be NULL) and first_rank[i] (may be NULL) per run. Ties between runs
 * ending together: all are released before the next start. Errors: those of
 * sweep_sched_add. */
int sweep_sched_simulate(int P, const int *host_of, const unsigned char *usable, int64_t n, const int64_t *id,
                         const double *est_s, const int *n_ranks, double *start, int *first_rank, double *makespan);

/* A run's hosts for the results file: "node1" (one rank), "node1x4" (four ranks on
 * node1), "node1x2,node2" (in rank order of first appearance). host_name[r] names rank
 * r's host. Truncated to out[n]. */
void sweep_hosts_text(const char *const *host_name, const int *ranks, int n_ranks, char *out, size_t n);

#endif
