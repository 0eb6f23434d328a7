/* task.c: tasks as the core uses them. The stream helpers task plugins draw from,
 * generation of a set in parallel chunks (the plugin's generate must depend only on
 * the example index, so any chunking and thread count give the same bytes), the run
 * spec's task (its plugin, kept loaded for the life of the process, and its knob
 * values: the plugin's defaults, then the spec's task fields the plugin declares as
 * knobs, then task.<knob> keys), and the MQAR front of zoo/task.h. Loading and checking
 * the plugin files is plugin.c's. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "run_internal.h"
#include "zoo/error.h"
#include "zoo/plugin.h"
#include "zoo/run.h"
#include "zoo/task.h"

/* Examples per generate call: small enough to balance threads, large enough that a
 * task's per-call set-up (tables, scratch) is paid rarely. */
#define CHUNK 64

void zoo_task_rng_init(zoo_task_rng *r, uint64_t seed, uint64_t salt, int64_t index)
{
    /* The seed goes through the mixer first, so seeds s and s + 10 (train and test)
     * give unrelated streams, not shifted copies. */
    r->key = zoo_mix64(zoo_mix64(seed ^ salt) + (uint64_t)index);
    r->ctr = 0;
}

double zoo_task_rng_uniform(zoo_task_rng *r) { return zoo_hash_uniform(r->key, r->ctr++); }

int64_t zoo_task_rng_below(zoo_task_rng *r, int64_t n)
{
    int64_t x = (int64_t)(zoo_task_rng_uniform(r) * (double)n);
    return x < n ? x : n - 1;
}

void zoo_dataset_free(zoo_dataset *d)
{
    if (!d)
        return;
    free(d->inputs);
    free(d->labels);
    free(d->tags);
    memset(d, 0, sizeof *d);
}

int zoo_task_validate(const zoo_task *t, const zoo_hvals *h, const zoo_task_set *set)
{
    if (!t || !h || !set)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_task_validate: need a task, its knob values and a set");
    if (set->seq_len < 1 || set->vocab < 2)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: seq_len %lld and vocab %lld must be >= 1 and >= 2", t->name,
                        (long long)set->seq_len, (long long)set->vocab);
    if (!t->validate)
        return 0;
    char msg[768] = "";
    int rc = t->validate(h, set, msg, sizeof msg);
    if (!rc)
        return 0;
    msg[sizeof msg - 1] = 0;
    return ZOO_FAIL(rc == ZOO_ERR_UNSUPPORTED ? rc : ZOO_ERR_INVALID, "%s: %s", t->name,
                    msg[0] ? msg : "the task refused its knob values (it gave no reason)");
}

int zoo_task_generate(const zoo_task *t, const zoo_hvals *h, const zoo_task_set *set, int64_t n, zoo_dataset *out)
{
    if (!out)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_task_generate: no output dataset given");
    memset(out, 0, sizeof *out);
    int rc = zoo_task_validate(t, h, set);
    if (rc)
        return rc;
    const int64_t L = set->seq_len;
    if (n < 1)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: num_examples %lld must be >= 1", t->name, (long long)n);
    if ((uint64_t)n > (uint64_t)(SIZE_MAX / 2 / sizeof(int32_t)) / (uint64_t)L)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: %lld examples of length %lld do not fit in memory; use fewer", t->name,
                        (long long)n, (long long)L);
    int32_t *x = malloc((size_t)(n * L) * sizeof *x); /* (n, L) */
    int32_t *y = malloc((size_t)(n * L) * sizeof *y); /* (n, L) */
    int32_t *tags = t->tags ? calloc((size_t)n, sizeof *tags) : NULL; /* (n) */
    if (!x || !y || (t->tags && !tags)) {
        free(x), free(y), free(tags);
        return ZOO_FAIL(ZOO_ERR_NOMEM, "%s: cannot allocate %lld x %lld examples", t->name, (long long)n,
                        (long long)L);
    }
    int64_t chunks = (n + CHUNK - 1) / CHUNK;
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t c = 0; c < chunks; c++) {
        int64_t first = c * CHUNK, count = n - first < CHUNK ? n - first : CHUNK;
        if (t->generate(h, set, first, count, x + first * L, y + first * L, tags ? tags + first : NULL)) {
#pragma omp atomic write
            failed = 1;
        }
    }
    if (failed) {
        free(x), free(y), free(tags);
        return ZOO_FAIL(ZOO_ERR_NOMEM, "%s: generating %lld examples of length %lld failed (out of memory)",
                        t->name, (long long)n, (long long)L);
    }
    *out = (zoo_dataset){.n = n, .L = L, .vocab = set->vocab, .inputs = x, .labels = y, .tags = tags};
    return 0;
}

