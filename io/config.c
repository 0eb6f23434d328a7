/* config.c: reading a run or sweep file: the YAML document (libfyaml), the top-level
 * keys and the task/model/train sections with their type checks, each error at
 * file:line:col. Mixers (config_mixer.c) and the grid (config_grid.c) are elsewhere;
 * nothing here trains or writes. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "zoo/error.h"
#include "zoo/suggest.h"

/* The schema is the run spec's field table (zoo_run_spec_field): each field under its
 * YAML section by its YAML name, typed by its field type. One spelling is the file's
 * own: `mixers:`, a list of alternative mixers to sweep, sets the mixer field. */
typedef struct fdef {
    const char *section, *name, *key;
    cfg_ftype type;
} fdef;

static cfg_ftype ftype_of(zoo_run_field_type t)
{
    switch (t) {
    case ZOO_FIELD_INT:
        return FT_INT;
    case ZOO_FIELD_UINT:
        return FT_UINT;
    case ZOO_FIELD_FLOAT:
        return FT_FLOAT;
    case ZOO_FIELD_BOOL:
        return FT_BOOL;
    case ZOO_FIELD_MIXER:
        return FT_MIXER;
    default:
        return FT_STR; /* names (CHOICE, NAME): the spec's parser checks them */
    }
}

/* Every key a section may hold, in table order ("mixers" right after "mixer"). */
static int schema(fdef *out, int cap)
{
    int n = 0;
    for (int i = 0; i < zoo_run_spec_nfields() && n < cap; i++) {
        const zoo_run_field *f = zoo_run_spec_field(i);
        /* An integer that also takes the word auto (ranks): the spec's parser checks it. */
        cfg_ftype t = f->type == ZOO_FIELD_INT && (f->flags & ZOO_FIELD_AUTO0) ? FT_STR : ftype_of(f->type);
        out[n++] = (fdef){f->section, f->yaml ? f->yaml : f->name, f->name, t};
        if (f->type == ZOO_FIELD_MIXER && n < cap)
            out[n++] = (fdef){f->section, "mixers", f->name, FT_MIXER};
    }
    return n;
}
#define MAX_FDEFS (CFG_MAX_FIELDS + 1)

static const char *const top_keys[] = {"name",           "task",          "model",
                                       "train",          "zip",           "exclude",
                                       "max_run_seconds", "checkpoint_minutes", "keep_checkpoints",
                                       "net_gbytes_per_s", "net_latency_us"};
#define N_TOP ((int)(sizeof top_keys / sizeof top_keys[0]))

/* ---- shared helpers ---------------------------------------------------------------- */

int zoo_cfg_fail(const cfg *c, cfg_loc at, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (at.line < 1)
        at.line = 1, at.col = 1;
    return zoo_error_set(ZOO_ERR_CONFIG, __FILE__, __LINE__, "%s:%d:%d: %s", c->src, at.line, at.col, msg);
}

/* libfyaml 0.7 has no public start mark for collection nodes; a report about the node
 * through a collecting diag object carries it (line and column, 1-based). */
cfg_loc zoo_cfg_loc(const cfg *c, struct fy_node *n, cfg_loc fallback)
{
    if (!n || !c->probe)
        return fallback;
    if (fy_node_get_type(n) == FYNT_MAPPING) {
        /* Block mappings report no position; their first key does. */
        void *it = NULL;
        struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
        cfg_loc first = p ? zoo_cfg_loc(c, fy_node_pair_key(p), fallback) : fallback;
        fy_diag_reset_error(c->probe);
        fy_diag_node_report(c->probe, n, FYET_ERROR, "where");
        void *ei = NULL;
        struct fy_diag_error *e, *last = NULL;
        while ((e = fy_diag_errors_iterate(c->probe, &ei)))
            last = e;
        if (last && last->line > 0 && (last->line < first.line || (last->line == first.line && last->column <= first.col)))
            return (cfg_loc){last->line, last->column};
        return first;
    }
    fy_diag_reset_error(c->probe);
    fy_diag_node_report(c->probe, n, FYET_ERROR, "where");
    void *ei = NULL;
    struct fy_diag_error *e, *last = NULL;
    while ((e = fy_diag_errors_iterate(c->probe, &ei)))
        last = e;
    if (!last || last->line < 1)
        return fallback;
    return (cfg_loc){last->line, last->column};
}

int zoo_cfg_is_plain(struct fy_node *n) { return fy_node_get_type(n) == FYNT_SCALAR && fy_node_get_style(n) == FYNS_PLAIN; }

