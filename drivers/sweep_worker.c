/* sweep_worker.c: a rank other than 0. Says it is ready, then trains what rank 0
 * sends, one run at a time, each in a child process under the sweep's per-run time
 * limit (sent with each run), and sends the outcome back. For its part of a multi-rank
 * run it also sums the child's gradients with the run's other ranks (sweep_relay.c).
 * Waits by polling with short sleeps, never in a spinning MPI_Recv, so an idle rank
 * leaves its cores to the ranks still training. Writes no files. */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <poll.h>

#include "sweep.h"
#include "sweep_relay.h"
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

/* An abandon message taken while a gradient sum waited: -1 none, else its SWEEP_ABANDON_*
 * (the main loop acts on it next). */
static int32_t abandon_taken = -1;

/* While a gradient sum waits: rank 0's abandon message is taken. A failed partner ends
 * the sum (it can never complete); a stop lets it finish, since every part must reach the
 * same step to save and stop together. A short nap keeps the waiting rank off the cores. */
static int abandon_waiting(void *ud)
{
    (void)ud;
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(0, SWEEP_TAG_ABANDON, MPI_COMM_WORLD, &flag, &st);
    if (flag) {
        int32_t why = SWEEP_ABANDON_STOP;
        int n = 0;
        MPI_Get_count(&st, MPI_BYTE, &n);
        char buf[16] = {0};
        if (n > (int)sizeof buf || MPI_Recv(buf, n, MPI_BYTE, 0, SWEEP_TAG_ABANDON, MPI_COMM_WORLD,
                                            MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return 1;
        if (n >= (int)sizeof why)
            memcpy(&why, buf, sizeof why);
        if (abandon_taken != SWEEP_ABANDON_FAULT)
            abandon_taken = why;
        return why == SWEEP_ABANDON_FAULT;
    }
    struct timespec d = {0, 20000L};
    nanosleep(&d, NULL);
    return 0;
}

/* This rank's part of a multi-rank run: the run's communicator (made by its ranks alone),
 * the relay, the child. */
static int start_part(sweep_child *child, sweep_relay *relay, const sweep_work_msg *w, sweep_child_opts *co)
{
    MPI_Group world, grp;
    MPI_Comm comm = MPI_COMM_NULL;
    if (w->nparts < 2 || w->nparts > SWEEP_MAX_GROUP || w->part < 0 || w->part >= w->nparts)
        return ZOO_FAIL(ZOO_ERR_MPI, "run %lld: part %d of %d ranks", (long long)w->id, w->part, w->nparts);
    MPI_Comm_group(MPI_COMM_WORLD, &world);
    int rc = MPI_Group_incl(world, w->nparts, w->group, &grp);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_create_group(MPI_COMM_WORLD, grp, (int)(w->id % 30000), &comm);
    MPI_Group_free(&world);
    if (rc == MPI_SUCCESS)
        MPI_Group_free(&grp);
    if (rc != MPI_SUCCESS)
        return ZOO_FAIL(ZOO_ERR_MPI, "making the communicator of run %lld's %d ranks failed", (long long)w->id,
                        w->nparts);
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    if ((rc = sweep_relay_open(relay, comm, w->part, w->nparts))) {
        MPI_Comm_free(&comm);
        return rc;
    }
    co->relay = relay;
    if ((rc = sweep_child_start(child, w->id, &w->spec, co)))
        sweep_relay_close(relay, 1);
    return rc;
}

/* The sweep stops while this rank trains a part of a multi-rank run: the child is asked
 * to save and stop (SIGUSR1), and the rank keeps summing its gradients meanwhile, since
 * the parts stop together after a step they all finish; past the grace, or when a second
 * stop signal comes, it is killed. The outcome says abandoned either way (the run stays
 * pending and goes on from its checkpoint). */
static void stop_part(sweep_child *child, sweep_relay *relay, sweep_outcome *o)
{
    kill(child->pid, SIGUSR1);
    double until = sweep_now() + child->ckpt_grace_s;
    while (child->ckpt[0] && sweep_now() < until && !sweep_abandon_requested()) {
        struct pollfd pf = {sweep_relay_fd(relay), POLLIN, 0};
        if (poll(&pf, 1, 20) > 0 && sweep_relay_serve(relay, abandon_waiting, NULL))
            break;
        int done = sweep_child_poll(child, 0, o);
        if (done < 0)
            break;
        if (done) {
            sweep_child_stopped(o);
            return;
        }
    }
    sweep_child_abandon(child, o, 0);
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
    sweep_relay relay;
    memset(&relay, 0, sizeof relay);
    while (!rc) {
        int tag = 0, n = 0;
        char *buf = NULL;
        int got = abandon_taken < 0 ? try_recv(&tag, &buf, &n) : 0;
        if (abandon_taken >= 0) { /* taken during a gradient sum: act on it now */
            got = 1, tag = SWEEP_TAG_ABANDON, n = (int)sizeof abandon_taken;
            buf = malloc(sizeof abandon_taken);
            if (buf)
                memcpy(buf, &abandon_taken, sizeof abandon_taken);
            else
                n = 0;
            abandon_taken = -1;
        }
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
            int32_t why = SWEEP_ABANDON_STOP;
            if (n >= (int)sizeof why && buf)
                memcpy(&why, buf, sizeof why);
            free(buf);
            if (child.pid) {
                sweep_outcome o;
                if (relay.on && why == SWEEP_ABANDON_STOP)
                    stop_part(&child, &relay, &o);
                else /* a one-rank run saves on its own; a part whose partner failed cannot */
                    sweep_child_abandon(&child, &o, !relay.on);
                sweep_relay_close(&relay, 0);
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
            w.ckpt_dir[sizeof w.ckpt_dir - 1] = 0;
            sweep_child_opts co = {w.max_run_seconds, w.ckpt_dir, w.ckpt_every_s, w.ckpt_grace_s, w.keep_ckpt, NULL};
            if (w.nparts > 1 ? start_part(&child, &relay, &w, &co) : sweep_child_start(&child, w.id, &w.spec, &co)) {
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
        if (child.pid && relay.on) {
            /* Wait on the child's requests: a step's gradient sum must not wait for a nap. */
            struct pollfd pf = {sweep_relay_fd(&relay), POLLIN, 0};
            if (poll(&pf, 1, 50) > 0 && (rc = sweep_relay_serve(&relay, abandon_waiting, NULL))) {
                if (rc != ZOO_ERR_INTERRUPTED)
                    break;
                rc = 0; /* rank 0's abandon message is next in the loop */
                continue;
            }
        }
        if (child.pid) {
            sweep_outcome o;
            int done = sweep_child_poll(&child, relay.on ? 0 : 50, &o);
            if (done < 0) {
                rc = done;
                break;
            }
            if (done) {
                if (relay.on && relay.part > 0)
                    sweep_outcome_free(&o); /* part 0's outcome carries the curves */
                sweep_relay_close(&relay, !o.h.signal && !o.h.timed_out && o.h.status == 0);
                rc = send_outcome(&o, mpi->rank);
                sweep_outcome_free(&o);
            }
        } else {
            nap_ms(5);
        }
    }
    if (child.pid) {
        sweep_outcome o;
        sweep_child_abandon(&child, &o, 0);
    }
    sweep_relay_close(&relay, 0);
    if (rc) {
        fprintf(stderr, "zoo sweep (rank %d on %s): %s\n", mpi->rank, sweep_host(), zoo_error_last()->msg);
        return SWEEP_EXIT_SYSTEM;
    }
    return exit_code;
}
