/* sweep_worker.c: a rank other than 0. Says it is ready, then trains what rank 0
 * sends, one run at a time, each in a child process under the sweep's per-run time
 * limit (sent with each run), and sends the outcome back.
 * Waits by polling with short sleeps, never in a spinning MPI_Recv, so an idle rank
 * leaves its cores to the ranks still training. Writes no files. */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sweep.h"
#include "zoo/error.h"

static void nap_ms(int ms)
{
    struct timespec d = {0, (long)ms * 1000000L};
    nanosleep(&d, NULL);
}

static int send_bytes(const void *p, size_t n, int tag)
{
    if (n > (size_t)0x7fffffff)
        return ZOO_FAIL(ZOO_ERR_MPI, "a message of %zu bytes is over MPI's int count", n);
    if (MPI_Send(p, (int)n, MPI_BYTE, 0, tag, MPI_COMM_WORLD) != MPI_SUCCESS)
        return ZOO_FAIL(ZOO_ERR_MPI, "MPI_Send to rank 0 failed");
    return 0;
}

static int send_outcome(sweep_outcome *o, int rank)
{
    o->h.rank = rank;
    snprintf(o->h.host, sizeof o->h.host, "%s", sweep_host());
    char *buf;
    size_t n;
    int rc = sweep_outcome_pack(o, &buf, &n);
    if (!rc) {
        rc = send_bytes(buf, n, SWEEP_TAG_RESULT);
        free(buf);
    }
    return rc;
}

/* A message from rank 0 if one is waiting: 1 and its tag/bytes (malloc'd), else 0. */
static int try_recv(int *tag, char **buf, int *n)
{
    int flag = 0;
    MPI_Status st;
    if (MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st) != MPI_SUCCESS)
        return ZOO_FAIL(ZOO_ERR_MPI, "MPI_Iprobe failed");
    if (!flag)
        return 0;
    MPI_Get_count(&st, MPI_BYTE, n);
    *buf = malloc((size_t)(*n > 0 ? *n : 1));
    if (!*buf)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory for a message of %d bytes", *n);
    if (MPI_Recv(*buf, *n, MPI_BYTE, 0, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE) != MPI_SUCCESS) {
        free(*buf);
        return ZOO_FAIL(ZOO_ERR_MPI, "MPI_Recv from rank 0 failed");
    }
    *tag = st.MPI_TAG;
    return 1;
}

int sweep_work(const sweep_mpi *mpi)
{
    sweep_signals_install(); /* noted, not acted on: rank 0 decides */
    char host[64];
    snprintf(host, sizeof host, "%s", sweep_host());
    int rc = send_bytes(host, sizeof host, SWEEP_TAG_READY);
    int exit_code = SWEEP_EXIT_SYSTEM;
    sweep_child child;
    memset(&child, 0, sizeof child);
    while (!rc) {
        int tag = 0, n = 0;
        char *buf = NULL;
        int got = try_recv(&tag, &buf, &n);
        if (got < 0) {
            rc = got;
            break;
        }
        if (got && tag == SWEEP_TAG_STOP) {
            if (n >= (int)sizeof(int32_t)) {
                int32_t code;
                memcpy(&code, buf, sizeof code);
                exit_code = code;
            }
            free(buf);
            break;
        }
        if (got && tag == SWEEP_TAG_ABANDON) {
            free(buf);
            if (child.pid) {
                sweep_outcome o;
                sweep_child_abandon(&child, &o);
                rc = send_outcome(&o, mpi->rank);
            }
            continue;
        }
        if (got && tag == SWEEP_TAG_WORK) {
            sweep_work_msg w;
            if (n != (int)sizeof w || child.pid) {
                free(buf);
                rc = ZOO_FAIL(ZOO_ERR_MPI, "rank %d: unexpected work message (%d bytes%s)", mpi->rank, n,
                              child.pid ? ", already training" : "");
                break;
            }
            memcpy(&w, buf, sizeof w);
            free(buf);
            if (sweep_child_start(&child, w.id, &w.spec, w.max_run_seconds)) {
                /* Could not even fork: report it as this run's failure and go on. */
                sweep_outcome o;
                memset(&o, 0, sizeof o);
                o.h.id = w.id;
                o.h.status = zoo_error_last()->code;
                snprintf(o.h.message, sizeof o.h.message, "%s", zoo_error_last()->msg);
                rc = send_outcome(&o, mpi->rank);
            }
            continue;
        }
        free(buf);
        if (child.pid) {
            sweep_outcome o;
            int done = sweep_child_poll(&child, 50, &o);
            if (done < 0) {
                rc = done;
                break;
            }
            if (done) {
                rc = send_outcome(&o, mpi->rank);
                sweep_outcome_free(&o);
            }
        } else {
            nap_ms(5);
        }
    }
    if (child.pid) {
        sweep_outcome o;
        sweep_child_abandon(&child, &o);
    }
    if (rc) {
        fprintf(stderr, "zoo sweep (rank %d on %s): %s\n", mpi->rank, sweep_host(), zoo_error_last()->msg);
        return SWEEP_EXIT_SYSTEM;
    }
    return exit_code;
}
