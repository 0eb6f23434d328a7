/* fftconv.cu: causal long convolution per channel with an optional per-channel skip
 * (ops/fftconv.c) on CUDA: y[b,t,c] = sum_{s<=t} k[c/r,s] u[b,t-s,c] + skip[c/r] u[b,t,c].
 *
 * FFT path: the B*D channels (column s = b*D + c) and then the G filters (column BD + g)
 * are the NS = B*D + G columns of one (N = 2L, NS) real matrix, zero past row L, so that
 * packing and unpacking the channel-last tensors read and write contiguously and ONE
 * batched R2C (stride NS, distance 1) transforms inputs and filters together; the spectra
 * (nc = L+1 rows of NS complex) are kept from forward to backward, as the CPU keeps its.
 * Forward: Y = U K / N, one C2R, keep the first L rows. Backward: one R2C of dy; dk's
 * spectrum sum_b sum_{c in g} DY conj(U) goes into the filters' columns (one thread per
 * (frequency, group), summing batch and channels in the CPU's order), du's DY conj(K) / N
 * into the channels' columns, and ONE C2R gives both. Plans are made in prepare, with
 * their work area in the workspace; out of place only.
 *
 * Direct path (short L): one thread per output element, lags in the CPU's order; the
 * filter gradient per (lag, channel) in the CPU's order, then per (group, lag) over the
 * group's channels in order, as the CPU. The skip gradient (both paths): per channel over
 * fixed chunks of FC_ROWS rows, then per group over its channels, each over the chunks in
 * order. No atomics, nothing depends on the launch size: bitwise reproducible. */
#include <limits.h>

#include "common.cuh"

#include "../../ops/fftconv.h"

ZOO_CUDA_OP_FNS(fftconv)

#define FC_ROWS 256 /* rows (b, t) per partial sum of the skip gradient */
#define FC_TILE 16  /* the CPU's channel tile (fftconv.c TILE): its order of dk's sum */

/* Sizes, and the workspace's regions in floats (each on a 256-byte boundary). */
typedef struct fc_layout {
    int64_t B, L, D, G, r, N, nc, BD, NS, nchunk;
    int64_t spec, cbuf, rbuf; /* FFT path: spectra kept (NS x nc complex), complex and real work */
    int64_t dkx;              /* direct path: dk per (lag, channel), (L, D) */
    int64_t part;             /* skip gradient partials, (nchunk, D) */
    int64_t work;             /* cuFFT work area, to the end of the workspace */
} fc_layout;

static int64_t r64(int64_t n) { return (n + 63) / 64 * 64; }

static fc_layout layout_of(const zoo_tensor *t)
{
    fc_layout o;
    o.B = t->shape[0], o.L = t->shape[1], o.D = t->shape[2], o.G = t->ip[IP_G], o.r = o.D / o.G;
    o.N = 2 * o.L, o.nc = o.L + 1, o.BD = o.B * o.D, o.NS = o.BD + o.G;
    o.nchunk = (o.B * o.L + FC_ROWS - 1) / FC_ROWS;
    o.spec = o.cbuf = o.rbuf = o.dkx = 0;
    if (t->ip[IP_PATH] == ZOO_CONV_FFT) {
        o.cbuf = r64(2 * o.nc * o.NS);
        o.rbuf = o.cbuf + r64(2 * o.nc * o.NS);
        o.part = o.rbuf + r64(o.N * o.NS);
    } else
        o.part = r64(o.L * o.D);
    o.work = o.part + (t->nsrc > 2 ? r64(o.nchunk * o.D) : 0);
    return o;
}

/* ---- FFT path ------------------------------------------------------------------------ */

/* R[m, s] (N x NS): rows m < L hold v[b, m, c] for s = b*D + c < BD and k[s-BD, m] for the
 * filter columns (zero when k is NULL); rows from L on are zero. */
ZOO_KERNEL fc_pack(const float *v, const float *k, float *R, int64_t L, int64_t D, int64_t BD, int64_t NS, int64_t n)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t s = i % NS, m = i / NS;
    float a = 0.0f;
    if (m < L) {
        if (s < BD)
            a = v[((s / D) * L + m) * D + s % D];
        else if (k)
            a = k[(s - BD) * L + m];
    }
    R[i] = a;
}

