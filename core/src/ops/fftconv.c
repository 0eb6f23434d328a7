/* fftconv.c: causal long convolution per channel (docs/mixers.md) with an optional
 * per-channel skip, by FFTW3 (pad to 2L, keep the first L) or directly in O(L^2) for short
 * sequences. Filters are given, not generated: implicit filters are composed by the mixers. */
#include <fftw3.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../backends/cuda/slot.h"
#include "../internal.h"
#include "fftconv.h"
#include "slots.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Measured with bench/bench_fftconv.c (forward + backward, B*L = 8192 tokens, shared
 * 2-core machine; table in bench/README.md): the direct sum wins up to L = 48 (1 and 2
 * threads; L = 32 ties at 2 threads), the FFT wins from L = 64 on at D = 64 and 256
 * (64: 6.4 vs 13.2 ms at D = 64, 36 vs 60 ms at D = 256, one thread). Was 64, from an
 * earlier 2048-token run that had the two tie at L = 64. */
#define CROSSOVER_L 48
/* The same choice on the CUDA backend (backends/cuda/fftconv.cu: batched cuFFT against
 * one thread per output in O(L^2)). For now the CPU's value: it must be re-measured on
 * a GPU (bench/bench_fftconv.c on backend cuda) and set here. */
#define CUDA_CROSSOVER_L 48

/* ---- FFTW plans: one r2c and one c2r per length, made once per process ------------------
 * FFTW's planner is not thread safe, so plans are made under a lock at planning and
 * never freed; kernels run them with the new-array interface (thread safe). Out of place,
 * because FFTW's in-place real transforms may allocate a buffer on every execution.
 * FFTW_ESTIMATE keeps the algorithm, hence the rounding, the same from run to run. */
#define MAX_PLANS 64
static pthread_mutex_t plan_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int n;
    fftwf_plan r2c, c2r;
} plans[MAX_PLANS];
static int n_plans;

static int plan_get(int n)
{
    int idx = -1;
    pthread_mutex_lock(&plan_lock);
    for (int i = 0; i < n_plans; i++)
        if (plans[i].n == n)
            idx = i;
    if (idx < 0 && n_plans < MAX_PLANS) {
        float *re = fftwf_malloc(sizeof(float) * (size_t)n), *cx = fftwf_malloc(sizeof(float) * (size_t)(n + 2));
        if (re && cx) {
            fftwf_plan f = fftwf_plan_dft_r2c_1d(n, re, (fftwf_complex *)cx, FFTW_ESTIMATE);
            fftwf_plan b = fftwf_plan_dft_c2r_1d(n, (fftwf_complex *)cx, re, FFTW_ESTIMATE);
            if (f && b) {
                plans[n_plans].n = n;
                plans[n_plans].r2c = f;
                plans[n_plans].c2r = b;
                idx = n_plans++;
            }
        }
        fftwf_free(re);
        fftwf_free(cx);
    }
    pthread_mutex_unlock(&plan_lock);
    return idx;
}

int64_t zoo_fftconv_crossover(void) { return CROSSOVER_L; }

/* complex (a+ib) * (c+id), or a * conj(b) with conj = 1 */
static inline void cmul(float *o, const float *a, const float *b, int64_t nc, int conj)
{
    float s = conj ? -1.0f : 1.0f;
    for (int64_t i = 0; i < nc; i++) {
        float ar = a[2 * i], ai = a[2 * i + 1], br = b[2 * i], bi = s * b[2 * i + 1];
        o[2 * i] = ar * br - ai * bi;
        o[2 * i + 1] = ar * bi + ai * br;
    }
}

/* ---- FFT path ------------------------------------------------------------------------
 * aux: U spectra (B*D slots), K spectra scaled by 1/(2L) (G slots), then WORK slots per
 * thread; a slot is 2L+2 floats rounded up to 16 (64-byte aligned, as FFTW's plans need).
 * Channels go in tiles of TILE so that gathering a channel-last sequence reads whole
 * cache lines. A thread's real input slots are zero past L once; only [0, L) is written. */
#define TILE 16
#define WORK (3 * TILE + 2)

