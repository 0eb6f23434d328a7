/* h5util.c: HDF5 error capture and atomic file replacement. */
#define _POSIX_C_SOURCE 200809L
#include "zoo/h5util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "zoo/error.h"

void zoo_h5_quiet(void)
{
    static int done;
    if (!done) {
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        done = 1;
    }
}

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *ud)
{
    char *buf = ud;
    if (n == 0 && e->desc) /* innermost: the most specific reason */
        snprintf(buf, 256, "%s", e->desc);
    return 0;
}

int zoo_h5_fail_at(const char *file, int line, const char *path, const char *what)
{
    char detail[256] = "";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_cb, detail);
    H5Eclear2(H5E_DEFAULT);
    return zoo_error_set(ZOO_ERR_HDF5, file, line, "%s: %s failed%s%s", path ? path : "(hdf5)", what,
                         detail[0] ? ": " : "", detail);
}

void zoo_h5_tmpname(const char *path, char *out, size_t n) { snprintf(out, n, "%s.tmp.%ld", path, (long)getpid()); }

int zoo_h5_commit(const char *tmp, const char *path)
{
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return ZOO_FAIL(ZOO_ERR_IO, "%s: cannot rename %s into place: %s", path, tmp, strerror(e));
    }
    return 0;
}