/* Cb[f, s] = U[f, s] K[f, g] / N for the channel columns (the CPU's cmul of U and the
 * scaled K), zero for the filter columns. */
ZOO_KERNEL fc_mul_fwd(const float *spec, float *Cb, int64_t D, int64_t r, int64_t BD, int64_t NS, float inv, int64_t n)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t s = i % NS, f = i / NS;
    if (s >= BD) {
        Cb[2 * i] = 0.0f;
        Cb[2 * i + 1] = 0.0f;
        return;
    }
    const float *kk = spec + 2 * (f * NS + BD + (s % D) / r);
    float ar = spec[2 * i], ai = spec[2 * i + 1], br = kk[0] * inv, bi = kk[1] * inv;
    Cb[2 * i] = ar * br - ai * bi;
    Cb[2 * i + 1] = ar * bi + ai * br;
}

/* Cb[f, s] = DY[f, s] conj(K[f, g] / N) in place, channel columns only (n = nc * BD). */
ZOO_KERNEL fc_mul_bwd(const float *spec, float *Cb, int64_t D, int64_t r, int64_t BD, int64_t NS, float inv,
                      int64_t n)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t s = i % BD, f = i / BD, j = f * NS + s;
    const float *kk = spec + 2 * (f * NS + BD + (s % D) / r);
    float ar = Cb[2 * j], ai = Cb[2 * j + 1], br = kk[0] * inv, bi = -(kk[1] * inv);
    Cb[2 * j] = ar * br - ai * bi;
    Cb[2 * j + 1] = ar * bi + ai * br;
}

/* Filter column g of Cb at frequency f = sum DY conj(U) over the group's channels, in the
 * CPU's order: channel tiles of FC_TILE, then the batch, then the tile's channels. Reads
 * the channel columns, writes the filter columns (n = nc * G). */
ZOO_KERNEL fc_dk_spec(const float *spec, float *Cb, int64_t B, int64_t D, int64_t G, int64_t r, int64_t BD,
                      int64_t NS, int64_t n)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t g = i % G, f = i / G;
    const float *dyf = Cb + 2 * f * NS, *uf = spec + 2 * f * NS;
    float accr = 0.0f, acci = 0.0f;
    for (int64_t t0 = 0; t0 < r; t0 += FC_TILE) {
        int64_t t1 = t0 + FC_TILE < r ? t0 + FC_TILE : r;
        for (int64_t b = 0; b < B; b++)
            for (int64_t cc = t0; cc < t1; cc++) {
                int64_t s = b * D + g * r + cc;
                float ar = dyf[2 * s], ai = dyf[2 * s + 1], br = uf[2 * s], bi = -uf[2 * s + 1];
                accr += ar * br - ai * bi;
                acci += ar * bi + ai * br;
            }
    }
    Cb[2 * (f * NS + BD + g)] = accr;
    Cb[2 * (f * NS + BD + g) + 1] = acci;
}

/* y[b,t,c] = R[t, b*D + c] + skip[c/r] u[b,t,c] */
ZOO_KERNEL fc_unpack_y(const float *R, const float *u, const float *skip, float *y, int64_t L, int64_t D, int64_t r,
                       int64_t NS, int64_t n)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t c = i % D, bt = i / D, b = bt / L, tt = bt % L;
    float sk = skip ? skip[c / r] : 0.0f;
    y[i] = R[tt * NS + b * D + c] + sk * u[i];
}

/* du[b,t,c] (+)= R[t, b*D + c] + skip[c/r] dy[b,t,c] */
ZOO_KERNEL fc_unpack_du(const float *R, const float *dy, const float *skip, float *du, int64_t L, int64_t D,
                        int64_t r, int64_t NS, int64_t n, int fresh)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t c = i % D, bt = i / D, b = bt / L, tt = bt % L;
    float sk = skip ? skip[c / r] : 0.0f;
    float v = R[tt * NS + b * D + c] + sk * dy[i];
    du[i] = fresh ? v : du[i] + v;
}