int zoo_cfg_is_null(struct fy_node *n)
{
    if (!n)
        return 1;
    if (!zoo_cfg_is_plain(n))
        return 0;
    const char *s = fy_node_get_scalar0(n);
    return !s || !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

const char *zoo_cfg_kind(struct fy_node *n)
{
    if (zoo_cfg_is_null(n))
        return "nothing";
    switch (fy_node_get_type(n)) {
    case FYNT_MAPPING:
        return "a mapping";
    case FYNT_SEQUENCE:
        return "a list";
    default:
        return zoo_cfg_is_plain(n) ? "a plain scalar" : "a quoted string";
    }
}

/* ---- scalar values ----------------------------------------------------------------- */

static const char *type_words(cfg_ftype t)
{
    switch (t) {
    case FT_INT:
        return "an integer";
    case FT_UINT:
        return "a non-negative integer";
    case FT_FLOAT:
        return "a number";
    case FT_BOOL:
        return "true or false";
    default:
        return "a string";
    }
}

static int is_int_text(const char *s, int allow_sign)
{
    if (allow_sign && (*s == '-' || *s == '+'))
        s++;
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* Check one scalar against the field type and that zoo_run_spec_set takes it, then
 * store it in v. */
static int scalar_value(cfg *c, cfg_field *f, struct fy_node *n, cfg_loc at, cfg_value *v)
{
    memset(v, 0, sizeof *v);
    v->loc = at;
    const char *s = fy_node_get_scalar0(n);
    if (!s)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory reading %s", c->src);
    int plain = zoo_cfg_is_plain(n);
    int ok = 1;
    char *end = NULL;
    switch (f->type) {
    case FT_INT:
    case FT_UINT:
        ok = plain && is_int_text(s, f->type == FT_INT);
        break;
    case FT_FLOAT:
        errno = 0;
        v->num = plain ? strtod(s, &end) : 0;
        /* Decimal only, as for integers: strtod would also take 0x10, inf and nan. */
        ok = plain && *s && end && !*end && isfinite(v->num) && strspn(s, "0123456789+-.eE") == strlen(s);
        break;
    case FT_BOOL:
        ok = plain && (!strcmp(s, "true") || !strcmp(s, "false") || !strcmp(s, "True") || !strcmp(s, "False"));
        break;
    default:
        ok = *s != 0;
        break;
    }
    if (!ok) {
        char hint[160] = "";
        if ((f->type == FT_INT || f->type == FT_UINT) && plain) {
            double d = strtod(s, &end);
            if (*s && end && !*end && d == floor(d) && fabs(d) < 1e15 && !is_int_text(s, 1))
                snprintf(hint, sizeof hint, "; write it as %.0f", d);
        } else if (f->type == FT_FLOAT && plain) {
            snprintf(hint, sizeof hint, "; write it in decimal, e.g. 1e-3");
        } else if (!plain && f->type != FT_STR) {
            snprintf(hint, sizeof hint, "; remove the quotes");
        }
        return zoo_cfg_fail(c, at, "wrong type: %s takes %s, got %s '%.80s'%s", f->name, type_words(f->type),
                            plain ? "the value" : "the quoted string", s, hint);
    }
    if (strlen(s) >= sizeof v->text)
        return zoo_cfg_fail(c, at, "%s: value is %zu characters long; at most %zu", f->name, strlen(s),
                            sizeof v->text - 1);
    snprintf(v->text, sizeof v->text, "%s", s);
    snprintf(v->label, sizeof v->label, "%s", s);
    if (f->type == FT_INT || f->type == FT_UINT || f->type == FT_FLOAT) {
        v->is_num = 1;
        v->num = strtod(s, NULL);
    }
    /* The spec's own parser has the last word on ranges and names (e.g. backend). */
    zoo_run_spec scratch;
    zoo_run_spec_default(&scratch);
    if (zoo_run_spec_set(&scratch, f->key, v->text))
        return zoo_cfg_fail(c, at, "%s", zoo_error_last()->msg);
    if (!strcmp(f->key, "task")) { /* the task plugin must exist; its knobs are checked per run */
        zoo_plugin *p = NULL;
        int rc = zoo_task_find(v->text, &p);
        zoo_plugin_close(p);
        if (rc)
            return zoo_cfg_fail(c, at, "task='%s': %s", v->text, zoo_error_last()->msg);
    }
    return 0;
}

/* ---- sections ---------------------------------------------------------------------- */

static int find_fdef(const char *section, const char *name, fdef *out)
{
    fdef defs[MAX_FDEFS];
    int n = schema(defs, MAX_FDEFS);
    for (int i = 0; i < n; i++)
        if (!strcmp(defs[i].section, section) && !strcmp(defs[i].name, name)) {
            *out = defs[i];
            return 0;
        }
    return -1;
}

static int unknown_key(cfg *c, cfg_loc at, const char *section, const char *key)
{
    fdef defs[MAX_FDEFS];
    int nd = schema(defs, MAX_FDEFS);
    const char *cands[MAX_FDEFS + N_TOP];
    int n = 0;
    if (section) {
        for (int i = 0; i < nd; i++)
            if (!strcmp(defs[i].section, section))
                cands[n++] = defs[i].name;
    } else {
        for (int i = 0; i < N_TOP; i++)
            cands[n++] = top_keys[i];
    }
    char list[600] = "";
    size_t k = 0;
    for (int i = 0; i < n && k < sizeof list; i++)
        k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "", cands[i]);
    /* A known key in the wrong place is the likeliest mistake: say where it goes. */
    for (int i = 0; i < nd; i++)
        if (!strcmp(defs[i].name, key) && (!section || strcmp(defs[i].section, section)))
            return zoo_cfg_fail(c, at, "'%s' does not belong %s%s; move it under %s:", key, section ? "under " : "at the top level",
                                section ? section : "", defs[i].section);
    const char *near = zoo_suggest_nearest(key, cands, n);
    if (near)
        return zoo_cfg_fail(c, at, "unknown key '%s'%s%s; did you mean '%s'? (known: %s)", key, section ? " in " : "",
                            section ? section : "", near, list);
    return zoo_cfg_fail(c, at, "unknown key '%s'%s%s (known: %s)", key, section ? " in " : "", section ? section : "", list);
}

static int key_text(cfg *c, struct fy_node *k, cfg_loc at, const char **out)
{
    if (!k || fy_node_get_type(k) != FYNT_SCALAR || zoo_cfg_is_null(k))
        return zoo_cfg_fail(c, at, "keys must be plain names, got %s", zoo_cfg_kind(k));
    *out = fy_node_get_scalar0(k);
    return *out ? 0 : ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory reading %s", c->src);
}

/* `segments: {train: [{seq_len: 64, kv_pairs: 4, examples: 1000}, ...], test: [...]}`
 * into one value in the spec's text form ("train seq_len=64 ...; test ..."); the run's
 * checks then read each entry's keys (its task's knobs). */
static int parse_segments(cfg *c, cfg_field *f, struct fy_node *val, cfg_loc vloc)
{
    if (!(f->vals = calloc(1, sizeof *f->vals)))
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    f->n_vals = 1;
    cfg_value *v = &f->vals[0];
    v->loc = vloc;
    size_t len = 0;
    int n = 0;
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(val, &it))) {
        struct fy_node *k = fy_node_pair_key(p), *list = fy_node_pair_value(p);
        cfg_loc kl = zoo_cfg_loc(c, k, vloc);
        const char *split = fy_node_get_type(k) == FYNT_SCALAR ? fy_node_get_scalar0(k) : NULL;
        if (!split || (strcmp(split, "train") && strcmp(split, "test")))
            return zoo_cfg_fail(c, kl, "segments: the keys are train and test, got '%s'", split ? split : "?");
        if (fy_node_get_type(list) != FYNT_SEQUENCE)
            return zoo_cfg_fail(c, zoo_cfg_loc(c, list, kl),
                                "segments: %s takes a list of segments, e.g. [{seq_len: 64, kv_pairs: 4}], got %s",
                                split, zoo_cfg_kind(list));
        void *it2 = NULL;
        struct fy_node *e;
        while ((e = fy_node_sequence_iterate(list, &it2))) {
            cfg_loc el = zoo_cfg_loc(c, e, kl);
            if (fy_node_get_type(e) != FYNT_MAPPING)
                return zoo_cfg_fail(c, el, "segments: each %s segment is a mapping such as {seq_len: 64, examples: 1000}, "
                                           "got %s", split, zoo_cfg_kind(e));
            len += (size_t)snprintf(v->text + len, len < sizeof v->text ? sizeof v->text - len : 0, "%s%s",
                                    n++ ? "; " : "", split);
            void *it3 = NULL;
            struct fy_node_pair *q;
            while ((q = fy_node_mapping_iterate(e, &it3))) {
                struct fy_node *qk = fy_node_pair_key(q), *qv = fy_node_pair_value(q);
                cfg_loc ql = zoo_cfg_loc(c, qk, el);
                const char *key = fy_node_get_type(qk) == FYNT_SCALAR ? fy_node_get_scalar0(qk) : NULL;
                const char *x = fy_node_get_type(qv) == FYNT_SCALAR ? fy_node_get_scalar0(qv) : NULL;
                if (!key || !x || !*x || strpbrk(key, " \t=;") || strpbrk(x, " \t=;"))
                    return zoo_cfg_fail(c, ql, "segments: each key of a segment takes one plain value (seq_len: 64)");
                len += (size_t)snprintf(v->text + len, len < sizeof v->text ? sizeof v->text - len : 0, " %s=%s",
                                        key, x);
            }
            if (len >= sizeof v->text)
                return zoo_cfg_fail(c, el, "segments: too long (%zu characters of text, at most %zu)", len,
                                    sizeof v->text - 1);
            zoo_run_spec scratch; /* each entry's own form, said at the entry */
            zoo_run_spec_default(&scratch);
            const char *last = strrchr(v->text, ';');
            if (zoo_run_spec_set(&scratch, "segments", last ? last + 1 : v->text))
                return zoo_cfg_fail(c, el, "%s", zoo_error_last()->msg);
        }
    }
    snprintf(v->label, sizeof v->label, "%d segments", n);
    zoo_run_spec scratch;
    zoo_run_spec_default(&scratch);
    if (zoo_run_spec_set(&scratch, "segments", v->text))
        return zoo_cfg_fail(c, vloc, "%s", zoo_error_last()->msg);
    return 0;
}

