/* test_hvals.c: knob values: defaults from the table, parsing of every type, the
 * messages for unknown knobs (nearest suggestion, all known) and wrong types, int
 * lists, formatting that reads back, getters on unknown names, malformed tables. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zoo/plugin.h"

static int fails;

#define CHECK(cond, ...)                                                                                             \
    do {                                                                                                             \
        if (!(cond)) {                                                                                               \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                                     \
            fprintf(stderr, __VA_ARGS__);                                                                            \
            fprintf(stderr, "\n");                                                                                   \
            fails++;                                                                                                 \
        }                                                                                                            \
    } while (0)

static int dummy_build(zoo_graph *g, const zoo_hvals *h, const zoo_layer_info *li, zoo_tensor *x, zoo_tensor **y)
{
    (void)g, (void)h, (void)li;
    *y = x;
    return 0;
}

static const zoo_hparam hyena_knobs[] = {
    {"filter_order", ZOO_HP_INT, "64", "width of the filter MLP"},
    {"short_filter_order", ZOO_HP_INT, "3", "short conv kernel"},
    {"dropout", ZOO_HP_FLOAT, "0.1", "dropout"},
    {"bidirectional", ZOO_HP_BOOL, "false", "bool"},
    {"activation", ZOO_HP_STRING, "id", "string"},
    {"kernel_sizes", ZOO_HP_INT_LIST, "[3, -1, 3, -1]", "int list"},
    {"modes", ZOO_HP_INT_LIST, "5", "int list from a single int"},
    {NULL, 0, NULL, NULL},
};
static const zoo_mixer hyena = {ZOO_MIXER_HEADER, "hyena", "gated-conv", "test", hyena_knobs, dummy_build,
                                NULL, NULL, 0, ZOO_BLOCK_TRANSFORMER};

static const char *set_err(zoo_hvals *h, const char *k, const char *v, int *rc)
{
    zoo_error_clear();
    *rc = zoo_hvals_set(h, k, v);
    return zoo_error_last()->msg;
}

static void test_defaults(zoo_hvals *h)
{
    CHECK(zoo_hvals_int(h, "filter_order") == 64, "filter_order default");
    CHECK(zoo_hvals_float(h, "dropout") == 0.1, "dropout default %.17g", zoo_hvals_float(h, "dropout"));
    CHECK(zoo_hvals_bool(h, "bidirectional") == 0, "bidirectional default");
    CHECK(zoo_hvals_str(h, "activation") && !strcmp(zoo_hvals_str(h, "activation"), "id"), "activation default");
    const int64_t *l = NULL;
    int n = zoo_hvals_list(h, "kernel_sizes", &l);
    CHECK(n == 4 && l && l[0] == 3 && l[1] == -1 && l[2] == 3 && l[3] == -1, "kernel_sizes default (%d)", n);
    n = zoo_hvals_list(h, "modes", &l);
    CHECK(n == 1 && l && l[0] == 5, "single-int list default (%d)", n);
    /* plugins only ask for their own knobs; an unknown name is 0 / NULL, not a crash */
    CHECK(zoo_hvals_int(h, "nope") == 0 && zoo_hvals_float(h, "nope") == 0 && zoo_hvals_bool(h, "nope") == 0 &&
              zoo_hvals_str(h, "nope") == NULL,
          "unknown getters");
    l = (const int64_t *)&n;
    CHECK(zoo_hvals_list(h, "nope", &l) == 0 && l == NULL, "unknown list getter");
    CHECK(zoo_hvals_int(NULL, "filter_order") == 0, "NULL values");
}

