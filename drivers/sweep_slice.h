/* sweep_slice.h: `zoo sweep --slice I/N`: keep one of N cost-balanced parts of a sweep,
 * so a job array can run a sweep as N independent tasks (each into its own results
 * file, joined afterwards by `zoo merge`). Driver-internal. */
#ifndef ZOO_DRIVERS_SWEEP_SLICE_H
#define ZOO_DRIVERS_SWEEP_SLICE_H

#include <stdint.h>

#include "zoo/config.h"

/* Parse "I/N" (0 <= I < N, both decimal; I is 0-based like SLURM_ARRAY_TASK_ID with
 * --array=0-(N-1)). ZOO_ERR_INVALID with the fix on a malformed text. */
int sweep_slice_parse(const char *text, int64_t *i, int64_t *n);

/* Which part (0..n-1) each run of `sw` belongs to: runs are dealt costliest first, each
 * to the part with the least estimated cost so far (ties: lowest part), so the parts
 * take about equally long. Depends only on the run specs, so every array task computes
 * the same split. part[sw->n_runs] is filled; ZOO_ERR_NOMEM on failure. */
int sweep_slice_assign(const zoo_sweep *sw, int64_t n, int64_t *part);

/* Keep only the runs of part i of n in `sw` (file order kept; the sweep's text, name and
 * path stay, so results files of every part name the same sweep). A part may be empty
 * when n exceeds the number of runs. */
int sweep_slice_apply(zoo_sweep *sw, int64_t i, int64_t n);

/* sweep_slice_parse then sweep_slice_apply: what `zoo sweep --slice TEXT` does. */
int sweep_slice_select(zoo_sweep *sw, const char *text);

#endif
