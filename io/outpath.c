/* outpath.c: may a command write this output file? Kinds of zoo files by their HDF5
 * root, inputs compared by inode or resolved path, the output folder checked up front.
 * Writes nothing itself. */
#define _XOPEN_SOURCE 700
#include "zoo/outpath.h"

#include <errno.h>
#include <hdf5.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zoo/checkpoint.h"
#include "zoo/error.h"
#include "zoo/h5util.h"
#include "zoo/results.h"

const char *zoo_file_kind_name(zoo_file_kind k)
{
    switch (k) {
    case ZOO_FILE_ABSENT:
        return "no file";
    case ZOO_FILE_EMPTY:
        return "an empty file";
    case ZOO_FILE_FOREIGN:
        return "a file that is not HDF5 (or cannot be read)";
    case ZOO_FILE_HDF5:
        return "an HDF5 file that zoo did not write";
    case ZOO_FILE_CHECKPOINT:
        return "a zoo checkpoint";
    case ZOO_FILE_DATA:
        return "a zoo data file";
    case ZOO_FILE_LOGITS:
        return "a zoo logits file";
    case ZOO_FILE_RESULTS:
        return "a zoo sweep results file";
    case ZOO_FILE_TRAIN_STATE:
        return "a zoo training checkpoint";
    }
    return "an unknown kind of file";
}

/* Root string attribute `name` equals `want`. */
static int attr_is(hid_t f, const char *path, const char *name, const char *want)
{
    char *v = NULL;
    int got = zoo_h5_get_str(f, path, name, &v) > 0 && !strcmp(v, want);
    free(v);
    return got;
}

static int has_link(hid_t f, const char *name) { return H5Lexists(f, name, H5P_DEFAULT) > 0; }

static int has_attr(hid_t f, const char *name) { return H5Aexists(f, name) > 0; }

static zoo_file_kind kind_of_open(hid_t f, const char *path)
{
    if (attr_is(f, path, "format", ZOO_CHECKPOINT_FORMAT))
        return ZOO_FILE_CHECKPOINT;
    if (attr_is(f, path, "format", ZOO_STATE_FORMAT))
        return ZOO_FILE_TRAIN_STATE;
    if (attr_is(f, path, "schema", ZOO_RESULTS_SCHEMA))
        return ZOO_FILE_RESULTS;
    if (has_link(f, "logits") && has_attr(f, "checkpoint"))
        return ZOO_FILE_LOGITS;
    if (has_link(f, "inputs") && has_link(f, "labels") && has_attr(f, "vocab"))
        return ZOO_FILE_DATA;
    return ZOO_FILE_HDF5;
}

zoo_file_kind zoo_file_kind_of(const char *path)
{
    struct stat st;
    if (!path || stat(path, &st) != 0)
        return errno == ENOENT || errno == ENOTDIR ? ZOO_FILE_ABSENT : ZOO_FILE_FOREIGN;
    if (!S_ISREG(st.st_mode))
        return ZOO_FILE_FOREIGN;
    if (st.st_size == 0)
        return ZOO_FILE_EMPTY;
    zoo_h5_quiet();
    if (H5Fis_hdf5(path) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return ZOO_FILE_FOREIGN;
    }
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
#if H5_VERSION_GE(1, 10, 7)
    /* A sweep may hold its results file open for writing: reading the root is still safe. */
    if (fapl >= 0)
        H5Pset_file_locking(fapl, 0, 1);
#endif
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl >= 0 ? fapl : H5P_DEFAULT);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (f < 0) {
        H5Eclear2(H5E_DEFAULT);
        return ZOO_FILE_FOREIGN;
    }
    zoo_error keep = *zoo_error_last(); /* an unreadable attribute only makes the kind "not zoo's" */
    zoo_file_kind k = kind_of_open(f, path);
    H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
    if (keep.code)
        zoo_error_set(keep.code, keep.file, keep.line, "%s", keep.msg);
    else
        zoo_error_clear();
    return k;
}

