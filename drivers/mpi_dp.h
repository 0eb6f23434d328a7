/* mpi_dp.h: MPI for runs trained by several processes (docs/training.md, data
 * parallel): whether a launcher started us, and the gradient sum. Driver-internal. */
#ifndef ZOO_DRIVERS_MPI_DP_H
#define ZOO_DRIVERS_MPI_DP_H

#include <mpi.h>
#include <stdint.h>

#include "zoo/run.h"

/* Started by mpirun/srun (its environment variables are set)? Without a launcher the
 * commands run as one process and never touch MPI. */
int dp_launched_by_mpi(void);

/* A ring allreduce over a communicator, usable as a zoo_reducer. */
typedef struct dp_ring {
    MPI_Comm comm;
    int rank, size;
    float *tmp;      /* one chunk of scratch, kept between calls */
    int64_t tmp_cap;
    /* Called while a transfer waits (NULL: block in MPI); nonzero abandons the sum with
     * ZOO_ERR_INTERRUPTED (a sweep worker told to drop its run). */
    int (*idle)(void *ud);
    void *idle_ud;
} dp_ring;

/* Sum buf[0..n) over the ring's communicator in place: a reduce-scatter then an
 * allgather around the ring, each moving 2 (size-1)/size of the buffer per rank. Chunk c
 * is summed in the fixed order c, c+1, ..., so every rank gets the same bits and a run
 * repeats exactly for a given size. */
int dp_ring_allreduce(dp_ring *r, float *buf, int64_t n);
/* The zoo_reducer view: ud is a dp_ring. */
int dp_ring_reduce_cb(float *buf, int64_t n, void *ud);
void dp_ring_free(dp_ring *r);

#endif
