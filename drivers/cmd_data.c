/* cmd_data.c: `zoo data TASK [options] [--<knob> V ...] -o FILE`: parse flags, generate
 * a set with the task plugin (core), write the HDF5 dataset file (io/data_h5). Parsing
 * and wiring only. --seed is the run's data seed and --split picks its set through the
 * core's convention (zoo_task_run_set), so a file equals the set a run would make. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "zoo/data_h5.h"
#include "zoo/error.h"
#include "zoo/outpath.h"
#include "zoo/plugin.h"
#include "zoo/run.h"
#include "zoo/suggest.h"
#include "zoo/task.h"

typedef enum { OPT_VOCAB, OPT_SEQ_LEN, OPT_EXAMPLES, OPT_SEED, OPT_SPLIT, OPT_PATH, OPT_FORCE } opt_id;

/* The options of every task, self-documenting: --help prints this table. */
typedef struct {
    const char *name;
    opt_id id;
    const char *arg; /* "" for a flag */
    const char *def; /* shown in --help; the real defaults are set in zoo_cmd_data */
    const char *help;
} opt;

static const opt opts[] = {
    {"--vocab", OPT_VOCAB, " N", "8192", "vocabulary size V: tokens of [0, V)"},
    {"--seq-len", OPT_SEQ_LEN, " N", "64", "sequence length L"},
    {"--examples", OPT_EXAMPLES, " N", "1000", "number of examples n (also --n)"},
    {"--n", OPT_EXAMPLES, " N", "1000", NULL},
    {"--seed", OPT_SEED, " N", "0", "the run's data seed s: the train split is drawn with s, the test split with s+10"},
    {"--split", OPT_SPLIT, " SPLIT", "train", "train or test: which set of a run with data seed s to make"},
    {"-o", OPT_PATH, " FILE", "(required)",
     "output HDF5 file (also --output); an existing data file is replaced, any other existing file refused"},
    {"--output", OPT_PATH, " FILE", "", NULL},
    {"--force", OPT_FORCE, "", "off", "let -o replace an existing file that is not a data file"},
};

static const char *knob_arg(zoo_hparam_type t)
{
    switch (t) {
    case ZOO_HP_INT: return " N";
    case ZOO_HP_FLOAT: return " X";
    case ZOO_HP_BOOL: return "";
    case ZOO_HP_STRING: return " S";
    case ZOO_HP_INT_LIST: return " LIST";
    }
    return " V";
}

/* "--kv-pairs": a knob's flag, '_' written as '-' (both are accepted). */
static void knob_flag(const char *knob, char *out, size_t n)
{
    snprintf(out, n, "--%s", knob);
    for (char *p = out; *p; p++)
        if (*p == '_')
            *p = '-';
}

static void print_knobs(FILE *f, const zoo_task *t)
{
    if (!t->hparams || !t->hparams[0].name) {
        fprintf(f, "    (no knobs)\n");
        return;
    }
    for (const zoo_hparam *k = t->hparams; k->name; k++) {
        char flag[128], left[160];
        knob_flag(k->name, flag, sizeof flag);
        snprintf(left, sizeof left, "%s%s", flag, knob_arg(k->type));
        fprintf(f, "    %-26s %s (default %s)\n", left, k->help ? k->help : "", k->def ? k->def : "");
    }
}

/* One task's header line and knobs, or every task's when t is NULL. */
static void print_tasks(FILE *f, const zoo_task *t)
{
    if (t) {
        fprintf(f, "\ntask %s (%s): %s\n  knobs (--<knob> V; '-' or '_' in the name; a bool knob is a flag, "
                   "--no-<knob> turns it off):\n",
                t->name, t->family, t->summary ? t->summary : "");
        print_knobs(f, t);
        return;
    }
    zoo_plugin **all = NULL;
    int n = 0;
    if (zoo_task_list(&all, &n, NULL, NULL)) {
        zoo_error_clear();
        return;
    }
    fprintf(f, "\ntasks on the plugin path (zoo plugins shows them in full) and their knobs\n"
               "(--<knob> V; '-' or '_' in the name; a bool knob is a flag, --no-<knob> turns it off):\n");
    for (int i = 0; i < n; i++) {
        fprintf(f, "  %s (%s): %s\n", all[i]->task->name, all[i]->task->family,
                all[i]->task->summary ? all[i]->task->summary : "");
        print_knobs(f, all[i]->task);
        zoo_plugin_close(all[i]);
    }
    free(all);
}