/* ---- the spec's task ---------------------------------------------------------------- */

/* Task plugins stay loaded once found: specs are checked often (every run of a sweep
 * file, every fuzz input), and a task's code must outlive the datasets made with it. */
#define MAX_LOADED 64
static struct {
    char name[64];
    zoo_plugin *p;
} loaded[MAX_LOADED];
static int n_loaded;
static pthread_mutex_t loaded_lock = PTHREAD_MUTEX_INITIALIZER;

int zoo_task_get(const char *name, const zoo_task **out)
{
    *out = NULL;
    pthread_mutex_lock(&loaded_lock);
    for (int i = 0; i < n_loaded; i++)
        if (!strcmp(loaded[i].name, name)) {
            *out = loaded[i].p->task;
            pthread_mutex_unlock(&loaded_lock);
            return 0;
        }
    zoo_plugin *p = NULL;
    int rc = zoo_task_find(name, &p);
    if (!rc) {
        if (n_loaded < MAX_LOADED && strlen(name) < sizeof loaded[0].name) {
            snprintf(loaded[n_loaded].name, sizeof loaded[0].name, "%s", name);
            loaded[n_loaded++].p = p;
            *out = p->task;
        } else {
            zoo_plugin_close(p);
            rc = ZOO_FAIL(ZOO_ERR_INVALID, "more than %d different tasks in one process", MAX_LOADED);
        }
    }
    pthread_mutex_unlock(&loaded_lock);
    return rc;
}

/* The run-spec fields that are knobs of the MQAR tasks: passed to a task that declares
 * a knob of the same name; any other task refuses a value other than the default. */
static const char *const spec_knobs[] = {"kv_pairs", "power_a", "random_non_queries"};

static const zoo_hparam *declared(const zoo_task *t, const char *name)
{
    for (const zoo_hparam *d = t->hparams; d && d->name; d++)
        if (!strcmp(d->name, name))
            return d;
    return NULL;
}

int zoo_run_spec_task(const zoo_run_spec *s, const zoo_task **task, zoo_hvals **hv)
{
    *hv = NULL;
    const zoo_task *t = NULL;
    int rc = zoo_task_get(s->task, &t);
    if (rc)
        return rc;
    zoo_hvals *h = NULL;
    if ((rc = zoo_hvals_new_task(t, &h)))
        return rc;
    zoo_run_spec def;
    zoo_run_spec_default(&def);
    for (size_t i = 0; i < sizeof spec_knobs / sizeof spec_knobs[0] && !rc; i++) {
        const zoo_run_field *f = zoo_run_spec_find(spec_knobs[i]);
        char v[128], d[128];
        if ((rc = zoo_run_field_format(s, f, v, sizeof v)) || (rc = zoo_run_field_format(&def, f, d, sizeof d)))
            break;
        if (declared(t, f->name))
            rc = zoo_hvals_set(h, f->name, v);
        else if (strcmp(v, d))
            rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s=%s: task '%s' has no knob %s (it is for the MQAR tasks); remove it",
                          f->name, v, t->name, f->name);
    }
    for (int i = 0; i < s->n_task_knobs && !rc; i++) {
        if (declared(t, s->task_knobs[i].name) && zoo_run_spec_find(s->task_knobs[i].name))
            rc = ZOO_FAIL(ZOO_ERR_INVALID, "task.%s: write it as %s, the run's own field", s->task_knobs[i].name,
                          s->task_knobs[i].name);
        else if ((rc = zoo_hvals_set(h, s->task_knobs[i].name, s->task_knobs[i].value)))
            zoo_error_prefix("task.%s: ", s->task_knobs[i].name);
    }
    if (rc) {
        zoo_hvals_free(h);
        return rc;
    }
    *task = t;
    *hv = h;
    return 0;
}

