/* zoo/data_h5.h: synthetic datasets on disk. One HDF5 file holds int32 datasets
 * `inputs` and `labels`, both (n, L), `tags` (n) when the task tags its examples, and
 * what made them as root attributes (task, vocab, seq_len, num_examples, seed,
 * zoo_version, the task's knobs; docs/tasks.md). Readable with h5py/h5dump without zoo.
 * Generation lives in zoo/task.h. */
#ifndef ZOO_DATA_H5_H
#define ZOO_DATA_H5_H

#include "zoo/task.h"

/* Write d to `path` (replacing it) through a temporary file renamed into place, so a
 * failure leaves no partial file. spec may be NULL: then only vocab, seq_len,
 * num_examples and zoo_version are stored as attributes. The datasets are chunked
 * by rows and deflate-compressed when the filter is available. Files are
 * byte-identical for identical data (no object timestamps).
 * Returns 0, ZOO_ERR_INVALID (d inconsistent), ZOO_ERR_HDF5 or ZOO_ERR_IO; the
 * message names the file. */
int zoo_data_h5_write(const char *path, const zoo_dataset *d, const zoo_mqar_spec *spec);

/* Write d, made by task t with knob values h for `set`, as zoo_data_h5_write does. The
 * attributes: task (its name), seed and task_seed (u64), split ("train" | "test"), knobs
 * (every knob as "name=value ..."), then each knob under its own name (int: int64, float:
 * float64, bool: int64 0/1, string: str, int list: 1-D int64; so an mqar file has the
 * kv_pairs, power_a and random_non_queries it always had), tag_names (str array) when
 * the task declares tags; the `tags` dataset when d has tags. A knob named like one of
 * the file's own attributes is refused (ZOO_ERR_INVALID). */
int zoo_data_h5_write_task(const char *path, const zoo_dataset *d, const zoo_task *t, const zoo_hvals *h,
                           const zoo_task_set *set);

/* Read a dataset file into *out (owns its arrays; free with zoo_dataset_free; tags
 * when the file has a `tags` dataset, else NULL). Checks:
 * both datasets present, integer-typed, rank 2 with equal shapes; tags (n), >= 0; the `vocab`
 * attribute present and > 0; `seq_len`/`num_examples` attributes, when present, match
 * the shape; inputs in [0, vocab); labels -100 or in [0, vocab). On failure *out is
 * empty and the message names the file and what is wrong (ZOO_ERR_IO for a missing
 * or non-HDF5 file, ZOO_ERR_INVALID for bad contents, ZOO_ERR_HDF5 otherwise). */
int zoo_data_h5_read(const char *path, zoo_dataset *out);

/* Read the generating spec back from the attributes (task must be "mqar"). Absent
 * optional attributes keep the paper defaults. Returns 0, ZOO_ERR_INVALID or ZOO_ERR_IO. */
int zoo_data_h5_read_spec(const char *path, zoo_mqar_spec *spec);

#endif
