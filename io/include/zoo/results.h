/* zoo/results.h: the sweep's HDF5 results file (schema in docs/results.md): a summary
 * table with one row per run, one group per finished run (spec attributes, curves),
 * root attributes and a table of sessions. Only one process (rank 0) writes. Every
 * change is committed by writing a fresh copy under a temporary name and renaming it
 * over the file, so a kill at any moment leaves the previous or the new file, whole.
 * Nothing here trains, schedules or talks MPI. */
#ifndef ZOO_RESULTS_H
#define ZOO_RESULTS_H

#include <stdint.h>

#include "zoo/config.h"
#include "zoo/run.h"

#define ZOO_RESULTS_SCHEMA "zoo-sweep-results"
/* 2 added the backend, device and tf32 columns. Version 1 files are read, and upgraded
 * to version 2 by the first change made to them (a resumed sweep's first commit). */
#define ZOO_RESULTS_SCHEMA_VERSION 2

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

/* Create `path` (which must not exist) holding every run of `sweep` as pending rows
 * (rows[i] for run i) and the first session. Written to a temporary name and renamed. */
int zoo_results_create(const char *path, const zoo_sweep *sweep, const zoo_results_row *rows,
                       const zoo_results_session *session, zoo_results **out);
/* Open an existing file: checks the schema and version and reads the rows. Nothing is
 * written until a commit. ZOO_ERR_IO if missing, ZOO_ERR_INVALID if not a results file
 * (or a newer schema), ZOO_ERR_HDF5 otherwise. */
int zoo_results_open(const char *path, zoo_results **out);
void zoo_results_close(zoo_results *r); /* frees memory; the file is already durable */

/* The rows in id order (valid until the next call that changes the file). */
const zoo_results_row *zoo_results_rows(const zoo_results *r, int64_t *n);
/* The sweep text stored last (NUL-terminated; "" if none). */
const char *zoo_results_sweep_text(const zoo_results *r);

/* Start a session on an opened file: appends `n_new` pending rows (their ids must
 * continue the existing ones), stores the sweep text when it changed, adds the
 * session row. One commit. */
int zoo_results_begin(zoo_results *r, const zoo_sweep *sweep, const zoo_results_row *new_rows, int64_t n_new,
                      const zoo_results_session *session);
/* Record finished runs (one commit for all n). The session row is updated too. */
int zoo_results_commit(zoo_results *r, const zoo_results_update *u, int n);
/* Close the session with the process exit code (one commit). */
int zoo_results_end(zoo_results *r, int exit_code);

/* Move `path` aside to the first free "<path>.bak", "<path>.bak.1", ... (for --force);
 * the name used is written to backup[n]. */
int zoo_results_backup(const char *path, char *backup, size_t n);
/* Remove temporaries "<path>.tmp.*" left by a killed writer. Call only while holding
 * the file's lock (no other writer alive). Returns how many were removed. */
int zoo_results_clean_temps(const char *path);

/* "2026-01-31T12:00:00Z" for now. */
void zoo_results_now(char out[32]);

#endif