static void usage(FILE *f, const zoo_task *t)
{
    fprintf(f, "usage: zoo data TASK [options] [--<knob> V ...] -o FILE\n\n"
               "Generate a dataset of task TASK (a task plugin, docs/tasks.md; MQAR: docs/task.md) into HDF5:\n"
               "int32 datasets 'inputs' and 'labels' (n, L), labels -100 where unsupervised, 'tags' (n)\n"
               "when the task tags its examples; the task, its knob values and the seeds as attributes.\n\n"
               "options:\n");
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) {
        if (!opts[i].help)
            continue;
        char left[48];
        snprintf(left, sizeof left, "%s%s", opts[i].name, opts[i].arg);
        fprintf(f, "  %-24s %s (default %s)\n", left, opts[i].help, opts[i].def);
    }
    fprintf(f, "  %-24s this help (with TASK: that task's knobs)\n", "-h, --help");
    print_tasks(f, t);
    fprintf(f, "\nexit codes: 0 written; 2 bad input (options, an unknown task or knob, values the task\n"
               "refuses, an -o path refused); 3 out of memory or the file could not be written (disk\n"
               "full: the message names the file and the reason)\n");
}

/* One line on stderr, exit code 2 (bad input). */
__attribute__((format(printf, 2, 3))) static int bad(const char *task, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "zoo data: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see zoo data %s%s--help)\n", task ? task : "", task ? " " : "");
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

/* The knob a flag names ("--kv-pairs", "--kv_pairs", "--task.kv_pairs"; *negated for
 * "--no-<bool knob>"), or NULL. */
static const zoo_hparam *find_knob(const zoo_task *t, const char *flag, int *negated)
{
    *negated = 0;
    if (strncmp(flag, "--", 2))
        return NULL;
    const char *name = flag + 2;
    if (!strncmp(name, "task.", 5))
        name += 5;
    for (int pass = 0; pass < 2; pass++) {
        const char *want = name;
        if (pass == 1) {
            if (strncmp(name, "no-", 3))
                break;
            want = name + 3;
        }
        for (const zoo_hparam *k = t->hparams; k && k->name; k++) {
            size_t len = strlen(k->name);
            if (strlen(want) != len)
                continue;
            size_t j = 0;
            while (j < len && (want[j] == k->name[j] || (want[j] == '-' && k->name[j] == '_')))
                j++;
            if (j == len && (pass == 0 || k->type == ZOO_HP_BOOL)) {
                *negated = pass;
                return k;
            }
        }
    }
    return NULL;
}

/* The unknown option `flag`: name the nearest option or knob, and the task's knobs. */
static int unknown_option(const zoo_task *t, const char *arg, const char *flag)
{
    const char *cands[128];
    char flags[64][128], list[1024] = "";
    int n = 0;
    size_t k = 0;
    for (size_t i = 0; i < sizeof opts / sizeof *opts && n < 128; i++)
        cands[n++] = opts[i].name;
    int nk = 0;
    for (const zoo_hparam *h = t->hparams; h && h->name && nk < 64; h++, nk++) {
        knob_flag(h->name, flags[nk], sizeof flags[nk]);
        cands[n++] = flags[nk];
        if (k < sizeof list)
            k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", nk ? ", " : "", flags[nk]);
    }
    const char *near = zoo_suggest_nearest(flag, cands, n);
    char hint[200] = "";
    if (near)
        snprintf(hint, sizeof hint, "did you mean '%s'? ", near);
    return bad(t->name, "unknown option '%s': %sit is neither an option of zoo data nor a knob of task '%s' (knobs: %s)",
               arg, hint, t->name, nk ? list : "none");
}

