/* sweep.h: the pieces of `zoo sweep` (one file each): options, the run-in-a-child
 * helper both coordinator and workers use, the message format, the plan (cost order,
 * dry run), the coordinator (rank 0) and the worker loop. Driver-internal. */
#ifndef ZOO_DRIVERS_SWEEP_H
#define ZOO_DRIVERS_SWEEP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "zoo/config.h"
#include "zoo/results.h"
#include "zoo/run.h"

/* Exit codes of `zoo sweep` (documented in its --help for job scripts). */
#define SWEEP_EXIT_OK 0        /* every run recorded, all ok */
#define SWEEP_EXIT_RUNS 1      /* every run recorded, some not ok (see the status column) */
#define SWEEP_EXIT_INPUT 2     /* bad input: usage, sweep file, results file of another sweep */
#define SWEEP_EXIT_SYSTEM 3    /* the sweep could not go on: results file unwritable, MPI error */
#define SWEEP_EXIT_STOPPED 75  /* stopped by SIGTERM/SIGUSR1/SIGINT; rerun the same command to resume */

typedef struct sweep_opts {
    const char *file, *out;
    const char *slice;  /* "I/N" of --slice, or NULL */
    int dry_run, resume, force;
    double grace_s;     /* after a stop signal, how long running runs may take to finish */
    double gflops;      /* assumed speed of one rank for time estimates */
    int train_on_root;  /* rank 0 trains too (it only waits otherwise) */
    int plan_ranks;     /* --ranks P: plan (--dry-run) for P ranks; 0 = the ranks running */
    /* --dry-run's network model (sweep_sched.h): GB/s and us (0 = the sweep file's or the
     * default), ms per multi-rank step (< 0 = the default) */
    double net_gbytes_per_s, net_latency_us, step_overhead_ms;
    int quiet;
    char command[512];  /* the command line, for the sessions table */
} sweep_opts;

/* ---- MPI context (size 1 and no MPI calls when not started by a launcher) ---------- */
typedef struct sweep_mpi {
    int on;    /* MPI initialised */
    int rank, size;
} sweep_mpi;

enum { SWEEP_TAG_READY = 1, SWEEP_TAG_WORK, SWEEP_TAG_RESULT, SWEEP_TAG_ABANDON, SWEEP_TAG_STOP };

/* ---- signals (sweep_signal.c) ------------------------------------------------------- */
/* Coordinator: SIGTERM, SIGUSR1, SIGINT set the stop request (a second signal asks to
 * abandon the runs in flight at once). Workers: the same signals are noted and otherwise ignored (the
 * coordinator decides). */
void sweep_signals_install(void);
int sweep_stop_requested(void);  /* the first signal number, or 0 */
int sweep_abandon_requested(void);

/* ---- one run in a child process (sweep_child.c) -------------------------------------- */
/* The result of one attempt as it travels (pipe and MPI): fixed header + curves. */
typedef struct sweep_wire_head {
    int64_t id;
    int32_t status;        /* ZOO_OK or a ZOO_ERR_* code from zoo_run */
    int32_t signal;        /* nonzero: the training process died of this signal (a crash) */
    int32_t abandoned;     /* killed on purpose (stop); not recorded */
    int32_t timed_out;     /* killed for running past max_run_seconds: recorded "timeout" */
    int32_t rank;          /* the run's first rank */
    char host[64];
    /* The ranks that trained it together and their hosts (sweep_hosts_text: "node1x4");
     * 0 and "": one rank, `rank` on `host` (the results file records 1 and host). */
    int32_t ranks;
    char hosts[256];
    char message[1024];
    int64_t params;
    double state_size, flops_per_step;
    int32_t epochs_run, n_epochs;
    double final_acc, best_acc, final_loss, tokens_per_s, wall_s;
    int64_t peak_bytes, n_steps;
    zoo_mem_plan mem; /* planned bytes per buffer kind; all 0 when the run never planned */
    char backend[16];  /* where it computed ("cpu", "cuda"); "" when it never started on one */
    char device[256];  /* that device in words (the results' device column) */
    int32_t n_segments, n_tags; /* test segments and tags: the last evaluation's figures on each */
    double segment_test_loss[ZOO_MAX_SEGMENTS], segment_test_acc[ZOO_MAX_SEGMENTS];
    int64_t segment_test_count[ZOO_MAX_SEGMENTS];
    double tag_test_loss[ZOO_MAX_TAGS], tag_test_acc[ZOO_MAX_TAGS];
    int64_t tag_test_count[ZOO_MAX_TAGS];
    char tag_names[ZOO_MAX_TAGS][32];
} sweep_wire_head;

