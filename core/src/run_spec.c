/* run_spec.c: the flat run spec: paper defaults, checks, "key=value" text form, the
 * stable hash and the FLOP estimate. Knob values stay text here; the plugin checks
 * them when the model is built (model.c). Nothing here loads plugins or data. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_internal.h"
#include "zoo/run.h"
#include "zoo/task.h"

/* Every key zoo_run_spec_format writes, in its order (also the candidates for
 * "did you mean" on an unknown key). */
static const char *const keys[] = {
    "task",         "vocab",         "seq_len",   "kv_pairs",    "train_examples", "test_examples",
    "power_a",      "random_non_queries", "data_seed", "d_model", "n_layers",      "mixer",
    "state_mixer",  "pos_emb",       "embed_dropout", "lr",      "weight_decay",   "beta1",
    "beta2",        "adam_eps",      "epochs",    "batch_size",  "eval_batch_size", "early_stop",
    "seed",         "threads",       "backend",
};
#define N_KEYS ((int)(sizeof keys / sizeof keys[0]))

void zoo_run_spec_default(zoo_run_spec *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->task, sizeof s->task, "mqar");
    s->vocab = 8192;
    s->seq_len = 64;
    s->kv_pairs = 4;
    s->train_examples = 100000;
    s->test_examples = 3000;
    s->power_a = 0.01;
    s->random_non_queries = 0;
    s->data_seed = 0;
    s->d_model = 64;
    s->n_layers = 2;
    s->n_mixers = 1;
    snprintf(s->mixers[0].name, sizeof s->mixers[0].name, "attention");
    s->state_mixer = ZOO_STATE_IDENTITY;
    s->pos_emb = -1;
    s->embed_dropout = 0.1f;
    /* The paper sweeps LR over logspace(-4, -2, 4); a single run has to pick one. We
     * take the grid's third value, 10^(-8/3) = 2.15e-3: in our probes of attention at
     * D=64, L=64, K=4 it left the 1-in-4 plateau first (1e-2 and 4.6e-4 were still on it
     * after 6 epochs); the learning test in tests/model uses it. */
    s->lr = pow(10.0, -8.0 / 3.0);
    s->weight_decay = 0.1;
    s->beta1 = 0.9;
    s->beta2 = 0.999;
    s->adam_eps = 1e-8;
    s->epochs = 64;
    s->batch_size = 0;      /* auto: ZOOLOGY.md §5.1 rule by L */
    s->eval_batch_size = 0; /* = training batch */
    s->early_stop = 0.99;
    s->seed = 123;
    s->threads = 0;
    s->backend = ZOO_BACKEND_CPU;
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

static void mqar_specs(const zoo_run_spec *s, zoo_mqar_spec *tr, zoo_mqar_spec *te)
{
    zoo_mqar_spec b = {s->vocab, s->seq_len, s->kv_pairs, s->train_examples, s->power_a,
                       s->random_non_queries, s->data_seed};
    *tr = b;
    *te = b;
    te->num_examples = s->test_examples;
    te->seed = s->data_seed + 10; /* iclr24: the test set is built with seed + 10 */
}

