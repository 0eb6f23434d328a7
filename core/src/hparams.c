/* hparams.c: a mixer's or task's knob values — defaults from its declared table, overrides parsed
 * from text (sweep and run files, flags), typed getters for plugins, and one-line
 * formatting for logs and HDF5. Does not know any particular mixer's knobs. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "zoo/suggest.h"
#include "zoo/plugin.h"

#define MAX_LIST 4096 /* entries in one INT_LIST knob */

typedef struct hval {
    const zoo_hparam *decl;
    int64_t i;      /* INT, BOOL (0/1) */
    double f;       /* FLOAT */
    char *s;        /* STRING */
    int64_t *list;  /* INT_LIST */
    int nlist;
} hval;

struct zoo_hvals {
    const char *kind;  /* "mixer" or "task", for messages */
    const char *owner; /* its name */
    int n;
    hval *v; /* n entries, in declaration order */
};

static const char *type_name(zoo_hparam_type t)
{
    switch (t) {
    case ZOO_HP_INT: return "an int";
    case ZOO_HP_FLOAT: return "a float";
    case ZOO_HP_BOOL: return "a bool";
    case ZOO_HP_STRING: return "a string";
    case ZOO_HP_INT_LIST: return "an int list";
    }
    return "an unknown type";
}

static const char *type_hint(zoo_hparam_type t)
{
    switch (t) {
    case ZOO_HP_INT: return "write a whole number such as 2";
    case ZOO_HP_FLOAT: return "write a finite number such as 0.1 or 1e-3";
    case ZOO_HP_BOOL: return "write true, false, yes, no, 1 or 0";
    case ZOO_HP_STRING: return "";
    case ZOO_HP_INT_LIST: return "write a single int such as 3 or a list such as [3, -1, 3, -1]";
    }
    return "";
}

static const char *skip_ws(const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    return s;
}

/* One int starting at s (after spaces); *end after it. 0 or -1 when not an int. */
static int parse_int_at(const char *s, int64_t *v, const char **end)
{
    s = skip_ws(s);
    if (!*s || !(isdigit((unsigned char)*s) || ((*s == '-' || *s == '+') && isdigit((unsigned char)s[1]))))
        return -1;
    errno = 0;
    char *e;
    long long x = strtoll(s, &e, 10);
    if (errno == ERANGE)
        return -1;
    *v = (int64_t)x;
    *end = e;
    return 0;
}

static int parse_int(const char *s, int64_t *v)
{
    const char *e;
    return parse_int_at(s, v, &e) || *skip_ws(e) ? -1 : 0;
}

static int parse_float(const char *s, double *v)
{
    s = skip_ws(s);
    if (!*s)
        return -1;
    errno = 0;
    char *e;
    double x = strtod(s, &e);
    if (e == s || *skip_ws(e) || errno == ERANGE || !isfinite(x))
        return -1;
    *v = x;
    return 0;
}

static int parse_bool(const char *s, int64_t *v)
{
    static const char *yes[] = {"true", "yes", "1"}, *no[] = {"false", "no", "0"};
    s = skip_ws(s);
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    for (int i = 0; i < 3; i++) {
        if (strlen(yes[i]) == len && !strncasecmp(s, yes[i], len))
            return *v = 1, 0;
        if (strlen(no[i]) == len && !strncasecmp(s, no[i], len))
            return *v = 0, 0;
    }
    return -1;
}

/* "[3, -1, 3]", "3, -1", "3" or "[]". */
static int parse_list(const char *s, int64_t **out, int *n)
{
    int64_t buf[MAX_LIST];
    int k = 0;
    s = skip_ws(s);
    int bracket = *s == '[';
    if (bracket)
        s = skip_ws(s + 1);
    if (bracket && *s == ']') {
        s = skip_ws(s + 1);
        if (*s)
            return -1;
    } else {
        for (;;) {
            const char *e;
            if (k == MAX_LIST || parse_int_at(s, &buf[k], &e))
                return -1;
            k++;
            s = skip_ws(e);
            if (*s == ',') {
                s++;
                continue;
            }
            if (bracket) {
                if (*s != ']')
                    return -1;
                s = skip_ws(s + 1);
            }
            if (*s)
                return -1;
            break;
        }
    }
    int64_t *l = malloc((size_t)(k ? k : 1) * sizeof *l);
    if (!l)
        return -2;
    memcpy(l, buf, (size_t)k * sizeof *l);
    *out = l;
    *n = k;
    return 0;
}

