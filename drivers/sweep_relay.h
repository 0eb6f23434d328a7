/* sweep_relay.h: the gradient sum of a multi-rank run in a sweep. A run trains in a
 * forked child of its rank (sweep_child.c), and a forked child must not call MPI, so
 * the child hands each buffer to its rank through shared memory and a socket, the rank
 * sums it with the run's other ranks (dp_ring over the run's communicator) and hands it
 * back. Driver-internal. */
#ifndef ZOO_DRIVERS_SWEEP_RELAY_H
#define ZOO_DRIVERS_SWEEP_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "mpi_dp.h"
#include "zoo/run.h"

typedef struct sweep_relay {
    int on;
    int part, nparts;   /* this rank's share of the run, of how many */
    int sock[2];        /* [0] the rank's end, [1] the child's */
    int memfd;          /* the shared buffer, sized by the child */
    float *map;         /* this process's mapping of it */
    size_t map_bytes;
    dp_ring ring;       /* over the run's communicator (the rank only) */
    zoo_reducer red;    /* the child's view */
} sweep_relay;

/* In the rank, before forking the child: the channel, and the ring over `comm` (a
 * communicator of the run's ranks, this one being `part` of `nparts`). */
int sweep_relay_open(sweep_relay *r, MPI_Comm comm, int part, int nparts);
/* In the child after the fork: the zoo_reducer for zoo_run's hooks. */
const zoo_reducer *sweep_relay_child(sweep_relay *r);
/* In the rank: the socket to poll for the child's requests. */
int sweep_relay_fd(const sweep_relay *r);
/* In the rank, when the socket is readable: sum the buffer the child handed over with
 * the other ranks and hand it back. idle(ud) is polled while transfers wait (nonzero:
 * give up with ZOO_ERR_INTERRUPTED). 0 when served or when the child has gone (its end
 * closed: the caller then reaps it). */
int sweep_relay_serve(sweep_relay *r, int (*idle)(void *ud), void *ud);
/* In the rank after the child is reaped; in the child, nothing to do. The communicator
 * is freed only when the run ended normally (a run abandoned mid-sum leaves transfers
 * that freeing would wait on). */
void sweep_relay_close(sweep_relay *r, int ended_normally);

#endif
