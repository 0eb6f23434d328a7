/* sweep_relay.c: the child/rank channel of a multi-rank run's gradient sum
 * (sweep_relay.h). The child writes its buffer into a memfd both map, sends the float
 * count on a socket and waits; the rank maps the same memory, runs the ring allreduce
 * on it in place and answers with one status word. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sweep_relay.h"
#include "zoo/error.h"

static int io_all(int fd, void *p, size_t n, int writing)
{
    char *c = p;
    while (n) {
        /* MSG_NOSIGNAL: a peer gone (the child killed) is an error here, not a SIGPIPE that
         * would end the rank */
        ssize_t k = writing ? send(fd, c, n, MSG_NOSIGNAL) : read(fd, c, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Map (again, larger) the shared buffer, which the child has sized to at least bytes. */
static int remap(sweep_relay *r, size_t bytes)
{
    if (bytes <= r->map_bytes)
        return 0;
    if (r->map)
        munmap(r->map, r->map_bytes);
    r->map = NULL;
    r->map_bytes = 0;
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, r->memfd, 0);
    if (m == MAP_FAILED)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "mapping the %zu-byte gradient buffer shared with the run failed: %s", bytes,
                        strerror(errno));
    r->map = m;
    r->map_bytes = bytes;
    return 0;
}

int sweep_relay_open(sweep_relay *r, MPI_Comm comm, int part, int nparts)
{
    memset(r, 0, sizeof *r);
    r->sock[0] = r->sock[1] = r->memfd = -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, r->sock))
        return ZOO_FAIL(ZOO_ERR_IO, "socketpair failed: %s", strerror(errno));
    if ((r->memfd = memfd_create("zoo-gradients", MFD_CLOEXEC)) < 0) {
        close(r->sock[0]), close(r->sock[1]);
        return ZOO_FAIL(ZOO_ERR_IO, "memfd_create failed: %s", strerror(errno));
    }
    r->on = 1;
    r->part = part;
    r->nparts = nparts;
    r->ring.comm = comm;
    r->ring.rank = part;
    r->ring.size = nparts;
    return 0;
}

/* The child's side of one sum: grow the shared buffer if needed, copy in, ask, copy out. */
static int child_reduce(float *buf, int64_t n, void *ud)
{
    sweep_relay *r = ud;
    size_t bytes = (size_t)n * sizeof *buf;
    if (bytes > r->map_bytes) {
        if (ftruncate(r->memfd, (off_t)bytes))
            return ZOO_FAIL(ZOO_ERR_NOMEM, "sizing the %zu-byte gradient buffer failed: %s", bytes, strerror(errno));
        int rc = remap(r, bytes);
        if (rc)
            return rc;
    }
    memcpy(r->map, buf, bytes);
    int32_t status = 0;
    if (io_all(r->sock[1], &n, sizeof n, 1) || io_all(r->sock[1], &status, sizeof status, 0))
        return ZOO_FAIL(ZOO_ERR_MPI, "the rank summing this run's gradients went away");
    if (status)
        return ZOO_FAIL(status, "summing the gradients over the run's %d ranks failed (see the rank's log)", r->nparts);
    memcpy(buf, r->map, bytes);
    return 0;
}

const zoo_reducer *sweep_relay_child(sweep_relay *r)
{
    close(r->sock[0]);
    r->sock[0] = -1;
    r->red = (zoo_reducer){r->part, r->nparts, child_reduce, r};
    return &r->red;
}

int sweep_relay_fd(const sweep_relay *r) { return r->on ? r->sock[0] : -1; }

int sweep_relay_serve(sweep_relay *r, int (*idle)(void *ud), void *ud)
{
    int64_t n = 0;
    if (io_all(r->sock[0], &n, sizeof n, 0))
        return 0; /* the child has gone: its outcome (a crash) comes through its pipe */
    if (n < 0 || (uint64_t)n > ((uint64_t)1 << 40))
        return ZOO_FAIL(ZOO_ERR_STATE, "the run asked to sum %lld floats", (long long)n);
    r->ring.idle = idle;
    r->ring.idle_ud = ud;
    int rc = remap(r, (size_t)n * sizeof(float));
    if (!rc)
        rc = dp_ring_allreduce(&r->ring, r->map, n);
    int32_t status = rc;
    if (io_all(r->sock[0], &status, sizeof status, 1))
        return 0; /* gone meanwhile: as above */
    return rc == ZOO_ERR_INTERRUPTED ? rc : 0; /* other failures are the run's, reported by it */
}

void sweep_relay_close(sweep_relay *r, int ended_normally)
{
    if (!r->on)
        return;
    if (r->map)
        munmap(r->map, r->map_bytes);
    for (int i = 0; i < 2; i++)
        if (r->sock[i] >= 0)
            close(r->sock[i]);
    if (r->memfd >= 0)
        close(r->memfd);
    dp_ring_free(&r->ring);
    if (ended_normally && r->ring.comm != MPI_COMM_NULL)
        MPI_Comm_free(&r->ring.comm);
    memset(r, 0, sizeof *r);
    r->sock[0] = r->sock[1] = r->memfd = -1;
}