/* dk[g, t] (+)= R[t, BD + g] / N */
ZOO_KERNEL fc_unpack_dk(const float *R, float *dk, int64_t L, int64_t BD, int64_t NS, float inv, int64_t n, int fresh)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t g = i / L, tt = i % L;
    float v = R[tt * NS + BD + g] * inv;
    dk[i] = fresh ? v : dk[i] + v;
}

/* ---- direct path --------------------------------------------------------------------- */

/* y[b,t,c] = skip[c/r] u[b,t,c] + sum_{s=0..t} k[c/r, s] u[b,t-s,c] */
ZOO_KERNEL fcd_fwd(const float *u, const float *k, const float *skip, float *y, int64_t L, int64_t D, int64_t r,
                   int64_t n)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t c = i % D, tt = (i / D) % L, g = c / r;
    const float *kg = k + g * L;
    float acc = skip ? skip[g] * u[i] : 0.0f;
    for (int64_t s = 0; s <= tt; s++)
        acc += kg[s] * u[i - s * D];
    y[i] = acc;
}

/* du[b,t,c] (+)= skip[c/r] dy[b,t,c] + sum_{s=0..L-1-t} k[c/r, s] dy[b,t+s,c] */
ZOO_KERNEL fcd_bwd_u(const float *dy, const float *k, const float *skip, float *du, int64_t L, int64_t D, int64_t r,
                     int64_t n, int fresh)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t c = i % D, tt = (i / D) % L, g = c / r;
    const float *kg = k + g * L;
    float acc = fresh ? 0.0f : du[i];
    if (skip)
        acc += skip[g] * dy[i];
    for (int64_t s = 0; s < L - tt; s++)
        acc += kg[s] * dy[i + s * D];
    du[i] = acc;
}

/* dkx[s, c] = sum_b sum_{t>=s} dy[b,t,c] u[b,t-s,c] */
ZOO_KERNEL fcd_dkx(const float *dy, const float *u, float *dkx, int64_t B, int64_t L, int64_t D, int64_t n)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t c = i % D, s = i / D;
    float acc = 0.0f;
    for (int64_t b = 0; b < B; b++)
        for (int64_t tt = s; tt < L; tt++)
            acc += dy[(b * L + tt) * D + c] * u[(b * L + tt - s) * D + c];
    dkx[i] = acc;
}

/* dk[g, s] (+)= sum over the group's channels, in order, of dkx[s, c] */
ZOO_KERNEL fcd_dk(const float *dkx, float *dk, int64_t L, int64_t D, int64_t r, int64_t n, int fresh)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t g = i / L, s = i % L;
    float a = 0.0f;
    for (int64_t c = g * r; c < (g + 1) * r; c++)
        a += dkx[s * D + c];
    dk[i] = fresh ? a : dk[i] + a;
}

/* ---- skip gradient (both paths) ------------------------------------------------------ */

/* part[chunk, c] = sum over the chunk's rows of dy[row, c] u[row, c] */
ZOO_KERNEL fc_ds_part(const float *dy, const float *u, float *part, int64_t BL, int64_t D, int64_t n)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t c = i % D, chunk = i / D, r0 = chunk * FC_ROWS, r1 = r0 + FC_ROWS < BL ? r0 + FC_ROWS : BL;
    float acc = 0.0f;
    for (int64_t row = r0; row < r1; row++)
        acc += dy[row * D + c] * u[row * D + c];
    part[i] = acc;
}

/* ds[g] (+)= sum over the group's channels of (sum over the chunks of part[chunk, c]) */
ZOO_KERNEL fc_ds_sum(const float *part, float *ds, int64_t D, int64_t r, int64_t nchunk, int64_t n, int fresh)
{
    int64_t g = ZOO_GID;
    if (g >= n)
        return;
    float a = 0.0f;
    for (int64_t c = g * r; c < (g + 1) * r; c++) {
        float sc = 0.0f;
        for (int64_t chunk = 0; chunk < nchunk; chunk++)
            sc += part[chunk * D + c];
        a += sc;
    }
    ds[g] = fresh ? a : ds[g] + a;
}