static void fft_fwd(zoo_tensor *t)
{
    zoo_tensor *U = t->src[0], *Kt = t->src[1], *S = t->nsrc > 2 ? t->src[2] : NULL;
    int64_t B = U->shape[0], L = U->shape[1], D = U->shape[2], G = t->ip[IP_G], r = D / G;
    int64_t st = t->ip[IP_STRIDE], nc = L + 1, ntile = (D + TILE - 1) / TILE;
    fftwf_plan pf = plans[t->ip[IP_PLAN]].r2c, pb = plans[t->ip[IP_PLAN]].c2r;
    float *us = t->aux, *ks = us + B * D * st, *work = ks + G * st;
    const float *u = U->data, *k = Kt->data; /* u: (B, L, D); k: (G, L) */
    float *y = t->data;                      /* y: (B, L, D) */
    float inv = 1.0f / (float)(2 * L);
#pragma omp parallel num_threads(zoo_slot_threads(t->ip[IP_SLOTS]))
    {
        float *rin = work + (int64_t)zoo_slot_id() * WORK * st; /* rin: TILE slots, then rout: TILE, cb: 1 */
        float *rout = rin + TILE * st, *cb = rout + TILE * st;
        for (int cc = 0; cc < TILE; cc++)
            memset(rin + cc * st + L, 0, (size_t)L * sizeof *rin);
#pragma omp for schedule(static)
        for (int64_t gi = 0; gi < G; gi++) {
            float *s = ks + gi * st;
            memcpy(rin, k + gi * L, (size_t)L * sizeof *rin);
            fftwf_execute_dft_r2c(pf, rin, (fftwf_complex *)s);
            for (int64_t i = 0; i < 2 * nc; i++)
                s[i] *= inv;
        }
#pragma omp for schedule(static)
        for (int64_t bt = 0; bt < B * ntile; bt++) {
            int64_t b = bt / ntile, c0 = (bt % ntile) * TILE, nch = D - c0 < TILE ? D - c0 : TILE;
            const float *ub = u + b * L * D + c0;
            float *yb = y + b * L * D + c0;
            for (int64_t i = 0; i < L; i++)
                for (int64_t cc = 0; cc < nch; cc++)
                    rin[cc * st + i] = ub[i * D + cc];
            for (int64_t cc = 0; cc < nch; cc++) {
                float *s = us + (b * D + c0 + cc) * st;
                fftwf_execute_dft_r2c(pf, rin + cc * st, (fftwf_complex *)s);
                cmul(cb, s, ks + ((c0 + cc) / r) * st, nc, 0);
                fftwf_execute_dft_c2r(pb, (fftwf_complex *)cb, rout + cc * st);
            }
            float skc[TILE];
            for (int64_t cc = 0; cc < nch; cc++)
                skc[cc] = S ? S->data[(c0 + cc) / r] : 0.0f;
            for (int64_t i = 0; i < L; i++)
                for (int64_t cc = 0; cc < nch; cc++)
                    yb[i * D + cc] = rout[cc * st + i] + skc[cc] * rin[cc * st + i];
        }
    }
}

/* du = dy correlated with k: ifft(DY conj(K)); dk = sum_b dy correlated with u:
 * ifft(sum_b DY conj(U)) / 2L; both keep the first L. A task owns whole filter groups
 * (about TILE channels) and sums their channels and batch in a fixed order, so the
 * result does not depend on the thread count. */
