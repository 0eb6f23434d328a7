/* zoo/results.h: the sweep's HDF5 results file (schema in docs/results.md): a summary
 * table with one row per run, one group per finished run (spec attributes, curves),
 * root attributes and a table of sessions. Only one process writes (zoo_results_lock).
 * A commit writes one small journal file "<path>.d/commit-<seq>.h5" (renamed into
 * place, so whole or absent); readers lay the journal over the main file; the journal
 * is folded into the main file (a fresh copy renamed over it) when it has grown as
 * large as the file and at the end of a session. A kill at any moment loses at most
 * the runs in flight. Nothing here trains, schedules or talks MPI. */
#ifndef ZOO_RESULTS_H
#define ZOO_RESULTS_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "zoo/config.h"
#include "zoo/run.h"

#define ZOO_RESULTS_SCHEMA "zoo-sweep-results"
/* 2 added the backend, device and tf32 columns, 3 ranks and hosts, 4 task and
 * task_knobs. Older files are read, and upgraded to this version by the first change
 * made to them (a resumed sweep's first commit). */
#define ZOO_RESULTS_SCHEMA_VERSION 4

/* The status column. "pending" rows have not finished (yet); the others are final. */
#define ZOO_STATUS_PENDING "pending"
#define ZOO_STATUS_OK "ok"
#define ZOO_STATUS_FAILED "failed"           /* an error (plugin, I/O, ...): see message */
#define ZOO_STATUS_DIVERGED "diverged"       /* NaN/Inf loss */
#define ZOO_STATUS_UNSUPPORTED "unsupported" /* valid settings this build/backend cannot run */
#define ZOO_STATUS_OOM "oom"                 /* out of memory */
#define ZOO_STATUS_CRASHED "crashed"         /* killed its process twice; not retried */
#define ZOO_STATUS_TIMEOUT "timeout"         /* ran past the sweep's max_run_seconds; not retried */
/* A run stopped by a signal (`zoo train`'s summary line). Never in the status column:
 * a stopped sweep leaves its unfinished runs pending. */
#define ZOO_STATUS_INTERRUPTED "interrupted"

/* The status word of a run's outcome code (0 or a ZOO_ERR_*, as zoo_run returns): ok,
 * diverged, unsupported, oom, interrupted, failed for any other error. One table for
 * the results file and `zoo train`, so both say the same thing. Never NULL. */
const char *zoo_status_word(int code);

/* One summary row (an HDF5 compound; strings fixed-size, NUL-terminated). Metrics of
 * runs that have none (pending, failed early) are NaN; counts are -1. */
typedef struct zoo_results_row {
    int64_t id;            /* run index, stable for the life of the file */
    char hash[17];         /* zoo_run_spec_hash */
    char status[16];       /* ZOO_STATUS_* */
    char mixer[128];       /* mixer names of the pattern: "attention", "base_conv+based" */
    char family[32];       /* the plugin's family, "hybrid" when the pattern mixes families */
    char layer_mixers[256];/* one entry per layer, with knobs: "base_conv, based(feature_dim=8)" */
    int64_t d_model;
    int32_t n_layers;
    int64_t seq_len, kv_pairs, vocab, batch_size, train_examples;
    double lr;
    uint64_t seed, data_seed;
    int32_t epochs;        /* the most the run may train */
    int64_t params;        /* trainable */
    double state_size;     /* floats at seq_len, summed over layers */
    double flops_per_step; /* estimate, forward + backward */
    double final_acc, best_acc, final_loss;
    int32_t epochs_run;
    int64_t steps_run;
    double tokens_per_s, wall_s;
    int64_t peak_bytes;    /* peak resident memory of the process that trained it */
    /* bytes the run planned per buffer kind on its backend (training + evaluation model) */
    int64_t mem_params_bytes, mem_grads_bytes, mem_optimizer_bytes;
    int64_t mem_activations_bytes, mem_act_grads_bytes, mem_workspace_bytes;
    int32_t rank;          /* MPI rank that trained it */
    char host[64];
    int32_t crashes;       /* times it killed the process training it */
    double finished_unix;  /* seconds since 1970 when recorded */
    char message[256];     /* why it failed, or "" */
    /* version 2 */
    char backend[16];      /* where it computed: "cpu", "cuda"; "" until it starts on one (and
                            * when it never does: pending, unsupported, crashed) */
    char device[256];      /* that device in words: "cpu", "cuda:0 of 4 (NVIDIA H100 ..., sm_90,
                            * 79.1 GiB)", or "cpu (auto: why not the GPU)"; "" as backend */
    int32_t tf32;          /* the spec's tf32: 1 when CUDA GEMMs might use TF32 */
    /* version 3 */
    int32_t ranks;         /* processes that trained it data-parallel; -1 until one has (as
                            * rank). A row committed with rank >= 0 and ranks < 1 was
                            * trained by one: it is recorded 1, hosts = host */
    char hosts[256];       /* their hosts: "node1", "node1x4", "node1x4,node2x4" */
    /* version 4 */
    char task[32];         /* the task plugin: "mqar" (every run of an older file) */
    char task_knobs[256];  /* its knobs set as task.<knob>, sorted: "num_passes=2"; "" when none */
} zoo_results_row;