static void test_types(zoo_hvals *h)
{
    int rc;
    const char *msg;
    CHECK(zoo_hvals_set(h, "filter_order", "128") == 0 && zoo_hvals_int(h, "filter_order") == 128, "int");
    CHECK(zoo_hvals_set(h, "filter_order", " -7 ") == 0 && zoo_hvals_int(h, "filter_order") == -7, "int spaces");
    CHECK(zoo_hvals_set(h, "filter_order", "+9") == 0 && zoo_hvals_int(h, "filter_order") == 9, "int plus");
    const char *bad_ints[] = {"", "abc", "1.5", "12x", "1e3", "99999999999999999999999", "--1", "[3]"};
    for (int i = 0; i < 8; i++) {
        msg = set_err(h, "filter_order", bad_ints[i], &rc);
        CHECK(rc == ZOO_ERR_INVALID && strstr(msg, "is an int") && strstr(msg, "'filter_order'") &&
                  strstr(msg, "'hyena'"),
              "int '%s': rc %d msg %s", bad_ints[i], rc, msg);
        CHECK(zoo_hvals_int(h, "filter_order") == 9, "failed set changed the value ('%s')", bad_ints[i]);
    }
    msg = set_err(h, "filter_order", "abc", &rc);
    CHECK(strstr(msg, "got 'abc'"), "wrong-type message names the value: %s", msg);

    CHECK(zoo_hvals_set(h, "dropout", "0") == 0 && zoo_hvals_float(h, "dropout") == 0.0, "float 0");
    CHECK(zoo_hvals_set(h, "dropout", "1e-3") == 0 && zoo_hvals_float(h, "dropout") == 1e-3, "float exp");
    CHECK(zoo_hvals_set(h, "dropout", "3") == 0 && zoo_hvals_float(h, "dropout") == 3.0, "float from int text");
    const char *bad_floats[] = {"", "x", "0.1.2", "nan", "inf", "1e999"};
    for (int i = 0; i < 6; i++) {
        msg = set_err(h, "dropout", bad_floats[i], &rc);
        CHECK(rc == ZOO_ERR_INVALID && strstr(msg, "is a float"), "float '%s': %d %s", bad_floats[i], rc, msg);
    }

    const char *trues[] = {"true", "True", "YES", "yes", "1", " true "};
    const char *falses[] = {"false", "FALSE", "no", "No", "0"};
    for (int i = 0; i < 6; i++) {
        zoo_hvals_set(h, "bidirectional", "false");
        CHECK(zoo_hvals_set(h, "bidirectional", trues[i]) == 0 && zoo_hvals_bool(h, "bidirectional") == 1,
              "bool '%s'", trues[i]);
    }
    for (int i = 0; i < 5; i++)
        CHECK(zoo_hvals_set(h, "bidirectional", falses[i]) == 0 && zoo_hvals_bool(h, "bidirectional") == 0,
              "bool '%s'", falses[i]);
    const char *bad_bools[] = {"", "2", "yess", "on", "t"};
    for (int i = 0; i < 5; i++) {
        msg = set_err(h, "bidirectional", bad_bools[i], &rc);
        CHECK(rc == ZOO_ERR_INVALID && strstr(msg, "is a bool") && strstr(msg, "true, false"), "bool '%s': %s",
              bad_bools[i], msg);
    }

    CHECK(zoo_hvals_set(h, "activation", "gelu") == 0 && !strcmp(zoo_hvals_str(h, "activation"), "gelu"), "string");
    CHECK(zoo_hvals_set(h, "activation", "") == 0 && !strcmp(zoo_hvals_str(h, "activation"), ""), "empty string");

    const int64_t *l;
    CHECK(zoo_hvals_set(h, "kernel_sizes", "[1,2 , -3]") == 0 && zoo_hvals_list(h, "kernel_sizes", &l) == 3 &&
              l[0] == 1 && l[1] == 2 && l[2] == -3,
          "list [1,2 , -3]");
    CHECK(zoo_hvals_set(h, "kernel_sizes", "7") == 0 && zoo_hvals_list(h, "kernel_sizes", &l) == 1 && l[0] == 7,
          "list from single int");
    CHECK(zoo_hvals_int(h, "kernel_sizes") == 7, "int getter on a one-entry list");
    CHECK(zoo_hvals_set(h, "kernel_sizes", "4, 5") == 0 && zoo_hvals_list(h, "kernel_sizes", &l) == 2 && l[1] == 5,
          "list without brackets");
    CHECK(zoo_hvals_set(h, "kernel_sizes", " [ ] ") == 0 && zoo_hvals_list(h, "kernel_sizes", &l) == 0, "empty list");
    const char *bad_lists[] = {"", "[", "[1,", "[1 2]", "[1,,2]", "[a]", "[1.5]", "1]", "[1] x", "[1],"};
    for (int i = 0; i < 10; i++) {
        msg = set_err(h, "kernel_sizes", bad_lists[i], &rc);
        CHECK(rc == ZOO_ERR_INVALID && strstr(msg, "is an int list") && strstr(msg, "[3, -1, 3, -1]"),
              "list '%s': %d %s", bad_lists[i], rc, msg);
    }
    /* a plain INT reads as a one-entry list */
    CHECK(zoo_hvals_list(h, "short_filter_order", &l) == 1 && l[0] == 3, "int as list");
}

static void test_unknown(zoo_hvals *h)
{
    int rc;
    const char *msg = set_err(h, "filter_ordr", "3", &rc);
    const char *want = "unknown hyperparameter 'filter_ordr' for mixer 'hyena' (did you mean 'filter_order'? known: "
                       "filter_order, short_filter_order, dropout, bidirectional, activation, kernel_sizes, modes)";
    CHECK(rc == ZOO_ERR_INVALID && !strcmp(msg, want), "unknown knob message:\n  got  %s\n  want %s", msg, want);
    msg = set_err(h, "droput", "3", &rc);
    CHECK(strstr(msg, "did you mean 'dropout'?"), "transposition suggestion: %s", msg);
    msg = set_err(h, "short_filter_ordr", "3", &rc);
    CHECK(strstr(msg, "did you mean 'short_filter_order'?"), "nearest of two similar: %s", msg);
    msg = set_err(h, "learning_rate", "3", &rc);
    CHECK(rc == ZOO_ERR_INVALID && !strstr(msg, "did you mean") && strstr(msg, "known: filter_order"),
          "no suggestion for a far-off name: %s", msg);
    CHECK(zoo_hvals_set(h, NULL, "1") == ZOO_ERR_INVALID && zoo_hvals_set(h, "dropout", NULL) == ZOO_ERR_INVALID,
          "NULL arguments");
}

