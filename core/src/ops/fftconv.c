/* fftconv.c: causal long convolution per channel (ZOOLOGY.md §3.0) with an optional
 * per-channel skip, by FFTW3 (pad to 2L, keep the first L) or directly in O(L^2) for short
 * sequences. Filters are given, not generated: implicit filters are composed by the mixers. */
#include <fftw3.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../internal.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Measured on the development machine (bench/, tokens/s of forward+backward at D=64..256):
 * the direct sum wins up to L = 32 and the FFT from L = 64 on. */
#define CROSSOVER_L 48

/* ip[] slots of a node */
enum { IP_PATH = 0, IP_G, IP_PLAN, IP_SLOTS, IP_STRIDE };

/* ---- FFTW plans: one r2c and one c2r per length, made once per process ------------------
 * FFTW's planner is not thread safe, so plans are made under a lock in the builder and
 * never freed; kernels run them with the new-array interface (thread safe). FFTW_ESTIMATE
 * keeps the algorithm, hence the rounding, the same from run to run. */
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
        float *buf = fftwf_malloc(sizeof(float) * (size_t)(n + 2)); /* in place: n/2+1 complex */
        if (buf) {
            fftwf_plan f = fftwf_plan_dft_r2c_1d(n, buf, (fftwf_complex *)buf, FFTW_ESTIMATE);
            fftwf_plan b = fftwf_plan_dft_c2r_1d(n, (fftwf_complex *)buf, buf, FFTW_ESTIMATE);
            if (f && b) {
                plans[n_plans].n = n;
                plans[n_plans].r2c = f;
                plans[n_plans].c2r = b;
                idx = n_plans++;
            }
            fftwf_free(buf);
        }
    }
    pthread_mutex_unlock(&plan_lock);
    return idx;
}

int64_t zoo_fftconv_crossover(void) { return CROSSOVER_L; }

/* Threads to use for a region that indexes `slots` per-thread work buffers. */
static int nthreads(int64_t slots)
{
#ifdef _OPENMP
    int n = omp_get_max_threads();
    return n < slots ? n : (int)slots;
#else
    (void)slots;
    return 1;
#endif
}