/* A finished attempt: header and, in one block, step_loss then the 4 epoch curves. */
typedef struct sweep_outcome {
    sweep_wire_head h;
    float *curves; /* n_steps + 4 * n_epochs floats, or NULL */
} sweep_outcome;
void sweep_outcome_free(sweep_outcome *o);
/* Pack into / unpack from one byte buffer (malloc'd / copied). */
int sweep_outcome_pack(const sweep_outcome *o, char **buf, size_t *n);
int sweep_outcome_unpack(const char *buf, size_t n, sweep_outcome *o);
/* The zoo_run_result view of the curves (pointers into o->curves). */
void sweep_outcome_result(const sweep_outcome *o, zoo_run_result *r);

typedef struct sweep_child {
    pid_t pid;   /* 0 when idle */
    int fd;      /* read end of the result pipe */
    int64_t id;
    char *buf;
    size_t len, cap;
    int eof;
    double started;
    double max_s;   /* wall-time limit of the run (build + train + eval); 0 = none */
    double term_at; /* when SIGTERM went out for running past max_s; 0 = not yet */
    char ckpt[4200]; /* the run's checkpoint file; "" = none */
    double ckpt_grace_s; /* how long a stop waits for the child to save and exit */
    int keep_ckpt;
} sweep_child;

struct sweep_relay;

/* How a child runs (sweep_child_start): its limit and its checkpoints. */
typedef struct sweep_child_opts {
    double max_s;          /* wall-time limit of the run; 0 = none */
    const char *ckpt_dir;  /* "<results>.ckpt": checkpoints in <ckpt_dir>/<spec-hash>.h5; NULL or "" = none */
    double ckpt_every_s;   /* between two checkpoints; 0 = none */
    double ckpt_grace_s;   /* a stop waits this long for the child to save and exit, then kills it */
    int keep_ckpt;         /* keep_checkpoints: a finished run's file stays */
    struct sweep_relay *relay; /* a part of a multi-rank run: its gradient sum (NULL: one rank) */
} sweep_child_opts;

/* The checkpoint folder next to a results file: "<results>.ckpt". */
void sweep_ckpt_dir(const char *results, char *out, size_t n);
/* Remove the checkpoint folder and what is in it (a sweep with no run left). */
void sweep_ckpt_cleanup(const char *dir);

/* After the limit's SIGTERM, how long the child has to go before SIGKILL. */
#define SWEEP_TIMEOUT_GRACE_S 5.0

/* The most ranks one run trains on. */
#define SWEEP_MAX_GROUP 256

/* A run handed to a rank (SWEEP_TAG_WORK, raw bytes: every rank runs the same binary):
 * the sweep's per-run limit travels with each run. A multi-rank run goes to each of its
 * ranks with the whole group, this rank being group[part]. */
typedef struct sweep_work_msg {
    int64_t id;
    double max_run_seconds; /* 0 = none */
    double ckpt_every_s, ckpt_grace_s;
    int32_t keep_ckpt;
    char ckpt_dir[4096];    /* "" = no checkpoints */
    zoo_run_spec spec;      /* spec.ranks = nparts, resolved */
    int32_t part, nparts;
    int32_t group[SWEEP_MAX_GROUP]; /* world ranks, part 0 (the one whose outcome counts) first */
} sweep_work_msg;

/* Fork a child that trains `spec` and writes its outcome into a pipe. o->max_s > 0 limits
 * the run's wall time: sweep_child_poll then ends it (SIGTERM, SIGKILL after
 * SWEEP_TIMEOUT_GRACE_S) and reports it timed out. With a checkpoint folder the child
 * resumes from the run's checkpoint there, saves every o->ckpt_every_s and when asked to
 * stop (SIGUSR1 from this process), and removes it once the run has ended; a folder that
 * cannot be written is warned about once per process and the run trains without. With
 * o->relay, the child is one part of a multi-rank run and sums its gradients through it
 * (sweep_relay.h); only part 0 writes the checkpoint, every part resumes from it. */
int sweep_child_start(sweep_child *c, int64_t id, const zoo_run_spec *spec, const sweep_child_opts *o);
/* Wait up to timeout_ms for the child; 1 when it has finished and *out is filled
 * (crash, time-out and abandon included), 0 while it runs, <0 on a system error. */