static int parse_field(cfg *c, const fdef *d, struct fy_node *kn, struct fy_node *val)
{
    cfg_loc kloc = zoo_cfg_loc(c, kn, (cfg_loc){0, 0});
    for (int i = 0; i < c->n_fields; i++)
        if (!strcmp(c->fields[i].key, d->key) && d->type == FT_MIXER)
            return zoo_cfg_fail(c, kloc,
                                "give either mixer: (one mixer or one per-layer pattern) or mixers: (a list of "
                                "alternatives to sweep), not both");
    if (c->n_fields == CFG_MAX_FIELDS)
        return zoo_cfg_fail(c, kloc, "too many fields");
    cfg_field *f = &c->fields[c->n_fields];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", d->name);
    snprintf(f->knob_key, sizeof f->knob_key, "%s", d->key);
    f->key = strncmp(d->key, "task.", 5) ? d->key : f->knob_key;
    f->type = d->type;
    f->loc = kloc;
    f->zip = -1;
    f->dim = -1;
    c->n_fields++;
    cfg_loc vloc = zoo_cfg_loc(c, val, kloc);
    if (zoo_cfg_is_null(val))
        return zoo_cfg_fail(c, kloc, "%s has no value; give %s%s or remove the key", d->name, type_words(d->type),
                            d->type == FT_MIXER ? " (a mixer name)" : " (or a list of them to sweep)");
    if (d->type == FT_MIXER)
        return zoo_cfg_parse_mixers(c, f, val, !strcmp(d->name, "mixers"));
    if (!strcmp(d->key, "segments") && fy_node_get_type(val) == FYNT_MAPPING)
        return parse_segments(c, f, val, vloc);
    switch (fy_node_get_type(val)) {
    case FYNT_SCALAR:
        f->vals = calloc(1, sizeof *f->vals);
        if (!f->vals)
            return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
        f->n_vals = 1;
        return scalar_value(c, f, val, vloc, &f->vals[0]);
    case FYNT_SEQUENCE: {
        int n = fy_node_sequence_item_count(val);
        if (n <= 0)
            return zoo_cfg_fail(c, vloc, "empty axis: %s: [] has no values; give at least one value or remove the key",
                                d->name);
        f->axis = 1;
        f->vals = calloc((size_t)n, sizeof *f->vals);
        if (!f->vals)
            return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
        void *it = NULL;
        struct fy_node *x;
        while ((x = fy_node_sequence_iterate(val, &it))) {
            cfg_loc xl = zoo_cfg_loc(c, x, vloc);
            if (fy_node_get_type(x) != FYNT_SCALAR || zoo_cfg_is_null(x))
                return zoo_cfg_fail(c, xl, "wrong type: each value of axis %s must be %s, got %s", d->name,
                                    type_words(d->type), zoo_cfg_kind(x));
            int rc = scalar_value(c, f, x, xl, &f->vals[f->n_vals]);
            if (rc)
                return rc;
            f->n_vals++; /* repeated values are checked with the zip groups (config_grid.c) */
        }
        return 0;
    }
    default:
        return zoo_cfg_fail(c, vloc, "wrong type: %s takes %s (or a list of them to sweep), got a mapping", d->name,
                            type_words(d->type));
    }
}