int zoo_run_spec_check(const zoo_run_spec *s)
{
    if (!s)
        return ZOO_FAIL(ZOO_ERR_INVALID, "no run spec");
    if (strcmp(s->task, "mqar"))
        return ZOO_FAIL(ZOO_ERR_INVALID, "task '%s' is not known: set task to mqar", s->task);
    if (s->train_examples < 1 || s->test_examples < 1)
        return ZOO_FAIL(ZOO_ERR_INVALID, "train_examples=%lld test_examples=%lld: both must be >= 1",
                        (long long)s->train_examples, (long long)s->test_examples);
    zoo_mqar_spec tr, te;
    mqar_specs(s, &tr, &te);
    int rc = zoo_mqar_check(&tr);
    if (!rc)
        rc = zoo_mqar_check(&te);
    if (rc)
        return rc;
    if (s->d_model < 1)
        return ZOO_FAIL(ZOO_ERR_INVALID, "d_model=%lld: set d_model >= 1", (long long)s->d_model);
    if (s->n_layers < 1)
        return ZOO_FAIL(ZOO_ERR_INVALID, "n_layers=%d: set n_layers >= 1", s->n_layers);
    if (s->n_mixers < 1 || s->n_mixers > ZOO_MAX_PATTERN)
        return ZOO_FAIL(ZOO_ERR_INVALID, "the mixer pattern has %d entries: give 1 to %d mixers", s->n_mixers,
                        ZOO_MAX_PATTERN);
    for (int i = 0; i < s->n_mixers; i++) {
        if (!s->mixers[i].name[0])
            return ZOO_FAIL(ZOO_ERR_INVALID, "mixer %d has no name: set mixer to e.g. attention", i);
        if (s->mixers[i].n_knobs < 0 || s->mixers[i].n_knobs > ZOO_MAX_KNOBS)
            return ZOO_FAIL(ZOO_ERR_INVALID, "mixer %d (%s) has %d knobs: at most %d", i, s->mixers[i].name,
                            s->mixers[i].n_knobs, ZOO_MAX_KNOBS);
    }
    if (s->state_mixer != ZOO_STATE_IDENTITY && s->state_mixer != ZOO_STATE_MLP)
        return ZOO_FAIL(ZOO_ERR_INVALID, "state_mixer=%d: set state_mixer to identity or mlp", (int)s->state_mixer);
    if (s->pos_emb < -1 || s->pos_emb > 1)
        return ZOO_FAIL(ZOO_ERR_INVALID, "pos_emb=%d: set pos_emb to auto, on or off", s->pos_emb);
    if (!(s->embed_dropout >= 0 && s->embed_dropout < 1))
        return ZOO_FAIL(ZOO_ERR_INVALID, "embed_dropout=%g: set it in [0, 1)", (double)s->embed_dropout);
    if (!(s->lr > 0) || !isfinite(s->lr))
        return ZOO_FAIL(ZOO_ERR_INVALID, "lr=%g: set lr > 0 (e.g. 1e-3)", s->lr);
    if (!(s->weight_decay >= 0) || !isfinite(s->weight_decay))
        return ZOO_FAIL(ZOO_ERR_INVALID, "weight_decay=%g: set weight_decay >= 0 (paper 0.1)", s->weight_decay);
    if (!(s->beta1 >= 0 && s->beta1 < 1) || !(s->beta2 >= 0 && s->beta2 < 1))
        return ZOO_FAIL(ZOO_ERR_INVALID, "beta1=%g beta2=%g: both must be in [0, 1) (paper 0.9, 0.999)", s->beta1,
                        s->beta2);
    if (!(s->adam_eps > 0) || !isfinite(s->adam_eps))
        return ZOO_FAIL(ZOO_ERR_INVALID, "adam_eps=%g: set adam_eps > 0 (paper 1e-8)", s->adam_eps);
    if (s->epochs < 1)
        return ZOO_FAIL(ZOO_ERR_INVALID, "epochs=%d: set epochs >= 1", s->epochs);
    if (s->batch_size < 0 || s->eval_batch_size < 0)
        return ZOO_FAIL(ZOO_ERR_INVALID, "batch_size=%lld eval_batch_size=%lld: set >= 1 (0 = auto)",
                        (long long)s->batch_size, (long long)s->eval_batch_size);
    if (isnan(s->early_stop))
        return ZOO_FAIL(ZOO_ERR_INVALID, "early_stop is NaN: set it to 0.99 (or > 1 to disable)");
    if (s->threads < 0)
        return ZOO_FAIL(ZOO_ERR_INVALID, "threads=%d: set threads >= 1 (0 = auto)", s->threads);
    if ((int)s->backend < 0 || s->backend >= ZOO_BACKEND_COUNT)
        return ZOO_FAIL(ZOO_ERR_INVALID, "backend=%d: set backend to cpu or cuda", (int)s->backend);
    return 0;
}

