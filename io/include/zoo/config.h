/* zoo/config.h: YAML run and sweep files -> validated run specs, with every error at
 * file:line:col and the fix. A run file is a sweep file without grid axes.
 * Parsing uses libfyaml; nothing here trains or writes results. */
#ifndef ZOO_CONFIG_H
#define ZOO_CONFIG_H

#include <stdint.h>

#include "zoo/run.h"

typedef struct zoo_sweep {
    char *path;          /* as given */
    char *text;          /* the file's text (stored in results files) */
    char name[128];      /* sweep name (file stem unless `name:` is given) */
    zoo_run_spec *runs;  /* expanded grid, in file order */
    int64_t n_runs;
    double max_run_seconds; /* `max_run_seconds:`, the wall-time limit of one run; 0 = none */
    /* The network a multi-rank run's gradient allreduce crosses, for the sweep's cost
     * model (`net_gbytes_per_s:`, `net_latency_us:`); 0 = the model's default. */
    double net_gbytes_per_s, net_latency_us;
    double checkpoint_minutes; /* `checkpoint_minutes:`, between two checkpoints of a run in flight; 0 = off */
    int keep_checkpoints;      /* `keep_checkpoints: true`: finished runs' checkpoints stay */
} zoo_sweep;

/* checkpoint_minutes when the file does not say: a checkpoint costs well under 1% of
 * this (bench/README.md, checkpoint cost). */
#define ZOO_SWEEP_CHECKPOINT_MINUTES 5.0

/* Parse and expand. Errors: ZOO_ERR_CONFIG (message "path:line:col: what; fix") or
 * ZOO_ERR_IO. Plugins named are loaded to check knobs. On failure *out is empty. */
int zoo_sweep_load(const char *path, zoo_sweep *out);
/* The same from text in memory; `name` is used in messages in place of a path. */
int zoo_sweep_parse(const char *text, const char *name, zoo_sweep *out);
void zoo_sweep_free(zoo_sweep *s); /* accepts NULL and zeroed structs */

#endif