/* ---- host side ----------------------------------------------------------------------- */

/* Run the node's R2C (inverse = 0) or C2R plan on the run's stream, its work area in t's
 * workspace. */
static int fc_exec(zoo_exec *x, const zoo_tensor *t, const fc_layout *o, int inverse, float *in, float *out)
{
    cufftHandle h = (cufftHandle)t->ip[inverse ? IP_PLAN_C2R : IP_PLAN];
    ZOO_CUFFT(cufftSetStream(h, zoo_cuda_of(x)->stream));
    ZOO_CUFFT(cufftSetWorkArea(h, t->aux + o->work));
    if (inverse)
        ZOO_CUFFT(cufftExecC2R(h, (cufftComplex *)in, (cufftReal *)out));
    else
        ZOO_CUFFT(cufftExecR2C(h, (cufftReal *)in, (cufftComplex *)out));
    return 0;
}

/* The workspace (layout_of) and, on the FFT path, the two plans: N-point R2C and C2R over
 * the NS columns of an (N, NS) matrix (stride NS, distance 1), auto-allocation off, their
 * shared work area at the end of the workspace. */
extern "C" int zoo_cuda_fftconv_prepare(zoo_exec *x, zoo_tensor *t)
{
    fc_layout o = layout_of(t);
    if (t->ip[IP_PATH] != ZOO_CONV_FFT) {
        t->aux_n = o.work;
        return 0;
    }
    if (2 * o.nc * o.NS > INT_MAX)
        return ZOO_FAIL(ZOO_ERR_UNSUPPORTED,
                        "fftconv on cuda: (B*D + G) * (L + 1) = %lld complex values per transform is more than "
                        "cuFFT's 32-bit plans take; use a smaller batch or the direct path",
                        (long long)(o.nc * o.NS));
    cufftHandle hf, hb;
    int rc;
    ZOO_CUFFT(cufftCreate(&hf));
    if ((rc = zoo_cuda_keep_plan(x, hf)))
        return rc;
    ZOO_CUFFT(cufftCreate(&hb));
    if ((rc = zoo_cuda_keep_plan(x, hb)))
        return rc;
    ZOO_CUFFT(cufftSetAutoAllocation(hf, 0));
    ZOO_CUFFT(cufftSetAutoAllocation(hb, 0));
    int n[1] = {(int)o.N}, re[1] = {(int)o.N}, ce[1] = {(int)o.nc}, ns = (int)o.NS;
    size_t wf = 0, wb = 0;
    ZOO_CUFFT(cufftMakePlanMany(hf, 1, n, re, ns, 1, ce, ns, 1, CUFFT_R2C, ns, &wf));
    ZOO_CUFFT(cufftMakePlanMany(hb, 1, n, ce, ns, 1, re, ns, 1, CUFFT_C2R, ns, &wb));
    t->ip[IP_PLAN] = hf;
    t->ip[IP_PLAN_C2R] = hb;
    size_t ws = wf > wb ? wf : wb;
    t->aux_n = o.work + (int64_t)((ws + sizeof(float) - 1) / sizeof(float));
    return 0;
}

extern "C" int zoo_cuda_fftconv_forward(zoo_exec *x, zoo_tensor *t)
{
    const zoo_tensor *U = t->src[0], *Kt = t->src[1], *S = t->nsrc > 2 ? t->src[2] : NULL;
    fc_layout o = layout_of(t);
    cudaStream_t st = zoo_cuda_of(x)->stream;
    const float *skip = S ? S->data : (const float *)NULL;
    if (t->ip[IP_PATH] != ZOO_CONV_FFT) {
        ZOO_CU(ZOO_LAUNCH(fcd_fwd, t->n, st, U->data, Kt->data, skip, t->data, o.L, o.D, o.r, t->n));
        return 0;
    }
    float *spec = t->aux + o.spec, *cb = t->aux + o.cbuf, *rb = t->aux + o.rbuf;
    float inv = 1.0f / (float)o.N;
    int rc;
    ZOO_CU(ZOO_LAUNCH(fc_pack, o.N * o.NS, st, U->data, Kt->data, rb, o.L, o.D, o.BD, o.NS, o.N * o.NS));
    if ((rc = fc_exec(x, t, &o, 0, rb, spec)))
        return rc;
    ZOO_CU(ZOO_LAUNCH(fc_mul_fwd, o.nc * o.NS, st, spec, cb, o.D, o.r, o.BD, o.NS, inv, o.nc * o.NS));
    if ((rc = fc_exec(x, t, &o, 1, cb, rb)))
        return rc;
    ZOO_CU(ZOO_LAUNCH(fc_unpack_y, t->n, st, rb, U->data, skip, t->data, o.L, o.D, o.r, o.NS, t->n));
    return 0;
}

