/* main.c: `zoo <command> ...` dispatch. Parsing and wiring only; work lives in the
 * libraries. The only place (with the other drivers) allowed to exit. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "zoo/error.h"
#include "zoo/graph.h"
#include "zoo/run.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    {"train", zoo_cmd_train, "train one run from flags or a YAML run file"},
    {"eval", zoo_cmd_eval, "evaluate a checkpoint on a dataset"},
    {"data", zoo_cmd_data, "generate a set of any task into HDF5 (zoo data TASK ... -o FILE)"},
    {"plugins", zoo_cmd_plugins, "list the mixer and task plugins found, their knobs and files"},
    {"info", zoo_cmd_info, "version, build options, search paths"},
    {"sweep", zoo_cmd_sweep, "run a sweep file (under mpirun for many ranks) into HDF5"},
    {"merge", zoo_cmd_merge, "join results files (e.g. a job array's parts) into one, by spec hash"},
    {"status", zoo_cmd_status, "how far a sweep is (runs done, running, pending, ETA), while it runs or after"},
};

void zoo_cli_report(const char *cmd)
{
    const zoo_error *e = zoo_error_last();
    fprintf(stderr, "zoo %s: %s\n", cmd, e->msg[0] ? e->msg : zoo_strerror(e->code));
}

int zoo_cli_exit_for(int code, int writing)
{
    switch (code) {
    case ZOO_OK:
        return ZOO_EXIT_OK;
    case ZOO_ERR_NOMEM:
    case ZOO_ERR_MPI:
        return ZOO_EXIT_SYSTEM;
    case ZOO_ERR_IO:
    case ZOO_ERR_HDF5:
        return writing ? ZOO_EXIT_SYSTEM : ZOO_EXIT_INPUT;
    case ZOO_ERR_NUMERIC:
    case ZOO_ERR_STATE:
    case ZOO_ERR_CUDA:
        return ZOO_EXIT_FAILED;
    default:
        return ZOO_EXIT_INPUT;
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: zoo <command> [options]   (zoo <command> --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nexit codes: 0 done; 1 the work ran and did not succeed (a run failed or diverged, runs\n"
               "pending); 2 refused: bad input (usage, config, input files, an output that would\n"
               "overwrite an input); 3 the system failed: a file could not be written (disk full),\n"
               "out of memory, MPI; zoo sweep 75: stopped with runs left\n");
}

int main(int argc, char **argv)
{
    /* Before any thread exists: idle OpenMP threads sleep instead of spinning, which on
     * a shared or oversubscribed machine is several times faster (bench/README.md). */
    zoo_prefer_passive_wait(argv);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("zoo %s (%s)\n", zoo_version(), zoo_git_rev());
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "zoo: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