static void fft_bwd(zoo_tensor *t)
{
    zoo_tensor *U = t->src[0], *Kt = t->src[1], *S = t->nsrc > 2 ? t->src[2] : NULL;
    int64_t B = U->shape[0], L = U->shape[1], D = U->shape[2], G = t->ip[IP_G], r = D / G;
    int64_t st = t->ip[IP_STRIDE], nc = L + 1, gpt = r >= TILE ? 1 : TILE / r, ntask = (G + gpt - 1) / gpt;
    fftwf_plan pf = plans[t->ip[IP_PLAN]].r2c, pb = plans[t->ip[IP_PLAN]].c2r;
    const float *us = t->aux, *ks = us + B * D * st;
    float *work = t->aux + (B * D + G) * st;
    const float *u = U->data, *dy = t->grad; /* u, dy: (B, L, D) */
    float *du = U->grad, *dk = Kt->grad, *ds = S ? S->grad : NULL;
    float inv = 1.0f / (float)(2 * L);
#pragma omp parallel num_threads(zoo_slot_threads(t->ip[IP_SLOTS]))
    {
        float *rin = work + (int64_t)zoo_slot_id() * WORK * st; /* rin, rout: TILE slots; cdy, cb: 1; acc: TILE */
        float *rout = rin + TILE * st, *cdy = rout + TILE * st, *cb = cdy + st, *acc = cb + st;
        for (int cc = 0; cc < TILE; cc++)
            memset(rin + cc * st + L, 0, (size_t)L * sizeof *rin);
#pragma omp for schedule(static)
        for (int64_t task = 0; task < ntask; task++) {
            int64_t g0 = task * gpt, g1 = g0 + gpt < G ? g0 + gpt : G;
            float dsg[TILE] = {0}; /* skip gradient per group of the task */
            if (dk)
                for (int64_t gl = 0; gl < g1 - g0; gl++)
                    memset(acc + gl * st, 0, (size_t)(2 * nc) * sizeof *acc);
            for (int64_t cs = g0 * r; cs < g1 * r; cs += TILE) {
                int64_t nch = g1 * r - cs < TILE ? g1 * r - cs : TILE;
                float dsc[TILE] = {0}, skc[TILE];
                for (int64_t cc = 0; cc < nch; cc++)
                    skc[cc] = S ? S->data[(cs + cc) / r] : 0.0f;
                for (int64_t b = 0; b < B; b++) {
                    const float *dyb = dy + b * L * D + cs, *ub = u + b * L * D + cs;
                    for (int64_t i = 0; i < L; i++)
                        for (int64_t cc = 0; cc < nch; cc++)
                            rin[cc * st + i] = dyb[i * D + cc];
                    if (ds)
                        for (int64_t i = 0; i < L; i++)
                            for (int64_t cc = 0; cc < nch; cc++)
                                dsc[cc] += dyb[i * D + cc] * ub[i * D + cc];
                    if (!du && !dk)
                        continue;
                    for (int64_t cc = 0; cc < nch; cc++) {
                        int64_t gi = (cs + cc) / r;
                        fftwf_execute_dft_r2c(pf, rin + cc * st, (fftwf_complex *)cdy);
                        if (du) {
                            cmul(cb, cdy, ks + gi * st, nc, 1);
                            fftwf_execute_dft_c2r(pb, (fftwf_complex *)cb, rout + cc * st);
                        }
                        if (dk) {
                            const float *s = us + (b * D + cs + cc) * st;
                            float *a = acc + (gi - g0) * st;
                            for (int64_t i = 0; i < nc; i++) {
                                float ar = cdy[2 * i], ai = cdy[2 * i + 1], br = s[2 * i], bi = -s[2 * i + 1];
                                a[2 * i] += ar * br - ai * bi;
                                a[2 * i + 1] += ar * bi + ai * br;
                            }
                        }
                    }
                    if (du) {
                        float *dub = du + b * L * D + cs;
                        for (int64_t i = 0; i < L; i++)
                            for (int64_t cc = 0; cc < nch; cc++)
                                dub[i * D + cc] += rout[cc * st + i] + skc[cc] * rin[cc * st + i];
                    }
                }
                for (int64_t cc = 0; cc < nch; cc++)
                    dsg[(cs + cc) / r - g0] += dsc[cc];
            }
            for (int64_t gi = g0; gi < g1; gi++) {
                if (dk) {
                    fftwf_execute_dft_c2r(pb, (fftwf_complex *)(acc + (gi - g0) * st), rout);
                    for (int64_t i = 0; i < L; i++)
                        dk[gi * L + i] += rout[i] * inv;
                }
                if (ds)
                    ds[gi] += dsg[gi - g0];
            }
        }
    }
}

/* ---- direct path ---------------------------------------------------------------------
 * aux: kx (L, D), the filter expanded to channels and transposed so the inner loops run
 * over contiguous channels; then dkx (L, D) for the filter gradient. */