/* A key of another section: said so, not taken for a task knob. */
static int misplaced(const char *name)
{
    fdef defs[MAX_FDEFS];
    int nd = schema(defs, MAX_FDEFS);
    for (int i = 0; i < nd; i++)
        if (!strcmp(defs[i].name, name))
            return 1;
    return 0;
}

/* A task knob's value must read as the knob's type for at least one of the named
 * tasks that declare it (which one runs is per run): otherwise it is wrong in every run,
 * said at the value. */
static int check_knob_value(cfg *c, zoo_plugin *const *tasks, int nt, const char *knob, const cfg_value *v)
{
    char why[sizeof zoo_error_last()->msg] = "";
    for (int t = 0; t < nt; t++) {
        zoo_hvals *h = NULL;
        int declared = 0;
        for (const zoo_hparam *d = tasks[t]->task->hparams; d && d->name; d++)
            declared |= !strcmp(d->name, knob);
        if (!declared)
            continue;
        if (zoo_hvals_new_task(tasks[t]->task, &h))
            return zoo_cfg_fail(c, v->loc, "%s", zoo_error_last()->msg);
        int rc = zoo_hvals_set(h, knob, v->text);
        zoo_hvals_free(h);
        if (!rc)
            return 0;
        snprintf(why, sizeof why, "%s", zoo_error_last()->msg);
        zoo_error_clear();
    }
    return zoo_cfg_fail(c, v->loc, "wrong type: %s", why);
}

/* One field of task: that is not a run field: a knob of one of `tasks`, else a typo
 * (known: their knobs, for the message). */
static int check_task_knob(cfg *c, const cfg_field *f, zoo_plugin *const *tasks, int nt, const char *known)
{
    if (strncmp(f->key, "task.", 5))
        return 0;
    if (f->only_task[0]) { /* checked against its task when read; that task must be one of the runs' */
        for (int t = 0; t < nt; t++)
            if (!strcmp(tasks[t]->task->name, f->only_task))
                return 0;
        return zoo_cfg_fail(c, f->loc,
                            "knobs of task %s, but no run of this file is of task %s: add it to the task names or "
                            "remove its section",
                            f->only_task, f->only_task);
    }
    const char *knob = f->key + 5, *cands[MAX_FDEFS + 64];
    int n = 0, found = 0;
    for (int t = 0; t < nt; t++)
        for (const zoo_hparam *h = tasks[t]->task->hparams; h && h->name && n < 64; h++) {
            found |= !strcmp(h->name, knob);
            cands[n++] = h->name;
        }
    if (found) {
        for (int v = 0; v < f->n_vals; v++) {
            int rc = check_knob_value(c, tasks, nt, knob, &f->vals[v]);
            if (rc)
                return rc;
        }
        return 0;
    }
    fdef defs[MAX_FDEFS];
    int nd = schema(defs, MAX_FDEFS);
    for (int j = 0; j < nd; j++)
        if (!strcmp(defs[j].section, "task"))
            cands[n++] = defs[j].name;
    const char *near = zoo_suggest_nearest(knob, cands, n);
    char hint[200] = "";
    if (near)
        snprintf(hint, sizeof hint, "did you mean '%s'? ", near);
    return zoo_cfg_fail(c, f->loc,
                        "unknown key '%s' in task; %sit is neither a field of task: nor a knob of its task "
                        "(knobs: %s)",
                        knob, hint, known[0] ? known : "none");
}

/* `<task>: {knob: value, ...}` inside task:, for a sweep over several tasks: knobs set on
 * that task's runs only. The task must be a plugin and declare each knob; a value is
 * one scalar (a list would repeat every other task's runs: sweep it in a file of its own). */
static int parse_one_task_knobs(cfg *c, const char *task, cfg_loc at, struct fy_node *m)
{
    zoo_plugin *p = NULL;
    if (zoo_task_find(task, &p))
        return zoo_cfg_fail(c, at, "'%s: {...}' in task: is neither a field nor a task's knobs: %s", task,
                            zoo_error_last()->msg);
    int rc = 0;
    void *it = NULL;
    struct fy_node_pair *q;
    while (!rc && (q = fy_node_mapping_iterate(m, &it))) {
        struct fy_node *k = fy_node_pair_key(q), *v = fy_node_pair_value(q);
        cfg_loc kl = zoo_cfg_loc(c, k, at);
        const char *knob;
        if ((rc = key_text(c, k, kl, &knob)))
            break;
        const char *x = fy_node_get_type(v) == FYNT_SCALAR && !zoo_cfg_is_null(v) ? fy_node_get_scalar0(v) : NULL;
        if (!x) {
            rc = zoo_cfg_fail(c, zoo_cfg_loc(c, v, kl),
                              "%s.%s takes one value here (a knob in one task's section is not swept: sweep it in a "
                              "file of that task alone), got %s",
                              task, knob, zoo_cfg_kind(v));
            break;
        }
        zoo_hvals *h = NULL;
        if (zoo_hvals_new_task(p->task, &h) || zoo_hvals_set(h, knob, x))
            rc = zoo_cfg_fail(c, kl, "%s", zoo_error_last()->msg);
        zoo_hvals_free(h);
        char key[80];
        if (!rc && snprintf(key, sizeof key, "task.%s", knob) >= (int)sizeof key)
            rc = zoo_cfg_fail(c, kl, "task knob name '%.60s...' is too long", knob);
        fdef d = {"task", knob, key, FT_STR};
        if (!rc && !(rc = parse_field(c, &d, k, v)))
            snprintf(c->fields[c->n_fields - 1].only_task, sizeof c->fields[0].only_task, "%s", task);
    }
    zoo_plugin_close(p);
    return rc;
}

