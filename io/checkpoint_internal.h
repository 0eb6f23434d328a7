/* checkpoint_internal.h: what the model checkpoint (checkpoint.c) and the training-state
 * checkpoint (checkpoint_state.c) write the same way. io-internal. */
#ifndef ZOO_IO_CHECKPOINT_INTERNAL_H
#define ZOO_IO_CHECKPOINT_INTERNAL_H

#include <hdf5.h>
#include <stddef.h>

#include "zoo/run.h"

/* The run spec as root string attributes, one per key of zoo_run_spec_format, then
 * "format", "format_version", "zoo_version", "zoo_git_rev" and "spec_hash". The file
 * must track attribute creation order (spec keys are replayed in it). */
int zoo_ckpt_put_spec(hid_t f, const char *path, const zoo_run_spec *spec, const char *format, int version);
/* A new file at a temporary name next to `path` (tmp[n] gets it), tracking attribute and
 * link creation order: 0 and *f, or the error naming path. */
int zoo_ckpt_create(const char *path, char *tmp, size_t n, hid_t *f);
/* After writing into f with result rc: when rc is 0 close f and put tmp in path's place
 * atomically (a full disk shows at the close); else abandon f. tmp never stays behind.
 * The first error, or 0. */
int zoo_ckpt_finish(hid_t f, const char *path, const char *tmp, int rc);

#endif
