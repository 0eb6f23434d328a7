/* test_spec_table.c: the run spec's field table (core/src/run_spec.c) is complete and
 * consistent: every field has a name, a section, help, a unit and a default that parses;
 * names are unique; each field round-trips through zoo_run_spec_set and the text form;
 * the default spec formats and parses back to itself; and the hashes of existing specs
 * are pinned, since results files find their runs by them. Text and arithmetic only. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "zoo/error.h"
#include "zoo/run.h"
#include "zoo/suggest.h"

/* The text form and hashes as they were before the field table existed. Changing any of
 * these orphans every run in every results file: do not update them to make this pass. */
static const char default_text[] = "task=mqar\n"
                                   "vocab=8192\n"
                                   "seq_len=64\n"
                                   "kv_pairs=4\n"
                                   "train_examples=100000\n"
                                   "test_examples=3000\n"
                                   "power_a=0.01\n"
                                   "random_non_queries=0\n"
                                   "data_seed=0\n"
                                   "d_model=64\n"
                                   "n_layers=2\n"
                                   "mixer=attention\n"
                                   "state_mixer=identity\n"
                                   "pos_emb=auto\n"
                                   "embed_dropout=0.1\n"
                                   "lr=0.0021544346900318843\n"
                                   "weight_decay=0.1\n"
                                   "beta1=0.9\n"
                                   "beta2=0.999\n"
                                   "adam_eps=1e-08\n"
                                   "epochs=64\n"
                                   "batch_size=512\n"
                                   "eval_batch_size=512\n"
                                   "early_stop=0.99\n"
                                   "seed=123\n"
                                   "threads=0\n"
                                   "backend=cpu\n";
#define DEFAULT_HASH "e6c3e58a3eea224e"
#define CUSTOM_HASH "927e04faf2e1824a" /* every field changed, a pattern with knobs */
#define LONG_HASH "46afcc5429d98ef0"   /* pos_emb on, L = 256, K = 16 */
/* Pinned when they were added (backend: auto, tf32): the same rule from then on. */
#define AUTO_HASH "3a4d4f2950558001"   /* the default spec with backend auto */
#define TF32_HASH "fe22bce2ca5ba257"   /* the default spec with tf32 true */
#define RANKS2_HASH "651508c4aa79f828" /* the default spec with ranks 2 */
#define RANKS_AUTO_HASH "940e9f994cd556db" /* the default spec with ranks auto */
/* Fields added after the pinned text, each hashed only when set (ZOO_FIELD_HASH_IF_SET),
 * in table order, with the text their default writes. */
static const char *const added_fields[][2] = {{"tf32", "0"}, {"ranks", "1"}, {"segments", "none"}};

static void set_ok(zoo_run_spec *s, const char *k, const char *v)
{
    int rc = zoo_run_spec_set(s, k, v);
    ZT_CHECK(rc == 0, "set %s=%s returned %d: %s", k, v, rc, zoo_error_last()->msg);
}

/* Every "key=value" line of `text` applied, in order, to an all-zero spec. */
static void parse_text(zoo_run_spec *s, const char *text)
{
    memset(s, 0, sizeof *s);
    char *copy = strdup(text), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        ZT_CHECK(eq != NULL, "line without '=': %s", line);
        if (!eq)
            continue;
        *eq = 0;
        set_ok(s, line, eq + 1);
    }
    free(copy);
}

static void custom_spec(zoo_run_spec *a)
{
    static const char *const kv[][2] = {
        {"vocab", "256"},
        {"seq_len", "128"},
        {"kv_pairs", "8"},
        {"train_examples", "5000"},
        {"test_examples", "500"},
        {"power_a", "0.3"},
        {"random_non_queries", "true"},
        {"data_seed", "18446744073709551615"},
        {"d_model", "96"},
        {"n_layers", "3"},
        {"mixer", "[base_conv, attention]"},
        {"attention.num_heads", "2"},
        {"mixer.0.kernel_size", "[3, -1, 3]"},
        {"mixer.1.dropout", "0"},
        {"state_mixer", "mlp"},
        {"pos_emb", "off"},
        {"embed_dropout", "0.05"},
        {"lr", "4.6415888336127773e-4"},
        {"weight_decay", "0"},
        {"beta1", "0.8"},
        {"beta2", "0.98"},
        {"adam_eps", "1e-6"},
        {"epochs", "7"},
        {"batch_size", "100"},
        {"eval_batch_size", "30"},
        {"early_stop", "2"},
        {"seed", "7"},
        {"threads", "3"},
        {"backend", "cuda"},
    };
    zoo_run_spec_default(a);
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        set_ok(a, kv[i][0], kv[i][1]);
}

