/* checkpoint_internal.h: what the model checkpoint (checkpoint.c) and the training-state
 * checkpoint (checkpoint_state.c) write the same way. io-internal. */
#ifndef ZOO_IO_CHECKPOINT_INTERNAL_H
#define ZOO_IO_CHECKPOINT_INTERNAL_H

#include <hdf5.h>

#include "zoo/run.h"

/* The run spec as root string attributes, one per key of zoo_run_spec_format, then
 * "format", "format_version", "zoo_version", "zoo_git_rev" and "spec_hash". The file
 * must track attribute creation order (spec keys are replayed in it). */
int zoo_ckpt_put_spec(hid_t f, const char *path, const zoo_run_spec *spec, const char *format, int version);

#endif
