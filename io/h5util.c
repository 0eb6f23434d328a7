/* h5util.c: HDF5 error capture, scalar attributes and atomic file replacement. */
#define _POSIX_C_SOURCE 200809L
#include "zoo/h5util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zoo/error.h"

/* HDF5 1.10 leaves a file whose H5Fclose failed (a full disk while flushing) half torn
 * down but still registered, and its own exit handler then closes it again and crashes
 * (SIGSEGV after the error was reported). So the library's exit handler is replaced by
 * this one: it shuts HDF5 down only when no file is left open. zoo closes every file it
 * opens on every path, so an open file at exit is one whose close failed; the process
 * then leaves it to the OS (its temporary file was already removed). */
static void at_exit(void)
{
    ssize_t open_files = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE);
    if (open_files == 0)
        H5close();
}

/* Before main, so it runs before the library's first use registers its own handler. */
__attribute__((constructor)) static void take_over_exit(void)
{
    if (H5dont_atexit() >= 0)
        atexit(at_exit);
}

void zoo_h5_quiet(void)
{
    static int done;
    if (!done) {
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        done = 1;
    }
}

/* What the error stack says: the innermost message, and the OS error number the file
 * driver reports ("errno = 28, ...") when a system call failed. */
typedef struct stack_info {
    char desc[256];
    int err;
    int truncated; /* "truncated file: eof = ..., stored_eof = ...": the file ends early */
} stack_info;

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *ud)
{
    (void)n;
    stack_info *si = ud;
    if (!e->desc)
        return 0;
    const char *en = strstr(e->desc, "errno = ");
    if (en && !si->err)
        si->err = atoi(en + 8);
    if (strstr(e->desc, "truncated file"))
        si->truncated = 1;
    /* Walking downward, the last entry is the innermost: the most specific reason. The
     * driver's own line is long (time, buffer address, ...); its errno says it better. */
    if (!en)
        snprintf(si->desc, sizeof si->desc, "%s", e->desc);
    return 0;
}

/* The OS's reason in words, lower case to read inside a sentence, with what to do. */
static void os_reason(int err, char *out, size_t n)
{
    const char *s = strerror(err), *hint = "";
    if (err == ENOSPC || err == EDQUOT)
        hint = "; free some space there or write the file elsewhere";
    else if (err == EACCES || err == EPERM || err == EROFS)
        hint = "; check that the folder is writable";
    snprintf(out, n, "%s%s", s, hint);
    if (out[0] >= 'A' && out[0] <= 'Z' && !(out[1] >= 'A' && out[1] <= 'Z'))
        out[0] = (char)(out[0] - 'A' + 'a');
}

int zoo_h5_fail_at(const char *file, int line, const char *path, const char *what)
{
    stack_info si = {"", 0, 0};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_cb, &si);
    H5Eclear2(H5E_DEFAULT);
    if (si.err > 0) {
        char why[512];
        os_reason(si.err, why, sizeof why);
        return zoo_error_set(ZOO_ERR_IO, file, line, "%s: %s failed: %s", path ? path : "(hdf5)", what, why);
    }
    return zoo_error_set(ZOO_ERR_HDF5, file, line, "%s: %s failed%s%s", path ? path : "(hdf5)", what,
                         si.desc[0] ? ": " : "", si.desc);
}

void zoo_h5_abandon(hid_t f)
{
    if (f < 0)
        return;
    zoo_error keep = *zoo_error_last();
    H5Fclose(f); /* once, whatever it returns (see zoo_h5_close_file) */
    H5Eclear2(H5E_DEFAULT);
    if (keep.code)
        zoo_error_set(keep.code, keep.file, keep.line, "%s", keep.msg);
}

