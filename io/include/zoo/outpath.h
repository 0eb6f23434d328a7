/* zoo/outpath.h: the check every zoo writer makes before doing any work, so that no
 * command overwrites one of its own inputs or a zoo file of another kind (a checkpoint
 * by a data file, a sweep's results by a checkpoint), and a bad output folder is found
 * before training rather than after it. Internal to zoo's io and drivers; not installed. */
#ifndef ZOO_OUTPATH_H
#define ZOO_OUTPATH_H

/* What a file on disk is, from its HDF5 root: a checkpoint has format "zoo-checkpoint"
 * (a mid-run one "zoo-train-state"),
 * a results file schema "zoo-sweep-results", a data file int32 datasets inputs and labels
 * plus the vocab attribute, a logits file the dataset logits plus the checkpoint
 * attribute (zoo eval --logits). */
typedef enum zoo_file_kind {
    ZOO_FILE_ABSENT = 0, /* no such file */
    ZOO_FILE_EMPTY,      /* exists, 0 bytes: holds nothing to lose */
    ZOO_FILE_FOREIGN,    /* exists, not HDF5 or not readable as HDF5 (damaged, no permission) */
    ZOO_FILE_HDF5,       /* HDF5, but not a file zoo writes */
    ZOO_FILE_CHECKPOINT,
    ZOO_FILE_DATA,
    ZOO_FILE_LOGITS,
    ZOO_FILE_RESULTS,
    ZOO_FILE_TRAIN_STATE, /* a mid-run checkpoint: format "zoo-train-state" */
} zoo_file_kind;

/* What `path` is (never fails: unreadable counts as foreign). */
zoo_file_kind zoo_file_kind_of(const char *path);

/* The kind in words for messages: "a zoo checkpoint", "a zoo data file", ... */
const char *zoo_file_kind_name(zoo_file_kind k);

/* May a command write the `kind` file `out`? `flag` names the option in messages
 * ("--save"); inputs[0..n_inputs-1] are the files the same command reads (NULL entries
 * are skipped). Refused, whatever `force` says:
 *   - out is one of the inputs (the same file by device and inode when both exist,
 *     else by resolved path: ./a.h5, a.h5, hard and symbolic links all match);
 *   - out is a folder or ends in '/', or exists and is not a regular file (a device);
 *   - the folder out would go in does not exist, is not a folder or is not writable.
 * Refused unless `force`: out exists and is a zoo file of another kind, an HDF5 file
 * zoo did not write, or not HDF5 at all (an empty file is replaced). An existing file of
 * the same kind is accepted: the writer replaces it (or resumes it) as it documents.
 * Returns 0, ZOO_ERR_INVALID (refused) or ZOO_ERR_IO (the folder), the message naming
 * the file and what to do. */
int zoo_out_check(const char *out, const char *flag, zoo_file_kind kind, const char *const *inputs, int n_inputs,
                  int force);

#endif