int sweep_child_poll(sweep_child *c, int timeout_ms, sweep_outcome *out);
/* Stop a running child and reap it; *out marks it abandoned (it stays pending). A child
 * with a checkpoint is asked to save and exit (SIGUSR1) and given ckpt_grace_s, unless a
 * second stop signal came (sweep_abandon_requested): then, as without one, SIGKILL. */
void sweep_child_abandon(sweep_child *c, sweep_outcome *out, int save);
/* *o of a child that exited after being asked to save and stop: 1 when it is an outcome
 * the child delivered (the run ended meanwhile, or stopped with the other parts of its
 * run: kept as it is), else 0 and *o becomes the abandoned outcome of a stopped run. */
int sweep_child_stopped(sweep_outcome *o);
/* What rank 0 says with SWEEP_TAG_ABANDON (int32): the sweep stops (save what can be
 * saved), or another part of the run failed (no step can complete: kill at once). */
enum { SWEEP_ABANDON_STOP = 0, SWEEP_ABANDON_FAULT = 1 };

/* ---- the plan (sweep_plan.c) ---------------------------------------------------------- */
/* Estimated cost of a run: FLOPs per step x steps (all epochs; early stopping only
 * shortens it). */
double sweep_run_steps(const zoo_run_spec *s);
int64_t sweep_run_batch(const zoo_run_spec *s); /* examples per step (a batch of 0 resolved by L) */
double sweep_run_cost(const zoo_run_spec *s);
/* Run ids sorted by cost, costliest first (ties by id). */
int64_t *sweep_order_by_cost(const zoo_sweep *sw, const int64_t *ids, int64_t n);
/* Makespan of greedy costliest-first dispatch to P identical ranks. */
double sweep_makespan(const double *cost_sorted_desc, int64_t n, int64_t P);
/* "family" column of a run: the plugin family, "hybrid" when the pattern mixes families. */
void sweep_family(const zoo_run_spec *s, char *out, size_t n);
/* Trainable parameters of a run (its model built once per architecture, on the CPU);
 * -1 when it cannot be built here (a plugin missing). */
int64_t sweep_run_params(const zoo_run_spec *s);
struct sweep_netmodel;
/* The simulated schedule (sweep_sched_simulate) of the sweep's runs on P ranks, of which
 * max_n may train multi-rank runs, each run on its N[i] ranks at the cost model's
 * estimate: *span, and the bound max(total rank-seconds / P, longest run on its ranks). */
int sweep_plan_span(const zoo_sweep *sw, const int64_t *params, const struct sweep_netmodel *m, int P, int max_n,
                    const int *N, double *span, double *bound);
/* Print the expanded runs, the totals and the plan on `ranks` ranks (or --ranks) with
 * the ranks each run gets (--dry-run). ZOO_ERR_INVALID when a run's ranks cannot be met. */
int sweep_dry_run(const zoo_sweep *sw, const sweep_opts *o, int ranks);

/* ---- the results file as the coordinator sees it (sweep_book.c) ---------------------- */
typedef struct sweep_book {
    zoo_results *res;
    int64_t *row_of;   /* sweep run index -> results row id */
    int64_t *todo;     /* sweep runs whose row is pending */
    int64_t n_todo;
    int64_t n_final;   /* sweep runs already final when the session began */
    int lock_fd;       /* zoo_results_lock on the file as it was at open */
    const char *out;   /* the results file */
    char backup[4200]; /* where --force moved the old file, or "" */
} sweep_book;

/* Lock the results file (zoo_results_lock), remove stale temporaries, then create the results file or open
 * it and match runs by spec hash (resume; --resume adds new runs; --force starts over
 * after moving the old file aside), and begin the session. Errors that are the user's
 * (a different sweep in the file, a file that is not ours, a held lock) return
 * ZOO_ERR_INVALID; the caller exits 2 on those. */
int sweep_book_open(sweep_book *b, const zoo_sweep *sw, const sweep_opts *o, const zoo_results_session *ss);
void sweep_book_close(sweep_book *b);

/* ---- the roles ------------------------------------------------------------------------- */
int sweep_coordinate(const zoo_sweep *sw, const sweep_opts *o, const sweep_mpi *mpi);
int sweep_work(const sweep_mpi *mpi);

/* This host's name (cached). */
const char *sweep_host(void);
double sweep_now(void); /* monotonic seconds */

#endif