static int is_ident(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static void test_table(void)
{
    int n = zoo_run_spec_nfields();
    ZT_CHECK(n > 0, "no fields");
    ZT_CHECK(zoo_run_spec_field(-1) == NULL && zoo_run_spec_field(n) == NULL, "out-of-range index gave a field");
    ZT_CHECK(zoo_run_spec_find("no_such_key") == NULL && zoo_run_spec_find(NULL) == NULL, "find of an unknown key");
    for (int i = 0; i < n; i++) {
        const zoo_run_field *f = zoo_run_spec_field(i);
        ZT_CHECK(f != NULL, "field %d is NULL", i);
        if (!f)
            continue;
        const char *name = f->name ? f->name : "(null)";
        ZT_CHECK(is_ident(f->name), "field %d: name '%s' is not a lower-case key", i, name);
        ZT_CHECK(f->help && strlen(f->help) >= 8, "%s: no help", name);
        ZT_CHECK(f->unit != NULL, "%s: no unit (write \"\" when it has none)", name);
        ZT_CHECK(f->def && *f->def, "%s: no default", name);
        ZT_CHECK(f->section && (!strcmp(f->section, "task") || !strcmp(f->section, "model") ||
                             !strcmp(f->section, "train")),
              "%s: section '%s' is none of task, model, train", name, f->section ? f->section : "(null)");
        ZT_CHECK(!f->yaml || is_ident(f->yaml), "%s: YAML name '%s'", name, f->yaml);
        ZT_CHECK(f->offset + f->size <= sizeof(zoo_run_spec) && f->size > 0, "%s: member outside the spec", name);
        ZT_CHECK(zoo_run_spec_find(name) == f, "%s: zoo_run_spec_find does not return it", name);
        ZT_CHECK(!f->resolve || f->type == ZOO_FIELD_INT, "%s: resolve on a non-integer field", name);
        switch (f->type) {
        case ZOO_FIELD_INT:
            ZT_CHECK(f->size == sizeof(int) || f->size == sizeof(int64_t), "%s: integer member of %zu bytes", name,
                  f->size);
            ZT_CHECK(f->lo <= f->hi, "%s: empty range", name);
            break;
        case ZOO_FIELD_FLOAT:
            ZT_CHECK(f->size == sizeof(float) || f->size == sizeof(double), "%s: float member of %zu bytes", name,
                  f->size);
            ZT_CHECK(f->lo <= f->hi, "%s: empty range", name);
            break;
        case ZOO_FIELD_UINT:
            ZT_CHECK(f->size == sizeof(uint64_t), "%s: seed member of %zu bytes", name, f->size);
            break;
        case ZOO_FIELD_BOOL:
            ZT_CHECK(f->size == sizeof(int), "%s: bool member of %zu bytes", name, f->size);
            break;
        case ZOO_FIELD_CHOICE:
            ZT_CHECK(f->size == sizeof(int), "%s: choice member of %zu bytes", name, f->size);
            /* fall through */
        case ZOO_FIELD_NAME: /* names, or NULL: any plain name (a plugin's) */
            ZT_CHECK(!f->choices || f->choices[0].name, "%s: an empty list of names", name);
            break;
        case ZOO_FIELD_MIXER:
        case ZOO_FIELD_SEGMENTS:
            break;
        }
        for (int j = 0; j < i; j++) {
            const zoo_run_field *g = zoo_run_spec_field(j);
            ZT_CHECK(strcmp(g->name, name), "fields %d and %d are both named %s", j, i, name);
            const char *ya = f->yaml ? f->yaml : f->name, *yb = g->yaml ? g->yaml : g->name;
            ZT_CHECK(strcmp(f->section, g->section) || strcmp(ya, yb), "%s and %s share the YAML name %s:%s", g->name,
                  name, f->section, ya);
        }
        /* The default parses on its own, and the default spec holds it. */
        zoo_run_spec d, z;
        zoo_run_spec_default(&d);
        memset(&z, 0, sizeof z);
        ZT_CHECK(zoo_run_spec_set(&z, name, f->def) == 0, "%s: default '%s' does not parse: %s", name, f->def,
              zoo_error_last()->msg);
        char a[1024], b[1024];
        ZT_CHECK(zoo_run_field_format(&d, f, a, sizeof a) == 0 && zoo_run_field_format(&z, f, b, sizeof b) == 0,
              "%s: format", name);
        ZT_CHECK(f->resolve || !strcmp(a, b), "%s: default spec has '%s', the default text gives '%s'", name, a, b);
        char allowed[256];
        zoo_run_field_allowed(f, allowed, sizeof allowed);
        ZT_CHECK(allowed[0], "%s: no description of its allowed values", name);
    }
    /* The descriptions --help and messages use. */
    const struct {
        const char *key, *want;
    } allowed[] = {{"lr", "> 0"},
                   {"d_model", "in [1, 65536]"},
                   {"embed_dropout", "in [0, 1)"},
                   {"n_layers", "in [1, 256]"},
                   {"early_stop", "any finite number"},
                   {"state_mixer", "identity or mlp"},
                   {"pos_emb", "auto, off or on"},
                   {"backend", "cpu, cuda or auto"},
                   {"tf32", "true or false"},
                   {"ranks", "in [0, 4096] or auto"},
                   {"seed", "any non-negative integer"},
                   {"random_non_queries", "true or false"}};
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        char buf[256];
        zoo_run_field_allowed(zoo_run_spec_find(allowed[i].key), buf, sizeof buf);
        ZT_CHECK(!strcmp(buf, allowed[i].want), "%s allows '%s', want '%s'", allowed[i].key, buf, allowed[i].want);
    }
}

