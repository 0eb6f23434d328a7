/* zoo/results_merge.h: join sweep results files (the parts a job array wrote, or
 * files from several machines) into one results file of the same schema: one row per
 * run (deduplicated by spec hash), rows in the sweep file's order, every run group
 * copied as it was, the sessions of every input kept. Nothing here trains. */
#ifndef ZOO_RESULTS_MERGE_H
#define ZOO_RESULTS_MERGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct zoo_merge_opts {
    int allow_different;  /* inputs may come from different sweep files (union of their runs) */
    int force;            /* replace an existing output that is not an input (kept as OUT.bak) */
    const char *command;  /* the command line, for the sessions table (may be NULL) */
} zoo_merge_opts;

typedef struct zoo_merge_report {
    int64_t inputs;        /* distinct input files */
    int64_t runs;          /* rows in the merged file */
    int64_t final_runs;    /* rows with a final status (ok, failed, ...) */
    int64_t ok_runs;       /* rows with status ok */
    int64_t pending;       /* rows still pending: in the sweep but finished in no input */
    int64_t duplicates;    /* runs final in more than one input; the first input's row is kept */
    int64_t disagree;      /* of those, how many had different status or metrics */
    char disagree_hash[17];/* the first that disagreed ("" if none) */
    int64_t extra;         /* rows of runs not in the first input's sweep file */
    int ordered;           /* 1: rows in sweep-file order; 0: a sweep text could not be read
                              (plugin missing?) and rows keep the inputs' order */
    char order_note[1600];  /* why not ordered ("" when ordered) */
    char backup[4200];     /* where --force moved an existing output ("" if not) */
} zoo_merge_report;

/* Merge the results files in[0..n_in-1] into `out`, written under a temporary name and
 * renamed into place (so `out` may also be one of the inputs), holding `out`'s lock
 * (zoo_results_lock) against a `zoo sweep` writing it. Inputs are read through
 * zoo_results_open, so runs still in an input's journal count. Refusals are
 * ZOO_ERR_INVALID with the fix in the message: a file that is not a (complete) results
 * file, inputs from different sweep files
 * without allow_different, an existing output that is not an input without force, a
 * locked output. ZOO_ERR_IO / ZOO_ERR_HDF5 on read or write failures. Runs of the sweep
 * that no input finished are written as pending rows, so `zoo sweep FILE -o out`
 * finishes them. `rep` may be NULL. */
int zoo_results_merge(const char *out, const char *const *in, int n_in, const zoo_merge_opts *opts,
                      zoo_merge_report *rep);

#endif
