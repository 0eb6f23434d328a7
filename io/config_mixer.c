/* config_mixer.c: the `mixer:` and `mixers:` fields of a sweep file. A mixer is a
 * name, a mapping {name: hyena, filter_order: 32} or a per-layer list (hybrid); a knob
 * given as a list sweeps it. Plugins are loaded to check names and knob values; nothing
 * here builds a model. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "zoo/error.h"

/* One way to fill one layer of a pattern. */
typedef struct alt {
    zoo_mixer_ref ref;
    char label[200];
} alt;

typedef struct alts {
    alt *a;
    int n, cap;
} alts;

static int push(alts *l, const alt *x)
{
    if (l->n == l->cap) {
        int nc = l->cap ? 2 * l->cap : 8;
        alt *na = realloc(l->a, (size_t)nc * sizeof *na);
        if (!na)
            return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory expanding mixers");
        l->a = na;
        l->cap = nc;
    }
    l->a[l->n++] = *x;
    return 0;
}

int zoo_cfg_plugin(cfg *c, const char *name, cfg_loc at, zoo_plugin **out)
{
    for (int i = 0; i < c->n_plugins; i++)
        if (!strcmp(c->plugins[i].name, name)) {
            *out = c->plugins[i].p;
            return 0;
        }
    zoo_plugin *p = NULL;
    if (zoo_plugin_find(name, &p))
        return zoo_cfg_fail(c, at, "%s", zoo_error_last()->msg);
    if (c->n_plugins == CFG_MAX_PLUGINS) {
        zoo_plugin_close(p);
        return zoo_cfg_fail(c, at, "more than %d different mixers in one sweep", CFG_MAX_PLUGINS);
    }
    snprintf(c->plugins[c->n_plugins].name, sizeof c->plugins[0].name, "%s", name);
    c->plugins[c->n_plugins++].p = p;
    *out = p;
    return 0;
}

static const zoo_hparam *find_hparam(const zoo_mixer *m, const char *name)
{
    for (const zoo_hparam *h = m->hparams; h && h->name; h++)
        if (!strcmp(h->name, name))
            return h;
    return NULL;
}

/* Check one knob value with the plugin's own parser; the error points at `at`. */
static int check_knob(cfg *c, zoo_plugin *p, const char *knob, const char *text, cfg_loc at)
{
    zoo_hvals *h = NULL;
    if (zoo_hvals_new(p->mixer, &h))
        return zoo_cfg_fail(c, at, "%s", zoo_error_last()->msg);
    int rc = zoo_hvals_set(h, knob, text);
    zoo_hvals_free(h);
    if (rc)
        return zoo_cfg_fail(c, at, "%s", zoo_error_last()->msg);
    return 0;
}

static int scalar_name(cfg *c, struct fy_node *n, cfg_loc at, const char *what, const char **out)
{
    if (fy_node_get_type(n) != FYNT_SCALAR || zoo_cfg_is_null(n))
        return zoo_cfg_fail(c, at, "wrong type: %s must be a mixer name (e.g. attention), got %s", what, zoo_cfg_kind(n));
    *out = fy_node_get_scalar0(n);
    if (strlen(*out) >= sizeof(((zoo_mixer_ref *)0)->name))
        return zoo_cfg_fail(c, at, "mixer name '%.80s...' is too long", *out);
    return 0;
}

/* "[3, -1, 3]" from a list of plain scalars. */
static int list_text(cfg *c, struct fy_node *seq, cfg_loc at, const char *knob, char *out, size_t n)
{
    size_t k = (size_t)snprintf(out, n, "[");
    void *it = NULL;
    struct fy_node *x;
    int i = 0;
    while ((x = fy_node_sequence_iterate(seq, &it))) {
        cfg_loc xl = zoo_cfg_loc(c, x, at);
        if (fy_node_get_type(x) != FYNT_SCALAR || zoo_cfg_is_null(x))
            return zoo_cfg_fail(c, xl, "wrong type: the entries of knob %s must be integers, got %s", knob, zoo_cfg_kind(x));
        if (k < n)
            k += (size_t)snprintf(out + k, n - k, "%s%s", i++ ? ", " : "", fy_node_get_scalar0(x));
    }
    if (k < n)
        k += (size_t)snprintf(out + k, n - k, "]");
    if (k >= n)
        return zoo_cfg_fail(c, at, "knob %s: the list is longer than %zu characters", knob, n - 1);
    return 0;
}

/* The values one knob takes: one, or several when it is swept. */
typedef struct knob_alts {
    char name[64];
    int n;
    char (*text)[128];
    cfg_loc *loc;
} knob_alts;

