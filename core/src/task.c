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
    free(d->seg_start);
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
    int n_tags = 0;
    while (t->tags && t->tags[n_tags])
        n_tags++;
    if (n_tags > ZOO_MAX_TAGS)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s declares %d tags, at most %d are reported: shorten its tags list",
                        t->name, n_tags, ZOO_MAX_TAGS);
    int32_t *tags = n_tags ? calloc((size_t)n, sizeof *tags) : NULL; /* (n) */
    if (!x || !y || (n_tags && !tags)) {
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
    int64_t bad = -1;
    for (int64_t e = 0; tags && e < n && bad < 0; e++)
        if (tags[e] < 0 || tags[e] >= n_tags)
            bad = e;
    if (bad >= 0) {
        int tag = tags[bad];
        free(x), free(y), free(tags);
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s wrote tag %d for example %lld but declares %d tags (0..%d): fix its generate",
                        t->name, tag, (long long)bad, n_tags, n_tags - 1);
    }
    *out = (zoo_dataset){.n = n, .L = L, .vocab = set->vocab, .inputs = x, .labels = y, .tags = tags,
                         .n_tags = n_tags, .tag_names = n_tags ? t->tags : NULL};
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

/* The task and knob values of the run (g NULL) or of its segment g: the plugin's
 * defaults; for the run's own task the run fields it declares as knobs (a field other
 * than its default is refused for a task without that knob) and the run's task.<knob>
 * values; then the segment's own knobs. */
static int task_hvals(const zoo_run_spec *s, const zoo_segment *g, const zoo_task **task, zoo_hvals **hv)
{
    *hv = NULL;
    const char *name = g && g->task[0] ? g->task : s->task;
    const int own = !strcmp(name, s->task);
    const zoo_task *t = NULL;
    int rc = zoo_task_get(name, &t);
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
        else if (own && strcmp(v, d))
            rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s=%s: task '%s' has no knob %s (it is for the MQAR tasks); remove it",
                          f->name, v, t->name, f->name);
    }
    for (int i = 0; own && i < s->n_task_knobs && !rc; i++) {
        if (declared(t, s->task_knobs[i].name) && zoo_run_spec_find(s->task_knobs[i].name))
            rc = ZOO_FAIL(ZOO_ERR_INVALID, "task.%s: write it as %s, the run's own field", s->task_knobs[i].name,
                          s->task_knobs[i].name);
        else if ((rc = zoo_hvals_set(h, s->task_knobs[i].name, s->task_knobs[i].value)))
            zoo_error_prefix("task.%s: ", s->task_knobs[i].name);
    }
    for (int i = 0; g && i < g->n_knobs && !rc; i++)
        if ((rc = zoo_hvals_set(h, g->knobs[i].name, g->knobs[i].value)))
            zoo_error_prefix("segments[%d]: ", (int)(g - s->segments));
    if (rc) {
        zoo_hvals_free(h);
        return rc;
    }
    *task = t;
    *hv = h;
    return 0;
}

zoo_task_set zoo_task_run_set(int64_t vocab, int64_t seq_len, uint64_t data_seed, zoo_split split)
{
    return (zoo_task_set){.vocab = vocab,
                          .seq_len = seq_len,
                          .seed = split == ZOO_SPLIT_TEST ? data_seed + 10 : data_seed,
                          .task_seed = data_seed,
                          .split = split};
}

int zoo_run_spec_task(const zoo_run_spec *s, const zoo_task **task, zoo_hvals **hv)
{
    return task_hvals(s, NULL, task, hv);
}

/* The set of the run (g NULL) or of its segment g. Segment i draws from its own seed, so
 * two segments of one task and length are different examples. */
static zoo_task_set spec_set(const zoo_run_spec *s, const zoo_segment *g, zoo_split split)
{
    zoo_task_set set = zoo_task_run_set(s->vocab, g && g->seq_len ? g->seq_len : s->seq_len, s->data_seed, split);
    if (g)
        set.seed ^= (uint64_t)(g - s->segments + 1) * 0x9E3779B97F4A7C15ull;
    return set;
}

static int has_split(const zoo_run_spec *s, zoo_split split)
{
    for (int i = 0; i < s->n_segments; i++)
        if (s->segments[i].split == (int)split)
            return 1;
    return 0;
}

int zoo_run_spec_check_task(const zoo_run_spec *s)
{
    const zoo_task *t;
    zoo_hvals *h;
    int rc = 0;
    for (int sp = ZOO_SPLIT_TRAIN; sp <= ZOO_SPLIT_TEST && !rc; sp++) {
        if (has_split(s, (zoo_split)sp)) {
            for (int i = 0; i < s->n_segments && !rc; i++) {
                const zoo_segment *g = &s->segments[i];
                if (g->split != sp || (rc = task_hvals(s, g, &t, &h)))
                    continue;
                zoo_task_set set = spec_set(s, g, (zoo_split)sp);
                if ((rc = zoo_task_validate(t, h, &set)))
                    zoo_error_prefix("segments[%d]: ", i);
                zoo_hvals_free(h);
            }
        } else if (!(rc = task_hvals(s, NULL, &t, &h))) {
            zoo_task_set set = spec_set(s, NULL, (zoo_split)sp);
            rc = zoo_task_validate(t, h, &set);
            zoo_hvals_free(h);
        }
    }
    return rc;
}

