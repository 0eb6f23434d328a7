/* run_ckpt.h: a run's mid-run checkpoint file as `zoo train --checkpoint` and each sweep
 * child use it (docs/training.md, checkpoints): found and resumed from at the start,
 * written every interval and on a graceful stop, removed when the run has ended.
 * Driver-internal. */
#ifndef ZOO_DRIVERS_RUN_CKPT_H
#define ZOO_DRIVERS_RUN_CKPT_H

#include "zoo/run.h"

/* The default interval between two checkpoints of a run: a few minutes, so that writing
 * one (bench/README.md, checkpoint cost) is well under 1% of the run's time. */
#define ZOO_CKPT_DEFAULT_S 300.0

typedef struct run_ckpt {
    const char *path;          /* the checkpoint file; NULL: checkpoints off */
    const zoo_run_spec *spec;  /* the run as asked: its hash is the one the file must carry */
    const char *who;           /* message prefix: "zoo train", "zoo sweep: run 3 (hash)" */
    double every_s;            /* seconds between two saves; 0: only on a graceful stop */
    double last;               /* monotonic time of the last save (or of the start) */
    int broken;                /* a save failed: warned once, no more tries */
    int loaded;                /* `state` holds the file read at the start */
    int resumed;               /* the run went on from it */
    int64_t saved_step;        /* global step of the last save, -1 none */
    int reader_only;           /* a data-parallel process other than the run's first: it resumes
                                * from the file, the first writes and removes it */
    zoo_run_snapshot state;
} run_ckpt;

/* Start: if `path` exists, read it; a file that is refused is reported on stderr (the
 * reason, then "training from step 0") and left to be overwritten by the next save. */
void run_ckpt_open(run_ckpt *c, const char *path, const zoo_run_spec *spec, double every_s, const char *who);
/* Fill the checkpoint fields of hooks (checkpoint_due, save, resume, on_resume); ud must
 * be `c` (the caller's own hooks keep what they need elsewhere). */
void run_ckpt_hooks(run_ckpt *c, zoo_run_hooks *h);
/* The run has ended for good (done, or failed in a way a rerun repeats): remove the file
 * unless `keep`. Frees what run_ckpt_open read. */
void run_ckpt_close(run_ckpt *c, int finished, int keep);

#endif