int zoo_h5_open_read(const char *path, const char *kind, const char *fix, hid_t *out)
{
    *out = H5I_INVALID_HID;
    zoo_h5_quiet();
    if (!path || !*path)
        return ZOO_FAIL(ZOO_ERR_INVALID, "no %s file given", kind);
    if (access(path, R_OK) != 0)
        return ZOO_FAIL(ZOO_ERR_IO, "%s: cannot read the %s: %s", path, kind, strerror(errno));
    if (H5Fis_hdf5(path) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return ZOO_FAIL(ZOO_ERR_IO, "%s: not an HDF5 file, so not a %s; %s", path, kind, fix);
    }
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f >= 0) {
        *out = f;
        return 0;
    }
    stack_info si = {"", 0, 0};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_cb, &si);
    if (si.truncated) {
        H5Eclear2(H5E_DEFAULT);
        return ZOO_FAIL(ZOO_ERR_IO,
                        "%s: the %s is truncated (the file ends before its data does: it was not written or copied "
                        "completely, e.g. on a full disk); %s",
                        path, kind, fix);
    }
    char what[128];
    snprintf(what, sizeof what, "opening the %s", kind);
    if (ZOO_H5_FAIL(path, what) == ZOO_ERR_HDF5) { /* not the OS's doing: the file itself is damaged */
        char msg[sizeof zoo_error_last()->msg];
        snprintf(msg, sizeof msg, "%s", zoo_error_last()->msg); /* not formatted into itself */
        ZOO_FAIL(ZOO_ERR_IO, "%s (the file is damaged); %s", msg, fix);
    }
    return ZOO_ERR_IO;
}

int zoo_h5_close_file(hid_t f, const char *path)
{
    if (f < 0)
        return 0;
    /* Never retried: a second H5Fclose of a file whose first close failed crashes. */
    if (H5Fclose(f) < 0)
        return ZOO_H5_FAIL(path, "writing out and closing the file");
    return 0;
}

/* ---- attributes ----------------------------------------------------------------------- */

static int attr_fail(const char *path, const char *verb, const char *name)
{
    char what[320];
    snprintf(what, sizeof what, "%s attribute '%s'", verb, name);
    return ZOO_H5_FAIL(path, what);
}

/* Create (or replace) attribute `name` of file type ftype from v of memory type mtype:
 * one value (n < 0) or a 1-D array of n values. */
static int put_n(hid_t loc, const char *path, const char *name, hid_t ftype, hid_t mtype, long n, const void *v)
{
    hsize_t dims[1] = {(hsize_t)(n < 0 ? 1 : n)};
    hid_t sp = n < 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims, NULL), a = H5I_INVALID_HID;
    htri_t ex = sp < 0 ? -1 : H5Aexists(loc, name);
    int rc = 0;
    if (ex < 0 || (ex > 0 && H5Adelete(loc, name) < 0) ||
        (a = H5Acreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT)) < 0 || H5Awrite(a, mtype, v) < 0)
        rc = attr_fail(path, "writing", name); /* before the closes below clear HDF5's stack */
    if (a >= 0)
        H5Aclose(a);
    if (sp >= 0)
        H5Sclose(sp);
    return rc;
}

static int put(hid_t loc, const char *path, const char *name, hid_t ftype, hid_t mtype, const void *v)
{
    return put_n(loc, path, name, ftype, mtype, -1, v);
}

/* The variable-length UTF-8 string type (h5py reads it as str); ZOO_ERR_* on failure. */
static int vlen_utf8(const char *path, const char *name, hid_t *t)
{
    *t = H5Tcopy(H5T_C_S1);
    if (*t < 0 || H5Tset_size(*t, H5T_VARIABLE) < 0 || H5Tset_cset(*t, H5T_CSET_UTF8) < 0) {
        int rc = attr_fail(path, "writing", name);
        if (*t >= 0)
            H5Tclose(*t);
        *t = H5I_INVALID_HID;
        return rc;
    }
    return 0;
}

int zoo_h5_put_str(hid_t loc, const char *path, const char *name, const char *v)
{
    hid_t t;
    int rc = vlen_utf8(path, name, &t);
    if (rc)
        return rc;
    const char *s = v ? v : "";
    rc = put(loc, path, name, t, t, &s);
    H5Tclose(t);
    return rc;
}