/* Examples of segment g of `split`. */
static int64_t seg_examples(const zoo_run_spec *s, const zoo_segment *g, zoo_split split)
{
    return g->examples ? g->examples : split == ZOO_SPLIT_TEST ? s->test_examples : s->train_examples;
}

int64_t zoo_run_spec_examples(const zoo_run_spec *s, zoo_split split)
{
    if (!has_split(s, split))
        return split == ZOO_SPLIT_TEST ? s->test_examples : s->train_examples;
    int64_t n = 0;
    for (int i = 0; i < s->n_segments; i++)
        if (s->segments[i].split == (int)split)
            n += seg_examples(s, &s->segments[i], split);
    return n;
}

int64_t zoo_run_spec_steps_per_epoch(const zoo_run_spec *s, int64_t B)
{
    if (B < 1)
        return 0;
    if (!has_split(s, ZOO_SPLIT_TRAIN))
        return (s->train_examples + B - 1) / B;
    int64_t steps = 0; /* batches never mix segments */
    for (int i = 0; i < s->n_segments; i++)
        if (s->segments[i].split == ZOO_SPLIT_TRAIN)
            steps += (seg_examples(s, &s->segments[i], ZOO_SPLIT_TRAIN) + B - 1) / B;
    return steps;
}

/* One segment's set into rows [row, row + its examples) of the padded arrays of out. */
static int segment_into(const zoo_run_spec *s, const zoo_segment *g, zoo_split split, zoo_dataset *out, int64_t row,
                        int *tags_ok)
{
    const zoo_task *t;
    zoo_hvals *h;
    int rc = task_hvals(s, g, &t, &h);
    if (rc)
        return rc;
    zoo_task_set set = spec_set(s, g, split);
    zoo_dataset d;
    int64_t n = seg_examples(s, g, split);
    rc = zoo_task_generate(t, h, &set, n, &d);
    zoo_hvals_free(h);
    if (rc) {
        zoo_error_prefix("segments[%d]: ", (int)(g - s->segments));
        return rc;
    }
    const int64_t L = out->L, Ls = d.L;
    for (int64_t r = 0; r < n; r++) { /* right padding: causal mixers never see it from earlier positions */
        int32_t *x = out->inputs + (row + r) * L, *y = out->labels + (row + r) * L;
        memcpy(x, d.inputs + r * Ls, (size_t)Ls * sizeof *x);
        memcpy(y, d.labels + r * Ls, (size_t)Ls * sizeof *y);
        for (int64_t c = Ls; c < L; c++) {
            x[c] = 0;
            y[c] = ZOO_IGNORE_LABEL;
        }
    }
    if (d.tags && out->tags && (!out->tag_names || out->tag_names == d.tag_names)) {
        memcpy(out->tags + row, d.tags, (size_t)n * sizeof *d.tags);
        out->n_tags = d.n_tags;
        out->tag_names = d.tag_names;
    } else {
        *tags_ok = 0;
    }
    zoo_dataset_free(&d);
    return 0;
}

int zoo_run_spec_data(const zoo_run_spec *s, zoo_split split, zoo_dataset *out)
{
    if (!s || !out)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_run_spec_data: need a spec and a dataset");
    memset(out, 0, sizeof *out);
    const zoo_task *t;
    zoo_hvals *h;
    int rc;
    if (!has_split(s, split)) {
        if ((rc = task_hvals(s, NULL, &t, &h)))
            return rc;
        zoo_task_set set = spec_set(s, NULL, split);
        rc = zoo_task_generate(t, h, &set, split == ZOO_SPLIT_TEST ? s->test_examples : s->train_examples, out);
        zoo_hvals_free(h);
        return rc;
    }
    /* Segments of this split, one after another in the spec's order. */
    int ns = 0;
    int64_t n = zoo_run_spec_examples(s, split);
    for (int i = 0; i < s->n_segments; i++)
        ns += s->segments[i].split == (int)split;
    const int64_t L = s->seq_len;
    out->n = n, out->L = L, out->vocab = s->vocab, out->n_segments = ns;
    out->inputs = malloc((size_t)(n * L) * sizeof *out->inputs);
    out->labels = malloc((size_t)(n * L) * sizeof *out->labels);
    out->tags = calloc((size_t)n, sizeof *out->tags);
    out->seg_start = malloc((size_t)(ns + 1) * sizeof *out->seg_start);
    if (!out->inputs || !out->labels || !out->tags || !out->seg_start) {
        zoo_dataset_free(out);
        return ZOO_FAIL(ZOO_ERR_NOMEM, "cannot allocate %lld x %lld examples of %d segments", (long long)n,
                        (long long)L, ns);
    }
    int k = 0, tags_ok = 1;
    int64_t row = 0;
    for (int i = 0; i < s->n_segments; i++) {
        const zoo_segment *g = &s->segments[i];
        if (g->split != (int)split)
            continue;
        out->seg_start[k++] = row;
        if ((rc = segment_into(s, g, split, out, row, &tags_ok))) {
            zoo_dataset_free(out);
            return rc;
        }
        row += seg_examples(s, g, split);
    }
    out->seg_start[ns] = row;
    if (!tags_ok) { /* tags mean something only when every segment's task gives the same ones */
        free(out->tags);
        out->tags = NULL;
        out->n_tags = 0;
        out->tag_names = NULL;
    }
    return 0;
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