/* Parse text into a fresh value of v's type; v is only changed on success.
 * Returns 0, -1 (bad text) or -2 (out of memory). */
static int parse_value(hval *v, const char *text)
{
    hval t = *v;
    int rc = 0;
    switch (v->decl->type) {
    case ZOO_HP_INT: rc = parse_int(text, &t.i); break;
    case ZOO_HP_FLOAT: rc = parse_float(text, &t.f); break;
    case ZOO_HP_BOOL: rc = parse_bool(text, &t.i); break;
    case ZOO_HP_STRING:
        if (!(t.s = strdup(text)))
            rc = -2;
        break;
    case ZOO_HP_INT_LIST: rc = parse_list(text, &t.list, &t.nlist); break;
    default: rc = -1;
    }
    if (rc)
        return rc;
    if (v->decl->type == ZOO_HP_STRING)
        free(v->s);
    if (v->decl->type == ZOO_HP_INT_LIST)
        free(v->list);
    *v = t;
    return 0;
}

void zoo_hvals_free(zoo_hvals *h)
{
    if (!h)
        return;
    for (int i = 0; i < h->n; i++) {
        free(h->v[i].s);
        free(h->v[i].list);
    }
    free(h->v);
    free(h);
}

/* Defaults of a knob table owned by the mixer or task `name`. */
static int hvals_new(const char *kind, const char *name, const zoo_hparam *table, zoo_hvals **out)
{
    const char *mname = name ? name : "?";
    zoo_hvals *h = calloc(1, sizeof *h);
    if (!h)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    h->kind = kind;
    h->owner = mname;
    int n = 0;
    while (table && table[n].name)
        n++;
    if (n && !(h->v = calloc((size_t)n, sizeof *h->v))) {
        free(h);
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    }
    h->n = n;
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        const zoo_hparam *d = &table[i];
        h->v[i].decl = d;
        if ((unsigned)d->type > ZOO_HP_INT_LIST) {
            rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s '%s' declares knob '%s' with unknown type %d: fix its hparams table",
                          kind, mname, d->name, (int)d->type);
            break;
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(table[j].name, d->name)) {
                rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s '%s' declares knob '%s' twice: fix its hparams table", kind, mname,
                              d->name);
                break;
            }
        if (rc)
            break;
        const char *def = d->def ? d->def : (d->type == ZOO_HP_STRING ? "" : NULL);
        int prc = def ? parse_value(&h->v[i], def) : -1;
        if (prc == -2)
            rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
        else if (prc)
            rc = ZOO_FAIL(ZOO_ERR_INVALID,
                          "%s '%s' declares knob '%s' with default '%s', which is not %s: fix its hparams table",
                          kind, mname, d->name, def ? def : "(null)", type_name(d->type));
    }
    if (rc) {
        zoo_hvals_free(h);
        return rc;
    }
    *out = h;
    return 0;
}

int zoo_hvals_new(const zoo_mixer *m, zoo_hvals **out)
{
    if (out)
        *out = NULL;
    if (!m || !out)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_hvals_new: need a mixer and an output pointer");
    return hvals_new("mixer", m->name, m->hparams, out);
}

int zoo_hvals_new_task(const zoo_task *t, zoo_hvals **out)
{
    if (out)
        *out = NULL;
    if (!t || !out)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_hvals_new_task: need a task and an output pointer");
    return hvals_new("task", t->name, t->hparams, out);
}

static hval *find(const zoo_hvals *h, const char *name)
{
    if (!h || !name)
        return NULL;
    for (int i = 0; i < h->n; i++)
        if (!strcmp(h->v[i].decl->name, name))
            return &h->v[i];
    return NULL;
}

int zoo_hvals_set(zoo_hvals *h, const char *name, const char *value)
{
    if (!h || !name || !value)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_hvals_set: need values, a knob name and a value");
    const char *mname = h->owner, *kind = h->kind;
    hval *v = find(h, name);
    if (!v) {
        if (!h->n)
            return ZOO_FAIL(ZOO_ERR_INVALID, "unknown hyperparameter '%s' for %s '%s' (it has no hyperparameters)",
                            name, kind, mname);
        const char *names[256];
        int nn = h->n < 256 ? h->n : 256;
        char known[700];
        size_t k = 0;
        known[0] = 0;
        for (int i = 0; i < h->n; i++) {
            if (i < nn)
                names[i] = h->v[i].decl->name;
            if (k < sizeof known)
                k += (size_t)snprintf(known + k, sizeof known - k, "%s%s", i ? ", " : "", h->v[i].decl->name);
        }
        const char *near = zoo_suggest_nearest(name, names, nn);
        char hint[200] = "";
        if (near)
            snprintf(hint, sizeof hint, "did you mean '%s'? ", near);
        return ZOO_FAIL(ZOO_ERR_INVALID, "unknown hyperparameter '%s' for %s '%s' (%sknown: %s)", name, kind, mname, hint,
                        known);
    }
    int rc = parse_value(v, value);
    if (rc == -2)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    if (rc)
        return ZOO_FAIL(ZOO_ERR_INVALID, "hyperparameter '%s' of %s '%s' is %s, got '%.200s': %s", name, kind, mname,
                        type_name(v->decl->type), value, type_hint(v->decl->type));
    return 0;
}

