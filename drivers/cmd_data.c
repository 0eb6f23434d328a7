/* cmd_data.c: `zoo data mqar [options] -o FILE`: parse flags, generate (core tasks),
 * write the HDF5 dataset file (io/data_h5). Parsing and wiring only; the train/test
 * seed convention (s, s+10) belongs to the run code, not to this command. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "zoo/data_h5.h"
#include "zoo/error.h"
#include "zoo/outpath.h"
#include "zoo/task.h"

typedef enum { OPT_INT, OPT_U64, OPT_REAL, OPT_FLAG, OPT_PATH, OPT_FORCE } opt_type;

/* The options, self-documenting: --help prints this table. */
typedef struct {
    const char *name;
    opt_type type;
    const char *def; /* shown in --help; the real default is set in spec_default */
    const char *help;
} opt;

static const opt opts[] = {
    {"--vocab", OPT_INT, "8192", "vocabulary size V: keys from [1, V/2), values from [V/2, V), 0 = blank"},
    {"--seq-len", OPT_INT, "64", "sequence length L (even, < V, >= 4*kv-pairs)"},
    {"--kv-pairs", OPT_INT, "4", "key-value pairs K per example"},
    {"--examples", OPT_INT, "1000", "number of examples n"},
    {"--seed", OPT_U64, "0", "seed (by convention train uses s, test s+10)"},
    {"--power-a", OPT_REAL, "0.01", "query slot law p_i ~ a*i^(a-1) (1 = uniform)"},
    {"--random-non-queries", OPT_FLAG, "off", "fill blanks with uniform tokens of [0, V) (Based-era)"},
    {"-o", OPT_PATH, "(required)", "output HDF5 file (also --output); an existing data file is replaced, any other existing file refused"},
    {"--force", OPT_FORCE, "off", "let -o replace an existing file that is not a data file"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: zoo data mqar [options] -o FILE\n\n"
               "Generate an MQAR dataset (docs/task.md) into HDF5: int32 datasets 'inputs' and\n"
               "'labels' (n, L), labels -100 except at the K query positions; the spec as attributes.\n\n"
               "options:\n");
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) {
        const char *arg = opts[i].type == OPT_FLAG || opts[i].type == OPT_FORCE ? "" : opts[i].type == OPT_PATH ? " FILE"
                          : opts[i].type == OPT_REAL                               ? " X"
                                                                                   : " N";
        char left[48];
        snprintf(left, sizeof left, "%s%s", opts[i].name, arg);
        fprintf(f, "  %-24s %s (default %s)\n", left, opts[i].help, opts[i].def);
    }
    fprintf(f, "  %-24s this help\n", "-h, --help");
    fprintf(f, "\nexit codes: 0 written; 2 bad input (options, an -o path refused); 3 out of memory or\n"
               "the file could not be written (disk full: the message names the file and the reason)\n");
}

/* One line on stderr, exit code 2 (bad input). */
__attribute__((format(printf, 1, 2))) static int bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "zoo data: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see zoo data mqar --help)\n");
    va_end(ap);
    return 2;
}

static int parse_i64(const char *s, int64_t *v)
{
    if (!s || !*s)
        return -1;
    errno = 0;
    char *end;
    long long x = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *v = x;
    return 0;
}

static int parse_u64(const char *s, uint64_t *v)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    char *end;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *v = x;
    return 0;
}

static int parse_real(const char *s, double *v)
{
    if (!s || !*s)
        return -1;
    errno = 0;
    char *end;
    double x = strtod(s, &end);
    if (errno || *end || !isfinite(x))
        return -1;
    *v = x;
    return 0;
}

int zoo_cmd_data(int argc, char **argv)
{
    /* argv[0] is "data". */
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "mqar") != 0)
        return bad("unknown task '%s'; the only task is 'mqar'", argv[1]);

    zoo_mqar_spec spec = {.vocab = 8192, .seq_len = 64, .kv_pairs = 4, .num_examples = 1000,
                          .power_a = 0.01, .random_non_queries = 0, .seed = 0};
    const char *out = NULL;
    int force = 0;
    for (int i = 2; i < argc; i++) {
        char name[64];
        const char *val = NULL, *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            return 0;
        }
        /* --name=value or --name value */
        const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
        if (eq) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - arg < 63 ? eq - arg : 63), arg);
            val = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", arg);
        }
        if (!strcmp(name, "--output"))
            snprintf(name, sizeof name, "-o");
        const opt *o = NULL;
        for (size_t k = 0; k < sizeof opts / sizeof *opts; k++)
            if (!strcmp(name, opts[k].name))
                o = &opts[k];
        if (!o)
            return bad("unknown option '%s'", arg);
        if (o->type == OPT_FLAG || o->type == OPT_FORCE) {
            if (val)
                return bad("option %s takes no value (got '%s')", o->name, val);
            *(o->type == OPT_FORCE ? &force : &spec.random_non_queries) = 1;
            continue;
        }
        if (!val) {
            if (i + 1 >= argc)
                return bad("option %s needs a value", o->name);
            val = argv[++i];
        }
        int64_t iv = 0;
        switch (o->type) {
        case OPT_INT:
            if (parse_i64(val, &iv))
                return bad("option %s: '%s' is not an integer", o->name, val);
            if (!strcmp(o->name, "--vocab"))
                spec.vocab = iv;
            else if (!strcmp(o->name, "--seq-len"))
                spec.seq_len = iv;
            else if (!strcmp(o->name, "--kv-pairs"))
                spec.kv_pairs = iv;
            else
                spec.num_examples = iv;
            break;
        case OPT_U64:
            if (parse_u64(val, &spec.seed))
                return bad("option %s: '%s' is not a non-negative integer below 2^64", o->name, val);
            break;
        case OPT_REAL:
            if (parse_real(val, &spec.power_a))
                return bad("option %s: '%s' is not a finite number", o->name, val);
            break;
        case OPT_PATH:
            if (!*val)
                return bad("option %s: empty file name", o->name);
            out = val;
            break;
        case OPT_FLAG:
        case OPT_FORCE:
            break;
        }
    }
    if (!out)
        return bad("no output file; add -o FILE");
    if (zoo_mqar_check(&spec) || zoo_out_check(out, "-o", ZOO_FILE_DATA, NULL, 0, force)) {
        zoo_cli_report("data");
        return ZOO_EXIT_INPUT;
    }
    zoo_dataset d = {0};
    if (zoo_mqar_generate(&spec, &d)) {
        zoo_cli_report("data");
        return zoo_cli_exit_for(zoo_error_last()->code, 0);
    }
    int rc = zoo_data_h5_write(out, &d, &spec);
    zoo_dataset_free(&d);
    if (rc) {
        zoo_cli_report("data");
        return zoo_cli_exit_for(rc, 1);
    }
    printf("zoo data: wrote %s: inputs, labels (%lld, %lld) int32; mqar vocab %lld, kv_pairs %lld, power_a %g, "
           "random_non_queries %s, seed %llu\n",
           out, (long long)spec.num_examples, (long long)spec.seq_len, (long long)spec.vocab,
           (long long)spec.kv_pairs, spec.power_a, spec.random_non_queries ? "on" : "off",
           (unsigned long long)spec.seed);
    return 0;
}