/* The seeds of a run's sets: the test set uses data_seed + 10, as the Zoology code. */
static zoo_task_set spec_set(const zoo_run_spec *s, zoo_split split)
{
    return (zoo_task_set){.vocab = s->vocab,
                          .seq_len = s->seq_len,
                          .seed = split == ZOO_SPLIT_TEST ? s->data_seed + 10 : s->data_seed,
                          .task_seed = s->data_seed,
                          .split = split};
}

int zoo_run_spec_check_task(const zoo_run_spec *s)
{
    const zoo_task *t;
    zoo_hvals *h;
    int rc = zoo_run_spec_task(s, &t, &h);
    if (rc)
        return rc;
    zoo_task_set tr = spec_set(s, ZOO_SPLIT_TRAIN), te = spec_set(s, ZOO_SPLIT_TEST);
    rc = zoo_task_validate(t, h, &tr);
    if (!rc)
        rc = zoo_task_validate(t, h, &te);
    zoo_hvals_free(h);
    return rc;
}

int zoo_run_spec_data(const zoo_run_spec *s, zoo_split split, zoo_dataset *out)
{
    if (!s || !out)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_run_spec_data: need a spec and a dataset");
    memset(out, 0, sizeof *out);
    const zoo_task *t;
    zoo_hvals *h;
    int rc = zoo_run_spec_task(s, &t, &h);
    if (rc)
        return rc;
    zoo_task_set set = spec_set(s, split);
    rc = zoo_task_generate(t, h, &set, split == ZOO_SPLIT_TEST ? s->test_examples : s->train_examples, out);
    zoo_hvals_free(h);
    return rc;
}

/* ---- MQAR through its plugin ------------------------------------------------------------ */

static int mqar_prepare(const zoo_mqar_spec *m, const zoo_task **t, zoo_hvals **h, zoo_task_set *set)
{
    *h = NULL;
    if (!m)
        return ZOO_FAIL(ZOO_ERR_INVALID, "mqar: no spec given");
    int rc = zoo_task_get("mqar", t);
    if (!rc)
        rc = zoo_hvals_new_task(*t, h);
    char k[64], a[64];
    snprintf(k, sizeof k, "%lld", (long long)m->kv_pairs);
    snprintf(a, sizeof a, "%.17g", m->power_a);
    if (!rc && ((rc = zoo_hvals_set(*h, "kv_pairs", k)) || (rc = zoo_hvals_set(*h, "power_a", a)) ||
                (rc = zoo_hvals_set(*h, "random_non_queries", m->random_non_queries ? "true" : "false")))) {
        zoo_hvals_free(*h);
        *h = NULL;
    }
    *set = (zoo_task_set){.vocab = m->vocab, .seq_len = m->seq_len, .seed = m->seed, .task_seed = m->seed};
    return rc;
}

int zoo_mqar_check(const zoo_mqar_spec *m)
{
    const zoo_task *t;
    zoo_hvals *h;
    zoo_task_set set;
    int rc = mqar_prepare(m, &t, &h, &set);
    if (!rc)
        rc = zoo_task_validate(t, h, &set);
    if (!rc && m->num_examples < 1)
        rc = ZOO_FAIL(ZOO_ERR_INVALID, "mqar: num_examples %lld must be >= 1", (long long)m->num_examples);
    zoo_hvals_free(h);
    return rc;
}

int zoo_mqar_generate(const zoo_mqar_spec *m, zoo_dataset *out)
{
    if (!out)
        return ZOO_FAIL(ZOO_ERR_INVALID, "mqar: no output dataset given");
    memset(out, 0, sizeof *out);
    const zoo_task *t;
    zoo_hvals *h;
    zoo_task_set set;
    int rc = mqar_prepare(m, &t, &h, &set);
    if (!rc)
        rc = zoo_task_generate(t, h, &set, m->num_examples, out);
    zoo_hvals_free(h);
    return rc;
}
