/* test_spec.c: the run spec's defaults, key=value setting, text form, hash and checks.
 * Needs no plugin and no data: everything here is text and arithmetic. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "zoo/run.h"

static void set_ok(zoo_run_spec *s, const char *k, const char *v)
{
    int rc = zoo_run_spec_set(s, k, v);
    ZT_CHECK(rc == 0, "set %s=%s returned %d: %s", k, v, rc, zoo_error_last()->msg);
}

/* Expect ZOO_ERR_INVALID and every `want` fragment in the message. */
static void set_bad(zoo_run_spec *s, const char *k, const char *v, const char *want1, const char *want2)
{
    zoo_run_spec before = *s;
    zoo_error_clear();
    int rc = zoo_run_spec_set(s, k, v);
    const char *msg = zoo_error_last()->msg;
    ZT_CHECK(rc == ZOO_ERR_INVALID, "set %s=%s: expected ZOO_ERR_INVALID, got %d", k, v, rc);
    ZT_CHECK(!want1 || strstr(msg, want1), "set %s=%s: message '%s' lacks '%s'", k, v, msg, want1);
    ZT_CHECK(!want2 || strstr(msg, want2), "set %s=%s: message '%s' lacks '%s'", k, v, msg, want2);
    ZT_CHECK(!memcmp(&before, s, sizeof before), "set %s=%s failed but changed the spec", k, v);
}