static void test_format(void)
{
    zoo_hvals *h = NULL, *h2 = NULL;
    CHECK(zoo_hvals_new(&hyena, &h) == 0, "new");
    char buf[512];
    CHECK(zoo_hvals_format(h, buf, sizeof buf) == 0, "format");
    const char *want = "filter_order=64 short_filter_order=3 dropout=0.1 bidirectional=false activation=id "
                       "kernel_sizes=[3, -1, 3, -1] modes=[5]";
    CHECK(!strcmp(buf, want), "format:\n  got  %s\n  want %s", buf, want);
    /* values read back from the formatted text are identical (floats round-trip) */
    zoo_hvals_set(h, "dropout", "0.30000000000000004");
    zoo_hvals_set(h, "kernel_sizes", "[]");
    CHECK(zoo_hvals_format(h, buf, sizeof buf) == 0, "format 2");
    CHECK(strstr(buf, "dropout=0.30000000000000004 ") && strstr(buf, "kernel_sizes=[] "), "format 2: %s", buf);
    zoo_hvals_new(&hyena, &h2);
    char *save = NULL, *copy = strdup(buf);
    for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            continue;
        *eq = 0;
        if (!strcmp(tok, "kernel_sizes") || !strcmp(tok, "modes"))
            continue; /* lists contain spaces; checked above */
        CHECK(zoo_hvals_set(h2, tok, eq + 1) == 0, "read back %s=%s: %s", tok, eq + 1, zoo_error_last()->msg);
    }
    free(copy);
    CHECK(zoo_hvals_float(h2, "dropout") == zoo_hvals_float(h, "dropout"), "float round trip");
    /* too small a buffer: an error, still terminated */
    char small[16];
    memset(small, 'x', sizeof small);
    CHECK(zoo_hvals_format(h, small, sizeof small) == ZOO_ERR_INVALID && memchr(small, 0, sizeof small),
          "short buffer");
    zoo_hvals_free(h);
    zoo_hvals_free(h2);
    zoo_hvals_free(NULL);
}

static void test_tables(void)
{
    static const zoo_hparam dup[] = {{"a", ZOO_HP_INT, "1", ""}, {"a", ZOO_HP_INT, "2", ""}, {NULL, 0, NULL, NULL}};
    static const zoo_hparam baddef[] = {{"p", ZOO_HP_FLOAT, "zero", ""}, {NULL, 0, NULL, NULL}};
    static const zoo_hparam nodef[] = {{"n", ZOO_HP_INT, NULL, ""}, {NULL, 0, NULL, NULL}};
    zoo_mixer m = hyena;
    zoo_hvals *h = (zoo_hvals *)&m;
    m.hparams = dup;
    CHECK(zoo_hvals_new(&m, &h) == ZOO_ERR_INVALID && h == NULL && strstr(zoo_error_last()->msg, "twice"),
          "duplicate knob: %s", zoo_error_last()->msg);
    m.hparams = baddef;
    CHECK(zoo_hvals_new(&m, &h) == ZOO_ERR_INVALID && strstr(zoo_error_last()->msg, "'zero'") &&
              strstr(zoo_error_last()->msg, "a float"),
          "bad default: %s", zoo_error_last()->msg);
    m.hparams = nodef;
    CHECK(zoo_hvals_new(&m, &h) == ZOO_ERR_INVALID, "NULL default for an int");
    /* no knobs at all */
    m.hparams = NULL;
    CHECK(zoo_hvals_new(&m, &h) == 0 && h, "no knobs");
    char buf[8];
    CHECK(zoo_hvals_format(h, buf, sizeof buf) == 0 && buf[0] == 0, "format of no knobs");
    int rc = zoo_hvals_set(h, "x", "1");
    CHECK(rc == ZOO_ERR_INVALID && strstr(zoo_error_last()->msg, "has no hyperparameters"), "set on no knobs: %s",
          zoo_error_last()->msg);
    zoo_hvals_free(h);
}

int main(void)
{
    zoo_hvals *h = NULL;
    if (zoo_hvals_new(&hyena, &h)) {
        fprintf(stderr, "FAIL zoo_hvals_new: %s\n", zoo_error_last()->msg);
        return 1;
    }
    test_defaults(h);
    test_types(h);
    test_unknown(h);
    zoo_hvals_free(h);
    test_format();
    test_tables();
    if (fails) {
        fprintf(stderr, "test_hvals: %d check(s) failed\n", fails);
        return 1;
    }
    printf("test_hvals: ok\n");
    return 0;
}
