/* sweep_live.c: the coordinator publishes the live status file (sweep_live.h). */
#define _POSIX_C_SOURCE 200809L
#include "sweep_live.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sweep.h"
#include "zoo/error.h"

/* Readers on another host call the coordinator gone after `zoo status --max-age`
 * seconds (300 by default) without a write: a write a minute keeps well inside it. */
#define LIVE_HEARTBEAT_S 60.0

static double unix_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void warn_once(sweep_live *lv)
{
    if (!lv->warned)
        fprintf(stderr, "zoo sweep: %s; `zoo status` will not show the runs in flight (the sweep goes on)\n",
                zoo_error_last()->msg);
    lv->warned = 1;
}

void sweep_live_init(sweep_live *lv, const char *out, int ranks, int trainers, const char *command)
{
    memset(lv, 0, sizeof *lv);
    lv->out = out;
    snprintf(lv->l.state, sizeof lv->l.state, "%s", ZOO_LIVE_RUNNING);
    lv->l.pid = (int64_t)getpid();
    snprintf(lv->l.host, sizeof lv->l.host, "%s", sweep_host());
    lv->l.ranks = ranks;
    lv->l.trainers = trainers;
    lv->l.started = unix_now();
    lv->l.exit_code = -1;
    snprintf(lv->l.command, sizeof lv->l.command, "%s", command);
    lv->busy = malloc((size_t)ranks * sizeof *lv->busy);
    lv->host = calloc((size_t)ranks, sizeof *lv->host);
    lv->l.runs = calloc((size_t)ranks, sizeof *lv->l.runs);
    lv->pub = calloc((size_t)ranks, sizeof *lv->pub);
    if (!lv->busy || !lv->host || !lv->l.runs || !lv->pub) {
        ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory for the live status");
        warn_once(lv);
        free(lv->busy), free(lv->host), free(lv->l.runs), free(lv->pub);
        lv->busy = NULL, lv->host = NULL, lv->l.runs = NULL, lv->pub = NULL;
        return;
    }
    for (int r = 0; r < ranks; r++) {
        lv->busy[r] = -1;
        snprintf(lv->host[r], sizeof lv->host[r], "%s", r ? "?" : sweep_host());
    }
}

void sweep_live_host(sweep_live *lv, int rank, const char *host)
{
    if (lv->busy && rank >= 0 && rank < lv->l.ranks)
        snprintf(lv->host[rank], sizeof lv->host[rank], "%s", host);
}

static void publish(sweep_live *lv, const zoo_live *l)
{
    if (zoo_live_write(lv->out, l))
        warn_once(lv);
    lv->written = 1;
    lv->last = sweep_now();
}

void sweep_live_sync(sweep_live *lv, const int64_t *busy, const int64_t *row_of, int64_t recorded, int stopping)
{
    if (!lv->busy)
        return;
    int changed = !lv->written || recorded != lv->recorded || (stopping && strcmp(lv->l.state, ZOO_LIVE_STOPPING));
    double now = 0;
    for (int r = 0; r < lv->l.ranks; r++)
        if (busy[r] != lv->busy[r]) {
            changed = 1;
            if (busy[r] >= 0 && !now)
                now = unix_now();
            lv->busy[r] = busy[r];
            lv->l.runs[r] = (zoo_live_run){busy[r] >= 0 ? row_of[busy[r]] : -1, r, "", now};
            snprintf(lv->l.runs[r].host, sizeof lv->l.runs[r].host, "%s", lv->host[r]);
        }
    if (!changed && sweep_now() - lv->last < LIVE_HEARTBEAT_S)
        return;
    lv->recorded = recorded;
    if (stopping)
        snprintf(lv->l.state, sizeof lv->l.state, "%s", ZOO_LIVE_STOPPING);
    /* The file lists the busy ranks only. */
    zoo_live pub = lv->l;
    pub.runs = lv->pub, pub.n_runs = 0;
    for (int r = 0; r < lv->l.ranks; r++)
        if (lv->busy[r] >= 0)
            pub.runs[pub.n_runs++] = lv->l.runs[r];
    publish(lv, &pub);
}

void sweep_live_end(sweep_live *lv, int exit_code)
{
    if (lv->busy && lv->written) {
        snprintf(lv->l.state, sizeof lv->l.state, "%s", ZOO_LIVE_ENDED);
        lv->l.exit_code = exit_code;
        publish(lv, &lv->l);
    }
    free(lv->busy), free(lv->host), free(lv->l.runs), free(lv->pub);
    memset(lv, 0, sizeof *lv);
}