/* One row of the /sessions table: each invocation of `zoo sweep` on the file. */
typedef struct zoo_results_session {
    char started[32], finished[32]; /* ISO 8601 UTC; finished "" while running */
    int32_t ranks;
    char hosts[512];     /* distinct host names, comma-separated */
    char command[512];
    int32_t exit_code;   /* -1 while running (or when the session was killed) */
    int64_t runs_recorded;
} zoo_results_session;

/* What one commit writes for a finished run. */
typedef struct zoo_results_update {
    const zoo_results_row *row;    /* row->id selects the row; it replaces the stored row */
    const zoo_run_spec *spec;      /* run group attributes; required when the status is final */
    const zoo_run_result *result;  /* curves; NULL when there are none */
} zoo_results_update;

typedef struct zoo_results zoo_results; /* an open results file (in memory: its rows) */

/* A row for `spec` with id, hash, sizes and the mixer columns filled, status pending,
 * metrics NaN. family/layer text come from `family` (may be NULL: ""). */
void zoo_results_row_init(zoo_results_row *row, int64_t id, const zoo_run_spec *spec, const char *family);

/* Create `path` (which must not exist, or be the empty placeholder zoo_results_lock
 * leaves) holding every run of `sweep` as pending rows (rows[i] for run i) and the first
 * session. Written to a temporary name and renamed; the handle holds the new file's lock
 * from then on. A journal left by an earlier file of that name is dropped. */
int zoo_results_create(const char *path, const zoo_sweep *sweep, const zoo_results_row *rows,
                       const zoo_results_session *session, zoo_results **out);
/* Open an existing file: checks the schema and version, that every group, table, column
 * and root attribute of that version is there (one message naming all that is missing),
 * reads the rows, and lays the journal's files over them in order. Nothing is written
 * until a commit. ZOO_ERR_IO if missing, ZOO_ERR_INVALID if not a (complete) results
 * file, a newer schema, or a journal file that is whole but unreadable (named),
 * ZOO_ERR_HDF5 otherwise. */
int zoo_results_open(const char *path, zoo_results **out);
/* Frees memory. A handle that committed runs and never reached zoo_results_end folds its
 * journal first; should that fail, the journal keeps the runs (every reader sees them). */
void zoo_results_close(zoo_results *r);

/* The rows in id order (valid until the next call that changes the file). */
const zoo_results_row *zoo_results_rows(const zoo_results *r, int64_t *n);
/* The sweep text stored last (NUL-terminated; "" if none). */
const char *zoo_results_sweep_text(const zoo_results *r);

/* Start a session on an opened file: appends `n_new` pending rows (their ids must
 * continue the existing ones), stores the sweep text, adds the session row. One fold
 * (it also folds the journal a killed writer left). */
int zoo_results_begin(zoo_results *r, const zoo_sweep *sweep, const zoo_results_row *new_rows, int64_t n_new,
                      const zoo_results_session *session);
/* Record finished runs: one journal file for all n, durable on return. The session row
 * (runs_recorded, finished) is written at folds only. */
int zoo_results_commit(zoo_results *r, const zoo_results_update *u, int n);
/* Close the session with the process exit code: folds the journal, so the file is
 * self-contained again, and removes the journal folder. */
int zoo_results_end(zoo_results *r, int exit_code);
/* Copy run `id`'s group (from the main file or the journal file holding its newest
 * version) to `dst_name` in the open file `dst`, replacing one there: 1 copied, 0 when
 * the run has no group, or the error code. */
int zoo_results_copy_run(zoo_results *r, int64_t id, hid_t dst, const char *dst_name);
/* Put the complete, closed results file `tmp` in place of `path` (zoo merge): marks
 * `path`'s journal as superseded, locks `tmp`, fsyncs and renames it, then deletes the
 * journal. *lock_fd (the caller's lock on the old file, or -1) becomes the lock on the
 * new one. */
int zoo_results_replace(const char *tmp, const char *path, int *lock_fd);

/* ---- the one writer ----
 * An OFD lock (fcntl F_OFD_SETLK) on the results file itself: removing any other file
 * never lets a second writer in, the kernel drops it when its holder dies, and h5py
 * readers (HDF5 takes flock()s) are not blocked by it. zoo_results_lock creates an
 * empty placeholder when `path` does not exist, and tries again when the file it locked
 * was replaced meanwhile. 0 with *fd holding the lock; ZOO_ERR_INVALID when another
 * process holds it; ZOO_ERR_IO when it cannot be opened or locked. */
int zoo_results_lock(const char *path, int *fd);
/* Release it; an empty placeholder still at `path` is removed first. */
void zoo_results_unlock(const char *path, int fd);
/* Lock an open (read-write) descriptor: 0, 1 when another holds it, -errno on failure. */
int zoo_results_lock_fd(int fd);

/* Move `path` (and its journal) aside to the first free "<path>.bak", "<path>.bak.1",
 * ... (for --force); the name used is written to backup[n]. */
int zoo_results_backup(const char *path, char *backup, size_t n);
/* Remove temporaries "<path>.tmp.*" and "<path>.d/commit-*.tmp.*" left by a killed
 * writer. Call only while holding the file's lock (no other writer alive). Returns how
 * many were removed. */
int zoo_results_clean_temps(const char *path);
/* The journal folder of results file `path` ("<path>.d"), into out[n]. */
void zoo_results_journal_dir(const char *path, char *out, size_t n);

/* "2026-01-31T12:00:00Z" for now. */
void zoo_results_now(char out[32]);

#endif
