/* config_grid.c: from parsed fields to the list of runs: zip groups (axes that move
 * together), exclude entries, the product in file order, and the checks each run must
 * pass (task constraints, the plugins' validate(), no two identical runs). Errors name
 * the run by index and axis values. Nothing here trains. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "zoo/error.h"
#include "zoo/suggest.h"

static int field_by_name(const cfg *c, const char *name)
{
    for (int i = 0; i < c->n_fields; i++)
        if (!strcmp(c->fields[i].name, name))
            return i;
    return -1;
}

static void axis_list(const cfg *c, char *out, size_t n)
{
    size_t k = 0;
    out[0] = 0;
    for (int i = 0; i < c->n_fields && k < n; i++)
        if (c->fields[i].axis)
            k += (size_t)snprintf(out + k, n - k, "%s%s", k ? ", " : "", c->fields[i].name);
    if (!out[0])
        snprintf(out, n, "none");
}

/* A name used in zip or exclude must be an axis of this file. */
static int axis_named(cfg *c, struct fy_node *n, cfg_loc at, const char *where, int *out)
{
    if (fy_node_get_type(n) != FYNT_SCALAR || zoo_cfg_is_null(n))
        return zoo_cfg_fail(c, at, "wrong type: %s names axes (e.g. seq_len), got %s", where, zoo_cfg_kind(n));
    const char *name = fy_node_get_scalar0(n);
    char axes[512];
    axis_list(c, axes, sizeof axes);
    int i = field_by_name(c, name);
    if (i < 0) {
        const char *cands[CFG_MAX_FIELDS];
        int nc = 0;
        for (int j = 0; j < c->n_fields; j++)
            if (c->fields[j].axis)
                cands[nc++] = c->fields[j].name;
        const char *near = zoo_suggest_nearest(name, cands, nc);
        if (near)
            return zoo_cfg_fail(c, at, "%s: unknown axis '%s'; did you mean '%s'? (axes: %s)", where, name, near, axes);
        return zoo_cfg_fail(c, at, "%s: '%s' is not an axis of this file (axes: %s)", where, name, axes);
    }
    if (!c->fields[i].axis)
        return zoo_cfg_fail(c, at, "%s: %s is a single value, not an axis (axes: %s); give %s a list of values", where,
                            name, axes, name);
    *out = i;
    return 0;
}

static int zip_group(cfg *c, struct fy_node *g, cfg_loc at)
{
    cfg_loc gl = zoo_cfg_loc(c, g, at);
    int n = fy_node_sequence_item_count(g);
    if (n < 2)
        return zoo_cfg_fail(c, gl, "zip: a group needs at least two axes that move together, e.g. [seq_len, kv_pairs]");
    int gid = c->n_zip++;
    c->zip_loc[gid] = gl;
    int first = -1;
    void *it = NULL;
    struct fy_node *x;
    while ((x = fy_node_sequence_iterate(g, &it))) {
        cfg_loc xl = zoo_cfg_loc(c, x, gl);
        int fi, rc = axis_named(c, x, xl, "zip", &fi);
        if (rc)
            return rc;
        cfg_field *f = &c->fields[fi];
        if (f->zip >= 0)
            return zoo_cfg_fail(c, xl, "zip: %s is already in a zip group (line %d); an axis can be in one group only",
                                f->name, c->zip_loc[f->zip].line);
        if (first >= 0 && f->n_vals != c->fields[first].n_vals)
            return zoo_cfg_fail(c, xl,
                                "zip length mismatch: %s has %d values (line %d) but %s has %d (line %d); zipped axes "
                                "move together and need the same number of values",
                                f->name, f->n_vals, f->loc.line, c->fields[first].name, c->fields[first].n_vals,
                                c->fields[first].loc.line);
        if (first < 0)
            first = fi;
        f->zip = gid;
    }
    return 0;
}

