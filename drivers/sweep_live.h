/* sweep_live.h: the coordinator's side of the live status file (zoo/live.h): which run
 * each rank has and since when, published when that changes, when a run is recorded,
 * when a stop begins and once a minute, and marked ended with the exit code at the end.
 * Advisory: a failure to write is said once on stderr and never stops the sweep.
 * Driver-internal. */
#ifndef ZOO_DRIVERS_SWEEP_LIVE_H
#define ZOO_DRIVERS_SWEEP_LIVE_H

#include <stdint.h>

#include "zoo/live.h"

typedef struct sweep_live {
    const char *out;   /* the results file */
    zoo_live l;        /* the session; l.runs: a slot per rank (n_runs unused) */
    zoo_live_run *pub; /* per rank: the busy ranks' slots as written */
    int64_t *busy;     /* per rank: the sweep run last published, -1 idle; NULL: disabled */
    char (*host)[64];  /* per rank */
    int64_t recorded;  /* runs recorded at the last write */
    double last;       /* sweep_now() of the last write */
    int written, warned;
} sweep_live;

/* Start the session's record (its start time is now). Nothing is written yet: the first
 * write comes from sweep_live_sync, once the results file's lock is held. */
void sweep_live_init(sweep_live *lv, const char *out, int ranks, int trainers, const char *command);
/* The host of a rank (from its hello). */
void sweep_live_host(sweep_live *lv, int rank, const char *host);
/* busy[rank]: the sweep run in flight there or -1; row_of maps sweep runs to results
 * rows. Writes the file when a rank's run changed, `recorded` grew, `stopping` was set,
 * or a minute passed (so a reader on another host sees the coordinator is alive). */
void sweep_live_sync(sweep_live *lv, const int64_t *busy, const int64_t *row_of, int64_t recorded, int stopping);
/* Mark the session ended with `exit_code` (when anything was written) and free. */
void sweep_live_end(sweep_live *lv, int exit_code);

#endif