int zoo_h5_put_strs(hid_t loc, const char *path, const char *name, long n, const char *const *v)
{
    hid_t t;
    int rc = vlen_utf8(path, name, &t);
    if (rc)
        return rc;
    rc = put_n(loc, path, name, t, t, n, v);
    H5Tclose(t);
    return rc;
}

int zoo_h5_put_i64s(hid_t loc, const char *path, const char *name, long n, const int64_t *v)
{
    return put_n(loc, path, name, H5T_STD_I64LE, H5T_NATIVE_INT64, n, v);
}

int zoo_h5_put_fixed_str(hid_t loc, const char *path, const char *name, const char *v)
{
    const char *s = v ? v : "";
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0 || H5Tset_size(t, strlen(s) + 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0) {
        int rc = attr_fail(path, "writing", name);
        if (t >= 0)
            H5Tclose(t);
        return rc;
    }
    int rc = put(loc, path, name, t, t, s);
    H5Tclose(t);
    return rc;
}

int zoo_h5_put_i32(hid_t loc, const char *path, const char *name, int32_t v)
{
    return put(loc, path, name, H5T_STD_I32LE, H5T_NATIVE_INT32, &v);
}

int zoo_h5_put_i64(hid_t loc, const char *path, const char *name, int64_t v)
{
    return put(loc, path, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v);
}

int zoo_h5_put_u64(hid_t loc, const char *path, const char *name, uint64_t v)
{
    return put(loc, path, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &v);
}

