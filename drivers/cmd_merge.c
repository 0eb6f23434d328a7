/* cmd_merge.c: `zoo merge -o ALL.h5 PART.h5 ...`: join results files (the parts of a
 * job array, or files from several machines) into one. Argument parsing and the
 * summary line only; the merge itself is io/results_merge.c. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "zoo/error.h"
#include "zoo/h5util.h"
#include "zoo/outpath.h"
#include "zoo/results_merge.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: zoo merge -o MERGED.h5 RESULTS.h5 [RESULTS.h5 ...] [--allow-different] [--force]\n"
            "\n"
            "Join results files of `zoo sweep` (for example the parts a job array wrote with\n"
            "`zoo sweep FILE --slice I/N`) into one results file of the same schema. Runs are matched\n"
            "by spec hash: each appears once, in the sweep file's order, with the first finished\n"
            "result any input has (a run finished in several inputs counts as a duplicate; the\n"
            "summary line says whether their results differed). Run groups and curves are copied\n"
            "unchanged; the sessions of every input are kept, plus one for the merge. Runs of the\n"
            "sweep that no input finished are written as pending, so `zoo sweep FILE -o MERGED.h5`\n"
            "finishes them.\n"
            "\n"
            "  -o, --output FILE    the merged file; it may be one of the inputs (merge into it)\n"
            "  --allow-different    merge files of different sweep files (the union of their runs);\n"
            "                       refused otherwise\n"
            "  --force              replace an existing output that is not an input (kept as FILE.bak),\n"
            "                       also one that is not a results file (a checkpoint, data, not zoo's)\n"
            "  --quiet              no summary line\n"
            "\n"
            "exit codes: 0 merged, every run finished; 1 merged, some runs still pending; 2 bad input\n"
            "(usage, not a results file, different sweep files, output exists or is in use);\n"
            "3 the merged file could not be written (disk full: the message names the file and the\n"
            "reason; an existing output is left as it was) or out of memory.\n");
}

int zoo_cmd_merge(int argc, char **argv)
{
    const char *out = NULL;
    const char *in[4096];
    int n_in = 0, quiet = 0;
    zoo_merge_opts o = {0, 0, NULL};
    char command[512];
    size_t k = (size_t)snprintf(command, sizeof command, "zoo");
    for (int i = 0; i < argc && k < sizeof command; i++)
        k += (size_t)snprintf(command + k, sizeof command - k, " %s", argv[i]);
    o.command = command;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "zoo merge: %s needs a file name (merged.h5)\n", a);
                return 2;
            }
            out = argv[++i];
        } else if (!strcmp(a, "--allow-different")) {
            o.allow_different = 1;
        } else if (!strcmp(a, "--force")) {
            o.force = 1;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "zoo merge: unknown option '%s' (see zoo merge --help)\n", a);
            return 2;
        } else if (n_in < (int)(sizeof in / sizeof *in)) {
            in[n_in++] = a;
        } else {
            fprintf(stderr, "zoo merge: more than %d inputs; merge them in groups (the output may be an input)\n",
                    (int)(sizeof in / sizeof *in));
            return 2;
        }
    }
    if (!out || !n_in) {
        fprintf(stderr, "zoo merge: %s (e.g. zoo merge -o all.h5 part-*.h5)\n",
                !out ? "give the merged file with -o" : "give the results files to merge");
        return 2;
    }
    for (int i = 0; i < n_in; i++)
        if (access(in[i], R_OK)) {
            fprintf(stderr, "zoo merge: %s: %s\n", in[i], strerror(errno));
            return 2;
        }
    /* The inputs are not passed: merging into one of them is how parts are joined in
     * groups (the merged file holds every run of that input and replaces it atomically). */
    if (zoo_out_check(out, "-o", ZOO_FILE_RESULTS, NULL, 0, o.force)) {
        zoo_cli_report("merge");
        return ZOO_EXIT_INPUT;
    }
    zoo_merge_report r;
    int rc = zoo_results_merge(out, in, n_in, &o, &r);
    if (rc) {
        zoo_cli_report("merge");
        /* The writer removes its temporary files on most failures; make sure of it: its
         * own, and the new results file's (which is created under a temporary name too). */
        char tmp[4200], tmp2[4300];
        zoo_h5_tmpname(out, tmp, sizeof tmp);
        zoo_h5_tmpname(tmp, tmp2, sizeof tmp2);
        unlink(tmp2);
        unlink(tmp);
        return rc == ZOO_ERR_INVALID ? ZOO_EXIT_INPUT : ZOO_EXIT_SYSTEM;
    }
    if (!r.ordered)
        fprintf(stderr, "zoo merge: warning: rows keep the inputs' order: %s\n", r.order_note);
    if (r.disagree)
        fprintf(stderr,
                "zoo merge: warning: %lld runs finished in more than one input with different results (first: hash "
                "%s); the first input's result was kept\n",
                (long long)r.disagree, r.disagree_hash);
    if (r.backup[0])
        fprintf(stderr, "zoo merge: the old %s was moved to %s\n", out, r.backup);
    if (!quiet)
        printf("zoo merge: %s: %lld runs from %lld files: %lld finished (%lld ok), %lld pending, %lld duplicates "
               "dropped, %lld runs not in the first file's sweep\n",
               out, (long long)r.runs, (long long)r.inputs, (long long)r.final_runs, (long long)r.ok_runs,
               (long long)r.pending, (long long)r.duplicates, (long long)r.extra);
    return r.pending ? 1 : 0;
}