/* ---- text form ---------------------------------------------------------------------- */

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

static const char *state_name(zoo_state_mixer m) { return m == ZOO_STATE_MLP ? "mlp" : "identity"; }

static int format_impl(const zoo_run_spec *s, char *buf, size_t n, int with_threads)
{
    outbuf o = {buf, n, 0};
    char v[1024];
#define PUT_I(key, x) (snprintf(v, sizeof v, "%lld", (long long)(x)), put(&o, key, v))
#define PUT_U(key, x) (snprintf(v, sizeof v, "%llu", (unsigned long long)(x)), put(&o, key, v))
#define PUT_D(key, x) (fmt_double(v, sizeof v, (x)), put(&o, key, v))
    put(&o, "task", s->task);
    PUT_I("vocab", s->vocab);
    PUT_I("seq_len", s->seq_len);
    PUT_I("kv_pairs", s->kv_pairs);
    PUT_I("train_examples", s->train_examples);
    PUT_I("test_examples", s->test_examples);
    PUT_D("power_a", s->power_a);
    PUT_I("random_non_queries", s->random_non_queries);
    PUT_U("data_seed", s->data_seed);
    PUT_I("d_model", s->d_model);
    PUT_I("n_layers", s->n_layers);
    int nm = s->n_mixers < 0 ? 0 : s->n_mixers > ZOO_MAX_PATTERN ? ZOO_MAX_PATTERN : s->n_mixers;
    if (nm == 1) {
        put(&o, "mixer", s->mixers[0].name);
    } else {
        size_t k = 0;
        k += (size_t)snprintf(v + k, sizeof v - k, "[");
        for (int i = 0; i < nm && k < sizeof v; i++)
            k += (size_t)snprintf(v + k, sizeof v - k, i ? ", %s" : "%s", s->mixers[i].name);
        if (k < sizeof v)
            snprintf(v + k, sizeof v - k, "]");
        put(&o, "mixer", v);
    }
    for (int i = 0; i < nm; i++) {
        /* Sorted by knob name, so the order in which knobs were set does not change the hash. */
        zoo_knob kn[ZOO_MAX_KNOBS];
        int nk = s->mixers[i].n_knobs < 0 ? 0 : s->mixers[i].n_knobs > ZOO_MAX_KNOBS ? ZOO_MAX_KNOBS : s->mixers[i].n_knobs;
        memcpy(kn, s->mixers[i].knobs, (size_t)nk * sizeof kn[0]);
        qsort(kn, (size_t)nk, sizeof kn[0], knob_cmp);
        for (int j = 0; j < nk; j++) {
            char key[128];
            snprintf(key, sizeof key, "mixer.%d.%.63s", i, kn[j].name);
            put(&o, key, kn[j].value);
        }
    }
    put(&o, "state_mixer", state_name(s->state_mixer));
    put(&o, "pos_emb", s->pos_emb < 0 ? "auto" : s->pos_emb ? "on" : "off");
    fmt_float(v, sizeof v, s->embed_dropout);
    put(&o, "embed_dropout", v);
    PUT_D("lr", s->lr);
    PUT_D("weight_decay", s->weight_decay);
    PUT_D("beta1", s->beta1);
    PUT_D("beta2", s->beta2);
    PUT_D("adam_eps", s->adam_eps);
    PUT_I("epochs", s->epochs);
    /* Resolved: "auto" and the value it stands for are the same run (and hash). */
    PUT_I("batch_size", zoo_run_spec_batch(s));
    PUT_I("eval_batch_size", zoo_run_spec_eval_batch(s));
    PUT_D("early_stop", s->early_stop);
    PUT_U("seed", s->seed);
    if (with_threads)
        PUT_I("threads", s->threads);
    put(&o, "backend", s->backend == ZOO_BACKEND_CUDA ? "cuda" : "cpu");
#undef PUT_I
#undef PUT_U
#undef PUT_D
    if (o.len >= n)
        return ZOO_FAIL(ZOO_ERR_INVALID, "run spec text needs %zu bytes, the buffer has %zu: pass a larger buffer",
                        o.len + 1, n);
    return 0;
}

