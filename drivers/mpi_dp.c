/* mpi_dp.c: launch detection and the deterministic ring allreduce of data-parallel
 * runs (mpi_dp.h). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "mpi_dp.h"
#include "zoo/error.h"

int dp_launched_by_mpi(void)
{
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

/* Wait for both transfers of one ring step, polling the idle hook when there is one. */
static int wait2(dp_ring *r, MPI_Request *rq)
{
    if (!r->idle)
        return MPI_Waitall(2, rq, MPI_STATUSES_IGNORE) == MPI_SUCCESS
                   ? 0
                   : ZOO_FAIL(ZOO_ERR_MPI, "a gradient transfer between ranks failed");
    for (;;) {
        int done = 0;
        if (MPI_Testall(2, rq, &done, MPI_STATUSES_IGNORE) != MPI_SUCCESS)
            return ZOO_FAIL(ZOO_ERR_MPI, "a gradient transfer between ranks failed");
        if (done)
            return 0;
        if (r->idle(r->idle_ud)) {
            for (int i = 0; i < 2; i++)
                if (rq[i] != MPI_REQUEST_NULL) {
                    MPI_Cancel(&rq[i]);
                    MPI_Request_free(&rq[i]);
                }
            return ZOO_FAIL(ZOO_ERR_INTERRUPTED, "the gradient sum was abandoned");
        }
    }
}

static int64_t chunk_lo(int64_t n, int P, int c) { return n * c / P; }

int dp_ring_allreduce(dp_ring *r, float *buf, int64_t n)
{
    const int P = r->size, me = r->rank;
    if (P <= 1 || n <= 0)
        return 0;
    int64_t need = n / P + 1;
    if (need > r->tmp_cap) {
        float *t = realloc(r->tmp, (size_t)need * sizeof *t);
        if (!t)
            return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory for %lld floats of gradient scratch", (long long)need);
        r->tmp = t;
        r->tmp_cap = need;
    }
    const int right = (me + 1) % P, left = (me + P - 1) % P;
    /* Reduce-scatter: at step s rank me sends its partial sum of chunk me-s and adds the
     * one of chunk me-s-1 coming from the left; after P-1 steps it holds chunk me+1 whole. */
    for (int s = 0; s < P - 1; s++) {
        int cs = ((me - s) % P + P) % P, cr = ((me - s - 1) % P + P) % P;
        int64_t slo = chunk_lo(n, P, cs), sn = chunk_lo(n, P, cs + 1) - slo;
        int64_t rlo = chunk_lo(n, P, cr), rn = chunk_lo(n, P, cr + 1) - rlo;
        MPI_Request rq[2];
        if (MPI_Irecv(r->tmp, (int)rn, MPI_FLOAT, left, 1 + s, r->comm, &rq[0]) != MPI_SUCCESS ||
            MPI_Isend(buf + slo, (int)sn, MPI_FLOAT, right, 1 + s, r->comm, &rq[1]) != MPI_SUCCESS)
            return ZOO_FAIL(ZOO_ERR_MPI, "starting a gradient transfer between ranks failed");
        int rc = wait2(r, rq);
        if (rc)
            return rc;
        float *dst = buf + rlo;
        for (int64_t i = 0; i < rn; i++)
            dst[i] = r->tmp[i] + dst[i]; /* the partial sum so far, then this rank's own */
    }
    /* Allgather: pass the finished chunks around the ring. */
    for (int s = 0; s < P - 1; s++) {
        int cs = ((me + 1 - s) % P + P) % P, cr = ((me - s) % P + P) % P;
        int64_t slo = chunk_lo(n, P, cs), sn = chunk_lo(n, P, cs + 1) - slo;
        int64_t rlo = chunk_lo(n, P, cr), rn = chunk_lo(n, P, cr + 1) - rlo;
        MPI_Request rq[2];
        if (MPI_Irecv(buf + rlo, (int)rn, MPI_FLOAT, left, P + s, r->comm, &rq[0]) != MPI_SUCCESS ||
            MPI_Isend(buf + slo, (int)sn, MPI_FLOAT, right, P + s, r->comm, &rq[1]) != MPI_SUCCESS)
            return ZOO_FAIL(ZOO_ERR_MPI, "starting a gradient transfer between ranks failed");
        int rc = wait2(r, rq);
        if (rc)
            return rc;
    }
    return 0;
}

int dp_ring_reduce_cb(float *buf, int64_t n, void *ud) { return dp_ring_allreduce((dp_ring *)ud, buf, n); }

void dp_ring_free(dp_ring *r)
{
    if (r) {
        free(r->tmp);
        r->tmp = NULL;
        r->tmp_cap = 0;
    }
}
