/* selective_scan.cu: Mamba's selective scan (ops/selective_scan.c), per batch row b and
 * channel c with a state h in R^N:
 *   h_t[n] = exp(delta_t A[c,n]) h_{t-1}[n] + delta_t B_t[n] x_t,   y_t = sum_n C_t[n] h_t[n].
 * One thread per (b, c) runs the recurrence over t with its state in the workspace
 * (laid out (n, b*Di + c), so a warp's accesses are contiguous), the sum over n in the
 * CPU's order.
 *
 * The states are not kept for every t (B*L*Di*N floats): the forward keeps the state
 * entering each chunk of TC ~ sqrt(L) steps, and the backward walks the chunks from the
 * last: one thread per (b, c) recomputes the chunk's states from the kept one, as the
 * CPU recomputes them, then runs the CPU's reverse recurrence over the chunk (dh carried
 * in the workspace across chunks), writing dx and ddelta of its (b, c) and keeping dL/dh_t
 * of the chunk. dB_t and dC_t (sums over channels) are then made by one thread per
 * (b, t, n) over the chunk, channels summed in the CPU's blocks of 32 and the block sums
 * added in order; dA (a sum over b) goes through per-(b, c) partials that one thread per
 * (c, n) adds in b order. No atomics and no sum ordered differently from the CPU's, so
 * results are deterministic and do not depend on the launch size. */
#include <math.h>

#include "common.cuh"

ZOO_CUDA_OP_FNS(selective_scan)

#define SS_CB 32 /* channels per partial sum of dB, dC: the CPU's task width */

typedef struct ss_dims {
    int64_t B, L, Di, N, tc, nck; /* tc steps per chunk, nck chunks */
} ss_dims;

static ss_dims ss_dims_of(const zoo_tensor *t)
{
    const zoo_tensor *X = t->src[0], *A = t->src[2];
    ss_dims d;
    d.B = X->shape[0];
    d.L = X->shape[1];
    d.Di = X->shape[2];
    d.N = A->shape[1];
    d.tc = (int64_t)sqrt((double)d.L);
    while (d.tc * d.tc < d.L)
        d.tc++;
    if (d.tc < 1)
        d.tc = 1;
    d.nck = (d.L + d.tc - 1) / d.tc;
    return d;
}

/* Workspace (floats), each part (N, B*Di) per slot:
 *   ck: nck slots, the state entering each chunk (forward to backward);
 *   hb: tc slots, the states of the chunk being differentiated;
 *   dv: tc slots, dL/dh_t of that chunk;
 *   dh: 1 slot, dL/dh carried to the previous step (the forward's running state before);
 *   pa: 1 slot, each (b, c)'s part of dA. */
typedef struct ss_ws {
    float *ck, *hb, *dv, *dh, *pa;
} ss_ws;

static ss_ws ss_ws_of(const zoo_tensor *t, ss_dims d)
{
    int64_t slot = d.N * d.B * d.Di;
    ss_ws w;
    w.ck = t->aux;
    w.hb = w.ck + d.nck * slot;
    w.dv = w.hb + d.tc * slot;
    w.dh = w.dv + d.tc * slot;
    w.pa = w.dh + slot;
    return w;
}

/* y (B, L, Di); one thread per (b, c). hr: running state; ck: states entering each chunk. */
ZOO_KERNEL ss_fwd(const float *x, const float *dl, const float *A, const float *bcp, float *y, float *hr, float *ck,
                  int64_t B, int64_t L, int64_t Di, int64_t N, int64_t tc)
{
    int64_t bc = ZOO_GID, BD = B * Di;
    if (bc >= BD)
        return;
    int64_t b = bc / Di, c = bc % Di;
    const float *Ac = A + c * N;
    for (int64_t n = 0; n < N; n++)
        hr[n * BD + bc] = 0.0f;
    for (int64_t tt = 0; tt < L; tt++) {
        if (tt % tc == 0) {
            float *k = ck + tt / tc * N * BD;
            for (int64_t n = 0; n < N; n++)
                k[n * BD + bc] = hr[n * BD + bc];
        }
        int64_t row = b * L + tt;
        const float *Bt = bcp + row * 2 * N, *Ct = Bt + N;
        float dt = dl[row * Di + c], u = dt * x[row * Di + c], acc = 0.0f;
        for (int64_t n = 0; n < N; n++) {
            float a = expf(dt * Ac[n]);
            float h = a * hr[n * BD + bc] + u * Bt[n];
            hr[n * BD + bc] = h;
            acc += Ct[n] * h;
        }
        y[row * Di + c] = acc;
    }
}