static int add_knob_text(cfg *c, knob_alts *k, const char *text, cfg_loc at)
{
    if (strlen(text) >= sizeof k->text[0])
        return zoo_cfg_fail(c, at, "knob %s: value longer than %zu characters", k->name, sizeof k->text[0] - 1);
    for (int i = 0; i < k->n; i++)
        if (!strcmp(k->text[i], text))
            return zoo_cfg_fail(c, at, "knob %s lists %s twice; remove one", k->name, text);
    char(*nt)[128] = realloc(k->text, (size_t)(k->n + 1) * sizeof *nt);
    cfg_loc *nl = nt ? realloc(k->loc, (size_t)(k->n + 1) * sizeof *nl) : NULL;
    if (nt)
        k->text = nt;
    if (!nt || !nl)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    k->loc = nl;
    snprintf(k->text[k->n], sizeof k->text[0], "%s", text);
    k->loc[k->n++] = at;
    return 0;
}

static int knob_values(cfg *c, zoo_plugin *p, struct fy_node *kn, struct fy_node *v, knob_alts *out)
{
    cfg_loc kl = zoo_cfg_loc(c, kn, (cfg_loc){0, 0});
    const char *knob = fy_node_get_scalar0(kn);
    if (fy_node_get_type(kn) != FYNT_SCALAR || !knob || !*knob)
        return zoo_cfg_fail(c, kl, "knob names must be plain names, got %s", zoo_cfg_kind(kn));
    const zoo_hparam *hp = find_hparam(p->mixer, knob);
    if (!hp) /* the plugin's message names the nearest knob and lists all */
        return check_knob(c, p, knob, "0", kl);
    snprintf(out->name, sizeof out->name, "%s", knob);
    cfg_loc vl = zoo_cfg_loc(c, v, kl);
    int rc = 0;
    char text[1024];
    if (zoo_cfg_is_null(v))
        return zoo_cfg_fail(c, kl, "knob %s of %s has no value; give one (default %s) or remove it", knob,
                            p->mixer->name, hp->def ? hp->def : "none");
    if (fy_node_get_type(v) == FYNT_MAPPING)
        return zoo_cfg_fail(c, vl, "wrong type: knob %s of %s takes a value, got a mapping", knob, p->mixer->name);
    if (fy_node_get_type(v) == FYNT_SCALAR) {
        if ((rc = check_knob(c, p, knob, fy_node_get_scalar0(v), vl)))
            return rc;
        return add_knob_text(c, out, fy_node_get_scalar0(v), vl);
    }
    /* A list: for a list-valued knob a flat list is one value and a list of lists a
     * sweep; for any other knob a list is a sweep. */
    int n = fy_node_sequence_item_count(v);
    if (n <= 0)
        return zoo_cfg_fail(c, vl, "empty axis: knob %s: [] has no values; give at least one value", knob);
    int nested = 0;
    void *it = NULL;
    struct fy_node *x;
    while ((x = fy_node_sequence_iterate(v, &it)))
        nested |= fy_node_get_type(x) == FYNT_SEQUENCE;
    if (hp->type == ZOO_HP_INT_LIST && !nested) {
        if ((rc = list_text(c, v, vl, knob, text, sizeof text)) || (rc = check_knob(c, p, knob, text, vl)))
            return rc;
        return add_knob_text(c, out, text, vl);
    }
    it = NULL;
    while ((x = fy_node_sequence_iterate(v, &it))) {
        cfg_loc xl = zoo_cfg_loc(c, x, vl);
        if (hp->type == ZOO_HP_INT_LIST) {
            if (fy_node_get_type(x) != FYNT_SEQUENCE)
                return zoo_cfg_fail(c, xl,
                                    "wrong type: knob %s sweeps lists, so every entry must be a list like [3, -1]; got %s",
                                    knob, zoo_cfg_kind(x));
            if ((rc = list_text(c, x, xl, knob, text, sizeof text)))
                return rc;
        } else {
            if (fy_node_get_type(x) != FYNT_SCALAR || zoo_cfg_is_null(x))
                return zoo_cfg_fail(c, xl, "wrong type: the values swept for knob %s must be scalars, got %s", knob,
                                    zoo_cfg_kind(x));
            snprintf(text, sizeof text, "%s", fy_node_get_scalar0(x));
        }
        if ((rc = check_knob(c, p, knob, text, xl)) || (rc = add_knob_text(c, out, text, xl)))
            return rc;
    }
    return 0;
}