int zoo_h5_put_f64(hid_t loc, const char *path, const char *name, double v)
{
    return put(loc, path, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}

/* Open attribute `name` and check it holds one value of class c1 or c2 (`kind` in words):
 * 1 with *a and *t open (the caller closes them), 0 when absent, <0 on error. */
static int open_one(hid_t loc, const char *path, const char *name, H5T_class_t c1, H5T_class_t c2,
                    const char *kind, hid_t *a, hid_t *t)
{
    *a = *t = H5I_INVALID_HID;
    htri_t ex = H5Aexists(loc, name);
    if (ex <= 0)
        return ex < 0 ? attr_fail(path, "reading", name) : 0;
    hid_t sp = H5I_INVALID_HID;
    int rc = 1;
    if ((*a = H5Aopen(loc, name, H5P_DEFAULT)) < 0 || (*t = H5Aget_type(*a)) < 0 || (sp = H5Aget_space(*a)) < 0) {
        rc = attr_fail(path, "reading", name);
    } else {
        H5T_class_t c = H5Tget_class(*t);
        if ((c != c1 && c != c2) || H5Sget_simple_extent_npoints(sp) != 1)
            rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s: attribute '%s' must be %s", path, name, kind);
    }
    if (sp >= 0)
        H5Sclose(sp);
    if (rc != 1) {
        if (*t >= 0)
            H5Tclose(*t);
        if (*a >= 0)
            H5Aclose(*a);
        *a = *t = H5I_INVALID_HID;
    }
    return rc;
}

static int get_num(hid_t loc, const char *path, const char *name, hid_t mtype, int any_number, void *v)
{
    hid_t a, t;
    int rc = open_one(loc, path, name, H5T_INTEGER, any_number ? H5T_FLOAT : H5T_INTEGER,
                      any_number ? "one number" : "one integer", &a, &t);
    if (rc != 1)
        return rc;
    if (H5Aread(a, mtype, v) < 0)
        rc = attr_fail(path, "reading", name);
    H5Tclose(t);
    H5Aclose(a);
    return rc;
}

int zoo_h5_get_i64(hid_t loc, const char *path, const char *name, int64_t *v)
{
    return get_num(loc, path, name, H5T_NATIVE_INT64, 0, v);
}

int zoo_h5_get_u64(hid_t loc, const char *path, const char *name, uint64_t *v)
{
    return get_num(loc, path, name, H5T_NATIVE_UINT64, 0, v);
}

int zoo_h5_get_f64(hid_t loc, const char *path, const char *name, double *v)
{
    return get_num(loc, path, name, H5T_NATIVE_DOUBLE, 1, v);
}

int zoo_h5_get_str(hid_t loc, const char *path, const char *name, char **out)
{
    *out = NULL;
    hid_t a, t;
    int rc = open_one(loc, path, name, H5T_STRING, H5T_STRING, "one string", &a, &t);
    if (rc != 1)
        return rc;
    /* The memory type takes the file's character set: HDF5 will not convert between them.
     * Failures are recorded where they happen, before another HDF5 call clears the stack. */
    hid_t mt = H5Tcopy(H5T_C_S1);
    if (mt < 0 || H5Tset_cset(mt, H5Tget_cset(t)) < 0) {
        rc = attr_fail(path, "reading", name);
    } else if (H5Tis_variable_str(t) > 0) {
        char *s = NULL;
        if (H5Tset_size(mt, H5T_VARIABLE) < 0 || H5Aread(a, mt, &s) < 0)
            rc = attr_fail(path, "reading", name);
        else if (!(*out = strdup(s ? s : "")))
            rc = ZOO_FAIL(ZOO_ERR_NOMEM, "%s: out of memory reading attribute '%s'", path, name);
        if (s)
            H5free_memory(s);
    } else {
        /* One byte more than stored, NUL-terminated: a string filling its whole size
         * (NULLPAD, as numpy writes) keeps its last character. */
        size_t n = H5Tget_size(t);
        if (!(*out = calloc(n + 1, 1)))
            rc = ZOO_FAIL(ZOO_ERR_NOMEM, "%s: out of memory reading attribute '%s'", path, name);
        else if (H5Tset_size(mt, n + 1) < 0 || H5Tset_strpad(mt, H5T_STR_NULLTERM) < 0 || H5Aread(a, mt, *out) < 0)
            rc = attr_fail(path, "reading", name);
    }
    if (mt >= 0)
        H5Tclose(mt);
    H5Tclose(t);
    H5Aclose(a);
    if (rc != 1) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- whole files ---------------------------------------------------------------------- */

void zoo_h5_tmpname(const char *path, char *out, size_t n) { snprintf(out, n, "%s.tmp.%ld", path, (long)getpid()); }

int zoo_h5_commit(const char *tmp, const char *path)
{
    if (rename(tmp, path) != 0) {
        char why[512];
        os_reason(errno, why, sizeof why);
        unlink(tmp);
        return ZOO_FAIL(ZOO_ERR_IO, "%s: cannot rename %s into place: %s", path, tmp, why);
    }
    return 0;
}

int zoo_h5_sync(const char *path, int dir)
{
    char why[512];
    int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) {
        os_reason(errno, why, sizeof why);
        return ZOO_FAIL(ZOO_ERR_IO, "%s: cannot open to sync: %s", path, why);
    }
    int e = fsync(fd), err = errno;
    close(fd);
    /* Some file systems refuse fsync on folders; the rename is still atomic. */
    if (e && !(dir && (err == EINVAL || err == EBADF))) {
        os_reason(err, why, sizeof why);
        return ZOO_FAIL(ZOO_ERR_IO, "%s: writing it to disk (fsync) failed: %s", path, why);
    }
    return 0;
}

int zoo_h5_publish(const char *tmp, const char *path)
{
    int rc = zoo_h5_sync(tmp, 0);
    if (rc) {
        unlink(tmp);
        zoo_error_prefix("%s: ", path);
        return rc;
    }
    if ((rc = zoo_h5_commit(tmp, path)))
        return rc;
    char *d = strdup(path);
    if (!d)
        return 0; /* the file is in place; only the folder's fsync is skipped */
    rc = zoo_h5_sync(dirname(d), 1);
    free(d);
    return rc;
}

int zoo_h5_len1(hid_t space, hsize_t *n)
{
    if (space < 0 || H5Sget_simple_extent_ndims(space) != 1)
        return -1;
    return H5Sget_simple_extent_dims(space, n, NULL) < 0 ? -1 : 0;
}