/* Each task knob must be a knob of one of the tasks the file names (mqar when none):
 * otherwise it is a typo of a field or of a knob, said at the key. Its values must fit
 * the knob's type, said at the value. */
static int check_task_knobs(cfg *c)
{
    const cfg_field *tf = NULL;
    for (int i = 0; i < c->n_fields; i++)
        if (!strcmp(c->fields[i].key, "task"))
            tf = &c->fields[i];
    zoo_plugin *tasks[64]; /* the tasks the file names that load (the others are reported at their value) */
    int nt = 0, rc = 0;
    char known[600] = "";
    size_t k = 0;
    for (int t = 0; t < (tf ? tf->n_vals : 1) && nt < 64; t++) {
        zoo_plugin *p = NULL;
        if (zoo_task_find(tf ? tf->vals[t].text : "mqar", &p)) {
            zoo_error_clear();
            continue; /* reported at the task's own value */
        }
        tasks[nt++] = p;
        for (const zoo_hparam *h = p->task->hparams; h && h->name; h++)
            if (k < sizeof known)
                k += (size_t)snprintf(known + k, sizeof known - k, "%s%s.%s", k ? ", " : "", p->task->name, h->name);
    }
    for (int i = 0; i < c->n_fields && !rc; i++)
        rc = check_task_knob(c, &c->fields[i], tasks, nt, known);
    for (int t = 0; t < nt; t++)
        zoo_plugin_close(tasks[t]);
    return rc;
}

static int parse_section(cfg *c, const char *section, struct fy_node *kn, struct fy_node *m)
{
    cfg_loc kloc = zoo_cfg_loc(c, kn, (cfg_loc){0, 0});
    if (zoo_cfg_is_null(m))
        return 0; /* an empty section keeps every default */
    if (fy_node_get_type(m) != FYNT_MAPPING)
        return zoo_cfg_fail(c, zoo_cfg_loc(c, m, kloc), "wrong type: %s: takes a mapping of fields (e.g. %s), got %s",
                            section, !strcmp(section, "task") ? "seq_len: 64" : !strcmp(section, "model") ? "d_model: 64" : "lr: 1e-3",
                            zoo_cfg_kind(m));
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(m, &it))) {
        struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
        cfg_loc at = zoo_cfg_loc(c, k, kloc);
        const char *name;
        int rc = key_text(c, k, at, &name);
        if (rc)
            return rc;
        fdef d;
        char knob[80];
        if (!strcmp(section, "task") && fy_node_get_type(v) == FYNT_MAPPING && find_fdef(section, name, &d) &&
            !misplaced(name)) {
            if ((rc = parse_one_task_knobs(c, name, at, v)))
                return rc;
            continue;
        }
        if (find_fdef(section, name, &d)) {
            if (strcmp(section, "task") || misplaced(name))
                return unknown_key(c, at, section, name);
            /* Any other key of task: is a knob of the task plugin (checked below, values per run). */
            if (snprintf(knob, sizeof knob, "task.%s", name) >= (int)sizeof knob)
                return zoo_cfg_fail(c, at, "task knob name '%.60s...' is too long", name);
            d = (fdef){"task", name, knob, FT_STR};
        }
        if ((rc = parse_field(c, &d, k, v)))
            return rc;
    }
    return strcmp(section, "task") ? 0 : check_task_knobs(c);
}

/* ---- the document ------------------------------------------------------------------ */

static void quiet_output(struct fy_diag *d, void *u, const char *b, size_t n)
{
    (void)d, (void)u, (void)b, (void)n;
}

static struct fy_diag *new_diag(void)
{
    struct fy_diag_cfg dc;
    fy_diag_cfg_default(&dc);
    dc.fp = NULL;
    dc.output_fn = quiet_output;
    dc.colorize = false;
    struct fy_diag *d = fy_diag_create(&dc);
    if (d)
        fy_diag_set_collect_errors(d, true);
    return d;
}

static int first_diag_error(cfg *c, struct fy_diag *d, const char *what)
{
    void *it = NULL;
    struct fy_diag_error *e = fy_diag_errors_iterate(d, &it);
    if (!e)
        return zoo_cfg_fail(c, (cfg_loc){1, 1}, "%s", what);
    return zoo_cfg_fail(c, (cfg_loc){e->line, e->column}, "YAML syntax: %s; fix the file at this point", e->msg);
}

/* The text must be UTF-8 (YAML's encoding) before libfyaml sees it: on some malformed
 * bytes (e.g. in a % directive) its scanner never returns. Reports the first bad byte. */
static int check_utf8(cfg *c, const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    int line = 1, col = 1;
    while (*p) {
        int n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 && *p >= 0xC2 ? 1 : (*p & 0xF0) == 0xE0 ? 2
                : (*p & 0xF8) == 0xF0 && *p <= 0xF4 ? 3 : -1;
        int ok = n >= 0;
        for (int i = 1; ok && i <= n; i++)
            ok = (p[i] & 0xC0) == 0x80;
        /* Overlong forms and surrogates are not UTF-8 either. */
        if (ok && n == 2)
            ok = !(p[0] == 0xE0 && p[1] < 0xA0) && !(p[0] == 0xED && p[1] >= 0xA0);
        if (ok && n == 3)
            ok = !(p[0] == 0xF0 && p[1] < 0x90) && !(p[0] == 0xF4 && p[1] >= 0x90);
        if (!ok)
            return zoo_cfg_fail(c, (cfg_loc){line, col},
                                "byte 0x%02x is not UTF-8 text; a sweep file is YAML text (is this the right file?)",
                                *p);
        if (*p == '\n')
            line++, col = 1;
        else
            col++;
        p += n + 1;
    }
    return 0;
}

