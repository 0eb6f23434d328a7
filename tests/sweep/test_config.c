/* test_config.c: the sweep-file reader. Modes:
 *   errors FILE...        each malformed file must fail with ZOO_ERR_CONFIG and the
 *                         message "FILE:" + the text after "# expect: " on its line 1
 *   count FILE N [MIXER]  the file expands to N runs (exit 77 if a MIXER is missing)
 *   count-toys FILE N     the same with its mixers: list replaced by test-only mixers
 *   unit                  expansion order, zip, exclude, mixers, knob sweeps, values
 *   dump FILE             print the message or the runs (for writing expectations)
 * Exit status decides; nothing here trains. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zoo/config.h"
#include "zoo/error.h"
#include "zoo/plugin.h"

static int fails;

#define CHECK(cond, ...)                                                                                           \
    do {                                                                                                           \
        if (!(cond)) {                                                                                             \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                                   \
            fprintf(stderr, __VA_ARGS__);                                                                          \
            fprintf(stderr, "\n");                                                                                 \
            fails++;                                                                                               \
        }                                                                                                          \
    } while (0)

static int check_error_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "FAIL %s: cannot open\n", path);
        return 1;
    }
    char line[1024] = "";
    if (!fgets(line, sizeof line, f))
        line[0] = 0;
    fclose(f);
    line[strcspn(line, "\n")] = 0;
    const char *tag = "# expect: ";
    if (strncmp(line, tag, strlen(tag))) {
        fprintf(stderr, "FAIL %s: line 1 must be '# expect: LINE:COL: message'\n", path);
        return 1;
    }
    char want[1200];
    snprintf(want, sizeof want, "%s:%s", path, line + strlen(tag));
    zoo_sweep s;
    int rc = zoo_sweep_load(path, &s);
    if (rc == 0) {
        fprintf(stderr, "FAIL %s: loaded (%lld runs) but should fail with\n  %s\n", path, (long long)s.n_runs, want);
        zoo_sweep_free(&s);
        return 1;
    }
    const zoo_error *e = zoo_error_last();
    if (rc != ZOO_ERR_CONFIG || strncmp(e->msg, want, strlen(want))) {
        fprintf(stderr, "FAIL %s: code %d\n  got:  %s\n  want: %s...\n", path, rc, e->msg, want);
        return 1;
    }
    if (s.runs || s.n_runs || s.text) {
        fprintf(stderr, "FAIL %s: output not empty after failure\n", path);
        return 1;
    }
    return 0;
}

static int parse(const char *text, zoo_sweep *s)
{
    int rc = zoo_sweep_parse(text, "mem.yaml", s);
    if (rc)
        fprintf(stderr, "  parse failed: %s\n", zoo_error_last()->msg);
    return rc;
}

/* The default spec with the test-only mixer (no real plugin needed). */
static void set_default_mixer(zoo_run_spec *s)
{
    if (zoo_run_spec_set(s, "mixer", "sweeptoy"))
        fprintf(stderr, "  set mixer: %s\n", zoo_error_last()->msg);
}