/* Chunk k (steps t0 .. t0+len-1) of the backward; one thread per (b, c). first: the last
 * chunk, where dh and pa start at 0. dx, dd: NULL when not wanted. */
ZOO_KERNEL ss_bwd_chunk(const float *x, const float *dl, const float *A, const float *bcp, const float *dy, float *dx,
                        float *dd, const float *ckk, float *hb, float *dvb, float *dh, float *pa, int fresh_x,
                        int fresh_d, int first, int64_t B, int64_t L, int64_t Di, int64_t N, int64_t t0, int64_t len)
{
    int64_t bc = ZOO_GID, BD = B * Di, S = N * BD;
    if (bc >= BD)
        return;
    int64_t b = bc / Di, c = bc % Di;
    const float *Ac = A + c * N;
    if (first)
        for (int64_t n = 0; n < N; n++) {
            dh[n * BD + bc] = 0.0f;
            pa[n * BD + bc] = 0.0f;
        }
    /* the chunk's states, from the one entering it */
    for (int64_t tl = 0; tl < len; tl++) {
        int64_t tt = t0 + tl, row = b * L + tt;
        const float *Bt = bcp + row * 2 * N, *hp = tl > 0 ? hb + (tl - 1) * S : ckk;
        float *h = hb + tl * S;
        float dt = dl[row * Di + c], u = dt * x[row * Di + c];
        for (int64_t n = 0; n < N; n++) {
            float a = expf(dt * Ac[n]);
            h[n * BD + bc] = tt == 0 ? u * Bt[n] : a * hp[n * BD + bc] + u * Bt[n];
        }
    }
    /* the reverse recurrence over the chunk */
    for (int64_t tl = len - 1; tl >= 0; tl--) {
        int64_t tt = t0 + tl, row = b * L + tt;
        const float *Bt = bcp + row * 2 * N, *Ct = Bt + N, *hp = tl > 0 ? hb + (tl - 1) * S : ckk;
        float *dv = dvb + tl * S;
        float gy = dy[row * Di + c], dt = dl[row * Di + c], xv = x[row * Di + c], sdx = 0.0f, sdd = 0.0f;
        for (int64_t n = 0; n < N; n++) {
            int64_t j = n * BD + bc;
            float a = expf(dt * Ac[n]), v = dh[j] + gy * Ct[n]; /* dL/dh_t */
            if (tt > 0) {
                float da = v * hp[j] * a; /* d/d(dt*A) of exp */
                sdd += da * Ac[n];
                pa[j] += da * dt;
            }
            sdd += v * Bt[n] * xv;
            dv[j] = v;
            sdx += v * Bt[n];
            dh[j] = v * a; /* carried to h_{t-1} */
        }
        if (dx) {
            float g = sdx * dt;
            dx[row * Di + c] = fresh_x ? g : dx[row * Di + c] + g;
        }
        if (dd)
            dd[row * Di + c] = fresh_d ? sdd : dd[row * Di + c] + sdd;
    }
}

/* dB_t[n] = sum_c dL/dh_t[c,n] delta_t x_t and dC_t[n] = sum_c dy_t[c] h_t[c,n] for the
 * chunk's steps; one thread per (b, step, column of BC). Channels in blocks of SS_CB,
 * each block's sum added to the gradient in order, as the CPU. */