/* Anchors and aliases are YAML's own and work, but a few hundred bytes of nested
 * aliases expand to gigabytes when the document is resolved. So before anything is
 * resolved, the parser's events (which never expand an alias) are walked once, each
 * anchored node's expanded size is counted, and a file whose aliases would add more
 * than CFG_MAX_ALIAS_NODES nodes is refused at the alias that crosses the cap. Syntax
 * errors are left to the document load that follows. */
#define CFG_MAX_ALIAS_NODES 100000
#define CFG_MAX_ANCHORS 1024

typedef struct anchor_size {
    char name[64];
    long long nodes;
} anchor_size;

static int check_aliases(cfg *c, const char *text)
{
    struct fy_diag *d = new_diag();
    struct fy_parse_cfg pc;
    memset(&pc, 0, sizeof pc);
    pc.flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG;
    pc.diag = d;
    struct fy_parser *fyp = d ? fy_parser_create(&pc) : NULL;
    anchor_size *anchors = calloc(CFG_MAX_ANCHORS, sizeof *anchors);
    /* open collections: their node count so far and their anchor (-1 when none) */
    long long *count = NULL;
    int *anchor_of = NULL, depth = 0, cap = 0, n_anchors = 0;
    long long added = 0; /* nodes the aliases add */
    int rc = 0;
    if (!fyp || !anchors || fy_parser_set_string(fyp, text, strlen(text))) {
        rc = ZOO_FAIL(ZOO_ERR_NOMEM, "cannot start the YAML parser for %s", c->src);
        goto done;
    }
    struct fy_event *e;
    while (!rc && (e = fy_parser_parse(fyp))) {
        const struct fy_mark *m = fy_event_start_mark(e);
        cfg_loc at = m ? (cfg_loc){m->line + 1, m->column + 1} : (cfg_loc){1, 1};
        long long nodes = -1; /* a finished node's expanded size */
        int anchor = -1;
        struct fy_token *at_tok = NULL;
        switch (e->type) {
        case FYET_SCALAR:
            nodes = 1;
            at_tok = fy_event_get_anchor_token(e);
            break;
        case FYET_ALIAS: {
            size_t len = 0;
            const char *name = fy_token_get_text(e->alias.anchor, &len);
            nodes = 1;
            for (int i = n_anchors - 1; name && i >= 0; i--)
                if (strlen(anchors[i].name) == len && !memcmp(anchors[i].name, name, len)) {
                    nodes = anchors[i].nodes;
                    break;
                }
            added += nodes;
            if (added > CFG_MAX_ALIAS_NODES)
                rc = zoo_cfg_fail(c, at,
                                  "YAML aliases (*name) here expand to more than %d values in all; write the "
                                  "values out instead of nesting aliases",
                                  CFG_MAX_ALIAS_NODES);
            break;
        }
        case FYET_MAPPING_START:
        case FYET_SEQUENCE_START:
            if (depth == cap) {
                int nc = cap ? 2 * cap : 64;
                long long *c2 = realloc(count, (size_t)nc * sizeof *c2);
                if (c2)
                    count = c2;
                int *a2 = c2 ? realloc(anchor_of, (size_t)nc * sizeof *a2) : NULL;
                if (a2)
                    anchor_of = a2;
                if (!c2 || !a2) {
                    rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory reading %s", c->src);
                    break;
                }
                cap = nc;
            }
            at_tok = fy_event_get_anchor_token(e);
            count[depth] = 1;
            anchor_of[depth] = -1;
            depth++;
            break;
        case FYET_MAPPING_END:
        case FYET_SEQUENCE_END:
            if (depth > 0) {
                depth--;
                nodes = count[depth];
                anchor = anchor_of[depth];
            }
            break;
        default:
            break;
        }
        if (!rc && at_tok) {
            size_t len = 0;
            const char *name = fy_token_get_text(at_tok, &len);
            if (n_anchors == CFG_MAX_ANCHORS)
                rc = zoo_cfg_fail(c, at, "more than %d YAML anchors (&name); write the values out", CFG_MAX_ANCHORS);
            else {
                anchor = n_anchors++;
                snprintf(anchors[anchor].name, sizeof anchors[anchor].name, "%.*s", (int)(name ? len : 0),
                         name ? name : "");
                anchors[anchor].nodes = 1;
                if (e->type != FYET_SCALAR)
                    anchor_of[depth - 1] = anchor, anchor = -1; /* sized at its end */
            }
        }
        if (!rc && nodes >= 0) {
            if (anchor >= 0)
                anchors[anchor].nodes = nodes;
            if (depth > 0)
                count[depth - 1] += nodes > CFG_MAX_ALIAS_NODES ? CFG_MAX_ALIAS_NODES + 1 : nodes;
        }
        fy_parser_event_free(fyp, e);
    }
done:
    free(count);
    free(anchor_of);
    free(anchors);
    if (fyp)
        fy_parser_destroy(fyp);
    if (d)
        fy_diag_destroy(d);
    return rc;
}

static void cfg_release(cfg *c)
{
    for (int i = 0; i < c->n_fields; i++)
        free(c->fields[i].vals);
    for (int i = 0; i < c->n_excl; i++)
        for (int j = 0; j < c->excl[i].n; j++)
            free(c->excl[i].hit[j]);
    free(c->excl);
    for (int i = 0; i < c->n_plugins; i++)
        zoo_plugin_close(c->plugins[i].p);
    if (c->probe)
        fy_diag_destroy(c->probe);
}

/* A top-level key that is one number for the whole sweep (not an axis): `max_run_seconds`
 * (> 0), `checkpoint_minutes` (>= 0), the network of the cost model (`net_gbytes_per_s`,
 * `net_latency_us`, > 0). */
