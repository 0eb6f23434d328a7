/* sweep_slice.c: `zoo sweep --slice I/N`: split a sweep's runs into N parts of about
 * equal estimated cost and keep one. Only selects runs; the results file, resume and
 * the merge of the parts' files are done elsewhere. */
#include "sweep_slice.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sweep.h"
#include "zoo/error.h"

int sweep_slice_parse(const char *text, int64_t *i, int64_t *n)
{
    const char *slash = text ? strchr(text, '/') : NULL;
    char *end = NULL;
    long long a = -1, b = -1;
    if (slash && slash != text && slash[1]) {
        errno = 0;
        a = strtoll(text, &end, 10);
        if (end != slash || errno)
            a = -1;
        b = strtoll(slash + 1, &end, 10);
        if (*end || errno)
            b = -1;
    }
    if (a < 0 || b < 1 || a >= b)
        return ZOO_FAIL(ZOO_ERR_INVALID,
                        "--slice needs I/N with 0 <= I < N (part I of N, counted from 0, e.g. --slice 0/4 ... 3/4; "
                        "in a job array: --slice $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT), got '%s'",
                        text ? text : "nothing");
    *i = a;
    *n = b;
    return 0;
}

int sweep_slice_assign(const zoo_sweep *sw, int64_t n, int64_t *part)
{
    int64_t *ids = malloc((size_t)(sw->n_runs ? sw->n_runs : 1) * sizeof *ids);
    double *load = calloc((size_t)n, sizeof *load);
    int64_t *order = NULL;
    if (ids && load) {
        for (int64_t r = 0; r < sw->n_runs; r++)
            ids[r] = r;
        order = sweep_order_by_cost(sw, ids, sw->n_runs);
    }
    if (!order) {
        free(ids), free(load);
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory splitting %lld runs into %lld parts", (long long)sw->n_runs,
                        (long long)n);
    }
    /* Longest-processing-time-first: the classic greedy, within 4/3 of the best split. */
    for (int64_t k = 0; k < sw->n_runs; k++) {
        int64_t best = 0;
        for (int64_t p = 1; p < n; p++)
            if (load[p] < load[best])
                best = p;
        part[order[k]] = best;
        load[best] += sweep_run_cost(&sw->runs[order[k]]);
    }
    free(order), free(ids), free(load);
    return 0;
}

int sweep_slice_apply(zoo_sweep *sw, int64_t i, int64_t n)
{
    if (i < 0 || n < 1 || i >= n)
        return ZOO_FAIL(ZOO_ERR_INVALID, "slice %lld/%lld: need 0 <= I < N", (long long)i, (long long)n);
    int64_t *part = malloc((size_t)(sw->n_runs ? sw->n_runs : 1) * sizeof *part);
    if (!part)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    int rc = sweep_slice_assign(sw, n, part);
    if (!rc) {
        int64_t kept = 0;
        for (int64_t r = 0; r < sw->n_runs; r++)
            if (part[r] == i)
                sw->runs[kept++] = sw->runs[r]; /* specs are plain values: a move is a copy */
        sw->n_runs = kept;
    }
    free(part);
    return rc;
}

int sweep_slice_select(zoo_sweep *sw, const char *text)
{
    int64_t i = 0, n = 1; /* set by parse on success; initialised for -O2 flow analysis */
    int rc = sweep_slice_parse(text, &i, &n);
    return rc ? rc : sweep_slice_apply(sw, i, n);
}