/* The default spec: its text is the table in order, and it parses back to itself. */
static void test_default_text(void)
{
    zoo_run_spec d, back;
    zoo_run_spec_default(&d);
    ZT_CHECK(zoo_run_spec_check(&d) == 0, "the defaults fail the check: %s", zoo_error_last()->msg);
    static char text[65536], again[65536];
    ZT_CHECK(zoo_run_spec_format(&d, text, sizeof text) == 0, "format");
    /* The pinned text, then only the fields added since, each flagged hash-if-set. */
    size_t pl = strlen(default_text);
    ZT_CHECK(!strncmp(text, default_text, pl), "default text changed:\n--- now\n%s--- pinned\n%s", text,
             default_text);
    const char *tail = text + (strncmp(text, default_text, pl) ? strlen(text) : pl);
    size_t na = sizeof added_fields / sizeof added_fields[0];
    for (size_t i = 0; i < na && *tail; i++) {
        char line[256];
        snprintf(line, sizeof line, "%s=%s\n", added_fields[i][0], added_fields[i][1]);
        ZT_CHECK(!strncmp(tail, line, strlen(line)), "added field %zu: want '%s' next, the text has '%s'", i,
                 added_fields[i][0], tail);
        const zoo_run_field *f = zoo_run_spec_find(added_fields[i][0]);
        ZT_CHECK(f && (f->flags & ZOO_FIELD_HASH_IF_SET),
                 "%s was added after results existed but is not ZOO_FIELD_HASH_IF_SET: every run's hash changes",
                 added_fields[i][0]);
        tail += strncmp(tail, line, strlen(line)) ? strlen(tail) : strlen(line);
    }
    ZT_CHECK(!*tail, "the default text has lines the pinned text and the added fields do not: %s", tail);
    const char *p = text;
    for (int i = 0; i < zoo_run_spec_nfields(); i++) {
        const zoo_run_field *f = zoo_run_spec_field(i);
        size_t kl = strlen(f->name);
        ZT_CHECK(!strncmp(p, f->name, kl) && p[kl] == '=', "line %d of the default text is not %s", i, f->name);
        p = strchr(p, '\n');
        if (!p)
            break;
        p++;
    }
    ZT_CHECK(p && !*p, "the default text has lines beyond the table");
    parse_text(&back, text);
    /* Member by member: the text writes what an auto batch resolves to (512), the same
     * run as 0, so those fields compare by their text only. */
    for (int i = 0; i < zoo_run_spec_nfields(); i++) {
        const zoo_run_field *f = zoo_run_spec_field(i);
        ZT_CHECK(f->resolve || !memcmp((const char *)&d + f->offset, (const char *)&back + f->offset, f->size),
              "%s: the default text does not parse back to the default value", f->name);
    }
    ZT_CHECK(d.n_mixers == back.n_mixers, "mixer pattern length after parsing the default text");
    ZT_CHECK(zoo_run_spec_format(&back, again, sizeof again) == 0 && !strcmp(text, again), "format -> set -> format");
}