typedef struct top_number {
    const char *key, *unit, *noun, *what, *example, *off; /* off: what to do for none */
    int zero_ok;
} top_number;

static const top_number max_run_key = {"max_run_seconds", "seconds", "the wall-time limit of one run",
                                       "the wall-time limit of one run: build, training and evaluation", "3600",
                                       "remove the key for no limit", 0};
static const top_number ckpt_key = {"checkpoint_minutes", "minutes", "the time between two checkpoints of a run",
                                    "how often each run in flight saves its training state",
                                    "5", "0 turns checkpoints off", 1};
static const top_number net_bw_key = {"net_gbytes_per_s", "GB/s", "the allreduce bandwidth between ranks",
                                      "the bandwidth a multi-rank run's gradient allreduce gets between ranks", "10",
                                      "remove the key for the default, 10", 0};
static const top_number net_lat_key = {"net_latency_us", "microseconds", "the latency of one allreduce message",
                                       "the latency of one allreduce message between ranks", "5",
                                       "remove the key for the default, 5", 0};

static int parse_top_number(cfg *c, struct fy_node *v, cfg_loc at, const top_number *t, double *out)
{
    cfg_loc vl = zoo_cfg_loc(c, v, at);
    if (zoo_cfg_is_null(v))
        return zoo_cfg_fail(c, at, "%s has no value; give %s in %s (e.g. %s) or remove the key", t->key, t->noun,
                            t->unit, t->example);
    if (fy_node_get_type(v) != FYNT_SCALAR)
        return zoo_cfg_fail(c, vl, "wrong type: %s takes one number of %s for every run, got %s", t->key, t->unit,
                            zoo_cfg_kind(v));
    const char *s = fy_node_get_scalar0(v);
    if (!s)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory reading %s", c->src);
    char *end = NULL;
    double x = zoo_cfg_is_plain(v) ? strtod(s, &end) : 0;
    /* Decimal only, as for the other numbers: strtod would also take 0x10, inf and nan. */
    int num = zoo_cfg_is_plain(v) && *s && end && !*end && isfinite(x) && strspn(s, "0123456789+-.eE") == strlen(s);
    if (!num || !(x > 0 || (t->zero_ok && x == 0)))
        return zoo_cfg_fail(c, vl, "%s takes a %s number of %s (%s), got %s '%.80s'; %s", t->key,
                            t->zero_ok ? "non-negative" : "positive", t->unit, t->what,
                            zoo_cfg_is_plain(v) ? "the value" : "the quoted string", s,
                            zoo_cfg_is_plain(v) ? t->off : "remove the quotes");
    *out = x;
    return 0;
}

/* `keep_checkpoints: true|false`. */
static int parse_top_bool(cfg *c, struct fy_node *v, cfg_loc at, const char *key, int *out)
{
    cfg_loc vl = zoo_cfg_loc(c, v, at);
    const char *s = !zoo_cfg_is_null(v) && fy_node_get_type(v) == FYNT_SCALAR ? fy_node_get_scalar0(v) : NULL;
    if (s && zoo_cfg_is_plain(v) && (!strcmp(s, "true") || !strcmp(s, "false"))) {
        *out = s[0] == 't';
        return 0;
    }
    return zoo_cfg_fail(c, vl, "%s takes true or false, got %s%s%.80s%s", key, s ? "'" : "", s ? "" : zoo_cfg_kind(v),
                        s ? s : "", s ? "'" : "");
}

static int parse_doc(cfg *c, struct fy_document *doc, zoo_sweep *out)
{
    struct fy_node *root = fy_document_root(doc);
    if (!root || zoo_cfg_is_null(root))
        return zoo_cfg_fail(c, (cfg_loc){1, 1},
                            "the file is empty; a sweep file is a mapping with task:, model: and train: sections");
    cfg_loc rl = zoo_cfg_loc(c, root, (cfg_loc){1, 1});
    if (fy_node_get_type(root) != FYNT_MAPPING)
        return zoo_cfg_fail(c, rl, "the file is %s; a sweep file is a mapping with task:, model: and train: sections",
                            zoo_cfg_kind(root));
    c->task_loc = rl;
    out->checkpoint_minutes = ZOO_SWEEP_CHECKPOINT_MINUTES;
    struct fy_node *zip = NULL, *ex = NULL;
    cfg_loc zip_at = rl, ex_at = rl;
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(root, &it))) {
        struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
        cfg_loc at = zoo_cfg_loc(c, k, rl);
        const char *name;
        int rc = key_text(c, k, at, &name);
        if (rc)
            return rc;
        if (!strcmp(name, "name")) {
            if (zoo_cfg_is_null(v) || fy_node_get_type(v) != FYNT_SCALAR)
                return zoo_cfg_fail(c, zoo_cfg_loc(c, v, at), "wrong type: name takes a string, got %s", zoo_cfg_kind(v));
            const char *s = fy_node_get_scalar0(v);
            if (strlen(s) >= sizeof out->name)
                return zoo_cfg_fail(c, zoo_cfg_loc(c, v, at), "name is %zu characters long; at most %zu", strlen(s),
                                    sizeof out->name - 1);
            snprintf(out->name, sizeof out->name, "%s", s);
        } else if (!strcmp(name, "task") || !strcmp(name, "model") || !strcmp(name, "train")) {
            if (!strcmp(name, "task"))
                c->task_loc = at;
            if ((rc = parse_section(c, name, k, v)))
                return rc;
        } else if (!strcmp(name, "zip")) {
            zip = v, zip_at = at;
        } else if (!strcmp(name, "exclude")) {
            ex = v, ex_at = at;
        } else if (!strcmp(name, "max_run_seconds")) {
            if ((rc = parse_top_number(c, v, at, &max_run_key, &out->max_run_seconds)))
                return rc;
        } else if (!strcmp(name, "checkpoint_minutes")) {
            if ((rc = parse_top_number(c, v, at, &ckpt_key, &out->checkpoint_minutes)))
                return rc;
        } else if (!strcmp(name, "keep_checkpoints")) {
            if ((rc = parse_top_bool(c, v, at, name, &out->keep_checkpoints)))
                return rc;
        } else if (!strcmp(name, "net_gbytes_per_s")) {
            if ((rc = parse_top_number(c, v, at, &net_bw_key, &out->net_gbytes_per_s)))
                return rc;
        } else if (!strcmp(name, "net_latency_us")) {
            if ((rc = parse_top_number(c, v, at, &net_lat_key, &out->net_latency_us)))
                return rc;
        } else {
            return unknown_key(c, at, NULL, name);
        }
    }
    int rc = 0;
    if (zip && (rc = zoo_cfg_parse_zip(c, zip, zip_at)))
        return rc;
    if (ex && (rc = zoo_cfg_parse_exclude(c, ex, ex_at)))
        return rc;
    return zoo_cfg_expand(c, out);
}