int zoo_run_spec_format(const zoo_run_spec *s, char *buf, size_t n)
{
    if (!s || !buf || !n)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_run_spec_format: no spec or buffer");
    return format_impl(s, buf, n, 1);
}

void zoo_run_spec_hash(const zoo_run_spec *s, char out[17])
{
    /* Big enough for every field and ZOO_MAX_PATTERN x ZOO_MAX_KNOBS knobs. */
    static _Thread_local char text[ZOO_MAX_PATTERN * ZOO_MAX_KNOBS * 220 + 4096];
    text[0] = 0;
    format_impl(s, text, sizeof text, 0);
    uint64_t h = 1469598103934665603ull; /* FNV-1a 64 */
    for (const char *c = text; *c; c++)
        h = (h ^ (uint8_t)*c) * 1099511628211ull;
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* ---- setting one field from text ------------------------------------------------------- */

static int lev(const char *a, const char *b)
{
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    int d[64][64];
    for (int i = 0; i <= la; i++)
        d[i][0] = i;
    for (int j = 0; j <= lb; j++)
        d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int c = d[i - 1][j - 1] + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            if (d[i - 1][j] + 1 < c)
                c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c)
                c = d[i][j - 1] + 1;
            d[i][j] = c;
        }
    return d[la][lb];
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

static int parse_f64(const char *key, const char *val, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(val, &end);
    while (end && isspace((unsigned char)*end))
        end++;
    if (!*val || *end || !isfinite(x))
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s='%s': expected a finite number (e.g. 1e-3)", key, val);
    *out = x;
    return 0;
}

/* Case-insensitive equality of whole strings. */
static int ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return *a == *b;
}