/* Shortest text that reads back as the same double. */
static void fmt_double(double x, char *buf, size_t n)
{
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            return;
    }
}

/* snprintf at offset *k that keeps counting past the end (to report the size needed). */
static void append(char *buf, size_t n, size_t *k, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t n, size_t *k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + (*k < n ? *k : n - 1), *k < n ? n - *k : 1, fmt, ap);
    va_end(ap);
    if (w > 0)
        *k += (size_t)w;
}

int zoo_hvals_format(const zoo_hvals *h, char *buf, size_t n)
{
    if (!h || !buf || !n)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_hvals_format: need values and a buffer");
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < h->n; i++) {
        const hval *v = &h->v[i];
        char tmp[64];
        append(buf, n, &k, "%s%s=", i ? " " : "", v->decl->name);
        switch (v->decl->type) {
        case ZOO_HP_INT: append(buf, n, &k, "%lld", (long long)v->i); break;
        case ZOO_HP_FLOAT:
            fmt_double(v->f, tmp, sizeof tmp);
            append(buf, n, &k, "%s", tmp);
            break;
        case ZOO_HP_BOOL: append(buf, n, &k, "%s", v->i ? "true" : "false"); break;
        case ZOO_HP_STRING: append(buf, n, &k, "%s", v->s ? v->s : ""); break;
        case ZOO_HP_INT_LIST:
            append(buf, n, &k, "[");
            for (int j = 0; j < v->nlist; j++)
                append(buf, n, &k, "%s%lld", j ? ", " : "", (long long)v->list[j]);
            append(buf, n, &k, "]");
            break;
        }
    }
    if (k >= n)
        return ZOO_FAIL(ZOO_ERR_INVALID, "knob values of %s '%s' need %zu bytes, the buffer has %zu",
                        h->kind, h->owner, k + 1, n);
    return 0;
}

/* ---- getters for plugins: unknown names give 0 / NULL (plugins ask for their own) --- */
int64_t zoo_hvals_int(const zoo_hvals *h, const char *name)
{
    const hval *v = find(h, name);
    if (!v)
        return 0;
    switch (v->decl->type) {
    case ZOO_HP_INT:
    case ZOO_HP_BOOL: return v->i;
    case ZOO_HP_FLOAT: return (int64_t)v->f;
    case ZOO_HP_INT_LIST: return v->nlist ? v->list[0] : 0;
    default: return 0;
    }
}

double zoo_hvals_float(const zoo_hvals *h, const char *name)
{
    const hval *v = find(h, name);
    if (!v)
        return 0;
    if (v->decl->type == ZOO_HP_FLOAT)
        return v->f;
    return (double)zoo_hvals_int(h, name);
}

int zoo_hvals_bool(const zoo_hvals *h, const char *name)
{
    const hval *v = find(h, name);
    if (!v)
        return 0;
    if (v->decl->type == ZOO_HP_FLOAT)
        return v->f != 0;
    return zoo_hvals_int(h, name) != 0;
}

const char *zoo_hvals_str(const zoo_hvals *h, const char *name)
{
    const hval *v = find(h, name);
    return v && v->decl->type == ZOO_HP_STRING ? v->s : NULL;
}

int zoo_hvals_list(const zoo_hvals *h, const char *name, const int64_t **vals)
{
    const hval *v = find(h, name);
    if (vals)
        *vals = NULL;
    if (!v)
        return 0;
    if (v->decl->type == ZOO_HP_INT_LIST) {
        if (vals)
            *vals = v->list;
        return v->nlist;
    }
    if (v->decl->type == ZOO_HP_INT) { /* a plain int reads as a one-entry list */
        if (vals)
            *vals = &v->i;
        return 1;
    }
    return 0;
}