/* One layer entry: a name or a mapping; appends its alternatives to `out`. */
static int expand_entry(cfg *c, struct fy_node *n, cfg_loc at, alts *out)
{
    cfg_loc nl = zoo_cfg_loc(c, n, at);
    const char *name = NULL;
    zoo_plugin *p = NULL;
    int rc;
    if (fy_node_get_type(n) == FYNT_SEQUENCE)
        return zoo_cfg_fail(c, nl,
                            "wrong type: a per-layer pattern cannot contain another list; write [base_conv, based] "
                            "or {name: based, feature_dim: 8} per layer");
    if (fy_node_get_type(n) == FYNT_SCALAR) {
        if ((rc = scalar_name(c, n, nl, "a mixer", &name)) || (rc = zoo_cfg_plugin(c, name, nl, &p)))
            return rc;
        alt a;
        memset(&a, 0, sizeof a);
        snprintf(a.ref.name, sizeof a.ref.name, "%s", name);
        snprintf(a.label, sizeof a.label, "%s", name);
        return push(out, &a);
    }
    /* A mapping: `name` plus knobs. */
    struct fy_node *nn = fy_node_mapping_lookup_by_string(n, "name", (size_t)-1);
    if (!nn)
        return zoo_cfg_fail(c, nl, "a mixer mapping needs a name: write {name: hyena, filter_order: 32}");
    cfg_loc nnl = zoo_cfg_loc(c, nn, nl);
    if ((rc = scalar_name(c, nn, nnl, "name", &name)) || (rc = zoo_cfg_plugin(c, name, nnl, &p)))
        return rc;
    knob_alts ka[ZOO_MAX_KNOBS];
    memset(ka, 0, sizeof ka);
    int nk = 0;
    void *it = NULL;
    struct fy_node_pair *pr;
    long total = 1;
    while ((pr = fy_node_mapping_iterate(n, &it))) {
        struct fy_node *k = fy_node_pair_key(pr);
        const char *ks = fy_node_get_type(k) == FYNT_SCALAR ? fy_node_get_scalar0(k) : NULL;
        if (ks && !strcmp(ks, "name"))
            continue;
        if (nk == ZOO_MAX_KNOBS) {
            rc = zoo_cfg_fail(c, zoo_cfg_loc(c, k, nl), "mixer %s: more than %d knobs", name, ZOO_MAX_KNOBS);
            goto done;
        }
        if ((rc = knob_values(c, p, k, fy_node_pair_value(pr), &ka[nk])))
            goto done;
        total *= ka[nk++].n;
        if (total > CFG_MAX_EXPAND) {
            rc = zoo_cfg_fail(c, nl, "mixer %s expands to more than %d knob combinations", name, CFG_MAX_EXPAND);
            goto done;
        }
    }
    for (long r = 0; r < total; r++) {
        alt a;
        memset(&a, 0, sizeof a);
        snprintf(a.ref.name, sizeof a.ref.name, "%s", name);
        size_t k = (size_t)snprintf(a.label, sizeof a.label, "%s", name);
        long rest = r;
        for (int j = nk - 1; j >= 0; j--) { /* the last knob varies fastest */
            int i = (int)(rest % ka[j].n);
            rest /= ka[j].n;
            zoo_knob *kn = &a.ref.knobs[j];
            snprintf(kn->name, sizeof kn->name, "%s", ka[j].name);
            snprintf(kn->value, sizeof kn->value, "%s", ka[j].text[i]);
        }
        a.ref.n_knobs = nk;
        for (int j = 0; j < nk && k < sizeof a.label; j++)
            k += (size_t)snprintf(a.label + k, sizeof a.label - k, "%s%s=%s%s", j ? ", " : "(", a.ref.knobs[j].name,
                                  a.ref.knobs[j].value, j == nk - 1 ? ")" : "");
        if ((rc = push(out, &a)))
            goto done;
    }
done:
    for (int j = 0; j < ZOO_MAX_KNOBS; j++) {
        free(ka[j].text);
        free(ka[j].loc);
    }
    return rc;
}

/* One value of the field: a single entry or a per-layer list; appends each resulting
 * pattern to f->vals. */