/* Default sweep name: the file name without folders and extension. */
static void stem(const char *path, char *out, size_t n)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(out, n, "%s", b);
    char *dot = strrchr(out, '.');
    if (dot && dot != out)
        *dot = 0;
}

int zoo_sweep_parse(const char *text, const char *name, zoo_sweep *out)
{
    if (!out)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_sweep_parse: no output");
    memset(out, 0, sizeof *out);
    if (!text || !name)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_sweep_parse: need the text and a name for messages");
    cfg *c = calloc(1, sizeof *c);
    out->path = strdup(name);
    out->text = strdup(text);
    if (!c || !out->path || !out->text) {
        free(c);
        zoo_sweep_free(out);
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory reading %s", name);
    }
    c->src = out->path;
    stem(name, out->name, sizeof out->name);
    int rc = 0;
    struct fy_diag *diag = new_diag();
    c->probe = new_diag();
    struct fy_parser *fyp = NULL;
    struct fy_document *doc = NULL, *doc2 = NULL;
    if (!diag || !c->probe) {
        rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory reading %s", name);
        goto fail;
    }
    if ((rc = check_utf8(c, out->text)) || (rc = check_aliases(c, out->text)))
        goto fail;
    struct fy_parse_cfg pc;
    memset(&pc, 0, sizeof pc);
    pc.flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG | FYPCF_RESOLVE_DOCUMENT;
    pc.diag = diag;
    fyp = fy_parser_create(&pc);
    if (!fyp || fy_parser_set_string(fyp, out->text, strlen(out->text))) {
        rc = ZOO_FAIL(ZOO_ERR_NOMEM, "cannot start the YAML parser for %s", name);
        goto fail;
    }
    doc = fy_parse_load_document(fyp);
    if (!doc) {
        void *ei = NULL;
        if (fy_diag_errors_iterate(diag, &ei))
            rc = first_diag_error(c, diag, "");
        else if (fy_parser_get_stream_error(fyp)) /* e.g. out of memory: not an empty file */
            rc = zoo_cfg_fail(c, (cfg_loc){1, 1}, "the YAML parser failed without a message (out of memory?); check the file");
        else
            rc = zoo_cfg_fail(c, (cfg_loc){1, 1},
                              "the file is empty; a sweep file is a mapping with task:, model: and train: sections");
        goto fail;
    }
    {
        void *ei = NULL;
        if (fy_diag_errors_iterate(diag, &ei)) {
            rc = first_diag_error(c, diag, "");
            goto fail;
        }
    }
    doc2 = fy_parse_load_document(fyp);
    if (doc2) {
        struct fy_node *r2 = fy_document_root(doc2);
        rc = zoo_cfg_fail(c, zoo_cfg_loc(c, r2, (cfg_loc){1, 1}),
                          "a second YAML document starts here; a sweep file holds one document (remove the '---')");
        goto fail;
    } else {
        void *ei = NULL;
        if (fy_diag_errors_iterate(diag, &ei)) {
            rc = first_diag_error(c, diag, "");
            goto fail;
        }
    }
    rc = parse_doc(c, doc, out);
fail:
    if (doc2)
        fy_parse_document_destroy(fyp, doc2);
    if (doc)
        fy_parse_document_destroy(fyp, doc);
    if (fyp)
        fy_parser_destroy(fyp);
    if (diag)
        fy_diag_destroy(diag);
    cfg_release(c);
    free(c);
    if (rc) {
        zoo_error last = *zoo_error_last();
        zoo_sweep_free(out);
        zoo_error_set(last.code, last.file, last.line, "%s", last.msg);
    }
    return rc;
}

int zoo_sweep_load(const char *path, zoo_sweep *out)
{
    if (!out)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_sweep_load: no output");
    memset(out, 0, sizeof *out);
    if (!path)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_sweep_load: no path");
    FILE *f = fopen(path, "rb");
    if (!f)
        return ZOO_FAIL(ZOO_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 8192, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) {
            if (cap > (64u << 20)) {
                free(buf);
                fclose(f);
                return ZOO_FAIL(ZOO_ERR_IO, "%s: larger than 64 MiB; is this a sweep file?", path);
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (!buf)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "%s: out of memory reading it", path);
    if (err) {
        free(buf);
        return ZOO_FAIL(ZOO_ERR_IO, "%s: read error", path);
    }
    buf[len] = 0;
    if (memchr(buf, 0, len)) {
        free(buf);
        return ZOO_FAIL(ZOO_ERR_CONFIG, "%s:1:1: the file contains NUL bytes; a sweep file is YAML text", path);
    }
    int rc = zoo_sweep_parse(buf, path, out);
    free(buf);
    return rc;
}

void zoo_sweep_free(zoo_sweep *s)
{
    if (!s)
        return;
    free(s->path);
    free(s->text);
    free(s->runs);
    memset(s, 0, sizeof *s);
}
