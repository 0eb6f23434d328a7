/* zoo/checkpoint.h: a trained model in HDF5, readable by h5py without zoo.
 * Every parameter and buffer is a float32 dataset at the root named and shaped as the
 * Zoology model's PyTorch state_dict entry ("backbone.layers.0.sequence_mixer.Wqkv.weight",
 * Linear weights (out, in)); "lm_head.weight" is a hard link to the word embedding (the
 * head is tied). The run spec is stored as root string attributes, one per key of
 * zoo_run_spec_format, plus "format" = "zoo-checkpoint", "format_version" = 1,
 * "zoo_version", "zoo_git_rev" and "spec_hash". Optimizer state is not saved. */
#ifndef ZOO_CHECKPOINT_H
#define ZOO_CHECKPOINT_H

#include <stdint.h>

#include "zoo/run.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZOO_CHECKPOINT_FORMAT "zoo-checkpoint"
#define ZOO_CHECKPOINT_VERSION 1

/* Write `m` (built from `spec`) to `path`: written under a temporary name and renamed
 * into place, so `path` is either the old file or the complete new one.
 * Errors: ZOO_ERR_HDF5 / ZOO_ERR_IO naming the file and the object. */
int zoo_checkpoint_save(const zoo_model *m, const zoo_run_spec *spec, const char *path);

/* Read only the run spec of a checkpoint: defaults first (zoo_run_spec_default), then
 * zoo_run_spec_set for every spec attribute in the order it was written.
 * Errors: ZOO_ERR_IO (cannot open), ZOO_ERR_INVALID (not a zoo checkpoint, newer format,
 * a spec attribute this build does not know). */
int zoo_checkpoint_read_spec(const char *path, zoo_run_spec *spec);

/* Copy every parameter and buffer of an already built model from the checkpoint.
 * Every model tensor must be present with exactly its shape, and the file may hold no
 * other dataset except "lm_head.weight" (which must be shaped like the embedding).
 * Any mismatch is one ZOO_ERR_INVALID line naming the file, the dataset, the expected
 * and the found shape. On failure the model's values are unspecified. */
int zoo_checkpoint_load_into(const char *path, zoo_model *m);

/* Read the spec, build the model for batch B with at most M supervised positions per
 * batch (zoo_model_build), then fill it with zoo_checkpoint_load_into. `spec_out` may be
 * NULL. On failure *out is NULL. */
int zoo_checkpoint_load(const char *path, int64_t B, int64_t M, zoo_run_spec *spec_out, zoo_model **out);

/* ---- the training state: mid-run checkpoints (docs/training.md, checkpoints) ----------
 * A run's whole state between two steps (zoo_run_snapshot) in HDF5: the run spec as
 * root attributes as above, with "format" = "zoo-train-state" and its own
 * "format_version" = 1; the group "state" holds the flat buffers "params", "adam_m",
 * "adam_v" (n_flat float32 each, in the model's flat order), the curves "step_loss"
 * (step values) and "epoch_train_loss", "epoch_test_loss", "epoch_test_acc", "epoch_lr"
 * (epoch values each), the position and figures as attributes and "checksum", a 64-bit
 * hash of all of it. */
#define ZOO_STATE_FORMAT "zoo-train-state"
#define ZOO_STATE_VERSION 1

/* Write `s`, the state of a run of `spec`, to `path` atomically: a temporary file,
 * fsynced, renamed over `path`, the folder fsynced. On any failure (a full disk) `path`
 * is the previous file, untouched, and no temporary is left.
 * Errors: ZOO_ERR_IO (the OS's reason), ZOO_ERR_HDF5, ZOO_ERR_NOMEM. */
int zoo_checkpoint_save_state(const zoo_run_snapshot *s, const zoo_run_spec *spec, const char *path);

/* Read the state at `path` for a run of `spec` into *out (arrays malloc'd: free them with
 * zoo_run_snapshot_free; out->origin is `path`, which must outlive *out). Refused, with
 * one line naming the file and why: not readable as HDF5 or truncated (ZOO_ERR_IO); not
 * a training-state file, another format_version, another run (its spec hash differs from
 * spec's), sizes that do not agree, a checksum that does not match (ZOO_ERR_INVALID).
 * Whether it fits the model is zoo_run's check (zoo_run_hooks.resume). */
int zoo_checkpoint_load_state(const char *path, const zoo_run_spec *spec, zoo_run_snapshot *out);

#ifdef __cplusplus
}
#endif
#endif