static void direct_fwd(zoo_tensor *t)
{
    zoo_tensor *U = t->src[0], *Kt = t->src[1], *S = t->nsrc > 2 ? t->src[2] : NULL;
    int64_t B = U->shape[0], L = U->shape[1], D = U->shape[2], G = t->ip[IP_G], r = D / G;
    float *kx = t->aux; /* kx: (L, D) */
    const float *u = U->data;
    float *y = t->data;
    for (int64_t s = 0; s < L; s++)
#pragma omp simd
        for (int64_t c = 0; c < D; c++)
            kx[s * D + c] = Kt->data[(c / r) * L + s];
#pragma omp parallel for schedule(dynamic, 4)
    for (int64_t bt = 0; bt < B * L; bt++) {
        int64_t tt = bt % L;
        float *yr = y + bt * D;
        const float *ur = u + bt * D;
        if (S)
#pragma omp simd
            for (int64_t c = 0; c < D; c++)
                yr[c] = S->data[c / r] * ur[c];
        else
            memset(yr, 0, (size_t)D * sizeof *yr);
        for (int64_t s = 0; s <= tt; s++) {
            const float *ks = kx + s * D, *us = ur - s * D;
#pragma omp simd
            for (int64_t c = 0; c < D; c++)
                yr[c] += ks[c] * us[c];
        }
    }
}

static void direct_bwd(zoo_tensor *t)
{
    zoo_tensor *U = t->src[0], *Kt = t->src[1], *S = t->nsrc > 2 ? t->src[2] : NULL;
    int64_t B = U->shape[0], L = U->shape[1], D = U->shape[2], G = t->ip[IP_G], r = D / G;
    const float *kx = t->aux, *u = U->data, *dy = t->grad; /* kx: (L, D); u, dy: (B, L, D) */
    float *dkx = t->aux + L * D;                            /* dkx: (L, D) */
    if (U->grad) {
        float *du = U->grad; /* du[b,t,c] += sum_{t'>=t} dy[b,t',c] k[c,t'-t] (+ skip dy) */
#pragma omp parallel for schedule(dynamic, 4)
        for (int64_t bt = 0; bt < B * L; bt++) {
            int64_t tt = bt % L;
            float *dr = du + bt * D;
            const float *dyr = dy + bt * D;
            if (S)
#pragma omp simd
                for (int64_t c = 0; c < D; c++)
                    dr[c] += S->data[c / r] * dyr[c];
            for (int64_t s = 0; s < L - tt; s++) {
                const float *ks = kx + s * D, *ds = dyr + s * D;
#pragma omp simd
                for (int64_t c = 0; c < D; c++)
                    dr[c] += ks[c] * ds[c];
            }
        }
    }
    if (Kt->grad) { /* dk[c,s] = sum_b sum_{t>=s} dy[b,t,c] u[b,t-s,c]: one task per lag s */
#pragma omp parallel for schedule(dynamic, 1)
        for (int64_t s = 0; s < L; s++) {
            float *acc = dkx + s * D;
            memset(acc, 0, (size_t)D * sizeof *acc);
            for (int64_t b = 0; b < B; b++)
                for (int64_t tt = s; tt < L; tt++) {
                    const float *dyr = dy + (b * L + tt) * D, *ur = u + (b * L + tt - s) * D;
#pragma omp simd
                    for (int64_t c = 0; c < D; c++)
                        acc[c] += dyr[c] * ur[c];
                }
        }
#pragma omp parallel for schedule(static)
        for (int64_t gi = 0; gi < G; gi++)
            for (int64_t s = 0; s < L; s++) {
                float a = 0;
                for (int64_t c = gi * r; c < (gi + 1) * r; c++)
                    a += dkx[s * D + c];
                Kt->grad[gi * L + s] += a;
            }
    }
    if (S && S->grad) {
#pragma omp parallel for schedule(static)
        for (int64_t gi = 0; gi < G; gi++) {
            float a = 0;
            for (int64_t bt = 0; bt < B * L; bt++)
                for (int64_t c = gi * r; c < (gi + 1) * r; c++)
                    a += dy[bt * D + c] * u[bt * D + c];
            S->grad[gi] += a;
        }
    }
}

static int fftconv_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    if (t->ip[IP_PATH] == ZOO_CONV_FFT)
        fft_fwd(t);
    else
        direct_fwd(t);
    return 0;
}

static int fftconv_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    if (t->ip[IP_PATH] == ZOO_CONV_FFT)
        fft_bwd(t);
    else
        direct_bwd(t);
    return 0;
}

