/* zoo/h5util.h: small HDF5 helpers shared by the data, checkpoint and results files:
 * automatic error printing off, HDF5's error stack folded into our error record, and
 * write-to-temporary-then-rename so nothing is ever half-written. */
#ifndef ZOO_H5UTIL_H
#define ZOO_H5UTIL_H

#include <hdf5.h>
#include <stddef.h>

/* Turn off HDF5's automatic stack printing (once per process). */
void zoo_h5_quiet(void);
/* Record ZOO_ERR_HDF5 for `what` on `path` with HDF5's innermost message; returns the code. */
int zoo_h5_fail_at(const char *file, int line, const char *path, const char *what);
#define ZOO_H5_FAIL(path, what) zoo_h5_fail_at(__FILE__, __LINE__, (path), (what))

/* "<path>.tmp.<pid>" for writing; rename over `path` when complete. */
void zoo_h5_tmpname(const char *path, char *out, size_t n);
/* rename(tmp, path) with an error naming both on failure. */
int zoo_h5_commit(const char *tmp, const char *path);

#endif