static int parse_bool(const char *key, const char *val, int *out)
{
    if (!strcmp(val, "1") || ieq(val, "true") || ieq(val, "yes") ||
        ieq(val, "on"))
        *out = 1;
    else if (!strcmp(val, "0") || ieq(val, "false") || ieq(val, "no") ||
             ieq(val, "off"))
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

/* "mixer.<i>.<knob>" or "<mixer>.<knob>" (every pattern entry of that mixer). */
static int set_knob_key(zoo_run_spec *s, const char *key, const char *val)
{
    const char *dot = strchr(key, '.');
    char head[64];
    if ((size_t)(dot - key) >= sizeof head)
        return ZOO_FAIL(ZOO_ERR_INVALID, "unknown key '%s'", key);
    memcpy(head, key, (size_t)(dot - key));
    head[dot - key] = 0;
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

int zoo_run_spec_set(zoo_run_spec *s, const char *key, const char *value)
{
    if (!s || !key || !value)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_run_spec_set: NULL argument");
    char v[1024];
    if (trim_copy(v, sizeof v, value, strlen(value)))
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: value longer than %zu characters", key, sizeof v - 1);
    int64_t i64 = 0;
    double f = 0;
    int rc = 0;
    const int64_t BIG = INT64_C(1) << 40;
#define INT_FIELD(name, lo, hi, field)                                                                        \
    if (!strcmp(key, name)) {                                                                                 \
        if (!(rc = parse_i64(key, v, lo, hi, &i64)))                                                          \
            field = i64;                                                                                      \
        return rc;                                                                                            \
    }
#define DBL_FIELD(name, field)                                                                                \
    if (!strcmp(key, name)) {                                                                                 \
        if (!(rc = parse_f64(key, v, &f)))                                                                    \
            field = f;                                                                                        \
        return rc;                                                                                            \
    }
    if (!strcmp(key, "task")) {
        if (strcmp(v, "mqar"))
            return ZOO_FAIL(ZOO_ERR_INVALID, "task='%s' is not known: the tasks are: mqar", v);
        snprintf(s->task, sizeof s->task, "mqar");
        return 0;
    }
    INT_FIELD("vocab", 1, BIG, s->vocab)
    INT_FIELD("seq_len", 1, BIG, s->seq_len)
    INT_FIELD("kv_pairs", 1, BIG, s->kv_pairs)
    INT_FIELD("train_examples", 1, BIG, s->train_examples)
    INT_FIELD("test_examples", 1, BIG, s->test_examples)
    DBL_FIELD("power_a", s->power_a)
    if (!strcmp(key, "random_non_queries"))
        return parse_bool(key, v, &s->random_non_queries);
    if (!strcmp(key, "data_seed"))
        return parse_u64(key, v, &s->data_seed);
    INT_FIELD("d_model", 1, BIG, s->d_model)
    INT_FIELD("n_layers", 1, 1 << 20, s->n_layers)
    if (!strcmp(key, "mixer"))
        return set_mixer(s, v);
    if (!strcmp(key, "state_mixer")) {
        if (ieq(v, "identity"))
            s->state_mixer = ZOO_STATE_IDENTITY;
        else if (ieq(v, "mlp"))
            s->state_mixer = ZOO_STATE_MLP;
        else
            return ZOO_FAIL(ZOO_ERR_INVALID, "state_mixer='%s': use identity (the paper's) or mlp", v);
        return 0;
    }
    if (!strcmp(key, "pos_emb")) {
        int b;
        if (ieq(v, "auto") || !strcmp(v, "-1"))
            s->pos_emb = -1;
        else if (!parse_bool(key, v, &b))
            s->pos_emb = b;
        else
            return ZOO_FAIL(ZOO_ERR_INVALID, "pos_emb='%s': use auto (positions only for attention), on or off", v);
        return 0;
    }
    if (!strcmp(key, "embed_dropout")) {
        if (!(rc = parse_f64(key, v, &f)) && !(f >= 0 && f < 1))
            rc = ZOO_FAIL(ZOO_ERR_INVALID, "embed_dropout='%s': use a probability in [0, 1) (paper 0.1)", v);
        if (!rc)
            s->embed_dropout = (float)f;
        return rc;
    }
    DBL_FIELD("lr", s->lr)
    DBL_FIELD("weight_decay", s->weight_decay)
    DBL_FIELD("beta1", s->beta1)
    DBL_FIELD("beta2", s->beta2)
    DBL_FIELD("adam_eps", s->adam_eps)
    INT_FIELD("epochs", 1, 1 << 24, s->epochs)
    INT_FIELD("batch_size", 0, BIG, s->batch_size)
    INT_FIELD("eval_batch_size", 0, BIG, s->eval_batch_size)
    DBL_FIELD("early_stop", s->early_stop)
    if (!strcmp(key, "seed"))
        return parse_u64(key, v, &s->seed);
    INT_FIELD("threads", 0, 1 << 16, s->threads)
    if (!strcmp(key, "backend")) {
        if (ieq(v, "cpu"))
            s->backend = ZOO_BACKEND_CPU;
        else if (ieq(v, "cuda"))
            s->backend = ZOO_BACKEND_CUDA;
        else
            return ZOO_FAIL(ZOO_ERR_INVALID, "backend='%s': use cpu or cuda", v);
        return 0;
    }
#undef INT_FIELD
#undef DBL_FIELD
    if (strchr(key, '.'))
        return set_knob_key(s, key, v);
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
    int best = 0, bd = 1 << 30;
    for (int k = 0; k < N_KEYS; k++) {
        int d = lev(key, keys[k]);
        if (d < bd)
            bd = d, best = k;
    }
    return ZOO_FAIL(ZOO_ERR_INVALID, "unknown key '%s': did you mean '%s'? (knobs are written <mixer>.<knob>)", key,
                    keys[best]);
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