int zoo_cfg_parse_zip(cfg *c, struct fy_node *zip, cfg_loc at)
{
    cfg_loc zl = zoo_cfg_loc(c, zip, at);
    if (zoo_cfg_is_null(zip))
        return 0;
    if (fy_node_get_type(zip) != FYNT_SEQUENCE)
        return zoo_cfg_fail(c, zl, "wrong type: zip takes a list of axis names ([seq_len, kv_pairs]) or a list of such "
                                   "groups, got %s", zoo_cfg_kind(zip));
    int n = fy_node_sequence_item_count(zip);
    if (n == 0)
        return zoo_cfg_fail(c, zl, "zip: [] is empty; list the axes that move together or remove zip");
    int lists = 0, scalars = 0;
    void *it = NULL;
    struct fy_node *x;
    while ((x = fy_node_sequence_iterate(zip, &it))) {
        if (fy_node_get_type(x) == FYNT_SEQUENCE)
            lists++;
        else
            scalars++;
    }
    if (lists && scalars)
        return zoo_cfg_fail(c, zl, "zip mixes names and lists; write one group [seq_len, kv_pairs] or a list of groups "
                                   "[[seq_len, kv_pairs], [d_model, lr]]");
    if (scalars) /* one group written flat */
        return zip_group(c, zip, zl);
    it = NULL;
    while ((x = fy_node_sequence_iterate(zip, &it))) {
        int rc = zip_group(c, x, zl);
        if (rc)
            return rc;
    }
    return 0;
}

/* Does exclude value node x select value v of field f? */
static int value_matches(const cfg_field *f, const cfg_value *v, struct fy_node *x)
{
    const char *s = fy_node_get_scalar0(x);
    if (!s)
        return 0;
    if (f->type == FT_MIXER)
        return !strcmp(s, v->label) || !strcmp(s, v->names);
    if (v->is_num) {
        char *end;
        double d = strtod(s, &end);
        return *s && !*end && d == v->num;
    }
    return !strcmp(s, v->text);
}

static int exclude_cond(cfg *c, cfg_exclude *e, struct fy_node *k, struct fy_node *v, cfg_loc at)
{
    cfg_loc kl = zoo_cfg_loc(c, k, at), vl = zoo_cfg_loc(c, v, kl);
    int fi, rc = axis_named(c, k, kl, "exclude", &fi);
    if (rc)
        return rc;
    cfg_field *f = &c->fields[fi];
    for (int j = 0; j < e->n; j++)
        if (e->field[j] == fi)
            return zoo_cfg_fail(c, kl, "exclude: %s appears twice in one entry", f->name);
    unsigned char *hit = calloc((size_t)f->n_vals, 1);
    if (!hit)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    e->field[e->n] = fi;
    e->hit[e->n++] = hit;
    if (zoo_cfg_is_null(v))
        return zoo_cfg_fail(c, kl, "exclude: %s has no value; give the value (or a list of values) to leave out", f->name);
    int n_given = fy_node_get_type(v) == FYNT_SEQUENCE ? fy_node_sequence_item_count(v) : 1;
    if (fy_node_get_type(v) == FYNT_MAPPING || n_given == 0)
        return zoo_cfg_fail(c, vl, "wrong type: exclude: %s takes one value of the axis or a list of them, got %s",
                            f->name, n_given ? "a mapping" : "an empty list");
    void *it = NULL;
    struct fy_node *x = fy_node_get_type(v) == FYNT_SEQUENCE ? fy_node_sequence_iterate(v, &it) : v;
    for (; x; x = fy_node_get_type(v) == FYNT_SEQUENCE ? fy_node_sequence_iterate(v, &it) : NULL) {
        cfg_loc xl = zoo_cfg_loc(c, x, vl);
        if (fy_node_get_type(x) != FYNT_SCALAR || zoo_cfg_is_null(x))
            return zoo_cfg_fail(c, xl, "wrong type: exclude values are scalars (a mixer by its name), got %s",
                                zoo_cfg_kind(x));
        int any = 0;
        for (int i = 0; i < f->n_vals; i++)
            if (value_matches(f, &f->vals[i], x))
                hit[i] = 1, any = 1;
        if (!any) {
            char vals[400];
            size_t len = 0;
            for (int i = 0; i < f->n_vals && len < sizeof vals; i++)
                len += (size_t)snprintf(vals + len, sizeof vals - len, "%s%s", i ? ", " : "",
                                        f->type == FT_MIXER ? f->vals[i].label : f->vals[i].text);
            return zoo_cfg_fail(c, xl, "exclude: %s is not a value of axis %s (values: %s)", fy_node_get_scalar0(x),
                                f->name, vals);
        }
        if (x == v)
            break;
    }
    return 0;
}