/* A value other than the default for each field: text to set, and what format writes. */
static int other_value(const zoo_run_field *f, const zoo_run_spec *d, char *set, char *want, size_t n)
{
    char cur[1024];
    zoo_run_field_format(d, f, cur, sizeof cur);
    switch (f->type) {
    case ZOO_FIELD_INT: {
        /* Doubling keeps the MQAR constraints (L even, 4K <= L, V > L) satisfied. */
        long long v = atoll(cur) > 0 ? 2 * atoll(cur) : atoll(cur) + 1;
        if (!(v <= f->hi))
            v = atoll(cur) - 1;
        snprintf(set, n, "%lld", v);
        snprintf(want, n, "%lld", v);
        return 1;
    }
    case ZOO_FIELD_UINT:
        snprintf(set, n, "%llu", strtoull(cur, NULL, 10) + 1);
        snprintf(want, n, "%s", set);
        return 1;
    case ZOO_FIELD_FLOAT: {
        double v = strtod(cur, NULL);
        const double cands[] = {v * 0.5, v * 2, 0.5, 0.25, 3, -1};
        for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
            zoo_run_spec t = *d;
            snprintf(set, n, "%.17g", cands[i]);
            if (cands[i] != v && zoo_run_spec_set(&t, f->name, set) == 0) {
                zoo_run_field_format(&t, f, want, n);
                return 1;
            }
        }
        return 0;
    }
    case ZOO_FIELD_BOOL:
        snprintf(set, n, "%s", strcmp(cur, "0") ? "false" : "true");
        snprintf(want, n, "%s", strcmp(cur, "0") ? "0" : "1");
        return 1;
    case ZOO_FIELD_CHOICE:
    case ZOO_FIELD_NAME:
        for (int i = 0; f->choices && f->choices[i].name; i++)
            if (strcmp(f->choices[i].name, cur)) {
                zoo_run_spec t = *d;
                if (zoo_run_spec_set(&t, f->name, f->choices[i].name))
                    continue;
                zoo_run_field_format(&t, f, want, n);
                if (strcmp(want, cur)) {
                    snprintf(set, n, "%s", f->choices[i].name);
                    return 1;
                }
            }
        return 0; /* any plugin name (task): no other value known to load */
    case ZOO_FIELD_MIXER:
        snprintf(set, n, " [based , attention]");
        snprintf(want, n, "[based, attention]");
        return 1;
    case ZOO_FIELD_SEGMENTS: /* written back normalised: knobs sorted, one space, "; " between */
        snprintf(set, n, "train  seq_len=32 kv_pairs=2 examples=100;test task=mqar  power_a=0.5 kv_pairs=8");
        snprintf(want, n, "train seq_len=32 examples=100 kv_pairs=2; test task=mqar kv_pairs=8 power_a=0.5");
        return 1;
    }
    return 0;
}