static int expand_pattern(cfg *c, cfg_field *f, struct fy_node *n, cfg_loc at)
{
    cfg_loc nl = zoo_cfg_loc(c, n, at);
    alts layer[ZOO_MAX_PATTERN];
    memset(layer, 0, sizeof layer);
    int nl_count = 0, rc = 0;
    int hybrid = fy_node_get_type(n) == FYNT_SEQUENCE;
    if (hybrid) {
        int cnt = fy_node_sequence_item_count(n);
        if (cnt <= 0)
            return zoo_cfg_fail(c, nl, "an empty per-layer pattern []; list at least one mixer");
        if (cnt > ZOO_MAX_PATTERN)
            return zoo_cfg_fail(c, nl, "a per-layer pattern of %d mixers; at most %d (layer l uses entry l mod n)", cnt,
                                ZOO_MAX_PATTERN);
        void *it = NULL;
        struct fy_node *x;
        while ((x = fy_node_sequence_iterate(n, &it)))
            if ((rc = expand_entry(c, x, nl, &layer[nl_count++])))
                goto done;
    } else if ((rc = expand_entry(c, n, nl, &layer[nl_count++]))) {
        goto done;
    }
    long total = 1;
    for (int i = 0; i < nl_count; i++)
        if ((total *= layer[i].n) > CFG_MAX_EXPAND) {
            rc = zoo_cfg_fail(c, nl, "this mixer pattern expands to more than %d combinations", CFG_MAX_EXPAND);
            goto done;
        }
    cfg_value *nv = realloc(f->vals, (size_t)(f->n_vals + total) * sizeof *nv);
    if (!nv) {
        rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
        goto done;
    }
    f->vals = nv;
    for (long r = 0; r < total; r++) {
        cfg_value *v = &f->vals[f->n_vals];
        memset(v, 0, sizeof *v);
        v->loc = nl;
        v->n_pattern = nl_count;
        size_t kt = 0, kl = 0, kn = 0;
        if (hybrid)
            kt += (size_t)snprintf(v->text, sizeof v->text, "[");
        long rest = r;
        int idx[ZOO_MAX_PATTERN];
        for (int i = nl_count - 1; i >= 0; i--) {
            idx[i] = (int)(rest % layer[i].n);
            rest /= layer[i].n;
        }
        for (int i = 0; i < nl_count; i++) {
            const alt *a = &layer[i].a[idx[i]];
            v->pattern[i] = a->ref;
            if (kt < sizeof v->text)
                kt += (size_t)snprintf(v->text + kt, sizeof v->text - kt, "%s%s", i ? ", " : "", a->ref.name);
            if (kl < sizeof v->label)
                kl += (size_t)snprintf(v->label + kl, sizeof v->label - kl, "%s%s", i ? "+" : "", a->label);
            if (kn < sizeof v->names)
                kn += (size_t)snprintf(v->names + kn, sizeof v->names - kn, "%s%s", i ? "+" : "", a->ref.name);
        }
        if (hybrid && kt < sizeof v->text)
            snprintf(v->text + kt, sizeof v->text - kt, "]");
        f->n_vals++; /* repeated values are checked with the zip groups (config_grid.c) */
    }
done:
    for (int i = 0; i < ZOO_MAX_PATTERN; i++)
        free(layer[i].a);
    return rc;
}

int zoo_cfg_parse_mixers(cfg *c, cfg_field *f, struct fy_node *val, int alternatives)
{
    cfg_loc vl = zoo_cfg_loc(c, val, f->loc);
    int rc;
    if (fy_node_get_type(val) == FYNT_SCALAR && !zoo_cfg_is_plain(val) && !*fy_node_get_scalar0(val))
        return zoo_cfg_fail(c, vl, "%s is an empty string; give a mixer name (e.g. attention)", f->name);
    if (!alternatives || fy_node_get_type(val) != FYNT_SEQUENCE) {
        if ((rc = expand_pattern(c, f, val, vl)))
            return rc;
        f->axis = f->n_vals > 1 || alternatives;
        return 0;
    }
    if (fy_node_sequence_item_count(val) <= 0)
        return zoo_cfg_fail(c, vl, "empty axis: mixers: [] has no values; list at least one mixer");
    void *it = NULL;
    struct fy_node *x;
    while ((x = fy_node_sequence_iterate(val, &it)))
        if ((rc = expand_pattern(c, f, x, vl)))
            return rc;
    f->axis = 1;
    return 0;
}

int zoo_cfg_apply_mixer(zoo_run_spec *s, const cfg_value *v)
{
    int rc = zoo_run_spec_set(s, "mixer", v->text);
    for (int i = 0; !rc && i < v->n_pattern; i++)
        for (int j = 0; !rc && j < v->pattern[i].n_knobs; j++) {
            char key[128];
            snprintf(key, sizeof key, "mixer.%d.%s", i, v->pattern[i].knobs[j].name);
            rc = zoo_run_spec_set(s, key, v->pattern[i].knobs[j].value);
        }
    return rc;
}
