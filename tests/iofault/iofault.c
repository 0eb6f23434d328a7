/* iofault.c: a test-only LD_PRELOAD library that makes the disk "full" on demand. It
 * wraps write, pwrite, fsync and rename (the calls that put a file on disk) and, when
 * ZOO_FAULT_N=N is set, fails the Nth such call on a regular file, and every later one,
 * with ENOSPC: a full disk stays full. ZOO_FAULT_CALL=write,pwrite,fsync,rename picks
 * the calls that are counted and failed (default: all four; writev/pwritev count as
 * write/pwrite). Writes to terminals, pipes and sockets are never counted or failed, so
 * the program can still say what went wrong. When the fault fires, the library appends
 * "fired <call> <n> <file>" to the file ZOO_FAULT_LOG (if set; <file> is the file written,
 * or the one renamed), so a driver knows which file met the full disk first; at exit it writes the number of
 * calls it counted to ZOO_FAULT_COUNT (if set), so a driver knows how many N to try.
 * Unlinking files is never failed: a program must be able to clean up. Never linked
 * into zoo. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static long fault_n = -1;  /* the call to fail first; -1: never */
static long counted;       /* calls counted so far */
static int fired;
static unsigned mask = 15; /* 1 write, 2 pwrite, 4 fsync, 8 rename */
static int ready;

static void setup(void)
{
    if (ready)
        return;
    ready = 1;
    const char *n = getenv("ZOO_FAULT_N"), *c = getenv("ZOO_FAULT_CALL");
    if (n && *n)
        fault_n = strtol(n, NULL, 10);
    if (c && *c) {
        static const char *const names[4] = {"write", "pwrite", "fsync", "rename"};
        mask = 0;
        for (const char *t = c; *t;) {
            size_t len = strcspn(t, ",");
            for (unsigned k = 0; k < 4; k++)
                if (len == strlen(names[k]) && !strncmp(t, names[k], len))
                    mask |= 1u << k;
            t += len + (t[len] == ',');
        }
    }
}

static void *real(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

/* Log with raw syscalls only: this library must not call the functions it wraps. */
static void note(const char *var, const char *text)
{
    const char *p = getenv(var);
    if (!p || !*p)
        return;
    int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    ssize_t (*w)(int, const void *, size_t);
    void *s = real("write");
    memcpy(&w, &s, sizeof s);
    if (w)
        (void)w(fd, text, strlen(text));
    close(fd);
}

/* 1 when this call must fail: it is of a counted kind, on a regular file (fd >= 0) or a
 * path (fd < 0: `path`), and it is the Nth counted call or later. */
static int hit(unsigned kind, int fd, const char *path, const char *call)
{
    setup();
    if (!(mask & kind))
        return 0;
    if (fd >= 0) {
        struct stat st;
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
            return 0;
    }
    counted++;
    if (fault_n < 1 || counted < fault_n)
        return 0;
    if (!fired) {
        fired = 1;
        char file[4096] = "?", link[64], line[4300];
        if (fd >= 0) {
            snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
            ssize_t k = readlink(link, file, sizeof file - 1);
            file[k > 0 ? k : 1] = 0;
        } else if (path) {
            snprintf(file, sizeof file, "%s", path);
        }
        snprintf(line, sizeof line, "fired %s %ld %s\n", call, counted, file);
        note("ZOO_FAULT_LOG", line);
    }
    errno = ENOSPC;
    return 1;
}

__attribute__((destructor)) static void report_count(void)
{
    char line[64];
    snprintf(line, sizeof line, "%ld\n", counted);
    note("ZOO_FAULT_COUNT", line);
}

#define REAL(type, name, args)                                                                                        \
    type(*fn) args;                                                                                                    \
    do {                                                                                                               \
        void *s_ = real(name);                                                                                         \
        memcpy(&fn, &s_, sizeof s_);                                                                                   \
    } while (0)

ssize_t write(int fd, const void *buf, size_t n)
{
    REAL(ssize_t, "write", (int, const void *, size_t));
    if (hit(1, fd, NULL, "write"))
        return -1;
    return fn(fd, buf, n);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    REAL(ssize_t, "writev", (int, const struct iovec *, int));
    if (hit(1, fd, NULL, "writev"))
        return -1;
    return fn(fd, iov, cnt);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    REAL(ssize_t, "pwrite", (int, const void *, size_t, off_t));
    if (hit(2, fd, NULL, "pwrite"))
        return -1;
    return fn(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    REAL(ssize_t, "pwrite64", (int, const void *, size_t, off64_t));
    if (hit(2, fd, NULL, "pwrite"))
        return -1;
    return fn(fd, buf, n, off);
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    REAL(ssize_t, "pwritev", (int, const struct iovec *, int, off_t));
    if (hit(2, fd, NULL, "pwritev"))
        return -1;
    return fn(fd, iov, cnt, off);
}

int fsync(int fd)
{
    REAL(int, "fsync", (int));
    if (hit(4, fd, NULL, "fsync"))
        return -1;
    return fn(fd);
}

int fdatasync(int fd)
{
    REAL(int, "fdatasync", (int));
    if (hit(4, fd, NULL, "fdatasync"))
        return -1;
    return fn(fd);
}

int rename(const char *from, const char *to)
{
    REAL(int, "rename", (const char *, const char *));
    if (hit(8, -1, from, "rename"))
        return -1;
    return fn(from, to);
}