static void test_round_trip(void)
{
    zoo_run_spec d;
    zoo_run_spec_default(&d);
    char h0[17];
    zoo_run_spec_hash(&d, h0);
    int changed = 0;
    for (int i = 0; i < zoo_run_spec_nfields(); i++) {
        const zoo_run_field *f = zoo_run_spec_field(i);
        char set[256], want[256], got[1024];
        if (!other_value(f, &d, set, want, sizeof set)) {
            ZT_CHECK(f->type == ZOO_FIELD_NAME, "%s: no other value to try", f->name);
            continue;
        }
        changed++;
        zoo_run_spec s = d, back;
        set_ok(&s, f->name, set);
        ZT_CHECK(zoo_run_field_format(&s, f, got, sizeof got) == 0 && !strcmp(got, want), "%s=%s formats as '%s', want '%s'",
              f->name, set, got, want);
        ZT_CHECK(zoo_run_spec_check(&s) == 0, "%s=%s zt_fails the check: %s", f->name, set, zoo_error_last()->msg);
        static char text[65536], again[65536];
        ZT_CHECK(zoo_run_spec_format(&s, text, sizeof text) == 0, "format");
        char line[512];
        snprintf(line, sizeof line, "%s%s=%s\n", i ? "\n" : "", f->name, want);
        ZT_CHECK(strstr(text, line) != NULL, "%s: line '%s' not in the text:\n%s", f->name, line + (i ? 1 : 0), text);
        parse_text(&back, text);
        ZT_CHECK(zoo_run_spec_format(&back, again, sizeof again) == 0 && !strcmp(text, again),
              "%s=%s: format -> set -> format differs", f->name, set);
        char h1[17], h2[17];
        zoo_run_spec_hash(&s, h1);
        zoo_run_spec_hash(&back, h2);
        ZT_CHECK(!strcmp(h1, h2), "%s=%s: hash changed in the round trip", f->name, set);
        if (f->flags & ZOO_FIELD_UNHASHED)
            ZT_CHECK(!strcmp(h0, h1), "%s is unhashed but changed the hash", f->name);
        else
            ZT_CHECK(strcmp(h0, h1), "%s=%s did not change the hash", f->name, set);
    }
    ZT_CHECK(changed >= zoo_run_spec_nfields() - 1, "only %d fields could be changed", changed);
}

static void test_pinned_hashes(void)
{
    zoo_run_spec s;
    char h[17];
    zoo_run_spec_default(&s);
    zoo_run_spec_hash(&s, h);
    ZT_CHECK(!strcmp(h, DEFAULT_HASH), "default spec hash %s, pinned %s", h, DEFAULT_HASH);
    custom_spec(&s);
    zoo_run_spec_hash(&s, h);
    ZT_CHECK(!strcmp(h, CUSTOM_HASH), "custom spec hash %s, pinned %s", h, CUSTOM_HASH);
    zoo_run_spec_default(&s);
    set_ok(&s, "pos_emb", "on");
    set_ok(&s, "seq_len", "256");
    set_ok(&s, "kv_pairs", "16");
    zoo_run_spec_hash(&s, h);
    ZT_CHECK(!strcmp(h, LONG_HASH), "L=256 spec hash %s, pinned %s", h, LONG_HASH);
}

/* Fields and values added later leave every existing spec's hash alone: an added field
 * at its default (set or not), and cpu and cuda with auto among the names. The new
 * values have hashes of their own, pinned from then on. */