static int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

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
 * aux: U spectra (B*D slots), K spectra scaled by 1/(2L) (G slots), then 3 work slots per
 * thread; a slot is 2L+2 floats rounded up to 16 (64-byte aligned, as FFTW's plans need). */
static void fft_fwd(zoo_tensor *t)
{
    zoo_tensor *U = t->src[0], *Kt = t->src[1], *S = t->nsrc > 2 ? t->src[2] : NULL;
    int64_t B = U->shape[0], L = U->shape[1], D = U->shape[2], G = t->ip[IP_G], r = D / G;
    int64_t st = t->ip[IP_STRIDE], nc = L + 1;
    fftwf_plan pf = plans[t->ip[IP_PLAN]].r2c, pb = plans[t->ip[IP_PLAN]].c2r;
    float *us = t->aux, *ks = us + B * D * st, *work = ks + G * st;
    const float *u = U->data, *k = Kt->data; /* u: (B, L, D); k: (G, L) */
    float *y = t->data;                      /* y: (B, L, D) */
    float inv = 1.0f / (float)(2 * L);
#pragma omp parallel for schedule(static)
    for (int64_t gi = 0; gi < G; gi++) {
        float *s = ks + gi * st;
        memcpy(s, k + gi * L, (size_t)L * sizeof *s);
        memset(s + L, 0, (size_t)(st - L) * sizeof *s);
        fftwf_execute_dft_r2c(pf, s, (fftwf_complex *)s);
        for (int64_t i = 0; i < 2 * nc; i++)
            s[i] *= inv;
    }
#pragma omp parallel num_threads(nthreads(t->ip[IP_SLOTS]))
    {
        float *w = work + (int64_t)thread_id() * 3 * st;
#pragma omp for schedule(static)
        for (int64_t bc = 0; bc < B * D; bc++) {
            int64_t b = bc / D, c = bc % D;
            float *s = us + bc * st;
            const float *ub = u + b * L * D + c;
            for (int64_t i = 0; i < L; i++)
                s[i] = ub[i * D];
            memset(s + L, 0, (size_t)(st - L) * sizeof *s);
            fftwf_execute_dft_r2c(pf, s, (fftwf_complex *)s);
            cmul(w, s, ks + (c / r) * st, nc, 0);
            fftwf_execute_dft_c2r(pb, (fftwf_complex *)w, w);
            float sk = S ? S->data[c / r] : 0.0f;
            float *yb = y + b * L * D + c;
            for (int64_t i = 0; i < L; i++)
                yb[i * D] = w[i] + sk * ub[i * D];
        }
    }
}

/* du = dy correlated with k: ifft(DY conj(K)); dk = sum_b dy correlated with u:
 * ifft(sum_b DY conj(U)) / 2L; both keep the first L. One task per filter group sums its
 * channels and batch in order, so the result does not depend on the thread count. */
static void fft_bwd(zoo_tensor *t)
{
    zoo_tensor *U = t->src[0], *Kt = t->src[1], *S = t->nsrc > 2 ? t->src[2] : NULL;
    int64_t B = U->shape[0], L = U->shape[1], D = U->shape[2], G = t->ip[IP_G], r = D / G;
    int64_t st = t->ip[IP_STRIDE], nc = L + 1;
    fftwf_plan pf = plans[t->ip[IP_PLAN]].r2c, pb = plans[t->ip[IP_PLAN]].c2r;
    float *us = t->aux, *ks = us + B * D * st, *work = ks + G * st;
    const float *u = U->data, *dy = t->grad; /* u, dy: (B, L, D) */
    float *du = U->grad, *dk = Kt->grad, *ds = S ? S->grad : NULL;
    float inv = 1.0f / (float)(2 * L);
#pragma omp parallel num_threads(nthreads(t->ip[IP_SLOTS]))
    {
        float *wd = work + (int64_t)thread_id() * 3 * st, *wp = wd + st, *acc = wp + st;
#pragma omp for schedule(static)
        for (int64_t gi = 0; gi < G; gi++) {
            float sk = S ? S->data[gi] : 0.0f, dsk = 0.0f;
            if (dk)
                memset(acc, 0, (size_t)(2 * nc) * sizeof *acc);
            for (int64_t c = gi * r; c < (gi + 1) * r; c++)
                for (int64_t b = 0; b < B; b++) {
                    const float *dyb = dy + b * L * D + c, *ub = u + b * L * D + c;
                    if (ds)
                        for (int64_t i = 0; i < L; i++)
                            dsk += dyb[i * D] * ub[i * D];
                    if (!du && !dk)
                        continue;
                    for (int64_t i = 0; i < L; i++)
                        wd[i] = dyb[i * D];
                    memset(wd + L, 0, (size_t)(st - L) * sizeof *wd);
                    fftwf_execute_dft_r2c(pf, wd, (fftwf_complex *)wd);
                    if (du) {
                        cmul(wp, wd, ks + gi * st, nc, 1);
                        fftwf_execute_dft_c2r(pb, (fftwf_complex *)wp, wp);
                        float *dub = du + b * L * D + c;
                        for (int64_t i = 0; i < L; i++)
                            dub[i * D] += wp[i] + sk * dyb[i * D];
                    }
                    if (dk) {
                        const float *s = us + (b * D + c) * st;
                        for (int64_t i = 0; i < nc; i++) {
                            float ar = wd[2 * i], ai = wd[2 * i + 1], br = s[2 * i], bi = -s[2 * i + 1];
                            acc[2 * i] += ar * br - ai * bi;
                            acc[2 * i + 1] += ar * bi + ai * br;
                        }
                    }
                }
            if (dk) {
                fftwf_execute_dft_c2r(pb, (fftwf_complex *)acc, acc);
                for (int64_t i = 0; i < L; i++)
                    dk[gi * L + i] += acc[i] * inv;
            }
            if (ds)
                ds[gi] += dsk;
        }
    }
    (void)u;
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
        for (int64_t c = 0; c < D; c++)
            kx[s * D + c] = Kt->data[(c / r) * L + s];
#pragma omp parallel for schedule(dynamic, 4)
    for (int64_t bt = 0; bt < B * L; bt++) {
        int64_t tt = bt % L;
        float *yr = y + bt * D;
        const float *ur = u + bt * D;
        if (S)
            for (int64_t c = 0; c < D; c++)
                yr[c] = S->data[c / r] * ur[c];
        else
            memset(yr, 0, (size_t)D * sizeof *yr);
        for (int64_t s = 0; s <= tt; s++) {
            const float *ks = kx + s * D, *us = ur - s * D;
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
                for (int64_t c = 0; c < D; c++)
                    dr[c] += S->data[c / r] * dyr[c];
            for (int64_t s = 0; s < L - tt; s++) {
                const float *ks = kx + s * D, *ds = dyr + s * D;
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

static void fftconv_fwd_cpu(zoo_graph *g, zoo_tensor *t)
{
    (void)g;
    if (t->ip[IP_PATH] == ZOO_CONV_FFT)
        fft_fwd(t);
    else
        direct_fwd(t);
}

static void fftconv_bwd_cpu(zoo_graph *g, zoo_tensor *t)
{
    (void)g;
    if (t->ip[IP_PATH] == ZOO_CONV_FFT)
        fft_bwd(t);
    else
        direct_bwd(t);
}

static const zoo_op_def op = {"fftconv", {fftconv_fwd_cpu, NULL}, {fftconv_bwd_cpu, NULL}};

zoo_tensor *zoo_fftconv_path(zoo_graph *g, zoo_tensor *u, zoo_tensor *k, zoo_tensor *skip, zoo_conv_path path)
{
    zoo_tensor *src[3] = {u, k, skip};
    int nsrc = skip ? 3 : 2;
    if (!g || g->status || !u || !k)
        return zoo_node_new(g, &op, 1, (int64_t[]){1}, src, nsrc);
    char s1[64], s2[64];
    if (u->dtype != ZOO_F32 || u->ndim != 3)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "fftconv: input %s must be f32 (B, L, D)", zoo_shape_str(u, s1, 64));
    int64_t B = u->shape[0], L = u->shape[1], D = u->shape[2];
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
        else
            path = L <= CROSSOVER_L ? ZOO_CONV_DIRECT : ZOO_CONV_FFT;
    }
    int64_t slots = 1, stride = 0, plan = -1;
    if (path == ZOO_CONV_FFT) {
        if (2 * L > 1 << 30)
            return zoo_node_fail(g, ZOO_ERR_UNSUPPORTED, "fftconv: sequence length %lld is too long", (long long)L);
        plan = plan_get((int)(2 * L));
        if (plan < 0)
            return zoo_node_fail(g, ZOO_ERR_NOMEM, "fftconv: cannot make an FFTW plan of length %lld",
                                 (long long)(2 * L));
#ifdef _OPENMP
        slots = omp_get_max_threads();
#endif
        stride = (2 * L + 2 + 15) / 16 * 16;
    }
    zoo_tensor *t = zoo_node_new(g, &op, 3, u->shape, src, nsrc);
    if (!t)
        return NULL;
    t->ip[IP_PATH] = path;
    t->ip[IP_G] = G;
    t->ip[IP_PLAN] = plan;
    t->ip[IP_SLOTS] = slots;
    t->ip[IP_STRIDE] = stride;
    t->aux_n = path == ZOO_CONV_FFT ? (B * D + G + 3 * slots) * stride : 2 * L * D;
    return t;
}

zoo_tensor *zoo_fftconv(zoo_graph *g, zoo_tensor *u, zoo_tensor *k, zoo_tensor *skip)
{
    return zoo_fftconv_path(g, u, k, skip, ZOO_CONV_AUTO);
}
