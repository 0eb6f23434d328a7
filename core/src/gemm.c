/* gemm.c: zoo_gemm, OpenBLAS sgemm (single-threaded) over tiles of C chosen from the
 * shape alone, run under OpenMP; products with a long inner size and a small C are
 * split along k instead, into a caller-provided workspace. It packs nothing itself. */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "gemm.h"

/* Below about this many multiply-adds a task is not worth a thread. */
#define TASK_MACS (1 << 20)
#define MAX_TASKS 32
/* Tiles below this edge make OpenBLAS re-pack the long operand once per tile and lose
 * a third of its speed when k is large (measured: 768x256 tiles of 96x64 with
 * k = 16384 ran at 50 GFLOP/s against 85 for the whole product). */
#define MIN_EDGE 128
#define MIN_KCHUNK 1024 /* k per chunk of a k split */
#define MAX_KSPLIT 8

typedef struct gplan {
    int64_t tr, tc; /* tile of C */
    int64_t nk, kc; /* k chunks and their length (nk == 1: no split) */
} gplan;

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* How to cut a product, from the shape (and can_split) alone, never the thread count.
 * When k is long next to both edges of C, k is split: each chunk is one sgemm over all
 * of C, so every operand is packed once in all, as by a single call. Otherwise C is
 * tiled: for a tile count rt*ct the packing, k*(ct*m + rt*n), is least with
 * rt/ct = m/n (tiles about as tall as wide), and no edge goes below MIN_EDGE. */
static gplan plan_of(int64_t m, int64_t n, int64_t k, int can_split)
{
    gplan p = {m, n, 1, k};
    double macs = (double)m * (double)n * (double)k;
    int64_t want = macs / TASK_MACS > MAX_TASKS ? MAX_TASKS : (int64_t)(macs / TASK_MACS);
    if (want < 2)
        return p;
    if (can_split && k >= 4 * max64(m, n) && k >= 2 * MIN_KCHUNK) {
        p.nk = min64(min64(MAX_KSPLIT, k / MIN_KCHUNK), want);
        p.kc = cdiv(k, p.nk);
        p.nk = cdiv(k, p.kc);
        return p;
    }
    int64_t rmax = max64(1, m / MIN_EDGE), cmax = max64(1, n / MIN_EDGE);
    int64_t rt = (int64_t)(sqrt((double)want * (double)m / (double)n) + 0.5);
    rt = rt < 1 ? 1 : min64(rt, rmax);
    int64_t ct = min64(cdiv(want, rt), cmax);
    rt = min64(cdiv(want, ct), rmax);
    p.tr = rt > 1 ? min64(cdiv(cdiv(m, rt), 16) * 16, m) : m;
    p.tc = ct > 1 ? min64(cdiv(cdiv(n, ct), 16) * 16, n) : n;
    return p;
}

int64_t zoo_gemm_ws_floats(int64_t m, int64_t n, int64_t k)
{
    gplan p = plan_of(m, n, k, 1);
    return (p.nk - 1) * m * n;
}

void zoo_gemm_ws(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k, float alpha,
                 const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc,
                 float *ws)
{
    if (m <= 0 || n <= 0)
        return;
    gplan p = plan_of(m, n, k, ws != NULL);
    int64_t nr = cdiv(m, p.tr), nc = cdiv(n, p.tc), nt = nr * nc * p.nk;
    int outer = 1;
#ifdef _OPENMP
    outer = !omp_in_parallel();
#endif
    if (outer)
        zoo_blas_single();
    /* chunk 0 goes into C with beta; chunks 1.. into ws as dense (m, n) slices, added
     * to C below in chunk order */
#pragma omp parallel if (outer && nt > 1)
    {
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < nt; t++) {
            int64_t kk = t / (nr * nc), tile = t % (nr * nc);
            int64_t i0 = tile / nc * p.tr, j0 = tile % nc * p.tc, l0 = kk * p.kc;
            int64_t mi = min64(p.tr, m - i0), nj = min64(p.tc, n - j0), kl = min64(p.kc, k - l0);
            const float *a = ta == CblasNoTrans ? A + i0 * lda + l0 : A + l0 * lda + i0;
            const float *b = tb == CblasNoTrans ? B + l0 * ldb + j0 : B + j0 * ldb + l0;
            float *c = kk ? ws + (kk - 1) * m * n + i0 * n + j0 : C + i0 * ldc + j0;
            cblas_sgemm(CblasRowMajor, ta, tb, (int)mi, (int)nj, (int)kl, alpha, a, (int)lda, b, (int)ldb,
                        kk ? 0.0f : beta, c, (int)(kk ? n : ldc));
        }
        if (p.nk > 1) {
#pragma omp for schedule(static)
            for (int64_t i = 0; i < m; i++) {
                float *c = C + i * ldc;
                for (int64_t kk = 1; kk < p.nk; kk++) {
                    const float *w = ws + (kk - 1) * m * n + i * n;
                    for (int64_t j = 0; j < n; j++)
                        c[j] += w[j];
                }
            }
        }
    }
}

void zoo_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k, float alpha,
              const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc)
{
    zoo_gemm_ws(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, NULL);
}
