/* sweep_book.c: the results file at the start of a session: the lock that keeps a
 * second `zoo sweep` (or `zoo merge`) off the same file (zoo_results_lock), stale temporaries, create / resume / --resume
 * (add runs) / --force (start over, old file kept), and which runs are left to do.
 * Rank 0 only. Trains nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sweep.h"
#include "zoo/error.h"

typedef struct hash_row {
    char hash[17];
    int64_t row;
} hash_row;

static int by_hash(const void *a, const void *b) { return strcmp(((const hash_row *)a)->hash, ((const hash_row *)b)->hash); }

static int rows_for(const zoo_sweep *sw, const int64_t *runs, int64_t n, int64_t first_id, zoo_results_row **out)
{
    *out = calloc((size_t)(n ? n : 1), sizeof **out);
    if (!*out)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory for %lld rows", (long long)n);
    for (int64_t i = 0; i < n; i++) {
        char fam[32];
        sweep_family(&sw->runs[runs[i]], fam, sizeof fam);
        zoo_results_row_init(&(*out)[i], first_id + i, &sw->runs[runs[i]], fam);
    }
    return 0;
}

static int create_new(sweep_book *b, const zoo_sweep *sw, const sweep_opts *o, const zoo_results_session *ss)
{
    int64_t *all = malloc((size_t)sw->n_runs * sizeof *all);
    if (!all)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < sw->n_runs; i++)
        all[i] = i;
    zoo_results_row *rows = NULL;
    int rc = rows_for(sw, all, sw->n_runs, 0, &rows);
    if (!rc)
        rc = zoo_results_create(o->out, sw, rows, ss, &b->res);
    free(rows);
    if (rc) {
        free(all);
        return rc;
    }
    if (sw->n_runs > 0) { /* an empty slice: nothing to copy, and the buffers may be NULL */
        memcpy(b->row_of, all, (size_t)sw->n_runs * sizeof *all);
        memcpy(b->todo, all, (size_t)sw->n_runs * sizeof *all);
    }
    b->n_todo = sw->n_runs;
    free(all);
    return 0;
}

int sweep_book_open(sweep_book *b, const zoo_sweep *sw, const sweep_opts *o, const zoo_results_session *ss)
{
    memset(b, 0, sizeof *b);
    b->lock_fd = -1;
    b->row_of = malloc((size_t)sw->n_runs * sizeof *b->row_of);
    b->todo = malloc((size_t)sw->n_runs * sizeof *b->todo);
    if (!b->row_of || !b->todo)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    b->out = o->out;
    int rc = zoo_results_lock(o->out, &b->lock_fd);
    if (rc)
        return rc;
    zoo_results_clean_temps(o->out);
    struct stat st;
    if (stat(o->out, &st) || st.st_size == 0) /* missing, or the lock's empty placeholder */
        return create_new(b, sw, o, ss);
    if (o->force) {
        if ((rc = zoo_results_backup(o->out, b->backup, sizeof b->backup)))
            return rc;
        /* The lock held the file now moved aside: lock the (new, empty) one at the path. */
        zoo_results_unlock(NULL, b->lock_fd);
        b->lock_fd = -1;
        if ((rc = zoo_results_lock(o->out, &b->lock_fd)))
            return rc;
        return create_new(b, sw, o, ss);
    }
    if ((rc = zoo_results_open(o->out, &b->res)))
        return rc == ZOO_ERR_HDF5 || rc == ZOO_ERR_IO ? rc : ZOO_ERR_INVALID;

    /* Match the sweep's runs with the file's rows by spec hash. */
    int64_t nr;
    const zoo_results_row *rows = zoo_results_rows(b->res, &nr);
    hash_row *hr = malloc((size_t)(nr ? nr : 1) * sizeof *hr);
    int64_t *fresh = malloc((size_t)sw->n_runs * sizeof *fresh);
    unsigned char *used = calloc((size_t)(nr ? nr : 1), 1);
    if (!hr || !fresh || !used) {
        free(hr), free(fresh), free(used);
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    }
    for (int64_t i = 0; i < nr; i++) {
        memcpy(hr[i].hash, rows[i].hash, sizeof hr[i].hash);
        hr[i].row = i;
    }
    qsort(hr, (size_t)nr, sizeof *hr, by_hash);
    int64_t n_fresh = 0, n_matched = 0;
    for (int64_t i = 0; i < sw->n_runs; i++) {
        hash_row key;
        zoo_run_spec_hash(&sw->runs[i], key.hash);
        hash_row *hit = nr ? bsearch(&key, hr, (size_t)nr, sizeof *hr, by_hash) : NULL;
        if (hit) {
            b->row_of[i] = hit->row;
            used[hit->row] = 1;
            n_matched++;
        } else {
            b->row_of[i] = -1;
            fresh[n_fresh++] = i;
        }
    }
    int64_t n_gone = 0;
    for (int64_t i = 0; i < nr; i++)
        n_gone += !used[i];
    free(hr);
    free(used);
    if ((n_fresh || n_gone) && !o->resume) {
        free(fresh);
        return ZOO_FAIL(ZOO_ERR_INVALID,
                        "%s holds a different sweep: %lld of this file's %lld runs are new to it and %lld of its %lld "
                        "runs are not in this file; rerun with --resume to add the new runs (keeping every result), "
                        "or --force to start over (the old file is kept as %s.bak)",
                        o->out, (long long)n_fresh, (long long)sw->n_runs, (long long)n_gone, (long long)nr, o->out);
    }
    zoo_results_row *nrows = NULL;
    if ((rc = rows_for(sw, fresh, n_fresh, nr, &nrows))) {
        free(fresh);
        return rc;
    }
    for (int64_t k = 0; k < n_fresh; k++)
        b->row_of[fresh[k]] = nr + k;
    free(fresh);
    rc = zoo_results_begin(b->res, sw, nrows, n_fresh, ss);
    free(nrows);
    if (rc)
        return rc;
    rows = zoo_results_rows(b->res, &nr);
    for (int64_t i = 0; i < sw->n_runs; i++) {
        if (!strcmp(rows[b->row_of[i]].status, ZOO_STATUS_PENDING))
            b->todo[b->n_todo++] = i;
        else
            b->n_final++;
    }
    return 0;
}

void sweep_book_close(sweep_book *b)
{
    zoo_results_close(b->res); /* releases the lock of the file it published last */
    free(b->row_of);
    free(b->todo);
    zoo_results_unlock(b->out, b->lock_fd); /* the lock taken at open; its placeholder goes if never written */
    memset(b, 0, sizeof *b);
    b->lock_fd = -1;
}