int zoo_cmd_data(int argc, char **argv)
{
    /* argv[0] is "data". */
    if (argc < 2) {
        usage(stderr, NULL);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout, NULL);
        return 0;
    }
    if (argv[1][0] == '-')
        return bad(NULL, "the first argument is the task (zoo data TASK [options] -o FILE), got the option '%s'",
                   argv[1]);
    zoo_plugin *p = NULL;
    if (zoo_task_find(argv[1], &p)) {
        zoo_cli_report("data"); /* names the known tasks */
        return ZOO_EXIT_INPUT;
    }
    const zoo_task *t = p->task;
    zoo_hvals *h = NULL;
    if (zoo_hvals_new_task(t, &h)) {
        zoo_cli_report("data");
        zoo_plugin_close(p);
        return zoo_cli_exit_for(zoo_error_last()->code, 0);
    }
    zoo_run_spec def;
    zoo_run_spec_default(&def); /* the same V and L as a run that does not set them */
    int64_t vocab = def.vocab, seq_len = def.seq_len, n = 1000;
    uint64_t seed = 0;
    zoo_split split = ZOO_SPLIT_TRAIN;
    const char *out = NULL;
    int force = 0, rc = 0;
    for (int i = 2; i < argc && !rc; i++) {
        char name[128];
        const char *val = NULL, *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout, t);
            goto done;
        }
        /* --name=value or --name value */
        const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
        if (eq) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - arg < 127 ? eq - arg : 127), arg);
            val = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", arg);
        }
        const opt *o = NULL;
        for (size_t k = 0; k < sizeof opts / sizeof *opts; k++)
            if (!strcmp(name, opts[k].name))
                o = &opts[k];
        if (!o) { /* a knob of the task */
            int negated;
            const zoo_hparam *k = find_knob(t, name, &negated);
            if (!k) {
                rc = unknown_option(t, arg, name);
                break;
            }
            if (k->type == ZOO_HP_BOOL) {
                if (val) {
                    char flag[128];
                    knob_flag(k->name, flag, sizeof flag);
                    rc = bad(t->name,
                             "option %s takes no value (got '%s'): knob %s is a flag; write %s to turn it on, "
                             "--no-%s to turn it off",
                             name, val, k->name, flag, flag + 2);
                    break;
                }
                val = negated ? "false" : "true";
            } else if (!val) {
                if (i + 1 >= argc) {
                    rc = bad(t->name, "option %s needs a value (knob %s of task %s)", name, k->name, t->name);
                    break;
                }
                val = argv[++i];
            }
            if (zoo_hvals_set(h, k->name, val)) {
                zoo_error_prefix("option %s: ", name);
                zoo_cli_report("data");
                rc = ZOO_EXIT_INPUT;
            }
            continue;
        }
        if (o->id == OPT_FORCE) {
            if (val) {
                rc = bad(t->name, "option %s takes no value (got '%s')", o->name, val);
                break;
            }
            force = 1;
            continue;
        }
        if (!val) {
            if (i + 1 >= argc) {
                rc = bad(t->name, "option %s needs a value", o->name);
                break;
            }
            val = argv[++i];
        }
        int64_t iv = 0;
        switch (o->id) {
        case OPT_VOCAB:
        case OPT_SEQ_LEN:
        case OPT_EXAMPLES:
            if (parse_i64(val, &iv)) {
                rc = bad(t->name, "option %s: '%s' is not an integer", o->name, val);
                break;
            }
            *(o->id == OPT_VOCAB ? &vocab : o->id == OPT_SEQ_LEN ? &seq_len : &n) = iv;
            break;
        case OPT_SEED:
            if (parse_u64(val, &seed))
                rc = bad(t->name, "option %s: '%s' is not a non-negative integer below 2^64", o->name, val);
            break;
        case OPT_SPLIT:
            if (!strcmp(val, "train") || !strcmp(val, "test"))
                split = strcmp(val, "test") ? ZOO_SPLIT_TRAIN : ZOO_SPLIT_TEST;
            else
                rc = bad(t->name, "option %s: '%s' is neither train nor test", o->name, val);
            break;
        case OPT_PATH:
            if (!*val)
                rc = bad(t->name, "option %s: empty file name", o->name);
            out = val;
            break;
        case OPT_FORCE:
            break;
        }
    }
    if (rc)
        goto done;
    if (!out) {
        rc = bad(t->name, "no output file; add -o FILE");
        goto done;
    }
    zoo_task_set set = zoo_task_run_set(vocab, seq_len, seed, split);
    if (zoo_task_validate(t, h, &set) ||
        (n < 1 && ZOO_FAIL(ZOO_ERR_INVALID, "%s: num_examples %lld must be >= 1", t->name, (long long)n)) ||
        zoo_out_check(out, "-o", ZOO_FILE_DATA, NULL, 0, force)) {
        zoo_cli_report("data");
        rc = ZOO_EXIT_INPUT;
        goto done;
    }
    zoo_dataset d = {0};
    if (zoo_task_generate(t, h, &set, n, &d)) {
        zoo_cli_report("data");
        rc = zoo_cli_exit_for(zoo_error_last()->code, 0);
        goto done;
    }
    int wrc = zoo_data_h5_write_task(out, &d, t, h, &set);
    if (wrc) {
        zoo_dataset_free(&d);
        zoo_cli_report("data");
        rc = zoo_cli_exit_for(wrc, 1);
        goto done;
    }
    char knobs[1024];
    if (zoo_hvals_format(h, knobs, sizeof knobs))
        snprintf(knobs, sizeof knobs, "(knobs too long to show)");
    printf("zoo data: wrote %s: inputs, labels (%lld, %lld) int32%s; task %s, vocab %lld, split %s, seed %llu%s%s\n",
           out, (long long)d.n, (long long)d.L, d.tags ? ", tags" : "", t->name, (long long)vocab,
           split == ZOO_SPLIT_TEST ? "test" : "train", (unsigned long long)seed, knobs[0] ? "; " : "", knobs);
    zoo_dataset_free(&d);
done:
    zoo_hvals_free(h);
    zoo_plugin_close(p);
    return rc;
}
