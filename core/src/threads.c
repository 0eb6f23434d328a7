/* threads.c: how the CPU backend uses threads: OpenMP for all parallel work, OpenBLAS
 * kept single-threaded, and the passive OpenMP wait policy for drivers. It does not
 * split work itself (gemm.c and the kernels do). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif
#include <cblas.h>

#include "gemm.h"
#include "zoo/run.h"

/* Two thread pools (OpenMP's and the pthread OpenBLAS's) on the same cores fight: each
 * pool's idle threads spin while the other works. One pool is enough, because every
 * matrix product is cut into tiles under OpenMP (gemm.c). */
void zoo_blas_single(void)
{
    if (openblas_get_num_threads() != 1)
        openblas_set_num_threads(1);
}

void zoo_set_threads(int n)
{
    zoo_blas_single();
    if (n <= 0)
        return;
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
}

void zoo_prefer_passive_wait(char **argv)
{
    if (!argv || !argv[0] || getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT"))
        return;
    if (setenv("OMP_WAIT_POLICY", "passive", 1))
        return;
    execv("/proc/self/exe", argv);
    /* exec failed (no /proc?): this process keeps the default policy; children get passive */
}
