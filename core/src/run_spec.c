/* run_spec.c: the flat run spec, driven by one table of fields (name, YAML section,
 * type, member, default, range or names, unit, help): flags and YAML set fields through
 * it, and the defaults, the checks, the "key=value" text form, the stable hash and
 * `zoo train --help` all read it. Plus the FLOP estimate. Knob values stay text here;
 * the plugin checks them when the model is built (model.c). The task's checks are
 * task.c's (zoo_run_spec_check calls them); nothing else here loads plugins or data. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_internal.h"
#include "zoo/run.h"
#include "zoo/suggest.h"
#include "zoo/task.h"

/* ---- the table ------------------------------------------------------------------------ */

/* Shorthands for the table: a field's type with its member, and the flags. */
#define INF HUGE_VAL
#define F(type, m) ZOO_FIELD_##type, offsetof(zoo_run_spec, m), sizeof(((zoo_run_spec *)0)->m)
#define LO_OPEN ZOO_FIELD_LO_OPEN
#define HI_OPEN ZOO_FIELD_HI_OPEN
#define UNHASHED ZOO_FIELD_UNHASHED
#define HASH_IF_SET ZOO_FIELD_HASH_IF_SET
#define AUTO0 ZOO_FIELD_AUTO0

static const zoo_run_choice state_mixers[] = {{"identity", ZOO_STATE_IDENTITY}, {"mlp", ZOO_STATE_MLP}, {NULL, 0}};
static const zoo_run_choice pos_embs[] = {{"auto", -1}, {"off", 0},   {"on", 1},    {"-1", -1},
                                          {"0", 0},     {"1", 1},     {"false", 0}, {"true", 1},
                                          {"no", 0},    {"yes", 1},   {NULL, 0}};
/* auto came after results existed: cpu and cuda keep their text, so their runs keep
 * their hashes; an auto run hashes as "backend=auto" wherever it ends up running (the
 * results file's backend column says where). */
static const zoo_run_choice backends[] = {
    {"cpu", ZOO_BACKEND_CPU}, {"cuda", ZOO_BACKEND_CUDA}, {"auto", ZOO_BACKEND_AUTO}, {NULL, 0}};

/* The order is the text form's and so the hash's: never reorder or rename, and append a
 * new field with ZOO_FIELD_HASH_IF_SET, or every existing run changes its hash.
 * lr: the paper sweeps logspace(-4, -2, 4); a single run has to pick one. We take the
 * grid's third value, 10^(-8/3): in our probes of attention at D=64, L=64, K=4 it left
 * the 1-in-4 plateau first (1e-2 and 4.6e-4 were still on it after 6 epochs); the
 * learning test in tests/model uses it. Written out so the default does not depend on
 * the platform's pow(). */
static const zoo_run_field fields[] = {
    /* name, section, F(type, member), default, lo, hi, flags, choices, unit, help, YAML name, resolve */
    {"task", "task", F(NAME, task), "mqar", 0, 0, 0, NULL, "", "the task plugin (zoo plugins lists them; docs/tasks.md); its knobs are task.<knob>", "name", NULL},
    {"vocab", "task", F(INT, vocab), "8192", 1, 1 << 24, 0, NULL, "tokens", "vocabulary size V (the task needs V > seq_len)", NULL, NULL},
    {"seq_len", "task", F(INT, seq_len), "64", 1, 1 << 20, 0, NULL, "tokens", "tokens per example L (mqar needs L even, >= 4)", NULL, NULL},
    {"kv_pairs", "task", F(INT, kv_pairs), "4", 1, INF, 0, NULL, "pairs", "MQAR tasks: key-value pairs K per example, each queried once (4K <= L)", NULL, NULL},
    {"train_examples", "task", F(INT, train_examples), "100000", 1, INF, 0, NULL, "examples", "training set size", NULL, NULL},
    {"test_examples", "task", F(INT, test_examples), "3000", 1, INF, 0, NULL, "examples", "test set size", NULL, NULL},
    {"power_a", "task", F(FLOAT, power_a), "0.01", 0, INF, LO_OPEN, NULL, "", "MQAR tasks: query distances: slot i weighs a(i+1)^(a-1); small a asks soon after the pairs, 1 is uniform", NULL, NULL},
    {"random_non_queries", "task", F(BOOL, random_non_queries), "false", 0, 1, 0, NULL, "", "MQAR tasks: fill the blanks between queries with random tokens", NULL, NULL},
    {"data_seed", "task", F(UINT, data_seed), "0", 0, 0, 0, NULL, "", "seed of the training set; the test set uses data_seed + 10", NULL, NULL},
    {"d_model", "model", F(INT, d_model), "64", 1, 1 << 16, 0, NULL, "channels", "model width D (docs/model.md)", NULL, NULL},
    {"n_layers", "model", F(INT, n_layers), "2", 1, 256, 0, NULL, "layers", "blocks; layer l uses entry l mod n of the mixer pattern", NULL, NULL},
    {"mixer", "model", F(MIXER, mixers), "attention", 0, 0, 0, NULL, "", "sequence mixer, or a per-layer pattern [base_conv, based]; knobs as <mixer>.<knob> (docs/mixers.md)", NULL, NULL},
    {"state_mixer", "model", F(CHOICE, state_mixer), "identity", 0, 0, 0, state_mixers, "", "after each mixer: identity (the paper's) or an MLP D -> 4D -> D", NULL, NULL},
    {"pos_emb", "model", F(CHOICE, pos_emb), "auto", 0, 0, 0, pos_embs, "", "learned absolute positions; auto: only when a layer is attention", NULL, NULL},
    {"embed_dropout", "model", F(FLOAT, embed_dropout), "0.1", 0, 1, HI_OPEN, NULL, "", "dropout probability on the embeddings", NULL, NULL},
    {"lr", "train", F(FLOAT, lr), "0.0021544346900318843", 0, INF, LO_OPEN, NULL, "", "peak learning rate, cosine-annealed per epoch (docs/training.md)", NULL, NULL},
    {"weight_decay", "train", F(FLOAT, weight_decay), "0.1", 0, INF, 0, NULL, "", "AdamW decoupled weight decay, on every parameter", NULL, NULL},
    {"beta1", "train", F(FLOAT, beta1), "0.9", 0, 1, HI_OPEN, NULL, "", "AdamW first-moment decay", NULL, NULL},
    {"beta2", "train", F(FLOAT, beta2), "0.999", 0, 1, HI_OPEN, NULL, "", "AdamW second-moment decay", NULL, NULL},
    {"adam_eps", "train", F(FLOAT, adam_eps), "1e-8", 0, INF, LO_OPEN, NULL, "", "AdamW epsilon, added outside the square root", NULL, NULL},
    {"epochs", "train", F(INT, epochs), "64", 1, 1 << 24, 0, NULL, "epochs", "passes over the training set; the cosine schedule spans them all", NULL, NULL},
    {"batch_size", "train", F(INT, batch_size), "0", 0, INF, 0, NULL, "examples", "training batch; 0: by L, 512 for L <= 128, 256 for L <= 256, 128 for L <= 512, else 64", NULL, zoo_run_spec_batch},
    {"eval_batch_size", "train", F(INT, eval_batch_size), "0", 0, INF, 0, NULL, "examples", "evaluation batch; 0: the training batch", NULL, zoo_run_spec_eval_batch},
    {"early_stop", "train", F(FLOAT, early_stop), "0.99", -INF, INF, 0, NULL, "", "stop after an epoch whose test accuracy is above this; > 1 never stops", NULL, NULL},
    {"seed", "train", F(UINT, seed), "123", 0, 0, 0, NULL, "", "run seed: initialisation, dropout masks, shuffles", NULL, NULL},
    {"threads", "train", F(INT, threads), "0", 0, 1024, UNHASHED, NULL, "threads", "worker threads (results do not change); 0: OMP_NUM_THREADS, SLURM_CPUS_PER_TASK, all cores", NULL, NULL},
    {"backend", "train", F(CHOICE, backend), "cpu", 0, 0, 0, backends, "", "where the run computes: cpu; cuda (a GPU, refused where none can run it); auto (the GPU when the cuda backend can run the model here, else the CPU, saying why); docs/backends.md", NULL, NULL},
    /* Added later: hashed only when true, so every run made before keeps its hash. */
    {"tf32", "train", F(BOOL, tf32), "false", 0, 1, HASH_IF_SET, NULL, "", "let CUDA matrix products use TF32 tensor cores (faster, ~1e-3 relative error); only affects the cuda backend, recorded on the CPU", NULL, NULL},
    {"ranks", "train", F(INT, ranks), "1", 0, 4096, HASH_IF_SET | AUTO0, NULL, "ranks", "processes training the run data-parallel, each on a share of every batch (docs/training.md); auto: a sweep picks it from the run's cost", NULL, NULL},
    /* Added with task plugins: no segments writes nothing, so every earlier run keeps its hash. */
    {"segments", "task", ZOO_FIELD_SEGMENTS, offsetof(zoo_run_spec, segments), sizeof(((zoo_run_spec *)0)->segments), "none", 0, 0, HASH_IF_SET, NULL, "", "data segments: \"train seq_len=64 examples=1000 kv_pairs=4; test seq_len=256 kv_pairs=16\" (docs/tasks.md); none: the run's own train and test sets", NULL, NULL},
};
#define N_FIELDS ((int)(sizeof fields / sizeof fields[0]))

