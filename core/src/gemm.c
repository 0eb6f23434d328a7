/* gemm.c: zoo_gemm, OpenBLAS sgemm (single-threaded) over tiles of C chosen from the
 * shape alone, run under OpenMP. It does not pick kernels or pack anything itself. */
#ifdef _OPENMP
#include <omp.h>
#endif

#include <math.h>

#include "gemm.h"

/* Below about this many multiply-adds a tile is not worth a thread. */
#define TILE_MACS (1 << 20)
#define MAX_TILES 32
#define ROW_ALIGN 16 /* tile edges on multiples of the BLAS register blocks */
#define MIN_COLS 64

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Tile height tr and width tc for C (m, n) with inner size k. Each tile packs its
 * (tr x k) and (k x tc) panels, so for a given tile count rt*ct the packing,
 * k*(ct*m + rt*n), is least with rt/ct = m/n: tiles about as tall as wide. */
static void tiles_of(int64_t m, int64_t n, int64_t k, int64_t *tr, int64_t *tc)
{
    double macs = (double)m * (double)n * (double)k;
    int64_t want = macs / TILE_MACS > MAX_TILES ? MAX_TILES : (int64_t)(macs / TILE_MACS);
    *tr = m;
    *tc = n;
    if (want < 2)
        return;
    int64_t rmax = cdiv(m, ROW_ALIGN), cmax = cdiv(n, MIN_COLS);
    int64_t rt = (int64_t)(sqrt((double)want * (double)m / (double)n) + 0.5);
    rt = rt < 1 ? 1 : min64(rt, rmax);
    int64_t ct = min64(cdiv(want, rt), cmax);
    rt = min64(cdiv(want, ct), rmax);
    int64_t r = cdiv(cdiv(m, rt), ROW_ALIGN) * ROW_ALIGN, c = cdiv(cdiv(n, ct), ROW_ALIGN) * ROW_ALIGN;
    *tr = r < m ? r : m;
    *tc = c < n ? c : n;
}

void zoo_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k, float alpha,
              const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc)
{
    if (m <= 0 || n <= 0)
        return;
    int64_t tr, tc;
    tiles_of(m, n, k, &tr, &tc);
    int64_t nr = cdiv(m, tr), nc = cdiv(n, tc), nt = nr * nc;
    int outer = 1;
#ifdef _OPENMP
    outer = !omp_in_parallel();
#endif
    if (outer)
        zoo_blas_single();
#pragma omp parallel for schedule(dynamic, 1) if (outer && nt > 1)
    for (int64_t t = 0; t < nt; t++) {
        int64_t i0 = t / nc * tr, j0 = t % nc * tc;
        int64_t mi = min64(tr, m - i0), nj = min64(tc, n - j0);
        const float *a = ta == CblasNoTrans ? A + i0 * lda : A + i0;
        const float *b = tb == CblasNoTrans ? B + j0 : B + j0 * ldb;
        cblas_sgemm(CblasRowMajor, ta, tb, (int)mi, (int)nj, (int)k, alpha, a, (int)lda, b, (int)ldb, beta,
                    C + i0 * ldc + j0, (int)ldc);
    }
}
