/* results_lock.c: the one writer of a results file. The lock is an open file
 * description (OFD) lock, fcntl F_OFD_SETLK, on the results file itself, so no side
 * file can be deleted to let a second writer in, and the kernel drops it when the
 * holder dies (kill -9 included). It is independent of the flock() that HDF5 takes on
 * the files it opens, so h5py readers open the file while a sweep holds it, and, being
 * tied to its own open file description, it survives the holder opening and closing
 * the same file through HDF5 (a POSIX record lock would not). The file is replaced by
 * rename at every fold: the writer locks the new file before the rename (results.c),
 * and a taker that locked a file just replaced sees it no longer at the path and
 * tries again. */
#define _GNU_SOURCE
#include "zoo/results.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zoo/error.h"

int zoo_results_lock_fd(int fd)
{
    struct flock l;
    memset(&l, 0, sizeof l);
    l.l_type = F_WRLCK;
    l.l_whence = SEEK_SET; /* l_start 0, l_len 0: the whole file, however long it grows */
    if (fcntl(fd, F_OFD_SETLK, &l) == 0)
        return 0;
    return errno == EAGAIN || errno == EACCES ? 1 : -errno;
}

int zoo_results_lock(const char *path, int *fd)
{
    *fd = -1;
    for (int tries = 0; tries < 1000; tries++) {
        /* O_CREAT: a file that does not exist yet gets an empty placeholder to lock, so
         * two sweeps starting a new file at once cannot both create it. */
        int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (f < 0)
            return ZOO_FAIL(ZOO_ERR_IO, "%s: cannot open the results file to lock it: %s; check the folder is writable",
                            path, strerror(errno));
        int held = zoo_results_lock_fd(f);
        if (held) {
            close(f);
            if (held > 0)
                return ZOO_FAIL(ZOO_ERR_INVALID,
                                "%s is in use by another zoo sweep or zoo merge (it holds the file's lock); wait for it "
                                "to finish or use another -o",
                                path);
            return ZOO_FAIL(ZOO_ERR_IO, "%s: cannot lock the results file: %s (is it on a file system without fcntl locks?)",
                            path, strerror(-held));
        }
        /* Locked what was at the path when opened: still there? */
        struct stat a, b;
        if (!fstat(f, &a) && !stat(path, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            *fd = f;
            return 0;
        }
        close(f); /* replaced (a fold, a merge) or removed since: lock the file there now */
    }
    return ZOO_FAIL(ZOO_ERR_IO, "%s: the file kept being replaced while locking it; try again", path);
}

void zoo_results_unlock(const char *path, int fd)
{
    if (fd < 0)
        return;
    /* An empty placeholder nobody wrote (the writer failed before creating the file) goes,
     * while still locked, so it is not mistaken for a results file. */
    struct stat a, b;
    if (path && !fstat(fd, &a) && a.st_size == 0 && !stat(path, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        unlink(path);
    close(fd);
}