/* `path` resolved: realpath when it exists, else its resolved folder plus its name.
 * malloc'd; NULL when the folder cannot be resolved either. */
static char *resolve(const char *path)
{
    char *r = realpath(path, NULL);
    if (r)
        return r;
    char *a = strdup(path), *b = strdup(path);
    char *dir = a ? realpath(dirname(a), NULL) : NULL;
    const char *base = b ? basename(b) : NULL;
    if (dir && base) {
        size_t n = strlen(dir) + strlen(base) + 2;
        if ((r = malloc(n)))
            snprintf(r, n, "%s/%s", dir, base);
    }
    free(dir);
    free(a);
    free(b);
    return r;
}

/* out and in are the same file: same device and inode when both exist, else the same
 * resolved path. */
static int same_file(const char *out, const char *in)
{
    struct stat so, si;
    if (stat(out, &so) == 0 && stat(in, &si) == 0)
        return so.st_dev == si.st_dev && so.st_ino == si.st_ino;
    char *ro = resolve(out), *ri = resolve(in);
    int same = ro && ri ? !strcmp(ro, ri) : !strcmp(out, in);
    free(ro);
    free(ri);
    return same;
}

/* The folder `out` goes in exists, is a folder and is writable; `out` is no folder. */
static int check_folder(const char *out, const char *flag)
{
    size_t n = strlen(out);
    struct stat st;
    if (out[n - 1] == '/' || (stat(out, &st) == 0 && S_ISDIR(st.st_mode)))
        return ZOO_FAIL(ZOO_ERR_IO, "%s %s: that is a folder; name the file in it (e.g. %s%sout.h5)", flag, out, out,
                        out[n - 1] == '/' ? "" : "/");
    char *a = strdup(out);
    if (!a)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "%s %s: out of memory", flag, out);
    const char *dir = dirname(a);
    int rc = 0;
    if (stat(dir, &st) != 0)
        rc = ZOO_FAIL(ZOO_ERR_IO, "%s %s: folder '%s' does not exist (%s); create it or write elsewhere", flag, out, dir,
                      strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        rc = ZOO_FAIL(ZOO_ERR_IO, "%s %s: '%s' is not a folder", flag, out, dir);
    else if (access(dir, W_OK | X_OK) != 0)
        rc = ZOO_FAIL(ZOO_ERR_IO, "%s %s: folder '%s' is not writable: %s", flag, out, dir, strerror(errno));
    free(a);
    return rc;
}

int zoo_out_check(const char *out, const char *flag, zoo_file_kind kind, const char *const *inputs, int n_inputs,
                  int force)
{
    if (!flag)
        flag = "output";
    if (!out || !*out)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: empty file name", flag);
    int rc = check_folder(out, flag);
    if (rc)
        return rc;
    for (int i = 0; i < n_inputs; i++)
        if (inputs[i] && same_file(out, inputs[i]))
            return ZOO_FAIL(ZOO_ERR_INVALID,
                            "%s %s: that is the input %s of this command; write the output to another file "
                            "(--force never replaces an input)",
                            flag, out, inputs[i]);
    struct stat st;
    if (stat(out, &st) == 0 && !S_ISREG(st.st_mode))
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s %s: exists and is not a regular file (a device or pipe); name a file",
                        flag, out);
    zoo_file_kind has = zoo_file_kind_of(out);
    if (has == ZOO_FILE_ABSENT || has == ZOO_FILE_EMPTY || has == kind || force)
        return 0;
    char is[160];
    if (has == ZOO_FILE_FOREIGN)
        snprintf(is, sizeof is, "is not HDF5 (or cannot be read), so not %s", zoo_file_kind_name(kind));
    else
        snprintf(is, sizeof is, "is %s, not %s", zoo_file_kind_name(has), zoo_file_kind_name(kind));
    return ZOO_FAIL(ZOO_ERR_INVALID, "%s %s: the file exists and %s; choose another file name, or add --force to replace it",
                    flag, out, is);
}