static void test_added_values(void)
{
    zoo_run_spec s;
    char h[17], h2[17];
    zoo_run_spec_default(&s);
    set_ok(&s, "tf32", "false");
    set_ok(&s, "backend", "cpu");
    zoo_run_spec_hash(&s, h);
    ZT_CHECK(!strcmp(h, DEFAULT_HASH), "tf32: false, backend: cpu set explicitly: hash %s, pinned %s", h, DEFAULT_HASH);
    custom_spec(&s);
    set_ok(&s, "tf32", "no");
    zoo_run_spec_hash(&s, h);
    ZT_CHECK(!strcmp(h, CUSTOM_HASH), "custom spec with tf32 false: hash %s, pinned %s", h, CUSTOM_HASH);

    zoo_run_spec_default(&s);
    set_ok(&s, "backend", "auto");
    ZT_CHECK(s.backend == ZOO_BACKEND_AUTO && zoo_run_spec_check(&s) == 0, "backend auto: %d, check: %s",
             (int)s.backend, zoo_error_last()->msg);
    zoo_run_spec_hash(&s, h);
    ZT_CHECK(!strcmp(h, AUTO_HASH), "backend auto: hash %s, pinned %s", h, AUTO_HASH);
    set_ok(&s, "backend", "AUTO");
    zoo_run_spec_hash(&s, h2);
    ZT_CHECK(!strcmp(h, h2), "backend AUTO and auto hash differently");
    char v[64];
    ZT_CHECK(zoo_run_field_format(&s, zoo_run_spec_find("backend"), v, sizeof v) == 0 && !strcmp(v, "auto"),
             "backend auto formats as '%s'", v);

    /* ranks: 1 (set or not) keeps every hash; 2 and auto hash apart; auto is 0 and written "auto". */
    zoo_run_spec_default(&s);
    set_ok(&s, "ranks", "1");
    zoo_run_spec_hash(&s, h);
    ZT_CHECK(!strcmp(h, DEFAULT_HASH), "ranks 1 set explicitly: hash %s, pinned %s", h, DEFAULT_HASH);
    set_ok(&s, "ranks", "2");
    zoo_run_spec_hash(&s, h);
    ZT_CHECK(!strcmp(h, RANKS2_HASH), "ranks 2: hash %s, pinned %s", h, RANKS2_HASH);
    set_ok(&s, "ranks", "auto");
    zoo_run_spec_hash(&s, h);
    ZT_CHECK(s.ranks == 0 && !strcmp(h, RANKS_AUTO_HASH), "ranks auto: %d, hash %s, pinned %s", s.ranks, h,
             RANKS_AUTO_HASH);
    ZT_CHECK(zoo_run_field_format(&s, zoo_run_spec_find("ranks"), v, sizeof v) == 0 && !strcmp(v, "auto"),
             "ranks auto formats as '%s'", v);
    ZT_CHECK(zoo_run_spec_set(&s, "ranks", "many") == ZOO_ERR_INVALID && s.ranks == 0, "ranks many accepted");

    zoo_run_spec_default(&s);
    set_ok(&s, "tf32", "true");
    ZT_CHECK(s.tf32 == 1 && zoo_run_spec_check(&s) == 0, "tf32 true: %d", s.tf32);
    zoo_run_spec_hash(&s, h);
    ZT_CHECK(!strcmp(h, TF32_HASH), "tf32 true: hash %s, pinned %s", h, TF32_HASH);
    /* tf32 is accepted on every backend (it only affects cuda) and hashed on each. */
    set_ok(&s, "backend", "cuda");
    zoo_run_spec_hash(&s, h2);
    ZT_CHECK(strcmp(h, h2) && zoo_run_spec_check(&s) == 0, "tf32 true on cuda vs cpu: same hash");
    ZT_CHECK(zoo_run_spec_set(&s, "tf32", "maybe") != 0 && strstr(zoo_error_last()->msg, "tf32"),
             "tf32=maybe accepted or unnamed: %s", zoo_error_last()->msg);
    ZT_CHECK(zoo_run_spec_set(&s, "backend", "gpu") != 0 && strstr(zoo_error_last()->msg, "cpu, cuda or auto"),
             "backend=gpu: %s", zoo_error_last()->msg);
}

/* The one "did you mean" rule: within max(1, len/3) edits, case ignored. */
static void test_suggest(void)
{
    const char *keys[] = {"task", "d_model", "seq_len", "lr", "attention", NULL};
    const int n = 6;
    const struct {
        const char *word, *want;
    } cases[] = {{"d_modle", "d_model"}, {"tsk", "task"},    {"seq_lenn", "seq_len"}, {"SEQ_LEN", "seq_len"},
                 {"atention", "attention"}, {"xyz", NULL},  {"ab", NULL},            {"colour", NULL},
                 {"d_mdl", NULL}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = zoo_suggest_nearest(cases[i].word, keys, n);
        ZT_CHECK((got == NULL) == (cases[i].want == NULL) && (!got || !strcmp(got, cases[i].want)),
              "suggest '%s': got %s, want %s", cases[i].word, got ? got : "none",
              cases[i].want ? cases[i].want : "none");
    }
    ZT_CHECK(zoo_suggest_nearest(NULL, keys, n) == NULL && zoo_suggest_nearest("x", NULL, 0) == NULL, "NULL inputs");
}

int main(void)
{
    test_table();
    test_default_text();
    test_round_trip();
    test_pinned_hashes();
    test_added_values();
    test_suggest();
    if (zt_fails)
        fprintf(stderr, "%d check(s) failed\n", zt_fails);
    else
        printf("spec table: ok (%d fields)\n", zoo_run_spec_nfields());
    return zt_fails ? 1 : 0;
}