extern "C" int zoo_cuda_fftconv_backward(zoo_exec *x, zoo_tensor *t)
{
    zoo_tensor *U = t->src[0], *Kt = t->src[1], *S = t->nsrc > 2 ? t->src[2] : NULL;
    fc_layout o = layout_of(t);
    cudaStream_t st = zoo_cuda_of(x)->stream;
    const float *skip = S ? S->data : (const float *)NULL;
    float *du = U->grad, *dk = Kt->grad, *ds = S ? S->grad : NULL;
    if (ds) {
        int64_t np = o.nchunk * o.D;
        ZOO_CU(ZOO_LAUNCH(fc_ds_part, np, st, t->grad, U->data, t->aux + o.part, o.B * o.L, o.D, np));
        ZOO_CU(ZOO_LAUNCH(fc_ds_sum, o.G, st, t->aux + o.part, ds, o.D, o.r, o.nchunk, o.G, zoo_grad_fresh(t, 2)));
    }
    if (t->ip[IP_PATH] != ZOO_CONV_FFT) {
        if (du)
            ZOO_CU(ZOO_LAUNCH(fcd_bwd_u, t->n, st, t->grad, Kt->data, skip, du, o.L, o.D, o.r, t->n,
                              zoo_grad_fresh(t, 0)));
        if (dk) {
            float *dkx = t->aux + o.dkx;
            ZOO_CU(ZOO_LAUNCH(fcd_dkx, o.L * o.D, st, t->grad, U->data, dkx, o.B, o.L, o.D, o.L * o.D));
            ZOO_CU(ZOO_LAUNCH(fcd_dk, o.G * o.L, st, dkx, dk, o.L, o.D, o.r, o.G * o.L, zoo_grad_fresh(t, 1)));
        }
        return 0;
    }
    if (!du && !dk)
        return 0;
    const float *spec = t->aux + o.spec;
    float *cb = t->aux + o.cbuf, *rb = t->aux + o.rbuf;
    float inv = 1.0f / (float)o.N;
    int rc;
    /* dy in the channel columns, zero filter columns: their spectra stay zero unless dk's sum fills them */
    ZOO_CU(ZOO_LAUNCH(fc_pack, o.N * o.NS, st, t->grad, (const float *)NULL, rb, o.L, o.D, o.BD, o.NS, o.N * o.NS));
    if ((rc = fc_exec(x, t, &o, 0, rb, cb)))
        return rc;
    if (dk) /* before du's product overwrites DY */
        ZOO_CU(ZOO_LAUNCH(fc_dk_spec, o.nc * o.G, st, spec, cb, o.B, o.D, o.G, o.r, o.BD, o.NS, o.nc * o.G));
    if (du)
        ZOO_CU(ZOO_LAUNCH(fc_mul_bwd, o.nc * o.BD, st, spec, cb, o.D, o.r, o.BD, o.NS, inv, o.nc * o.BD));
    if ((rc = fc_exec(x, t, &o, 1, cb, rb)))
        return rc;
    if (du)
        ZOO_CU(ZOO_LAUNCH(fc_unpack_du, t->n, st, rb, t->grad, skip, du, o.L, o.D, o.r, o.NS, t->n,
                          zoo_grad_fresh(t, 0)));
    if (dk)
        ZOO_CU(ZOO_LAUNCH(fc_unpack_dk, o.G * o.L, st, rb, dk, o.L, o.BD, o.NS, inv, o.G * o.L, zoo_grad_fresh(t, 1)));
    return 0;
}