/* FFTW plans (made here, at planning, once per length and process) and the workspace
 * of the CPU kernels, one work slot per thread. */
static int fftconv_prepare_cpu(zoo_exec *ex, zoo_tensor *t)
{
    int64_t B = t->shape[0], L = t->shape[1], D = t->shape[2], G = t->ip[IP_G];
    if (t->ip[IP_PATH] != ZOO_CONV_FFT) {
        t->aux_n = 2 * L * D;
        return 0;
    }
    int plan = plan_get((int)(2 * L));
    if (plan < 0)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "cannot make an FFTW plan of length %lld", (long long)(2 * L));
    int64_t slots = ex->threads > 0 ? ex->threads : 1, stride = (2 * L + 2 + 15) / 16 * 16;
    t->ip[IP_PLAN] = plan;
    t->ip[IP_SLOTS] = slots;
    t->ip[IP_STRIDE] = stride;
    t->aux_n = (B * D + G + WORK * slots) * stride;
    return 0;
}

ZOO_CUDA_DECLARE(fftconv)
const zoo_op_def zoo_op_fftconv = {
    "fftconv", {[ZOO_BACKEND_CPU] = {fftconv_prepare_cpu, fftconv_fwd_cpu, fftconv_bwd_cpu} ZOO_CUDA_SLOT(fftconv)}, 0};

zoo_tensor *zoo_fftconv_path(zoo_graph *g, zoo_tensor *u, zoo_tensor *k, zoo_tensor *skip, zoo_conv_path path)
{
    zoo_tensor *src[3] = {u, k, skip};
    int nsrc = skip ? 3 : 2;
    if (!g || g->status || !u || !k)
        return zoo_node_new(g, &zoo_op_fftconv, 1, (int64_t[]){1}, src, nsrc);
    char s1[64], s2[64];
    if (u->dtype != ZOO_F32 || u->ndim != 3)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "fftconv: input %s must be f32 (B, L, D)", zoo_shape_str(u, s1, 64));
    int64_t L = u->shape[1], D = u->shape[2];
    if (k->ndim != 2 || k->shape[1] != L || k->shape[0] < 1 || D % k->shape[0] != 0)
        return zoo_node_fail(g, ZOO_ERR_SHAPE,
                             "fftconv: filter %s does not fit input %s (need (G, %lld) with G dividing %lld)",
                             zoo_shape_str(k, s1, 64), zoo_shape_str(u, s2, 64), (long long)L, (long long)D);
    int64_t G = k->shape[0];
    if (skip && (skip->ndim != 1 || skip->shape[0] != G))
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "fftconv: skip %s does not fit filter %s (need (%lld,))",
                             zoo_shape_str(skip, s1, 64), zoo_shape_str(k, s2, 64), (long long)G);
    if (path != ZOO_CONV_FFT && path != ZOO_CONV_DIRECT) {
        const char *env = getenv("ZOO_FFTCONV");
        if (env && !strcmp(env, "fft"))
            path = ZOO_CONV_FFT;
        else if (env && !strcmp(env, "direct"))
            path = ZOO_CONV_DIRECT;
        else {
            int64_t cross = g->backend == ZOO_BACKEND_CUDA ? CUDA_CROSSOVER_L : CROSSOVER_L;
            path = L <= cross ? ZOO_CONV_DIRECT : ZOO_CONV_FFT;
        }
    }
    if (path == ZOO_CONV_FFT && 2 * L > 1 << 30)
        return zoo_node_fail(g, ZOO_ERR_UNSUPPORTED, "fftconv: sequence length %lld is too long", (long long)L);
    zoo_tensor *t = zoo_node_new(g, &zoo_op_fftconv, 3, u->shape, src, nsrc);
    if (!t)
        return NULL;
    t->ip[IP_PATH] = path;
    t->ip[IP_G] = G;
    t->ip[IP_PLAN] = -1;
    return t;
}

zoo_tensor *zoo_fftconv(zoo_graph *g, zoo_tensor *u, zoo_tensor *k, zoo_tensor *skip)
{
    return zoo_fftconv_path(g, u, k, skip, ZOO_CONV_AUTO);
}
