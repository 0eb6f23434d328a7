/* zoo/live.h: the live status file "<results>.live" beside a sweep's results file:
 * who coordinates the sweep (pid, host), since when, and which runs are in flight on
 * which rank. The coordinator rewrites it (temporary + rename, so a reader sees a whole
 * file) on every hand-out, every recorded run and once a minute; `zoo status` reads it.
 * Advisory: never fsync'd, and the results file stays the record of finished runs.
 * Plain text, one "key value" per line; the format is in docs/results.md. */
#ifndef ZOO_LIVE_H
#define ZOO_LIVE_H

#include <stddef.h>
#include <stdint.h>

#define ZOO_LIVE_FORMAT "zoo-sweep-live"
#define ZOO_LIVE_VERSION 1
#define ZOO_LIVE_SUFFIX ".live"

/* The state line. */
#define ZOO_LIVE_RUNNING "running"   /* handing out runs */
#define ZOO_LIVE_STOPPING "stopping" /* a stop signal came: no more hand-outs */
#define ZOO_LIVE_ENDED "ended"       /* the session is over; exit_code says how */

typedef struct zoo_live_run {
    int64_t id;      /* results row id */
    int32_t rank;
    char host[64];
    double started;  /* Unix seconds (the coordinator's clock) */
} zoo_live_run;

typedef struct zoo_live {
    char state[16];      /* ZOO_LIVE_* */
    int64_t pid;         /* the coordinator (rank 0) */
    char host[64];       /* the coordinator's host */
    int32_t ranks, trainers; /* MPI ranks; ranks that train */
    double started;      /* session start, Unix seconds */
    double updated;      /* when the file was written (set by zoo_live_write) */
    int32_t exit_code;   /* `zoo sweep`'s exit code once ended, else -1 */
    char command[512];   /* the command line of the session */
    int64_t n_runs;      /* runs in flight */
    zoo_live_run *runs;  /* [n_runs]; owned by the caller (writer) or by zoo_live_free (reader) */
} zoo_live;

/* "<results>.live". */
void zoo_live_path(const char *results, char *out, size_t n);

/* Write `l` (with updated = now) to "<results>.live.tmp" and rename it over
 * "<results>.live". Only the holder of the results file's lock may call it. */
int zoo_live_write(const char *results, const zoo_live *l);

/* Read "<results>.live" into *l: 1 when read, 0 when there is none (*l zeroed), or
 * ZOO_ERR_IO (unreadable) / ZOO_ERR_INVALID (not a live file of this version). Lines
 * with unknown keys are skipped, so later writers may add some. */
int zoo_live_read(const char *results, zoo_live *l);
void zoo_live_free(zoo_live *l);

#endif
