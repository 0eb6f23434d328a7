/* zoo/h5util.h: small HDF5 helpers shared by the data, checkpoint, results and logits
 * files: automatic error printing off, HDF5's error stack folded into our error record,
 * scalar attributes written and read one way, and write-to-temporary-then-rename so
 * nothing is ever half-written. Internal to zoo's own io and drivers; not installed. */
#ifndef ZOO_H5UTIL_H
#define ZOO_H5UTIL_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

/* Turn off HDF5's automatic stack printing (once per process). */
void zoo_h5_quiet(void);
/* Record the failure of `what` on `path`; returns the code. When a system call failed
 * under HDF5 (the file driver reports its errno: a full disk, no permission) it is
 * ZOO_ERR_IO with the OS's reason in words ("no space left on device") and what to do;
 * otherwise ZOO_ERR_HDF5 with HDF5's innermost message. Call it before any further HDF5
 * call: each one clears the stack it reads. */
int zoo_h5_fail_at(const char *file, int line, const char *path, const char *what);
#define ZOO_H5_FAIL(path, what) zoo_h5_fail_at(__FILE__, __LINE__, (path), (what))

/* ---- scalar attributes of `loc` (a file, group or dataset) ----
 * `path` is the file as the user knows it; an error names it and the attribute. Each
 * returns 0 or the error code. A writer replaces an attribute of the same name. */
/* Variable-length UTF-8: h5py reads it back as str. */
int zoo_h5_put_str(hid_t loc, const char *path, const char *name, const char *v);
/* Fixed-size, NUL-terminated ASCII (strlen + 1 bytes): h5py reads it back as bytes.
 * The results file's strings are of this kind (docs/results.md). */
int zoo_h5_put_fixed_str(hid_t loc, const char *path, const char *name, const char *v);
int zoo_h5_put_i32(hid_t loc, const char *path, const char *name, int32_t v);
int zoo_h5_put_i64(hid_t loc, const char *path, const char *name, int64_t v);
int zoo_h5_put_u64(hid_t loc, const char *path, const char *name, uint64_t v);
int zoo_h5_put_f64(hid_t loc, const char *path, const char *name, double v);
/* 1-D arrays of n >= 0 values: variable-length UTF-8 strings (h5py: an array of str) and
 * int64. */
int zoo_h5_put_strs(hid_t loc, const char *path, const char *name, long n, const char *const *v);
int zoo_h5_put_i64s(hid_t loc, const char *path, const char *name, long n, const int64_t *v);

/* Readers: 1 and the value when the attribute is there, 0 when it is absent (the value
 * untouched), or the error code: ZOO_ERR_INVALID when it is not one value of the kind
 * asked for, ZOO_ERR_HDF5 when reading fails. Integers convert to the type asked for
 * (HDF5 clips what does not fit); get_f64 takes integers too. */
int zoo_h5_get_i64(hid_t loc, const char *path, const char *name, int64_t *v);
int zoo_h5_get_u64(hid_t loc, const char *path, const char *name, uint64_t *v);
int zoo_h5_get_f64(hid_t loc, const char *path, const char *name, double *v);
/* Either string kind, as a malloc'd C string in *out (NULL when absent); free() it. */
int zoo_h5_get_str(hid_t loc, const char *path, const char *name, char **out);

/* The length of a 1-D dataspace into *n: 0, or -1 (n untouched) when `space` is not
 * valid or not 1-D, so a damaged file's 2-D table is never read into a buffer sized
 * for one dimension. */
int zoo_h5_len1(hid_t space, hsize_t *n);

/* ---- whole files ---- */
/* Open `path` read-only as a `kind` file ("checkpoint", "data file"): ZOO_ERR_IO naming the
 * file when it is unreadable, not HDF5, truncated (not completely written) or otherwise
 * damaged, each with `fix` (what to do: "write it again with zoo train --save"). */
int zoo_h5_open_read(const char *path, const char *kind, const char *fix, hid_t *out);
/* H5Fclose(f) (f < 0: nothing to do), the failure recorded as above. Call it once per
 * file whatever it returns: after a failed close the id must not be closed again (HDF5
 * 1.10 crashes), and at exit the library is left alone while such a file is open. */
int zoo_h5_close_file(hid_t f, const char *path);
/* Close a file given up after an error (f < 0: nothing to do), keeping that error as the
 * thread's last: the close of a half-written file on a full disk fails too. */
void zoo_h5_abandon(hid_t f);
/* "<path>.tmp.<pid>" for writing; rename over `path` when complete. */
void zoo_h5_tmpname(const char *path, char *out, size_t n);
/* rename(tmp, path) with an error naming both on failure (tmp is removed then). */
int zoo_h5_commit(const char *tmp, const char *path);
/* fsync a file (dir 0) or a folder (dir 1); folders that refuse fsync are not an error. */
int zoo_h5_sync(const char *path, int dir);
/* Durably put the closed file `tmp` at `path`: fsync it, rename it, fsync the folder. */
int zoo_h5_publish(const char *tmp, const char *path);

#endif