ZOO_KERNEL ss_bwd_bc(const float *x, const float *dl, const float *dy, const float *hb, const float *dvb, float *dbc,
                     int fresh, int64_t B, int64_t L, int64_t Di, int64_t N, int64_t t0, int64_t len)
{
    int64_t i = ZOO_GID, BD = B * Di, S = N * BD, N2 = 2 * N;
    if (i >= B * len * N2)
        return;
    int64_t b = i / (len * N2), r = i % (len * N2), tl = r / N2, n2 = r % N2, row = b * L + t0 + tl;
    const float *xr = x + row * Di, *dlr = dl + row * Di, *dyr = dy + row * Di;
    float g = fresh ? 0.0f : dbc[row * N2 + n2];
    if (n2 < N) {
        const float *v = dvb + tl * S + n2 * BD + b * Di;
        for (int64_t c0 = 0; c0 < Di; c0 += SS_CB) {
            int64_t c1 = c0 + SS_CB < Di ? c0 + SS_CB : Di;
            float p = 0.0f;
            for (int64_t c = c0; c < c1; c++)
                p += v[c] * dlr[c] * xr[c];
            g += p;
        }
    } else {
        const float *h = hb + tl * S + (n2 - N) * BD + b * Di;
        for (int64_t c0 = 0; c0 < Di; c0 += SS_CB) {
            int64_t c1 = c0 + SS_CB < Di ? c0 + SS_CB : Di;
            float p = 0.0f;
            for (int64_t c = c0; c < c1; c++)
                p += dyr[c] * h[c];
            g += p;
        }
    }
    dbc[row * N2 + n2] = g;
}

/* dA[c,n] += sum over b of the partials, b ascending; one thread per (c, n). */
ZOO_KERNEL ss_bwd_a(const float *pa, float *dA, int fresh, int64_t B, int64_t Di, int64_t N)
{
    int64_t i = ZOO_GID, BD = B * Di;
    if (i >= Di * N)
        return;
    int64_t c = i / N, n = i % N;
    float s = 0.0f;
    for (int64_t b = 0; b < B; b++)
        s += pa[n * BD + b * Di + c];
    dA[i] = fresh ? s : dA[i] + s;
}

extern "C" int zoo_cuda_selective_scan_prepare(zoo_exec *x, zoo_tensor *t)
{
    (void)x;
    ss_dims d = ss_dims_of(t);
    t->aux_n = (d.nck + 2 * d.tc + 2) * d.N * d.B * d.Di;
    return 0;
}

extern "C" int zoo_cuda_selective_scan_forward(zoo_exec *x, zoo_tensor *t)
{
    const zoo_tensor *X = t->src[0], *DL = t->src[1], *AT = t->src[2], *BC = t->src[3];
    ss_dims d = ss_dims_of(t);
    ss_ws w = ss_ws_of(t, d);
    ZOO_CU(ZOO_LAUNCH(ss_fwd, d.B * d.Di, zoo_cuda_of(x)->stream, X->data, DL->data, AT->data, BC->data, t->data, w.dh,
                      w.ck, d.B, d.L, d.Di, d.N, d.tc));
    return 0;
}

extern "C" int zoo_cuda_selective_scan_backward(zoo_exec *x, zoo_tensor *t)
{
    zoo_tensor *X = t->src[0], *DL = t->src[1], *AT = t->src[2], *BC = t->src[3];
    if (!X->grad && !DL->grad && !AT->grad && !BC->grad)
        return 0;
    ss_dims d = ss_dims_of(t);
    ss_ws w = ss_ws_of(t, d);
    cudaStream_t s = zoo_cuda_of(x)->stream;
    int64_t slot = d.N * d.B * d.Di;
    for (int64_t k = d.nck - 1; k >= 0; k--) {
        int64_t t0 = k * d.tc, len = d.L - t0 < d.tc ? d.L - t0 : d.tc;
        ZOO_CU(ZOO_LAUNCH(ss_bwd_chunk, d.B * d.Di, s, X->data, DL->data, AT->data, BC->data, t->grad, X->grad,
                          DL->grad, w.ck + k * slot, w.hb, w.dv, w.dh, w.pa, zoo_grad_fresh(t, 0),
                          zoo_grad_fresh(t, 1), (int)(k == d.nck - 1), d.B, d.L, d.Di, d.N, t0, len));
        if (BC->grad)
            ZOO_CU(ZOO_LAUNCH(ss_bwd_bc, d.B * len * 2 * d.N, s, X->data, DL->data, t->grad, w.hb, w.dv, BC->grad,
                              zoo_grad_fresh(t, 3), d.B, d.L, d.Di, d.N, t0, len));
    }
    if (AT->grad)
        ZOO_CU(ZOO_LAUNCH(ss_bwd_a, d.Di * d.N, s, w.pa, AT->grad, zoo_grad_fresh(t, 2), d.B, d.Di, d.N));
    return 0;
}