/* Every "key=value" line of a formatted spec applied to a fresh default spec. */
static void parse_text(zoo_run_spec *s, const char *text)
{
    zoo_run_spec_default(s);
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

static const char *line_of(const char *text, const char *key, char *out, size_t n)
{
    char pat[128];
    snprintf(pat, sizeof pat, "%s=", key);
    for (const char *p = text; p && *p;) {
        if (!strncmp(p, pat, strlen(pat))) {
            const char *e = strchr(p, '\n');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            snprintf(out, n, "%.*s", (int)len, p);
            return out;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    snprintf(out, n, "(missing %s)", key);
    return out;
}

static void test_defaults(void)
{
    zoo_run_spec s;
    zoo_run_spec_default(&s);
    /* The paper's Figure 2 setting at L = 64 (docs/training.md). */
    ZT_CHECK(!strcmp(s.task, "mqar") && s.vocab == 8192 && s.seq_len == 64 && s.kv_pairs == 4, "task defaults");
    ZT_CHECK(s.train_examples == 100000 && s.test_examples == 3000, "example counts");
    ZT_CHECK(s.power_a == 0.01 && s.random_non_queries == 0 && s.data_seed == 0, "data defaults");
    ZT_CHECK(s.d_model == 64 && s.n_layers == 2 && s.n_mixers == 1 && !strcmp(s.mixers[0].name, "attention") &&
              s.mixers[0].n_knobs == 0,
          "model defaults");
    ZT_CHECK(s.state_mixer == ZOO_STATE_IDENTITY && s.pos_emb == -1 && s.embed_dropout == 0.1f, "block defaults");
    ZT_CHECK(fabs(s.lr - 2.154434690031884e-3) < 1e-15, "lr default %g", s.lr);
    ZT_CHECK(s.weight_decay == 0.1 && s.beta1 == 0.9 && s.beta2 == 0.999 && s.adam_eps == 1e-8, "optimizer defaults");
    ZT_CHECK(s.epochs == 64 && s.early_stop == 0.99 && s.seed == 123 && s.threads == 0 && s.backend == ZOO_BACKEND_CPU,
          "training defaults");
    ZT_CHECK(zoo_run_spec_check(&s) == 0, "defaults fail the check: %s", zoo_error_last()->msg);

    /* Auto batch: 512 for L <= 128, 256 for L = 256, 128 for L = 512; eval = train. */
    char text[8192], l[256];
    const int64_t Ls[] = {64, 128, 256, 512}, Bs[] = {512, 512, 256, 128};
    for (int i = 0; i < 4; i++) {
        s.seq_len = Ls[i];
        ZT_CHECK(zoo_run_spec_format(&s, text, sizeof text) == 0, "format");
        char want[64];
        snprintf(want, sizeof want, "batch_size=%lld", (long long)Bs[i]);
        ZT_CHECK(!strcmp(line_of(text, "batch_size", l, sizeof l), want), "L=%lld: %s, want %s", (long long)Ls[i], l,
              want);
        snprintf(want, sizeof want, "eval_batch_size=%lld", (long long)Bs[i]);
        ZT_CHECK(!strcmp(line_of(text, "eval_batch_size", l, sizeof l), want), "L=%lld: %s", (long long)Ls[i], l);
    }
}

static void test_round_trip(void)
{
    zoo_run_spec a;
    zoo_run_spec_default(&a);
    set_ok(&a, "vocab", "256");
    set_ok(&a, "seq_len", "128");
    set_ok(&a, "kv_pairs", "8");
    set_ok(&a, "power_a", "0.3");
    set_ok(&a, "random_non_queries", "true");
    set_ok(&a, "data_seed", "18446744073709551615");
    set_ok(&a, "d_model", "96");
    set_ok(&a, "n_layers", "3");
    set_ok(&a, "mixer", " [base_conv ,attention] ");
    set_ok(&a, "attention.num_heads", "2");
    set_ok(&a, "mixer.0.kernel_size", "[3, -1, 3]");
    set_ok(&a, "mixer.1.dropout", "0");
    set_ok(&a, "state_mixer", "mlp");
    set_ok(&a, "pos_emb", "off");
    set_ok(&a, "embed_dropout", "0.05");
    set_ok(&a, "lr", "4.6415888336127773e-4");
    set_ok(&a, "weight_decay", "0");
    set_ok(&a, "beta2", "0.98");
    set_ok(&a, "epochs", "7");
    set_ok(&a, "batch_size", "100");
    set_ok(&a, "eval_batch_size", "30");
    set_ok(&a, "early_stop", "2");
    set_ok(&a, "seed", "7");
    set_ok(&a, "threads", "3");
    set_ok(&a, "backend", "cuda");
    ZT_CHECK(a.n_mixers == 2 && !strcmp(a.mixers[0].name, "base_conv") && !strcmp(a.mixers[1].name, "attention"),
          "pattern parsed as %d mixers", a.n_mixers);
    ZT_CHECK(a.mixers[1].n_knobs == 2 && a.mixers[0].n_knobs == 1, "knobs %d %d", a.mixers[0].n_knobs,
          a.mixers[1].n_knobs);
    ZT_CHECK(zoo_run_spec_check(&a) == 0, "check: %s", zoo_error_last()->msg);

    char ta[8192], tb[8192], l[256];
    ZT_CHECK(zoo_run_spec_format(&a, ta, sizeof ta) == 0, "format");
    ZT_CHECK(!strcmp(line_of(ta, "mixer", l, sizeof l), "mixer=[base_conv, attention]"), "%s", l);
    ZT_CHECK(!strcmp(line_of(ta, "mixer.1.num_heads", l, sizeof l), "mixer.1.num_heads=2"), "%s", l);
    ZT_CHECK(!strcmp(line_of(ta, "mixer.0.kernel_size", l, sizeof l), "mixer.0.kernel_size=[3, -1, 3]"), "%s", l);
    ZT_CHECK(!strcmp(line_of(ta, "lr", l, sizeof l), "lr=0.00046415888336127773"), "%s", l);
    ZT_CHECK(!strcmp(line_of(ta, "embed_dropout", l, sizeof l), "embed_dropout=0.05"), "%s", l);
    ZT_CHECK(!strcmp(line_of(ta, "pos_emb", l, sizeof l), "pos_emb=off"), "%s", l);
    ZT_CHECK(!strcmp(line_of(ta, "backend", l, sizeof l), "backend=cuda"), "%s", l);

    zoo_run_spec b;
    parse_text(&b, ta);
    ZT_CHECK(zoo_run_spec_format(&b, tb, sizeof tb) == 0, "format b");
    ZT_CHECK(!strcmp(ta, tb), "format -> set -> format differs:\n--- first\n%s--- second\n%s", ta, tb);
    ZT_CHECK(b.lr == a.lr && b.power_a == a.power_a && b.data_seed == a.data_seed && b.embed_dropout == a.embed_dropout,
          "numbers changed in the round trip");
    char ha[17], hb[17];
    zoo_run_spec_hash(&a, ha);
    zoo_run_spec_hash(&b, hb);
    ZT_CHECK(strlen(ha) == 16 && !strcmp(ha, hb), "hash %s vs %s after the round trip", ha, hb);

    /* The default spec round-trips too, and every key is written exactly once. */
    zoo_run_spec d;
    zoo_run_spec_default(&d);
    ZT_CHECK(zoo_run_spec_format(&d, ta, sizeof ta) == 0, "format default");
    parse_text(&b, ta);
    ZT_CHECK(zoo_run_spec_format(&b, tb, sizeof tb) == 0 && !strcmp(ta, tb), "default round trip");
    const char *keys[] = {"task", "vocab", "seq_len", "kv_pairs", "train_examples", "test_examples", "power_a",
                          "random_non_queries", "data_seed", "d_model", "n_layers", "mixer", "state_mixer",
                          "pos_emb", "embed_dropout", "lr", "weight_decay", "beta1", "beta2", "adam_eps", "epochs",
                          "batch_size", "eval_batch_size", "early_stop", "seed", "threads", "backend", "tf32", "ranks",
                          "segments"};
    int nlines = 0;
    for (const char *p = ta; *p; p++)
        nlines += *p == '\n';
    ZT_CHECK(nlines == (int)(sizeof keys / sizeof keys[0]), "default text has %d lines, want %d", nlines,
          (int)(sizeof keys / sizeof keys[0]));
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        ZT_CHECK(strncmp(line_of(ta, keys[i], l, sizeof l), "(missing", 8), "default text lacks %s", keys[i]);

    /* Too small a buffer is an error naming the size needed, not a silent cut. */
    char tiny[16];
    ZT_CHECK(zoo_run_spec_format(&d, tiny, sizeof tiny) == ZOO_ERR_INVALID, "tiny buffer accepted");
}

static void test_hash(void)
{
    zoo_run_spec a, b;
    zoo_run_spec_default(&a);
    char h0[17], h1[17];
    zoo_run_spec_hash(&a, h0);
    /* The hash is FNV-1a 64 of the formatted text without its threads line and without
     * the fields added later while at their default (tf32=0, ranks=1, segments=none): recompute it here
     * independently. */
    char text[8192], want[17];
    ZT_CHECK(zoo_run_spec_format(&a, text, sizeof text) == 0, "format");
    uint64_t h = 1469598103934665603ull;
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) + 1 : strlen(p);
        if (strncmp(p, "threads=", 8) && strncmp(p, "tf32=0\n", 7) && strncmp(p, "ranks=1\n", 8) &&
            strncmp(p, "segments=none\n", 14))
            for (size_t i = 0; i < len; i++)
                h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
        p += len;
    }
    snprintf(want, sizeof want, "%016llx", (unsigned long long)h);
    ZT_CHECK(!strcmp(h0, want), "hash %s, FNV-1a of the text without threads is %s", h0, want);
    b = a;
    b.threads = 7;
    zoo_run_spec_hash(&b, h1);
    ZT_CHECK(!strcmp(h0, h1), "threads changed the hash");
    b = a;
    b.batch_size = 512; /* what auto means at L = 64 */
    zoo_run_spec_hash(&b, h1);
    ZT_CHECK(!strcmp(h0, h1), "batch_size 512 and auto (0) hash differently at L=64");
    const char *changes[][2] = {{"lr", "1e-3"}, {"seed", "124"}, {"d_model", "128"}, {"mixer", "based"},
                                {"attention.num_heads", "2"}, {"data_seed", "1"}, {"pos_emb", "on"},
                                {"state_mixer", "mlp"}, {"backend", "cuda"}, {"early_stop", "0.9"}};
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
        b = a;
        set_ok(&b, changes[i][0], changes[i][1]);
        zoo_run_spec_hash(&b, h1);
        ZT_CHECK(strcmp(h0, h1), "%s=%s did not change the hash", changes[i][0], changes[i][1]);
    }
    /* Knob order does not matter. */
    zoo_run_spec c;
    b = a;
    c = a;
    set_ok(&b, "attention.num_heads", "2");
    set_ok(&b, "attention.dropout", "0");
    set_ok(&c, "attention.dropout", "0");
    set_ok(&c, "attention.num_heads", "2");
    zoo_run_spec_hash(&b, h0);
    zoo_run_spec_hash(&c, h1);
    ZT_CHECK(!strcmp(h0, h1), "knob order changed the hash");
    /* Setting a knob twice keeps the last value. */
    set_ok(&c, "attention.num_heads", "4");
    ZT_CHECK(c.mixers[0].n_knobs == 2, "knob set twice is stored twice");
    zoo_run_spec_hash(&c, h1);
    ZT_CHECK(strcmp(h0, h1), "changing a knob value kept the hash");
}