static void unit(void)
{
    zoo_sweep s;
    /* Defaults: a file with no axes is one run with the paper defaults. */
    CHECK(!parse("name: one\ntrain:\n  lr: 0.001\n", &s), "single run");
    CHECK(s.n_runs == 1 && s.runs[0].lr == 0.001 && s.runs[0].seq_len == 64, "single run values");
    CHECK(!strcmp(s.name, "one"), "name '%s'", s.name);
    CHECK(s.text && strstr(s.text, "lr: 0.001"), "text kept");
    zoo_sweep_free(&s);
    /* No name: the file stem. */
    CHECK(!zoo_sweep_parse("train: {lr: 0.01}\n", "dir/my.sweep.yaml", &s), "stem");
    CHECK(!strcmp(s.name, "my.sweep"), "stem name '%s'", s.name);
    zoo_sweep_free(&s);

    /* Product in file order, last axis fastest. */
    CHECK(!parse("task: {seq_len: [64, 128]}\ntrain: {lr: [0.1, 0.01, 0.001], seed: [1, 2]}\n", &s), "product");
    CHECK(s.n_runs == 12, "product count %lld", (long long)s.n_runs);
    if (s.n_runs == 12) {
        CHECK(s.runs[0].seq_len == 64 && s.runs[0].lr == 0.1 && s.runs[0].seed == 1, "run 0");
        CHECK(s.runs[1].seq_len == 64 && s.runs[1].lr == 0.1 && s.runs[1].seed == 2, "run 1");
        CHECK(s.runs[2].lr == 0.01 && s.runs[2].seed == 1, "run 2");
        CHECK(s.runs[6].seq_len == 128 && s.runs[6].lr == 0.1, "run 6");
        CHECK(s.runs[11].seq_len == 128 && s.runs[11].lr == 0.001 && s.runs[11].seed == 2, "run 11");
    }
    zoo_sweep_free(&s);

    /* Zip: the group moves together, at the place of its first axis. */
    CHECK(!parse("task:\n  seq_len: [64, 128, 256]\n  kv_pairs: [4, 8, 16]\n"
                 "train:\n  lr: [0.1, 0.01]\n  batch_size: [64, 32, 16]\nzip: [seq_len, kv_pairs, batch_size]\n",
                 &s),
          "zip");
    CHECK(s.n_runs == 6, "zip count %lld", (long long)s.n_runs);
    if (s.n_runs == 6) {
        CHECK(s.runs[0].seq_len == 64 && s.runs[0].kv_pairs == 4 && s.runs[0].batch_size == 64 && s.runs[0].lr == 0.1,
              "zip run 0");
        CHECK(s.runs[1].seq_len == 64 && s.runs[1].lr == 0.01, "zip run 1");
        CHECK(s.runs[5].seq_len == 256 && s.runs[5].kv_pairs == 16 && s.runs[5].batch_size == 16, "zip run 5");
    }
    zoo_sweep_free(&s);
    /* Zipped axes may repeat a value as long as the tuples differ (batch by L). */
    CHECK(!parse("task: {seq_len: [64, 128, 256], kv_pairs: [4, 8, 16]}\ntrain: {batch_size: [64, 64, 32]}\n"
                 "zip: [seq_len, kv_pairs, batch_size]\n",
                 &s),
          "zip with a repeated batch");
    CHECK(s.n_runs == 3 && s.runs[1].batch_size == 64 && s.runs[2].batch_size == 32, "zip repeat values");
    zoo_sweep_free(&s);
    /* Zip as a list of groups. */
    CHECK(!parse("task: {seq_len: [64, 128], kv_pairs: [4, 8]}\n"
                 "train: {lr: [0.1, 0.01], seed: [1, 2]}\nzip: [[seq_len, kv_pairs], [lr, seed]]\n",
                 &s),
          "zip groups");
    CHECK(s.n_runs == 4, "zip groups count %lld", (long long)s.n_runs);
    if (s.n_runs == 4)
        CHECK(s.runs[3].seq_len == 128 && s.runs[3].kv_pairs == 8 && s.runs[3].lr == 0.01 && s.runs[3].seed == 2,
              "zip groups run 3");
    zoo_sweep_free(&s);

    /* Exclude: partial mappings, lists of values, numbers compared as numbers. */
    CHECK(!parse("task: {seq_len: [64, 128]}\nmodel: {d_model: [32, 64, 128]}\ntrain: {lr: [0.1, 0.01]}\n"
                 "exclude:\n  - {seq_len: 128, d_model: [32, 64]}\n  - {lr: 1e-1, d_model: 128}\n",
                 &s),
          "exclude");
    /* 12 - 4 (seq 128, d 32/64) - 2 (lr .1, d 128) = 6 */
    CHECK(s.n_runs == 6, "exclude count %lld", (long long)s.n_runs);
    for (int64_t i = 0; i < s.n_runs; i++) {
        CHECK(!(s.runs[i].seq_len == 128 && s.runs[i].d_model < 128), "excluded run %lld present", (long long)i);
        CHECK(!(s.runs[i].lr == 0.1 && s.runs[i].d_model == 128), "excluded run %lld present", (long long)i);
    }
    zoo_sweep_free(&s);

    /* Mixers: names, mappings with knobs, hybrids, and a knob list as a sweep. */
    CHECK(!parse("model:\n  n_layers: 2\n  mixers:\n    - sweeptoy\n    - {name: sweeptoy, width: [1, 2], taps: [1, 2, 3]}\n"
                 "    - [sweeptoy, {name: sweeptoy_b, kind: fancy}]\n",
                 &s),
          "mixers");
    CHECK(s.n_runs == 4, "mixers count %lld", (long long)s.n_runs);
    if (s.n_runs == 4) {
        CHECK(s.runs[0].n_mixers == 1 && !strcmp(s.runs[0].mixers[0].name, "sweeptoy") && s.runs[0].mixers[0].n_knobs == 0,
              "mixer 0");
        const zoo_mixer_ref *m = &s.runs[2].mixers[0];
        CHECK(m->n_knobs == 2, "knobs of run 2: %d", m->n_knobs);
        int w = -1, t = -1;
        for (int k = 0; k < m->n_knobs; k++) {
            if (!strcmp(m->knobs[k].name, "width"))
                w = k;
            if (!strcmp(m->knobs[k].name, "taps"))
                t = k;
        }
        CHECK(w >= 0 && !strcmp(m->knobs[w].value, "2"), "run 2 width");
        CHECK(t >= 0 && !strcmp(m->knobs[t].value, "[1, 2, 3]"), "run 2 taps '%s'", t >= 0 ? m->knobs[t].value : "");
        CHECK(s.runs[3].n_mixers == 2 && !strcmp(s.runs[3].mixers[1].name, "sweeptoy_b") &&
                  s.runs[3].mixers[1].n_knobs == 1 && !strcmp(s.runs[3].mixers[1].knobs[0].value, "fancy"),
              "hybrid run 3");
    }
    zoo_sweep_free(&s);
    /* An int-list knob swept with a list of lists; mixer: with a knob sweep is an axis. */
    CHECK(!parse("model:\n  mixer: {name: sweeptoy, taps: [[3, -1], [1]]}\ntrain: {lr: [0.1, 0.01]}\n"
                 "exclude: [{mixer: sweeptoy, lr: 0.1}]\n",
                 &s),
          "int-list sweep");
    CHECK(s.n_runs == 2 && !strcmp(s.runs[0].mixers[0].knobs[0].value, "[3, -1]") &&
              !strcmp(s.runs[1].mixers[0].knobs[0].value, "[1]") && s.runs[0].lr == 0.01,
          "int-list sweep (%lld runs)", (long long)s.n_runs);
    zoo_sweep_free(&s);

    /* A sweep over tasks: knobs in one task's section reach that task's runs only. */
    CHECK(!parse("task:\n  name: [in_context_recall, fuzzy_in_context_recall, selective_copying]\n  vocab: 16\n"
                 "  fuzzy_in_context_recall: {k_motif_size: 2, v_motif_size: 2}\n"
                 "  selective_copying: {num_tokens_to_copy: 8}\n",
                 &s),
          "per-task knobs: %s", zoo_error_last()->msg);
    CHECK(s.n_runs == 3 && s.runs[0].n_task_knobs == 0 && s.runs[1].n_task_knobs == 2 &&
              s.runs[2].n_task_knobs == 1 && !strcmp(s.runs[2].task_knobs[0].name, "num_tokens_to_copy") &&
              !strcmp(s.runs[2].task_knobs[0].value, "8"),
          "per-task knobs: %lld runs, knobs %d %d %d", (long long)s.n_runs, s.runs[0].n_task_knobs,
          s.runs[1].n_task_knobs, s.runs[2].n_task_knobs);
    zoo_sweep_free(&s);

    /* Anchors and merge keys are YAML's own and work. */
    CHECK(zoo_sweep_parse("base: &b {lr: 0.005, epochs: 3}\n", "mem.yaml", &s) == ZOO_ERR_CONFIG,
          "unknown top-level key 'base' must fail");
    zoo_sweep_free(&s);
    CHECK(!parse("task: &t {seq_len: 128, kv_pairs: 8}\ntrain:\n  epochs: 3\n", &s), "anchor");
    CHECK(s.n_runs == 1 && s.runs[0].kv_pairs == 8 && s.runs[0].epochs == 3, "anchor values");
    zoo_sweep_free(&s);
    CHECK(!parse("model: {d_model: &w 96}\ntask: {seq_len: *w, kv_pairs: 8}\n", &s), "alias");
    CHECK(s.n_runs == 1 && s.runs[0].seq_len == 96, "alias values");
    zoo_sweep_free(&s);
    /* An alias bomb is refused before it expands, at the alias that crosses the cap. */
    {
        char bomb[2048];
        size_t k = (size_t)snprintf(bomb, sizeof bomb, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i <= 9; i++)
            k += (size_t)snprintf(bomb + k, sizeof bomb - k,
                                  "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i,
                                  i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
        CHECK(zoo_sweep_parse(bomb, "bomb.yaml", &s) == ZOO_ERR_CONFIG &&
                  strstr(zoo_error_last()->msg, "bomb.yaml:5:") &&
                  strstr(zoo_error_last()->msg, "expand to more than 100000 values"),
              "alias bomb: %s", zoo_error_last()->msg);
        zoo_sweep_free(&s);
    }
    /* The run cap is checked before anything pairwise: 150,000 values on one axis are
     * refused at once (the pairwise repeat check alone would take minutes). */
    {
        size_t cap = 150000 * 16 + 64, k = 0;
        char *big = malloc(cap);
        CHECK(big != NULL, "malloc");
        if (big) {
            k += (size_t)snprintf(big + k, cap - k, "train:\n  lr: [");
            for (int i = 0; i < 150000; i++)
                k += (size_t)snprintf(big + k, cap - k, "%s%de-9", i ? ", " : "", i + 1);
            snprintf(big + k, cap - k, "]\n");
            CHECK(zoo_sweep_parse(big, "many.yaml", &s) == ZOO_ERR_CONFIG &&
                      strstr(zoo_error_last()->msg, "the grid has 150000 runs, more than 100000"),
                  "run cap: %s", zoo_error_last()->msg);
            zoo_sweep_free(&s);
            free(big);
        }
    }
    /* Bytes that are not UTF-8 are named with their position, not reported as empty. */
    CHECK(zoo_sweep_parse("task:\n  \x81\xe0\x10%YAML\n", "junk.yaml", &s) == ZOO_ERR_CONFIG &&
              !strcmp(zoo_error_last()->msg, "junk.yaml:2:3: byte 0x81 is not UTF-8 text; a sweep file is YAML text "
                                             "(is this the right file?)"),
          "not UTF-8: %s", zoo_error_last()->msg);
    zoo_sweep_free(&s);
    CHECK(zoo_sweep_parse("%\x81\x01\n", "dir.yaml", &s) == ZOO_ERR_CONFIG &&
              strstr(zoo_error_last()->msg, "dir.yaml:1:2: byte 0x81"),
          "bad directive: %s", zoo_error_last()->msg);
    zoo_sweep_free(&s);
    /* Floats are decimal, as integers are. */
    CHECK(zoo_sweep_parse("train: {lr: 0x10}\n", "hex.yaml", &s) == ZOO_ERR_CONFIG &&
              strstr(zoo_error_last()->msg, "hex.yaml:1:13: wrong type: lr takes a number, got the value '0x10'"),
          "hex float: %s", zoo_error_last()->msg);
    zoo_sweep_free(&s);
    CHECK(zoo_sweep_parse("train: {lr: nan}\n", "nan.yaml", &s) == ZOO_ERR_CONFIG, "nan float");
    zoo_sweep_free(&s);

    /* The YAML schema is the run spec's field table: every field is read under its
     * section by its YAML name, and its default there gives the default run. */
    zoo_run_spec d;
    zoo_run_spec_default(&d);
    set_default_mixer(&d);
    char hd[17];
    zoo_run_spec_hash(&d, hd);
    for (int i = 0; i < zoo_run_spec_nfields(); i++) {
        const zoo_run_field *f = zoo_run_spec_field(i);
        char text[512], h[17];
        snprintf(text, sizeof text, "%s:\n  %s: %s\n%s", f->section, f->yaml ? f->yaml : f->name,
                 f->type == ZOO_FIELD_MIXER ? "sweeptoy" : f->def,
                 f->type == ZOO_FIELD_MIXER ? "" : "model: {mixer: sweeptoy}\n");
        if (!strcmp(f->section, "model") && f->type != ZOO_FIELD_MIXER)
            snprintf(text, sizeof text, "model:\n  %s: %s\n  mixer: sweeptoy\n", f->yaml ? f->yaml : f->name, f->def);
        CHECK(!parse(text, &s) && s.n_runs == 1, "field %s at its default in YAML:\n%s", f->name, text);
        if (s.n_runs == 1) {
            zoo_run_spec_hash(&s.runs[0], h);
            CHECK(!strcmp(h, hd), "field %s at its default in YAML gives hash %s, not %s", f->name, h, hd);
        }
        zoo_sweep_free(&s);
    }

    /* Every run of a sweep has a distinct hash. */
    CHECK(!parse("model: {d_model: [32, 64], mixers: [sweeptoy, sweeptoy_b]}\ntrain: {lr: [0.1, 0.01]}\n", &s), "hash");
    for (int64_t i = 0; i < s.n_runs; i++)
        for (int64_t j = 0; j < i; j++) {
            char a[17], b[17];
            zoo_run_spec_hash(&s.runs[i], a);
            zoo_run_spec_hash(&s.runs[j], b);
            CHECK(strcmp(a, b), "runs %lld and %lld share hash %s", (long long)i, (long long)j, a);
        }
    zoo_sweep_free(&s);
}

static int dump(const char *path)
{
    zoo_sweep s;
    if (zoo_sweep_load(path, &s)) {
        printf("%s\n", zoo_error_last()->msg);
        return 1;
    }
    for (int64_t i = 0; i < s.n_runs; i++) {
        char h[17];
        zoo_run_spec_hash(&s.runs[i], h);
        printf("%lld %s L=%lld K=%lld D=%lld lr=%g mixer=%s n=%d\n", (long long)i, h, (long long)s.runs[i].seq_len,
               (long long)s.runs[i].kv_pairs, (long long)s.runs[i].d_model, s.runs[i].lr, s.runs[i].mixers[0].name,
               s.runs[i].n_mixers);
    }
    zoo_sweep_free(&s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_config errors FILE... | count FILE N [MIXER...] | unit | dump FILE\n");
        return 2;
    }
    if (!strcmp(argv[1], "errors")) {
        int bad = 0;
        for (int i = 2; i < argc; i++)
            bad += check_error_file(argv[i]);
        printf("%d of %d malformed files give their expected message\n", argc - 2 - bad, argc - 2);
        return bad || argc < 3 ? 1 : 0;
    }
    if (!strcmp(argv[1], "count") && argc >= 4) {
        for (int i = 4; i < argc; i++) {
            zoo_plugin *p = NULL;
            if (zoo_plugin_find(argv[i], &p)) {
                printf("skipped: mixer %s is not built yet (%s)\n", argv[i], zoo_error_last()->msg);
                return 77;
            }
            zoo_plugin_close(p);
        }
        zoo_sweep s;
        if (zoo_sweep_load(argv[2], &s)) {
            fprintf(stderr, "FAIL %s: %s\n", argv[2], zoo_error_last()->msg);
            return 1;
        }
        long long want = atoll(argv[3]);
        int ok = s.n_runs == want;
        printf("%s: %lld runs (want %lld)\n", argv[2], (long long)s.n_runs, want);
        zoo_sweep_free(&s);
        return ok ? 0 : 1;
    }
    if (!strcmp(argv[1], "count-toys") && argc == 4) {
        /* The grid structure of a config whose mixers are not built yet: its mixers:
         * list is replaced by as many test-only mixers, so only the mixers differ. */
        FILE *f = fopen(argv[2], "r");
        static char text[1 << 16], out[1 << 16];
        size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
        if (f)
            fclose(f);
        text[n] = 0;
        char *a = strstr(text, "\n  mixers:\n"), *b = a ? strstr(a, "\ntrain:") : NULL;
        if (!a || !b) {
            fprintf(stderr, "FAIL %s: no '  mixers:' block before 'train:'\n", argv[2]);
            return 1;
        }
        int entries = 0;
        for (char *p = a + 1; p < b; p = strchr(p, '\n') + 1)
            entries += !strncmp(p, "    - ", 6);
        size_t k = (size_t)snprintf(out, sizeof out, "%.*s\n  mixers:\n", (int)(a - text), text);
        for (int i = 0; i < entries; i++)
            k += (size_t)snprintf(out + k, sizeof out - k, "    - {name: sweeptoy, width: %d}\n", 1 << i);
        snprintf(out + k, sizeof out - k, "%s", b + 1);
        zoo_sweep s;
        if (zoo_sweep_parse(out, argv[2], &s)) {
            fprintf(stderr, "FAIL %s: %s\n", argv[2], zoo_error_last()->msg);
            return 1;
        }
        long long want = atoll(argv[3]);
        int ok = s.n_runs == want;
        printf("%s with %d test mixers: %lld runs (want %lld)\n", argv[2], entries, (long long)s.n_runs, want);
        zoo_sweep_free(&s);
        return ok ? 0 : 1;
    }
    if (!strcmp(argv[1], "dump") && argc == 3)
        return dump(argv[2]);
    if (!strcmp(argv[1], "unit")) {
        unit();
        printf("%s\n", fails ? "FAILED" : "ok");
        return fails ? 1 : 0;
    }
    fprintf(stderr, "unknown mode %s\n", argv[1]);
    return 2;
}