int zoo_run_spec_nfields(void) { return N_FIELDS; }

const zoo_run_field *zoo_run_spec_field(int i) { return i >= 0 && i < N_FIELDS ? &fields[i] : NULL; }

const zoo_run_field *zoo_run_spec_find(const char *name)
{
    for (int i = 0; name && i < N_FIELDS; i++)
        if (!strcmp(fields[i].name, name))
            return &fields[i];
    return NULL;
}

/* ---- members by offset ------------------------------------------------------------------ */

/* INT, BOOL and CHOICE members are int, an enum (int-sized) or int64_t; memcpy keeps
 * this free of alignment and aliasing assumptions. */
static int64_t get_int(const zoo_run_spec *s, const zoo_run_field *f)
{
    const char *p = (const char *)s + f->offset;
    if (f->size == sizeof(int64_t)) {
        int64_t v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    int v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void put_int(zoo_run_spec *s, const zoo_run_field *f, int64_t x)
{
    char *p = (char *)s + f->offset;
    if (f->size == sizeof(int64_t)) {
        memcpy(p, &x, sizeof x);
    } else {
        int v = (int)x;
        memcpy(p, &v, sizeof v);
    }
}

static double get_float(const zoo_run_spec *s, const zoo_run_field *f)
{
    const char *p = (const char *)s + f->offset;
    if (f->size == sizeof(float)) {
        float v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    double v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint64_t get_uint(const zoo_run_spec *s, const zoo_run_field *f)
{
    uint64_t v;
    memcpy(&v, (const char *)s + f->offset, sizeof v);
    return v;
}

/* ---- allowed values ----------------------------------------------------------------------- */

/* Shortest "%.Ng" that reads back to exactly the same double (so format -> set is
 * lossless and the hash does not depend on printing noise). */
static void fmt_double(char *out, size_t n, double v)
{
    for (int p = 1; p <= 17; p++) {
        snprintf(out, n, "%.*g", p, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

static void fmt_float(char *out, size_t n, float v)
{
    for (int p = 1; p <= 9; p++) {
        snprintf(out, n, "%.*g", p, (double)v);
        if (strtof(out, NULL) == v)
            return;
    }
}

static int in_range(const zoo_run_field *f, double v)
{
    if (f->flags & ZOO_FIELD_LO_OPEN ? !(v > f->lo) : !(v >= f->lo))
        return 0;
    return f->flags & ZOO_FIELD_HI_OPEN ? v < f->hi : v <= f->hi;
}

/* "a, b or c": the written name of each value. */
static void choice_list(const zoo_run_choice *c, char *buf, size_t n)
{
    int k = 0, total = 0;
    for (int i = 0; c[i].name; i++) {
        int first = 1;
        for (int j = 0; j < i; j++)
            first &= c[j].value != c[i].value;
        total += first;
    }
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; c[i].name && len < n; i++) {
        int first = 1;
        for (int j = 0; j < i; j++)
            first &= c[j].value != c[i].value;
        if (!first)
            continue;
        const char *sep = k == 0 ? "" : k == total - 1 ? " or " : ", ";
        len += (size_t)snprintf(buf + len, n - len, "%s%s", sep, c[i].name);
        k++;
    }
}

void zoo_run_field_allowed(const zoo_run_field *f, char *buf, size_t n)
{
    if (!buf || !n)
        return;
    buf[0] = 0;
    if (!f)
        return;
    char lo[64], hi[64];
    fmt_double(lo, sizeof lo, f->lo);
    fmt_double(hi, sizeof hi, f->hi);
    const char *what = f->type == ZOO_FIELD_INT ? "integer" : "finite number";
    switch (f->type) {
    case ZOO_FIELD_INT:
    case ZOO_FIELD_FLOAT:
        if (isinf(f->lo) && isinf(f->hi))
            snprintf(buf, n, "any %s", what);
        else if (isinf(f->hi))
            snprintf(buf, n, "%s %s", f->flags & ZOO_FIELD_LO_OPEN ? ">" : ">=", lo);
        else if (isinf(f->lo))
            snprintf(buf, n, "%s %s", f->flags & ZOO_FIELD_HI_OPEN ? "<" : "<=", hi);
        else
            snprintf(buf, n, "in %s%s, %s%s%s", f->flags & ZOO_FIELD_LO_OPEN ? "(" : "[", lo, hi,
                     f->flags & ZOO_FIELD_HI_OPEN ? ")" : "]", f->flags & ZOO_FIELD_AUTO0 ? " or auto" : "");
        break;
    case ZOO_FIELD_UINT:
        snprintf(buf, n, "any non-negative integer");
        break;
    case ZOO_FIELD_BOOL:
        snprintf(buf, n, "true or false");
        break;
    case ZOO_FIELD_CHOICE:
    case ZOO_FIELD_NAME:
        if (f->choices)
            choice_list(f->choices, buf, n);
        else
            snprintf(buf, n, "a plugin name (letters, digits, '_', '-')");
        break;
    case ZOO_FIELD_MIXER:
        snprintf(buf, n, "a mixer name or a pattern [name, ...] of 1 to %d", ZOO_MAX_PATTERN);
        break;
    case ZOO_FIELD_SEGMENTS:
        snprintf(buf, n, "up to %d segments 'train|test [task=T] [seq_len=L] [examples=N] [knob=V ...]' separated by ';'",
                 ZOO_MAX_SEGMENTS);
        break;
    }
}

/* "set lr > 0" / "set backend to cpu or cuda": the fix for a value out of bounds. */
static void fix_text(const zoo_run_field *f, char *buf, size_t n)
{
    char allowed[256];
    zoo_run_field_allowed(f, allowed, sizeof allowed);
    int bound = allowed[0] == '>' || allowed[0] == '<' || !strncmp(allowed, "in ", 3);
    snprintf(buf, n, "set %s %s%s (default %s)", f->name, bound ? "" : "to ", allowed, f->def);
}

/* ---- defaults ------------------------------------------------------------------------------ */

static int set_field(zoo_run_spec *s, const zoo_run_field *f, const char *v);

void zoo_run_spec_default(zoo_run_spec *s)
{
    memset(s, 0, sizeof *s);
    /* The defaults parse (tests/model/test_spec_table.c checks each), so this sets
     * every field and records no error. */
    for (int i = 0; i < N_FIELDS; i++)
        set_field(s, &fields[i], fields[i].def);
}

int64_t zoo_run_spec_batch(const zoo_run_spec *s)
{
    if (s->batch_size > 0)
        return s->batch_size;
    if (s->seq_len <= 128)
        return 512;
    if (s->seq_len <= 256)
        return 256;
    if (s->seq_len <= 512)
        return 128;
    return 64;
}

int64_t zoo_run_spec_eval_batch(const zoo_run_spec *s)
{
    return s->eval_batch_size > 0 ? s->eval_batch_size : zoo_run_spec_batch(s);
}

/* ---- checks ----------------------------------------------------------------------- */

static int check_mixers(const zoo_run_spec *s)
{
    if (s->n_mixers < 1 || s->n_mixers > ZOO_MAX_PATTERN)
        return ZOO_FAIL(ZOO_ERR_INVALID, "the mixer pattern has %d entries: give 1 to %d mixers", s->n_mixers,
                        ZOO_MAX_PATTERN);
    /* Layer l uses entry l mod n: entries past n_layers would never run, yet the run's
     * name and results row would list them. */
    if (s->n_mixers > s->n_layers)
        return ZOO_FAIL(ZOO_ERR_INVALID,
                        "mixer pattern has %d entries but n_layers is %d: give at most n_layers mixers or raise n_layers",
                        s->n_mixers, s->n_layers);
    for (int i = 0; i < s->n_mixers; i++) {
        if (!s->mixers[i].name[0])
            return ZOO_FAIL(ZOO_ERR_INVALID, "mixer %d has no name: set mixer to e.g. attention", i);
        if (s->mixers[i].n_knobs < 0 || s->mixers[i].n_knobs > ZOO_MAX_KNOBS)
            return ZOO_FAIL(ZOO_ERR_INVALID, "mixer %d (%s) has %d knobs: at most %d", i, s->mixers[i].name,
                            s->mixers[i].n_knobs, ZOO_MAX_KNOBS);
    }
    return 0;
}

static int check_segments(const zoo_run_spec *s)
{
    if (s->n_segments < 0 || s->n_segments > ZOO_MAX_SEGMENTS)
        return ZOO_FAIL(ZOO_ERR_INVALID, "segments: %d given, at most %d", s->n_segments, ZOO_MAX_SEGMENTS);
    for (int i = 0; i < s->n_segments; i++) {
        const zoo_segment *g = &s->segments[i];
        if (g->split != ZOO_SPLIT_TRAIN && g->split != ZOO_SPLIT_TEST)
            return ZOO_FAIL(ZOO_ERR_INVALID, "segments[%d]: split %d is neither train nor test", i, g->split);
        if (g->seq_len < 0 || g->seq_len > s->seq_len)
            return ZOO_FAIL(ZOO_ERR_INVALID,
                            "segments[%d]: seq_len=%lld is longer than the run's seq_len=%lld, the longest sequence the "
                            "model is built for: raise seq_len to at least %lld",
                            i, (long long)g->seq_len, (long long)s->seq_len, (long long)g->seq_len);
        if (g->examples < 0 || g->n_knobs < 0 || g->n_knobs > ZOO_SEGMENT_KNOBS)
            return ZOO_FAIL(ZOO_ERR_INVALID, "segments[%d]: examples %lld or %d knobs out of range", i,
                            (long long)g->examples, g->n_knobs);
    }
    return 0;
}

static const zoo_run_choice *choice_of_value(const zoo_run_choice *c, int64_t v)
{
    for (int i = 0; c[i].name; i++)
        if (c[i].value == v)
            return &c[i];
    return NULL;
}

static const zoo_run_choice *choice_of_name(const zoo_run_choice *c, const char *name, int fold_case);
static int is_ident(const char *s);

/* One field against its range or names: "<name>=<value>: set <name> <allowed> (default ..)". */
static int check_field(const zoo_run_spec *s, const zoo_run_field *f)
{
    char fix[400];
    fix_text(f, fix, sizeof fix);
    switch (f->type) {
    case ZOO_FIELD_INT: {
        int64_t v = get_int(s, f);
        if (!in_range(f, (double)v))
            return ZOO_FAIL(ZOO_ERR_INVALID, "%s=%lld: %s", f->name, (long long)v, fix);
        return 0;
    }
    case ZOO_FIELD_FLOAT: {
        double v = get_float(s, f);
        if (!isfinite(v) || !in_range(f, v))
            return ZOO_FAIL(ZOO_ERR_INVALID, "%s=%g: %s", f->name, v, fix);
        return 0;
    }
    case ZOO_FIELD_BOOL: {
        int64_t v = get_int(s, f);
        if (v != 0 && v != 1)
            return ZOO_FAIL(ZOO_ERR_INVALID, "%s=%lld: %s", f->name, (long long)v, fix);
        return 0;
    }
    case ZOO_FIELD_CHOICE: {
        int64_t v = get_int(s, f);
        if (!choice_of_value(f->choices, v))
            return ZOO_FAIL(ZOO_ERR_INVALID, "%s=%lld: %s", f->name, (long long)v, fix);
        return 0;
    }
    case ZOO_FIELD_NAME: {
        const char *v = (const char *)s + f->offset;
        if (!memchr(v, 0, f->size) || (f->choices ? !choice_of_name(f->choices, v, 0) : !is_ident(v)))
            return ZOO_FAIL(ZOO_ERR_INVALID, "%s=%.*s: %s", f->name, (int)strnlen(v, f->size), v, fix);
        return 0;
    }
    case ZOO_FIELD_MIXER:
        return check_mixers(s);
    case ZOO_FIELD_SEGMENTS:
        return check_segments(s);
    case ZOO_FIELD_UINT:
        return 0;
    }
    return 0;
}

int zoo_run_spec_check(const zoo_run_spec *s)
{
    if (!s)
        return ZOO_FAIL(ZOO_ERR_INVALID, "no run spec");
    for (int i = 0; i < N_FIELDS; i++) {
        int rc = check_field(s, &fields[i]);
        if (rc)
            return rc;
    }
    if (s->n_task_knobs < 0 || s->n_task_knobs > ZOO_MAX_KNOBS)
        return ZOO_FAIL(ZOO_ERR_INVALID, "the task has %d knobs set: at most %d", s->n_task_knobs, ZOO_MAX_KNOBS);
    /* Constraints between fields: the task plugin's (mqar: 4K <= L, V > L, ...). */
    return zoo_run_spec_check_task(s);
}

/* ---- text form ---------------------------------------------------------------------- */

typedef struct outbuf {
    char *buf;
    size_t n, len; /* len counts what would have been written */
} outbuf;

static void put(outbuf *o, const char *key, const char *val)
{
    size_t room = o->len < o->n ? o->n - o->len : 0;
    int k = snprintf(room ? o->buf + o->len : NULL, room, "%s=%s\n", key, val);
    if (k > 0)
        o->len += (size_t)k;
}

static int knob_cmp(const void *a, const void *b)
{
    return strcmp(((const zoo_knob *)a)->name, ((const zoo_knob *)b)->name);
}

static int clamp_mixers(const zoo_run_spec *s)
{
    return s->n_mixers < 0 ? 0 : s->n_mixers > ZOO_MAX_PATTERN ? ZOO_MAX_PATTERN : s->n_mixers;
}

int zoo_run_field_format(const zoo_run_spec *s, const zoo_run_field *f, char *v, size_t n)
{
    if (!s || !f || !v || !n)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_run_field_format: no spec, field or buffer");
    int k = 0;
    switch (f->type) {
    case ZOO_FIELD_INT:
    case ZOO_FIELD_BOOL:
        if ((f->flags & ZOO_FIELD_AUTO0) && get_int(s, f) == 0)
            k = snprintf(v, n, "auto");
        else
            k = snprintf(v, n, "%lld", (long long)(f->resolve ? f->resolve(s) : get_int(s, f)));
        break;
    case ZOO_FIELD_UINT:
        k = snprintf(v, n, "%llu", (unsigned long long)get_uint(s, f));
        break;
    case ZOO_FIELD_FLOAT: {
        char t[64];
        if (f->size == sizeof(float))
            fmt_float(t, sizeof t, (float)get_float(s, f));
        else
            fmt_double(t, sizeof t, get_float(s, f));
        k = snprintf(v, n, "%s", t);
        break;
    }
    case ZOO_FIELD_CHOICE: {
        int64_t x = get_int(s, f);
        const zoo_run_choice *c = choice_of_value(f->choices, x);
        k = c ? snprintf(v, n, "%s", c->name) : snprintf(v, n, "%lld", (long long)x);
        break;
    }
    case ZOO_FIELD_NAME: {
        const char *x = (const char *)s + f->offset;
        k = snprintf(v, n, "%.*s", (int)strnlen(x, f->size), x);
        break;
    }
    case ZOO_FIELD_SEGMENTS: {
        size_t len = 0;
        v[0] = 0;
        int ns = s->n_segments < 0 ? 0 : s->n_segments > ZOO_MAX_SEGMENTS ? ZOO_MAX_SEGMENTS : s->n_segments;
        if (!ns)
            len = (size_t)snprintf(v, n, "none");
        for (int i = 0; i < ns; i++) {
            char one[1024];
            zoo_segment_format(&s->segments[i], one, sizeof one);
            len += (size_t)snprintf(len < n ? v + len : NULL, len < n ? n - len : 0, "%s%s", i ? "; " : "", one);
        }
        k = (int)len;
        break;
    }
    case ZOO_FIELD_MIXER: {
        int nm = clamp_mixers(s);
        if (nm == 1) {
            k = snprintf(v, n, "%s", s->mixers[0].name);
            break;
        }
        size_t len = (size_t)snprintf(v, n, "[");
        for (int i = 0; i < nm; i++)
            len += (size_t)snprintf(len < n ? v + len : NULL, len < n ? n - len : 0, i ? ", %s" : "%s",
                                    s->mixers[i].name);
        len += (size_t)snprintf(len < n ? v + len : NULL, len < n ? n - len : 0, "]");
        k = (int)len;
        break;
    }
    }
    if (k < 0 || (size_t)k >= n)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: its text needs %d bytes, the buffer has %zu: pass a larger buffer",
                        f->name, k + 1, n);
    return 0;
}

/* The knob lines of every pattern entry, sorted by knob name so the order in which
 * knobs were set does not change the hash. */
static void put_knobs(outbuf *o, const zoo_run_spec *s)
{
    for (int i = 0; i < clamp_mixers(s); i++) {
        zoo_knob kn[ZOO_MAX_KNOBS];
        int nk = s->mixers[i].n_knobs < 0              ? 0
                 : s->mixers[i].n_knobs > ZOO_MAX_KNOBS ? ZOO_MAX_KNOBS
                                                        : s->mixers[i].n_knobs;
        memcpy(kn, s->mixers[i].knobs, (size_t)nk * sizeof kn[0]);
        qsort(kn, (size_t)nk, sizeof kn[0], knob_cmp);
        for (int j = 0; j < nk; j++) {
            char key[128];
            snprintf(key, sizeof key, "mixer.%d.%.63s", i, kn[j].name);
            put(o, key, kn[j].value);
        }
    }
}

/* The task's knob lines, sorted; none set writes nothing, so runs made before tasks
 * had knobs keep their hash. */
static void put_task_knobs(outbuf *o, const zoo_run_spec *s)
{
    zoo_knob kn[ZOO_MAX_KNOBS];
    int nk = s->n_task_knobs < 0 ? 0 : s->n_task_knobs > ZOO_MAX_KNOBS ? ZOO_MAX_KNOBS : s->n_task_knobs;
    memcpy(kn, s->task_knobs, (size_t)nk * sizeof kn[0]);
    qsort(kn, (size_t)nk, sizeof kn[0], knob_cmp);
    for (int j = 0; j < nk; j++) {
        char key[128];
        snprintf(key, sizeof key, "task.%.63s", kn[j].name);
        put(o, key, kn[j].value);
    }
}

/* for_hash: leave out what the hash must not see (threads; fields added later while
 * at their default). */
static int format_impl(const zoo_run_spec *s, char *buf, size_t n, int for_hash)
{
    outbuf o = {buf, n, 0};
    char v[1024], d[1024];
    zoo_run_spec def;
    int have_def = 0;
    for (int i = 0; i < N_FIELDS; i++) {
        const zoo_run_field *f = &fields[i];
        if (for_hash && (f->flags & ZOO_FIELD_UNHASHED))
            continue;
        if (zoo_run_field_format(s, f, v, sizeof v))
            return zoo_error_last()->code;
        if (for_hash && (f->flags & ZOO_FIELD_HASH_IF_SET)) {
            if (!have_def)
                zoo_run_spec_default(&def), have_def = 1;
            if (!zoo_run_field_format(&def, f, d, sizeof d) && !strcmp(v, d))
                continue;
        }
        put(&o, f->name, v);
        if (f->type == ZOO_FIELD_MIXER)
            put_knobs(&o, s);
        if (f->offset == offsetof(zoo_run_spec, task))
            put_task_knobs(&o, s);
    }
    if (o.len >= n)
        return ZOO_FAIL(ZOO_ERR_INVALID, "run spec text needs %zu bytes, the buffer has %zu: pass a larger buffer",
                        o.len + 1, n);
    return 0;
}

int zoo_run_spec_format(const zoo_run_spec *s, char *buf, size_t n)
{
    if (!s || !buf || !n)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_run_spec_format: no spec or buffer");
    return format_impl(s, buf, n, 0);
}

void zoo_run_spec_hash(const zoo_run_spec *s, char out[17])
{
    /* Big enough for every field and (ZOO_MAX_PATTERN + 1) x ZOO_MAX_KNOBS knobs. */
    static _Thread_local char text[(ZOO_MAX_PATTERN + 1) * ZOO_MAX_KNOBS * 220 + 4096];
    text[0] = 0;
    format_impl(s, text, sizeof text, 1);
    uint64_t h = 1469598103934665603ull; /* FNV-1a 64 */
    for (const char *c = text; *c; c++)
        h = (h ^ (uint8_t)*c) * 1099511628211ull;
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* ---- setting one field from text ------------------------------------------------------- */

/* Case-insensitive equality of whole strings. */
static int ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return *a == *b;
}

static const zoo_run_choice *choice_of_name(const zoo_run_choice *c, const char *name, int fold_case)
{
    for (int i = 0; c[i].name; i++)
        if (fold_case ? ieq(c[i].name, name) : !strcmp(c[i].name, name))
            return &c[i];
    return NULL;
}

static int parse_i64(const char *key, const char *val, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(val, &end, 10);
    while (end && isspace((unsigned char)*end))
        end++;
    if (!*val || errno || *end || x < lo || x > hi)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s='%s': expected an integer in [%lld, %lld]", key, val, (long long)lo,
                        (long long)hi);
    *out = x;
    return 0;
}

static int parse_u64(const char *key, const char *val, uint64_t *out)
{
    char *end;
    errno = 0;
    const char *p = val;
    while (isspace((unsigned char)*p))
        p++;
    unsigned long long x = *p == '-' ? 0 : strtoull(p, &end, 10);
    if (*p == '-' || !*p || errno || *end)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s='%s': expected a non-negative integer", key, val);
    *out = x;
    return 0;
}

/* Decimal text only: strtod also reads hex ("0x10" is 16), inf and nan, which integers
 * refuse and which are almost surely typos in a run spec. */
static int is_decimal_text(const char *s)
{
    for (; *s; s++)
        if (!isdigit((unsigned char)*s) && !strchr("+-.eE", *s) && !isspace((unsigned char)*s))
            return 0;
    return 1;
}

static int parse_f64(const char *key, const char *val, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(val, &end);
    while (end && isspace((unsigned char)*end))
        end++;
    if (!*val || *end || !isfinite(x) || !is_decimal_text(val))
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s='%s': expected a finite number (e.g. 1e-3)", key, val);
    *out = x;
    return 0;
}

static int parse_bool(const char *key, const char *val, int *out)
{
    if (!strcmp(val, "1") || ieq(val, "true") || ieq(val, "yes") || ieq(val, "on"))
        *out = 1;
    else if (!strcmp(val, "0") || ieq(val, "false") || ieq(val, "no") || ieq(val, "off"))
        *out = 0;
    else
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s='%s': expected true or false", key, val);
    return 0;
}

static int is_ident(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return 0;
    return 1;
}

/* Copy `src` without leading/trailing blanks into out[n]; 0, or -1 when it does not fit. */
static int trim_copy(char *out, size_t n, const char *src, size_t len)
{
    while (len && isspace((unsigned char)*src))
        src++, len--;
    while (len && isspace((unsigned char)src[len - 1]))
        len--;
    if (len >= n)
        return -1;
    memcpy(out, src, len);
    out[len] = 0;
    return 0;
}

/* "attention" or "[base_conv, based]". Knobs of an entry whose mixer stays the same
 * are kept, so "mixer" may come before or after nothing else changes. */
static int set_mixer(zoo_run_spec *s, const char *val)
{
    char text[1024];
    if (trim_copy(text, sizeof text, val, strlen(val)))
        return ZOO_FAIL(ZOO_ERR_INVALID, "mixer: value too long");
    char *p = text;
    size_t len = strlen(p);
    int bracket = len && p[0] == '[';
    if (bracket) {
        if (p[len - 1] != ']')
            return ZOO_FAIL(ZOO_ERR_INVALID, "mixer='%s': a pattern is written [name, name, ...]", val);
        p[len - 1] = 0;
        p++;
    }
    zoo_mixer_ref nm[ZOO_MAX_PATTERN];
    memset(nm, 0, sizeof nm);
    int n = 0;
    for (char *tok = p;;) {
        char *comma = strchr(tok, ',');
        size_t tl = comma ? (size_t)(comma - tok) : strlen(tok);
        if (n == ZOO_MAX_PATTERN)
            return ZOO_FAIL(ZOO_ERR_INVALID, "mixer='%s': at most %d mixers in a pattern", val, ZOO_MAX_PATTERN);
        if (trim_copy(nm[n].name, sizeof nm[n].name, tok, tl) || !is_ident(nm[n].name))
            return ZOO_FAIL(ZOO_ERR_INVALID,
                            "mixer='%s': entry %d is not a mixer name (letters, digits, '_'); e.g. attention or "
                            "[base_conv, based]",
                            val, n);
        n++;
        if (!comma)
            break;
        tok = comma + 1;
    }
    for (int i = 0; i < n; i++) {
        const zoo_mixer_ref *old = NULL;
        if (i < s->n_mixers && !strcmp(s->mixers[i].name, nm[i].name))
            old = &s->mixers[i];
        for (int j = 0; !old && j < s->n_mixers && j < ZOO_MAX_PATTERN; j++)
            if (!strcmp(s->mixers[j].name, nm[i].name))
                old = &s->mixers[j];
        if (old) {
            nm[i].n_knobs = old->n_knobs;
            memcpy(nm[i].knobs, old->knobs, sizeof nm[i].knobs);
        }
    }
    memcpy(s->mixers, nm, sizeof nm);
    s->n_mixers = n;
    return 0;
}

static int set_knob(zoo_mixer_ref *m, int idx, const char *knob, const char *val)
{
    if (!is_ident(knob) || strlen(knob) >= sizeof m->knobs[0].name)
        return ZOO_FAIL(ZOO_ERR_INVALID, "'%s' is not a knob name of mixer %d (%s)", knob, idx, m->name);
    char v[sizeof m->knobs[0].value];
    if (trim_copy(v, sizeof v, val, strlen(val)) || !v[0])
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s.%s: value '%s' is empty or longer than %zu characters", m->name, knob,
                        val, sizeof v - 1);
    int k = 0;
    while (k < m->n_knobs && strcmp(m->knobs[k].name, knob))
        k++;
    if (k == m->n_knobs) {
        if (m->n_knobs >= ZOO_MAX_KNOBS)
            return ZOO_FAIL(ZOO_ERR_INVALID, "mixer %d (%s): more than %d knobs set", idx, m->name, ZOO_MAX_KNOBS);
        m->n_knobs++;
        snprintf(m->knobs[k].name, sizeof m->knobs[k].name, "%s", knob);
    }
    memcpy(m->knobs[k].value, v, sizeof v);
    return 0;
}

/* ---- segments ---------------------------------------------------------------------------- */

static int seg_knob_cmp(const void *a, const void *b) { return knob_cmp(a, b); }

void zoo_segment_format(const zoo_segment *g, char *buf, size_t n)
{
    size_t len = (size_t)snprintf(buf, n, "%s", g->split == ZOO_SPLIT_TEST ? "test" : "train");
#define APPEND(...) len += (size_t)snprintf(len < n ? buf + len : NULL, len < n ? n - len : 0, __VA_ARGS__)
    if (g->task[0])
        APPEND(" task=%.31s", g->task);
    if (g->seq_len)
        APPEND(" seq_len=%lld", (long long)g->seq_len);
    if (g->examples)
        APPEND(" examples=%lld", (long long)g->examples);
    zoo_knob kn[ZOO_SEGMENT_KNOBS];
    int nk = g->n_knobs < 0 ? 0 : g->n_knobs > ZOO_SEGMENT_KNOBS ? ZOO_SEGMENT_KNOBS : g->n_knobs;
    memcpy(kn, g->knobs, (size_t)nk * sizeof kn[0]);
    qsort(kn, (size_t)nk, sizeof kn[0], seg_knob_cmp); /* the order they were written in does not count */
    for (int j = 0; j < nk; j++)
        APPEND(" %.63s=%.127s", kn[j].name, kn[j].value);
#undef APPEND
}

/* One segment "train [task=T] [seq_len=L] [examples=N] [knob=V ...]". */
static int parse_segment(const char *text, int idx, zoo_segment *g)
{
    memset(g, 0, sizeof *g);
    char buf[1024];
    if (trim_copy(buf, sizeof buf, text, strlen(text)) || !buf[0])
        return ZOO_FAIL(ZOO_ERR_INVALID, "segments[%d] is empty or too long: write 'train seq_len=64 examples=1000' or "
                        "'test ...'", idx);
    char *save = NULL, *tok = strtok_r(buf, " \t", &save);
    if (!strcmp(tok, "train"))
        g->split = ZOO_SPLIT_TRAIN;
    else if (!strcmp(tok, "test"))
        g->split = ZOO_SPLIT_TEST;
    else
        return ZOO_FAIL(ZOO_ERR_INVALID, "segments[%d] starts with '%s': start it with train or test", idx, tok);
    while ((tok = strtok_r(NULL, " \t", &save))) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || !eq[1])
            return ZOO_FAIL(ZOO_ERR_INVALID, "segments[%d]: '%s' is not key=value (e.g. seq_len=64)", idx, tok);
        *eq = 0;
        const char *key = tok, *val = eq + 1;
        if (!is_ident(key))
            return ZOO_FAIL(ZOO_ERR_INVALID, "segments[%d]: '%s' is not a key name", idx, key);
        int rc = 0;
        if (!strcmp(key, "task")) {
            if (!is_ident(val) || strlen(val) >= sizeof g->task)
                return ZOO_FAIL(ZOO_ERR_INVALID, "segments[%d]: task='%s' is not a plugin name", idx, val);
            snprintf(g->task, sizeof g->task, "%s", val);
        } else if (!strcmp(key, "seq_len")) {
            rc = parse_i64("seq_len", val, 1, 1 << 20, &g->seq_len);
        } else if (!strcmp(key, "examples")) {
            rc = parse_i64("examples", val, 1, INT64_C(1) << 40, &g->examples);
        } else {
            int k = 0;
            while (k < g->n_knobs && strcmp(g->knobs[k].name, key))
                k++;
            if (k == ZOO_SEGMENT_KNOBS)
                return ZOO_FAIL(ZOO_ERR_INVALID, "segments[%d]: more than %d task knobs", idx, ZOO_SEGMENT_KNOBS);
            if (strlen(key) >= sizeof g->knobs[0].name || strlen(val) >= sizeof g->knobs[0].value)
                return ZOO_FAIL(ZOO_ERR_INVALID, "segments[%d]: knob %s or its value is too long", idx, key);
            snprintf(g->knobs[k].name, sizeof g->knobs[k].name, "%s", key);
            snprintf(g->knobs[k].value, sizeof g->knobs[k].value, "%s", val);
            if (k == g->n_knobs)
                g->n_knobs++;
        }
        if (rc) {
            zoo_error_prefix("segments[%d]: ", idx);
            return rc;
        }
    }
    return 0;
}

/* "seg; seg; ...", all or nothing; "" or "none" clears them. */
static int set_segments(zoo_run_spec *s, const char *val)
{
    zoo_segment segs[ZOO_MAX_SEGMENTS];
    int n = 0;
    if (val[0] && strcmp(val, "none")) {
        const char *p = val;
        for (;;) {
            const char *semi = strchr(p, ';');
            size_t len = semi ? (size_t)(semi - p) : strlen(p);
            if (n == ZOO_MAX_SEGMENTS)
                return ZOO_FAIL(ZOO_ERR_INVALID, "segments: more than %d", ZOO_MAX_SEGMENTS);
            char one[1024];
            if (len >= sizeof one)
                return ZOO_FAIL(ZOO_ERR_INVALID, "segments[%d] is too long", n);
            memcpy(one, p, len);
            one[len] = 0;
            int rc = parse_segment(one, n, &segs[n]);
            if (rc)
                return rc;
            n++;
            if (!semi)
                break;
            p = semi + 1;
        }
    }
    memcpy(s->segments, segs, (size_t)n * sizeof segs[0]);
    memset(s->segments + n, 0, (size_t)(ZOO_MAX_SEGMENTS - n) * sizeof segs[0]);
    s->n_segments = n;
    return 0;
}

/* "task.<knob>": kept as text; the task plugin checks it (zoo_run_spec_check). */
static int set_task_knob(zoo_run_spec *s, const char *knob, const char *val)
{
    if (!is_ident(knob) || strlen(knob) >= sizeof s->task_knobs[0].name)
        return ZOO_FAIL(ZOO_ERR_INVALID, "'task.%s': '%s' is not a knob name", knob, knob);
    char v[sizeof s->task_knobs[0].value];
    if (trim_copy(v, sizeof v, val, strlen(val)) || !v[0])
        return ZOO_FAIL(ZOO_ERR_INVALID, "task.%s: value '%s' is empty or longer than %zu characters", knob, val,
                        sizeof v - 1);
    int k = 0;
    while (k < s->n_task_knobs && strcmp(s->task_knobs[k].name, knob))
        k++;
    if (k == s->n_task_knobs) {
        if (s->n_task_knobs >= ZOO_MAX_KNOBS)
            return ZOO_FAIL(ZOO_ERR_INVALID, "task: more than %d knobs set", ZOO_MAX_KNOBS);
        s->n_task_knobs++;
        snprintf(s->task_knobs[k].name, sizeof s->task_knobs[k].name, "%s", knob);
    }
    memcpy(s->task_knobs[k].value, v, sizeof v);
    return 0;
}

/* "mixer.<i>.<knob>" or "<mixer>.<knob>" (every pattern entry of that mixer). */
static int set_knob_key(zoo_run_spec *s, const char *key, const char *val)
{
    const char *dot = strchr(key, '.');
    char head[64];
    if ((size_t)(dot - key) >= sizeof head)
        return ZOO_FAIL(ZOO_ERR_INVALID, "unknown key '%s'", key);
    memcpy(head, key, (size_t)(dot - key));
    head[dot - key] = 0;
    if (!strcmp(head, "task"))
        return set_task_knob(s, dot + 1, val);
    if (!strcmp(head, "mixer")) {
        char *end;
        long i = strtol(dot + 1, &end, 10);
        if (end == dot + 1 || *end != '.' || i < 0)
            return ZOO_FAIL(ZOO_ERR_INVALID, "key '%s': write mixer.<index>.<knob>, e.g. mixer.0.num_heads", key);
        if (i >= s->n_mixers)
            return ZOO_FAIL(ZOO_ERR_INVALID, "key '%s': the pattern has %d mixer(s) (index 0..%d); set mixer first",
                            key, s->n_mixers, s->n_mixers - 1);
        return set_knob(&s->mixers[i], (int)i, end + 1, val);
    }
    int hit = 0;
    for (int i = 0; i < s->n_mixers; i++)
        if (!strcmp(s->mixers[i].name, head)) {
            int rc = set_knob(&s->mixers[i], i, dot + 1, val);
            if (rc)
                return rc;
            hit = 1;
        }
    if (!hit) {
        char pat[512] = "";
        size_t k = 0;
        for (int i = 0; i < s->n_mixers && k < sizeof pat; i++)
            k += (size_t)snprintf(pat + k, sizeof pat - k, i ? ", %s" : "%s", s->mixers[i].name);
        return ZOO_FAIL(ZOO_ERR_INVALID,
                        "key '%s': mixer '%s' is not in the pattern [%s]; set mixer first or write "
                        "mixer.<index>.<knob>",
                        key, head, pat);
    }
    return 0;
}

/* Parse `v` (trimmed) by the field's type and range; the spec changes only on success. */
static int set_field(zoo_run_spec *s, const zoo_run_field *f, const char *v)
{
    char allowed[256];
    switch (f->type) {
    case ZOO_FIELD_INT: {
        /* An unbounded side still stops at what the member holds; counts stop at 2^40,
         * far beyond any run that fits in memory, so products of sizes cannot overflow. */
        int64_t cap = f->size == sizeof(int64_t) ? INT64_C(1) << 40 : INT_MAX;
        int64_t lo = isinf(f->lo) ? -cap : (int64_t)f->lo + ((f->flags & ZOO_FIELD_LO_OPEN) != 0);
        int64_t hi = isinf(f->hi) ? cap : (int64_t)f->hi - ((f->flags & ZOO_FIELD_HI_OPEN) != 0);
        int64_t x = 0;
        int rc = (f->flags & ZOO_FIELD_AUTO0) && !strcmp(v, "auto") ? 0 : parse_i64(f->name, v, lo, hi, &x);
        if (!rc)
            put_int(s, f, x);
        return rc;
    }
    case ZOO_FIELD_UINT: {
        uint64_t x = 0;
        int rc = parse_u64(f->name, v, &x);
        if (!rc)
            memcpy((char *)s + f->offset, &x, sizeof x);
        return rc;
    }
    case ZOO_FIELD_FLOAT: {
        double x = 0;
        int rc = parse_f64(f->name, v, &x);
        if (rc)
            return rc;
        float x32 = (float)x;
        /* A float member is checked as stored: 0.99999999 rounds to 1. */
        if (!in_range(f, f->size == sizeof(float) ? (double)x32 : x)) {
            zoo_run_field_allowed(f, allowed, sizeof allowed);
            return ZOO_FAIL(ZOO_ERR_INVALID, "%s='%s': expected a number %s (default %s)", f->name, v, allowed,
                            f->def);
        }
        if (f->size == sizeof(float))
            memcpy((char *)s + f->offset, &x32, sizeof x32);
        else
            memcpy((char *)s + f->offset, &x, sizeof x);
        return 0;
    }
    case ZOO_FIELD_BOOL: {
        int b = 0;
        int rc = parse_bool(f->name, v, &b);
        if (!rc)
            put_int(s, f, b);
        return rc;
    }
    case ZOO_FIELD_NAME:
        if (!f->choices) { /* any plain name: a plugin's, checked by zoo_run_spec_check */
            if (!is_ident(v) || strlen(v) >= f->size)
                return ZOO_FAIL(ZOO_ERR_INVALID, "%s='%s': expected a plugin name of at most %zu letters, digits, '_' or '-'",
                                f->name, v, f->size - 1);
            snprintf((char *)s + f->offset, f->size, "%s", v);
            return 0;
        }
        /* fall through */
    case ZOO_FIELD_CHOICE: {
        const zoo_run_choice *c = choice_of_name(f->choices, v, 1);
        if (!c) {
            zoo_run_field_allowed(f, allowed, sizeof allowed);
            return ZOO_FAIL(ZOO_ERR_INVALID, "%s='%s' is not known: use %s", f->name, v, allowed);
        }
        if (f->type == ZOO_FIELD_CHOICE)
            put_int(s, f, c->value);
        else
            snprintf((char *)s + f->offset, f->size, "%s", c->name);
        return 0;
    }
    case ZOO_FIELD_MIXER:
        return set_mixer(s, v);
    case ZOO_FIELD_SEGMENTS:
        return set_segments(s, v);
    }
    return ZOO_FAIL(ZOO_ERR_INVALID, "%s: field of unknown type %d", f->name, (int)f->type);
}

static int unknown_key(const char *key)
{
    /* Zoology's own config names and other common spellings point at our key. */
    static const char *const aliases[][2] = {
        {"learning_rate", "lr"},       {"vocab_size", "vocab"},          {"input_seq_len", "seq_len"},
        {"num_kv_pairs", "kv_pairs"},  {"num_train_examples", "train_examples"},
        {"num_test_examples", "test_examples"}, {"max_epochs", "epochs"}, {"num_layers", "n_layers"},
        {"early_stopping_threshold", "early_stop"}, {"wd", "weight_decay"}, {"batch", "batch_size"},
        {"hidden_size", "d_model"},    {"dim", "d_model"},               {"sequence_mixer", "mixer"},
        {"max_position_embeddings", "pos_emb"}, {"eps", "adam_eps"},     {"num_threads", "threads"},
    };
    for (size_t k = 0; k < sizeof aliases / sizeof aliases[0]; k++)
        if (ieq(key, aliases[k][0]))
            return ZOO_FAIL(ZOO_ERR_INVALID, "unknown key '%s': did you mean '%s'?", key, aliases[k][1]);
    const char *names[N_FIELDS];
    char list[600];
    size_t len = 0;
    for (int i = 0; i < N_FIELDS; i++) {
        names[i] = fields[i].name;
        if (len < sizeof list)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", fields[i].name);
    }
    const char *near = zoo_suggest_nearest(key, names, N_FIELDS);
    if (near)
        return ZOO_FAIL(ZOO_ERR_INVALID, "unknown key '%s': did you mean '%s'? (knobs are written <mixer>.<knob>)",
                        key, near);
    return ZOO_FAIL(ZOO_ERR_INVALID, "unknown key '%s': the keys are %s; knobs are written <mixer>.<knob>", key,
                    list);
}

int zoo_run_spec_set(zoo_run_spec *s, const char *key, const char *value)
{
    if (!s || !key || !value)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_run_spec_set: NULL argument");
    char v[1024];
    if (trim_copy(v, sizeof v, value, strlen(value)))
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: value longer than %zu characters", key, sizeof v - 1);
    const zoo_run_field *f = zoo_run_spec_find(key);
    if (f)
        return set_field(s, f, v);
    if (strchr(key, '.'))
        return set_knob_key(s, key, v);
    return unknown_key(key);
}

/* ---- cost estimate ------------------------------------------------------------------- */

double zoo_run_spec_flops_per_step(const zoo_run_spec *s)
{
    /* Multiply-adds per token of one forward pass; training ~ 3x forward (the backward
     * costs two matrix products per forward one); 2 flops per multiply-add. Without the
     * plugins loaded we only know mixer names: attention-like mixers cost their four
     * D x D projections plus 2 L D for the scores and the weighted sum; others are
     * counted as four projections plus a log-linear long convolution. */
    double B = (double)zoo_run_spec_batch(s), L = (double)s->seq_len, D = (double)s->d_model;
    double per_tok = 0;
    for (int l = 0; l < s->n_layers; l++) {
        const char *name = s->n_mixers > 0 ? s->mixers[l % s->n_mixers].name : "attention";
        per_tok += 4 * D * D;
        if (strstr(name, "attention") || strstr(name, "sliding"))
            per_tok += 2 * L * D;
        else
            per_tok += 4 * D * log2(L > 2 ? 2 * L : 2);
        if (s->state_mixer == ZOO_STATE_MLP)
            per_tok += 8 * D * D;
        per_tok += 20 * D; /* norms, residuals, activations */
    }
    /* The head runs only at the K supervised positions of each example. */
    double head = (double)s->kv_pairs * (double)s->vocab * D;
    return 2.0 * 3.0 * (B * L * per_tok + B * head);
}
