/* run_internal.h: rules shared by the run-spec, model and training files (resolved
 * batch sizes). Core sources only; nothing here is part of the public API. */
#ifndef ZOO_RUN_INTERNAL_H
#define ZOO_RUN_INTERNAL_H

#include <stdint.h>

#include "zoo/run.h"
#include "zoo/task.h"

/* Training batch: spec->batch_size, or when 0 the paper's rule by L (docs/training.md):
 * 512 for L <= 128, 256 for L <= 256, 128 for L <= 512, else 64. */
int64_t zoo_run_spec_batch(const zoo_run_spec *s);
/* Evaluation batch: spec->eval_batch_size, or the training batch when 0. */
int64_t zoo_run_spec_eval_batch(const zoo_run_spec *s);
/* zoo_model_build for a model that only ever evaluates (zoo_graph_forward_only: no
 * activation gradients, values freed after their last forward reader). */
int zoo_model_build_eval(const zoo_run_spec *spec, int64_t B, int64_t M, zoo_model **out);

/* The task plugin `name`, loaded once and kept for the life of the process (task.c). */
int zoo_task_get(const char *name, const zoo_task **out);
/* The spec's task and its knob values (the plugin's defaults, the spec's task fields it
 * declares, then task.<knob>); the caller frees *hv. A task field other than its default
 * for a task without that knob is refused. */
int zoo_run_spec_task(const zoo_run_spec *s, const zoo_task **task, zoo_hvals **hv);
/* The task part of zoo_run_spec_check: the above, then validate on the train and test sets. */
int zoo_run_spec_check_task(const zoo_run_spec *s);

/* Where a run stands between two steps: what a checkpoint holds besides the flat
 * buffers and the curves (run_snapshot.c). */
typedef struct zoo_run_progress {
    int epoch;           /* the epoch to go on with */
    int64_t epoch_step;  /* its steps done */
    int64_t step;        /* global steps done */
    double lsum;         /* the epoch's step losses summed so far */
    int64_t tokens;
    double train_s, wall_s;
} zoo_run_progress;

/* The state of model m, result curves `res` and progress p into *s: the flat buffers
 * copied to host buffers kept in *s (allocated on first use, freed by
 * zoo_run_snapshot_drop), the curves pointing into res. */
int zoo_run_snapshot_take(zoo_run_snapshot *s, zoo_model *m, const zoo_run_result *res, const zoo_run_progress *p);
/* Frees what zoo_run_snapshot_take allocated in *s. */
void zoo_run_snapshot_drop(zoo_run_snapshot *s);
/* Check that r fits model m and the run (spec's epochs, steps_per_epoch), then put it
 * back: the flat buffers into m, the curves and figures into res, the position into *p.
 * A snapshot that does not fit is ZOO_ERR_INVALID naming r->origin and why, with
 * nothing changed. */
int zoo_run_snapshot_apply(const zoo_run_snapshot *r, zoo_model *m, const zoo_run_spec *spec, int64_t steps_per_epoch,
                           zoo_run_result *res, zoo_run_progress *p);

#endif