static void test_errors(void)
{
    zoo_run_spec s;
    zoo_run_spec_default(&s);
    set_bad(&s, "learning_rate", "1e-3", "unknown key 'learning_rate'", "did you mean 'lr'");
    set_bad(&s, "num_kv_pairs", "4", "did you mean 'kv_pairs'", NULL);
    set_bad(&s, "d_modle", "64", "did you mean 'd_model'", NULL);
    set_bad(&s, "epoch", "3", "'epochs'", NULL);
    set_bad(&s, "hyena.filter_order", "64", "not in the pattern", "attention");
    set_bad(&s, "mixer.1.num_heads", "2", "mixer.1.num_heads", "set mixer first");
    set_bad(&s, "mixer.x.num_heads", "2", "mixer.<index>.<knob>", NULL);
    set_bad(&s, "vocab", "12x", "vocab", "integer");
    set_bad(&s, "vocab", "", "vocab", NULL);
    set_bad(&s, "d_model", "0", "d_model", "[1, ");
    set_bad(&s, "lr", "fast", "lr", "number");
    set_bad(&s, "lr", "inf", "lr", NULL);
    set_bad(&s, "seed", "-1", "seed", "non-negative");
    set_bad(&s, "state_mixer", "moe", "state_mixer", "identity");
    set_bad(&s, "pos_emb", "maybe", "pos_emb", "auto");
    set_bad(&s, "backend", "tpu", "backend", "cpu, cuda or auto");
    set_bad(&s, "task", "copy ing", "task", "plugin name");
    set_bad(&s, "mixer", "[attention, ]", "mixer", NULL);
    set_bad(&s, "mixer", "[a, b, c, d, e, f, g, h, i]", "at most", NULL);
    set_bad(&s, "mixer", "[attention", "pattern", NULL);
    set_bad(&s, "embed_dropout", "1", "embed_dropout", "[0, 1)");
    set_bad(&s, "random_non_queries", "sometimes", "random_non_queries", "true or false");
    /* Each field's range is checked when it is set, with the range in the message. */
    set_bad(&s, "lr", "0", "lr='0'", "> 0");
    set_bad(&s, "lr", "-1", "lr='-1'", "> 0");
    set_bad(&s, "beta1", "1", "beta1='1'", "[0, 1)");
    set_bad(&s, "beta2", "-0.5", "beta2='-0.5'", "[0, 1)");
    set_bad(&s, "adam_eps", "0", "adam_eps='0'", "> 0");
    set_bad(&s, "weight_decay", "-0.1", "weight_decay='-0.1'", ">= 0");
    set_bad(&s, "power_a", "0", "power_a='0'", "> 0");
    set_bad(&s, "embed_dropout", "0.99999999", "embed_dropout", "[0, 1)"); /* 1 as a float */
    set_bad(&s, "threads", "-1", "threads", "[0, ");
    /* A far-off key gets the list of keys, not a made-up suggestion. */
    set_bad(&s, "colour", "red", "unknown key 'colour'", "the keys are task, vocab, seq_len");
    ZT_CHECK(!strstr(zoo_error_last()->msg, "did you mean"), "far-off key got a suggestion: %s", zoo_error_last()->msg);
    set_bad(&s, "D_MODEL", "64", "did you mean 'd_model'", NULL);

    /* Checks that need the whole spec (MQAR constraints come from the task module). */
    struct {
        const char *k, *v, *want;
    } bad[] = {
        {"seq_len", "63", "63"},
        {"vocab", "64", "64"},
        {"kv_pairs", "17", "17"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        zoo_run_spec_default(&s);
        set_ok(&s, bad[i].k, bad[i].v);
        zoo_error_clear();
        int rc = zoo_run_spec_check(&s);
        ZT_CHECK(rc == ZOO_ERR_INVALID, "check with %s=%s returned %d", bad[i].k, bad[i].v, rc);
        ZT_CHECK(strstr(zoo_error_last()->msg, bad[i].want) != NULL, "check %s=%s: message '%s' lacks '%s'", bad[i].k,
              bad[i].v, zoo_error_last()->msg, bad[i].want);
    }
    /* A spec filled in code meets the same ranges in zoo_run_spec_check: the message
     * names the field, its value and the fix. */
    zoo_run_spec_default(&s);
    s.lr = 0;
    ZT_CHECK(zoo_run_spec_check(&s) == ZOO_ERR_INVALID && strstr(zoo_error_last()->msg, "lr=0: set lr > 0"), "lr 0: %s",
          zoo_error_last()->msg);
    zoo_run_spec_default(&s);
    s.beta2 = 1;
    ZT_CHECK(zoo_run_spec_check(&s) == ZOO_ERR_INVALID && strstr(zoo_error_last()->msg, "beta2=1: set beta2 in [0, 1)"),
          "beta2 1: %s", zoo_error_last()->msg);
    zoo_run_spec_default(&s);
    s.weight_decay = -0.1;
    ZT_CHECK(zoo_run_spec_check(&s) == ZOO_ERR_INVALID && strstr(zoo_error_last()->msg, "weight_decay"), "wd < 0");
    zoo_run_spec_default(&s);
    s.adam_eps = 0;
    ZT_CHECK(zoo_run_spec_check(&s) == ZOO_ERR_INVALID && strstr(zoo_error_last()->msg, "adam_eps"), "eps 0");
    zoo_run_spec_default(&s);
    s.early_stop = NAN;
    ZT_CHECK(zoo_run_spec_check(&s) == ZOO_ERR_INVALID && strstr(zoo_error_last()->msg, "early_stop"), "early_stop NaN");
    zoo_run_spec_default(&s);
    s.test_examples = 0;
    ZT_CHECK(zoo_run_spec_check(&s) == ZOO_ERR_INVALID && strstr(zoo_error_last()->msg, "test_examples=0"),
          "test_examples 0: %s", zoo_error_last()->msg);
    zoo_run_spec_default(&s);
    s.state_mixer = (zoo_state_mixer)7;
    ZT_CHECK(zoo_run_spec_check(&s) == ZOO_ERR_INVALID && strstr(zoo_error_last()->msg, "identity or mlp"),
          "state_mixer 7: %s", zoo_error_last()->msg);
    zoo_run_spec_default(&s);
    s.pos_emb = 2;
    ZT_CHECK(zoo_run_spec_check(&s) == ZOO_ERR_INVALID && strstr(zoo_error_last()->msg, "auto, off or on"),
          "pos_emb 2: %s", zoo_error_last()->msg);
    zoo_run_spec_default(&s);
    snprintf(s.task, sizeof s.task, "copying"); /* a plain name, but no such task plugin */
    ZT_CHECK(zoo_run_spec_check(&s) == ZOO_ERR_PLUGIN_NOT_FOUND &&
                 strstr(zoo_error_last()->msg, "unknown task 'copying'") && strstr(zoo_error_last()->msg, "mqar"),
             "task copying: %s", zoo_error_last()->msg);
    zoo_run_spec_default(&s);
    s.n_layers = 0;
    ZT_CHECK(zoo_run_spec_check(&s) == ZOO_ERR_INVALID && strstr(zoo_error_last()->msg, "n_layers"), "n_layers 0");
    zoo_run_spec_default(&s);
    s.epochs = 0;
    ZT_CHECK(zoo_run_spec_check(&s) == ZOO_ERR_INVALID && strstr(zoo_error_last()->msg, "epochs"), "epochs 0");
    zoo_run_spec_default(&s);
    s.n_mixers = 0;
    ZT_CHECK(zoo_run_spec_check(&s) == ZOO_ERR_INVALID, "empty pattern accepted");

    /* Setting the pattern again keeps the knobs of mixers that stay. */
    zoo_run_spec_default(&s);
    set_ok(&s, "attention.num_heads", "2");
    set_ok(&s, "mixer", "[base_conv, attention]");
    ZT_CHECK(s.mixers[1].n_knobs == 1 && !strcmp(s.mixers[1].knobs[0].value, "2") && s.mixers[0].n_knobs == 0,
          "knobs not carried over to the new pattern");
}

/* Values that passed the checks and then crashed or ran silently for minutes. */
static void test_caps(void)
{
    zoo_run_spec s;
    zoo_run_spec_default(&s);
    set_bad(&s, "threads", "65536", "threads='65536'", "[0, 1024]");
    set_ok(&s, "threads", "1024");
    set_bad(&s, "n_layers", "16000", "n_layers='16000'", "[1, 256]");
    set_bad(&s, "d_model", "65537", "d_model='65537'", "[1, 65536]");
    set_bad(&s, "seq_len", "1048577", "seq_len='1048577'", "[1, 1048576]");
    set_bad(&s, "vocab", "16777217", "vocab='16777217'", "[1, 16777216]");
    /* Floats are decimal, as integers are: strtod alone would take these. */
    set_bad(&s, "lr", "0x10", "lr='0x10'", "finite number");
    set_bad(&s, "lr", "inf", "lr='inf'", NULL);
    set_bad(&s, "early_stop", "nan", "early_stop='nan'", NULL);
    set_bad(&s, "seed", "0x10", "seed='0x10'", NULL);
    set_ok(&s, "lr", "1.5E-3");
    set_ok(&s, "lr", " 2e-3");

    /* A pattern longer than n_layers would drop mixers the run's name still lists. */
    zoo_run_spec_default(&s);
    set_ok(&s, "mixer", "[attention, attention, attention]");
    int rc = zoo_run_spec_check(&s);
    ZT_CHECK(rc == ZOO_ERR_INVALID && !strcmp(zoo_error_last()->msg, "mixer pattern has 3 entries but n_layers is 2: "
                                                                  "give at most n_layers mixers or raise n_layers"),
          "pattern longer than n_layers: %d %s", rc, zoo_error_last()->msg);
    set_ok(&s, "n_layers", "3");
    ZT_CHECK(!zoo_run_spec_check(&s), "pattern of n_layers: %s", zoo_error_last()->msg);
}

static void test_flops(void)
{
    zoo_run_spec s;
    zoo_run_spec_default(&s);
    double f64 = zoo_run_spec_flops_per_step(&s);
    s.d_model = 128;
    double f128 = zoo_run_spec_flops_per_step(&s);
    s.d_model = 64;
    s.seq_len = 512;
    s.kv_pairs = 64;
    double fl = zoo_run_spec_flops_per_step(&s);
    ZT_CHECK(f64 > 1e8 && f64 < 1e12, "flops at the defaults %g", f64);
    ZT_CHECK(f128 > f64 && fl > f64, "flops do not grow with D (%g -> %g) or L (%g -> %g)", f64, f128, f64, fl);
}

int main(void)
{
    test_defaults();
    test_round_trip();
    test_hash();
    test_errors();
    test_caps();
    test_flops();
    if (zt_fails)
        fprintf(stderr, "%d check(s) failed\n", zt_fails);
    else
        printf("spec: ok\n");
    return zt_fails ? 1 : 0;
}