int zoo_cfg_parse_exclude(cfg *c, struct fy_node *ex, cfg_loc at)
{
    cfg_loc el = zoo_cfg_loc(c, ex, at);
    if (zoo_cfg_is_null(ex))
        return 0;
    if (fy_node_get_type(ex) != FYNT_SEQUENCE)
        return zoo_cfg_fail(c, el, "wrong type: exclude takes a list of mappings like - {mixers: attention, seq_len: 512}, "
                                   "got %s", zoo_cfg_kind(ex));
    int n = fy_node_sequence_item_count(ex);
    c->excl = calloc((size_t)(n > 0 ? n : 1), sizeof *c->excl);
    if (!c->excl)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    void *it = NULL;
    struct fy_node *x;
    while ((x = fy_node_sequence_iterate(ex, &it))) {
        cfg_loc xl = zoo_cfg_loc(c, x, el);
        if (fy_node_get_type(x) != FYNT_MAPPING || fy_node_mapping_item_count(x) <= 0)
            return zoo_cfg_fail(c, xl, "wrong type: each exclude entry is a mapping of axis: value, got %s",
                                fy_node_get_type(x) == FYNT_MAPPING ? "an empty mapping" : zoo_cfg_kind(x));
        cfg_exclude *e = &c->excl[c->n_excl++];
        e->loc = xl;
        void *pi = NULL;
        struct fy_node_pair *p;
        while ((p = fy_node_mapping_iterate(x, &pi))) {
            int rc = exclude_cond(c, e, fy_node_pair_key(p), fy_node_pair_value(p), xl);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* ---- the product ---------------------------------------------------------------------- */

/* "seq_len=64, kv_pairs=4, mixers=hyena" for run messages. */
static void run_axes(const cfg *c, const int *vi, char *out, size_t n)
{
    size_t k = 0;
    out[0] = 0;
    for (int i = 0; i < c->n_fields && k < n; i++) {
        const cfg_field *f = &c->fields[i];
        if (f->axis)
            k += (size_t)snprintf(out + k, n - k, "%s%s=%s", k ? ", " : "", f->name, f->vals[vi[i]].label);
    }
}

/* Where key is first named in msg as a whole word (not inside another name), or NULL. */
static const char *mention(const char *msg, const char *key)
{
    size_t len = strlen(key);
    for (const char *p = msg; (p = strstr(p, key)); p += len) {
        char before = p == msg ? ' ' : p[-1], after = p[len];
        if (!(before == '_' || (before >= 'a' && before <= 'z')) && !(after == '_' || (after >= 'a' && after <= 'z')))
            return p;
    }
    return NULL;
}

/* Where a failing run's error points: the value of the field the message names first,
 * when that field is given in the file (axes first: the axis value that makes this run
 * fail), else the first axis, else the task. The first name is the culprit: a task says
 * "kv_pairs 17 needs seq_len >= 68", and the run spec "kv_pairs=8: task 'x' has no knob". */
static cfg_loc run_loc(const cfg *c, const int *vi, const char *msg)
{
    for (int pass = 0; pass < 2; pass++) {
        const char *first = NULL;
        size_t first_len = 0;
        int at = -1;
        for (int i = 0; i < c->n_fields; i++) {
            const cfg_field *f = &c->fields[i];
            if ((pass == 0) != (f->axis != 0))
                continue;
            /* a task knob's errors name it "task.<knob>" or, from the task itself, "<knob>" */
            const char *key = strncmp(f->key, "task.", 5) || strstr(msg, f->key) ? f->key : f->key + 5;
            const char *p = mention(msg, key);
            /* at one place the longer name wins: "task.min_gap" over "task" */
            if (p && (!first || p < first || (p == first && strlen(key) > first_len))) {
                first = p;
                first_len = strlen(key);
                at = i;
            }
        }
        if (at >= 0)
            return c->fields[at].vals[vi[at]].loc;
    }
    for (int i = 0; i < c->n_fields; i++)
        if (c->fields[i].axis)
            return c->fields[i].vals[vi[i]].loc;
    return c->task_loc;
}

static int excluded(const cfg *c, const int *vi)
{
    for (int e = 0; e < c->n_excl; e++) {
        int all = 1;
        for (int j = 0; j < c->excl[e].n && all; j++)
            all = c->excl[e].hit[j][vi[c->excl[e].field[j]]];
        if (all)
            return 1;
    }
    return 0;
}

/* Build run spec from value indices; errors leave a message for the caller. */
static int build_spec(const cfg *c, const int *vi, zoo_run_spec *s, cfg_loc *bad)
{
    zoo_run_spec_default(s);
    /* Knobs of one task's section last, once the run's task is known. */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < c->n_fields; i++) {
            const cfg_field *f = &c->fields[i];
            if ((pass == 0) != !f->only_task[0] || (pass == 1 && strcmp(s->task, f->only_task)))
                continue;
            const cfg_value *v = &f->vals[vi[i]];
            int rc = f->type == FT_MIXER ? zoo_cfg_apply_mixer(s, v) : zoo_run_spec_set(s, f->key, v->text);
            if (rc) {
                *bad = v->loc;
                return rc;
            }
        }
    return 0;
}

static int64_t resolved_batch(const zoo_run_spec *s)
{
    char text[8192];
    if (zoo_run_spec_format(s, text, sizeof text))
        return s->batch_size;
    const char *p = strstr(text, "\nbatch_size=");
    return p ? strtoll(p + 12, NULL, 10) : s->batch_size;
}

/* The plugins' own checks of their knobs in this model (optional slot). */
static int validate_layers(cfg *c, const zoo_run_spec *s, char *msg, size_t n)
{
    int64_t B = resolved_batch(s);
    for (int l = 0; l < s->n_layers && l < 64; l++) {
        const zoo_mixer_ref *r = &s->mixers[l % s->n_mixers];
        zoo_plugin *p = NULL;
        for (int i = 0; i < c->n_plugins; i++)
            if (!strcmp(c->plugins[i].name, r->name))
                p = c->plugins[i].p;
        if (!p || !p->mixer->validate)
            continue;
        zoo_hvals *h = NULL;
        if (zoo_hvals_new(p->mixer, &h))
            return snprintf(msg, n, "%.600s", zoo_error_last()->msg), ZOO_ERR_INVALID;
        for (int k = 0; k < r->n_knobs; k++)
            if (zoo_hvals_set(h, r->knobs[k].name, r->knobs[k].value)) {
                snprintf(msg, n, "%.600s", zoo_error_last()->msg);
                zoo_hvals_free(h);
                return ZOO_ERR_INVALID;
            }
        zoo_layer_info li = {l, s->n_layers, s->d_model, s->seq_len, s->seq_len, B};
        char m[600] = "";
        int rc = p->mixer->validate(h, &li, m, sizeof m);
        zoo_hvals_free(h);
        /* Unsupported is not a config error: the sweep records the run as skipped. */
        if (rc && rc != ZOO_ERR_UNSUPPORTED) {
            snprintf(msg, n, "mixer %s (layer %d): %s", r->name, l, m[0] ? m : "rejected its knobs");
            return ZOO_ERR_INVALID;
        }
    }
    return 0;
}

typedef struct hash_idx {
    char hash[17];
    int64_t run;
} hash_idx;

static int cmp_hash(const void *a, const void *b)
{
    const hash_idx *x = a, *y = b;
    int d = strcmp(x->hash, y->hash);
    return d ? d : (x->run > y->run) - (x->run < y->run);
}

/* When two values of an axis are the same: mixers by label (knobs included), numbers
 * by value (1e-3 = 0.001), other values by text. The context of the sort below. */
typedef struct rep_sort {
    const cfg_field *member[CFG_MAX_FIELDS]; /* the dimension's axes, in file order */
    int n_members;
} rep_sort;
static _Thread_local const rep_sort *rep_ctx;

static int cmp_value(const cfg_field *f, const cfg_value *x, const cfg_value *y)
{
    if (f->type == FT_MIXER)
        return strcmp(x->label, y->label);
    if (x->is_num != y->is_num)
        return x->is_num - y->is_num;
    if (x->is_num)
        return (x->num > y->num) - (x->num < y->num);
    return strcmp(x->text, y->text);
}

static int same_tuple(const rep_sort *rs, int a, int b)
{
    for (int m = 0; m < rs->n_members; m++)
        if (cmp_value(rs->member[m], &rs->member[m]->vals[a], &rs->member[m]->vals[b]))
            return 0;
    return 1;
}

/* Entries of one dimension by their tuple of values, then by position. */
static int cmp_entry(const void *pa, const void *pb)
{
    int a = *(const int *)pa, b = *(const int *)pb;
    for (int m = 0; m < rep_ctx->n_members; m++) {
        const cfg_field *f = rep_ctx->member[m];
        int d = cmp_value(f, &f->vals[a], &f->vals[b]);
        if (d)
            return d;
    }
    return (a > b) - (a < b);
}

/* A value repeated along one dimension would give the same runs twice. Zipped axes
 * may repeat a value (batch 512 for two lengths) as long as the tuples differ. Sorted,
 * not compared pairwise, so a 100,000-value axis takes milliseconds; the repeat named
 * is the first in file order (the earliest entry equal to an earlier one). */
static int check_repeats(const cfg *c, int dim, int len)
{
    rep_sort rs = {.n_members = 0};
    for (int i = 0; i < c->n_fields; i++)
        if (c->fields[i].axis && c->fields[i].dim == dim)
            rs.member[rs.n_members++] = &c->fields[i];
    if (!rs.n_members || len < 2)
        return 0;
    int *order = malloc((size_t)len * sizeof *order);
    if (!order)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory checking axis %s for repeats", rs.member[0]->name);
    for (int i = 0; i < len; i++)
        order[i] = i;
    rep_ctx = &rs;
    qsort(order, (size_t)len, sizeof *order, cmp_entry);
    /* Equal tuples are adjacent, each group in file order: its first two entries are
     * a repeat; report the one whose second entry comes first in the file. */
    int a = -1, b = len;
    for (int g = 0, e; g < len; g = e) {
        for (e = g + 1; e < len && same_tuple(&rs, order[g], order[e]); e++)
            ;
        if (e - g >= 2 && order[g + 1] < b) {
            a = order[g];
            b = order[g + 1];
        }
    }
    free(order);
    if (a < 0)
        return 0;
    const cfg_field *last = rs.member[rs.n_members - 1];
    if (rs.n_members == 1)
        return zoo_cfg_fail(c, last->vals[b].loc, "axis %s: %s repeats %s (line %d, column %d); remove one",
                            last->name, last->vals[b].label, last->vals[a].label, last->vals[a].loc.line,
                            last->vals[a].loc.col);
    char names[300] = "";
    size_t k = 0;
    for (int m = 0; m < rs.n_members && k < sizeof names; m++)
        k += (size_t)snprintf(names + k, sizeof names - k, "%s%s", k ? ", " : "", rs.member[m]->name);
    return zoo_cfg_fail(c, last->vals[b].loc,
                        "zip [%s]: entry %d has the same values as entry %d; remove one from every zipped axis", names,
                        b + 1, a + 1);
}

/* The product being expanded: its dimensions and, per kept run, its value indices and
 * spec hash. */
typedef struct grid {
    int n_dims, dim_len[CFG_MAX_FIELDS];
    double total;                /* runs in the product, before exclude */
    int64_t n;                   /* runs kept */
    hash_idx *hi;
    int (*vis)[CFG_MAX_FIELDS];
} grid;

/* Grid dimensions in file order (a zip group is one, at its first axis); no repeats, not too many runs. */
static int plan_grid(cfg *c, grid *g)
{
    int zip_dim[CFG_MAX_FIELDS];
    for (int z = 0; z < CFG_MAX_FIELDS; z++)
        zip_dim[z] = -1;
    g->total = 1;
    for (int i = 0; i < c->n_fields; i++) {
        cfg_field *f = &c->fields[i];
        if (!f->axis)
            continue;
        if (f->zip >= 0 && zip_dim[f->zip] >= 0) {
            f->dim = zip_dim[f->zip];
            continue;
        }
        f->dim = g->n_dims;
        g->dim_len[g->n_dims] = f->n_vals;
        if (f->zip >= 0)
            zip_dim[f->zip] = g->n_dims;
        g->n_dims++;
        g->total *= f->n_vals;
    }
    /* the cap first: nothing below should see a grid that large */
    if (g->total > CFG_MAX_RUNS)
        return zoo_cfg_fail(c, c->task_loc, "the grid has %.0f runs, more than %d; split the sweep or zip axes",
                            g->total, CFG_MAX_RUNS);
    for (int d = 0; d < g->n_dims; d++) {
        int rc = check_repeats(c, d, g->dim_len[d]);
        if (rc)
            return rc;
    }
    return 0;
}

/* Value index of each field in run r of the product. */
static void run_values(const cfg *c, const grid *g, int64_t r, int *vi)
{
    int di[CFG_MAX_FIELDS];
    int64_t rest = r;
    for (int d = g->n_dims - 1; d >= 0; d--) { /* the last axis in the file varies fastest */
        di[d] = (int)(rest % g->dim_len[d]);
        rest /= g->dim_len[d];
    }
    for (int i = 0; i < c->n_fields; i++)
        vi[i] = c->fields[i].axis ? di[c->fields[i].dim] : 0;
}

/* Build run spec s and run its checks; on failure msg says why and *bad points at the value. */
static int check_run(cfg *c, const int *vi, zoo_run_spec *s, char *msg, size_t n, cfg_loc *bad)
{
    int brc = build_spec(c, vi, s, bad);
    if (!brc && zoo_run_spec_check(s)) {
        brc = ZOO_ERR_INVALID;
        *bad = run_loc(c, vi, zoo_error_last()->msg);
    }
    if (brc)
        snprintf(msg, n, "%.800s", zoo_error_last()->msg);
    else if ((brc = validate_layers(c, s, msg, n)))
        *bad = run_loc(c, vi, msg);
    return brc;
}

/* Every run not excluded into runs[] with its hash; reports the first of any that fail their checks. */
static int expand_runs(cfg *c, grid *g, zoo_run_spec *runs)
{
    int64_t n = 0, n_bad = 0;
    char first_msg[1024] = "";
    cfg_loc first_loc = {0, 0};
    for (int64_t r = 0; r < (int64_t)g->total; r++) {
        int *vi = g->vis[n];
        run_values(c, g, r, vi);
        if (excluded(c, vi))
            continue;
        zoo_run_spec *s = &runs[n];
        cfg_loc bad = {0, 0};
        char msg[900] = "";
        if (check_run(c, vi, s, msg, sizeof msg, &bad) && !n_bad++) {
            char axes[600];
            run_axes(c, vi, axes, sizeof axes);
            /* bounded pieces: the whole error message is one 1024-byte line anyway */
            snprintf(first_msg, sizeof first_msg, "run %lld%s%.300s%s violates a constraint: %.600s", (long long)n,
                     axes[0] ? " (" : "", axes, axes[0] ? ")" : "", msg);
            first_loc = bad;
        }
        zoo_run_spec_hash(s, g->hi[n].hash);
        g->hi[n].run = n;
        n++;
    }
    g->n = n;
    if (n_bad > 1)
        return zoo_cfg_fail(c, first_loc, "%s; %lld runs in all fail their checks: exclude them or change the axes",
                            first_msg, (long long)n_bad);
    if (n_bad)
        return zoo_cfg_fail(c, first_loc, "%s; exclude this run or change the axes", first_msg);
    if (n == 0)
        return zoo_cfg_fail(c, c->n_excl ? c->excl[0].loc : c->task_loc, "exclude leaves no runs; loosen the exclude entries");
    return 0;
}

/* No two runs may share a hash: that is one result twice (e.g. batch_size 0 and the value auto picks). */
static int check_duplicates(cfg *c, grid *g)
{
    int (*vis)[CFG_MAX_FIELDS] = g->vis;
    qsort(g->hi, (size_t)g->n, sizeof *g->hi, cmp_hash);
    for (int64_t i = 1; i < g->n; i++) {
        if (strcmp(g->hi[i].hash, g->hi[i - 1].hash))
            continue;
        int64_t a = g->hi[i - 1].run, b = g->hi[i].run;
        char ax_a[600], ax_b[600];
        run_axes(c, vis[a], ax_a, sizeof ax_a);
        run_axes(c, vis[b], ax_b, sizeof ax_b);
        cfg_loc at = c->task_loc;
        for (int f = 0; f < c->n_fields; f++)
            if (c->fields[f].axis && vis[a][f] != vis[b][f]) {
                at = c->fields[f].vals[vis[b][f]].loc;
                break;
            }
        return zoo_cfg_fail(c, at,
                            "runs %lld (%s) and %lld (%s) are the same run (spec hash %s); remove the value that "
                            "duplicates another or exclude one",
                            (long long)a, ax_a, (long long)b, ax_b, g->hi[i].hash);
    }
    return 0;
}

int zoo_cfg_expand(cfg *c, zoo_sweep *out)
{
    grid g;
    memset(&g, 0, sizeof g);
    int rc = plan_grid(c, &g);
    if (rc)
        return rc;
    const int64_t n_total = (int64_t)g.total;
    out->runs = calloc((size_t)n_total, sizeof *out->runs);
    g.hi = calloc((size_t)n_total, sizeof *g.hi);
    g.vis = calloc((size_t)n_total, sizeof *g.vis);
    if (!out->runs || !g.hi || !g.vis)
        rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory expanding %.0f runs", g.total);
    if (!rc)
        rc = expand_runs(c, &g, out->runs);
    if (!rc)
        rc = check_duplicates(c, &g);
    if (!rc)
        out->n_runs = g.n;
    free(g.hi);
    free(g.vis);
    if (rc) {
        free(out->runs);
        out->runs = NULL;
        out->n_runs = 0;
    }
    return rc;
}
