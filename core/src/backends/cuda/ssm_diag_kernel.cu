/* ssm_diag_kernel.cu: H3's S4D-Lin diagonal SSM kernel (ops/ssm_diag_kernel.c), its two
 * nodes, in double where the CPU computes in double:
 *   s4d_dtA:    dtA = exp(log_dt) (-exp(inv_A_real) + i A_imag), one thread per mode (h, n);
 *               dlog_dt sums its modes in order, one thread per h.
 *   s4d_kernel: K[h,t] = 2 Re sum_n c_n w_n^t. Forward: one thread per mode runs the CPU's
 *               chain p <- p w over t and keeps p every S4D_TB steps in the workspace; one
 *               thread per (h, block of S4D_TB steps) then adds the modes n = 0, 1, ... into
 *               its accumulators (double, workspace), continuing each chain from its kept
 *               value: the CPU's products and its per-t order of the sum over n. Backward:
 *               one thread per mode runs the CPU's sums over t and writes that mode's
 *               gradients; the modes' dlog_dt terms go to the workspace and one thread per h
 *               adds them in order.
 * No atomics and no sum split differently from the CPU's, so results are deterministic. */
#include "common.cuh"

ZOO_CUDA_OP_FNS(s4d_dtA)
ZOO_CUDA_OP_FNS(s4d_kernel)

#define S4D_TB 16 /* steps per accumulating thread of the forward */

/* ---- s4d_dtA ----------------------------------------------------------------------- */

ZOO_KERNEL dta_fwd(const float *ld, const float *ar, const float *ai, float *out, int64_t H, int64_t N2)
{
    int64_t i = ZOO_GID;
    if (i >= H * N2)
        return;
    double dt = exp((double)ld[i / N2]);
    out[2 * i] = (float)(-dt * exp((double)ar[i]));
    out[2 * i + 1] = (float)(dt * ai[i]);
}

/* dinv_A_real += gx x, dA_imag += gy dt; one thread per mode. */
ZOO_KERNEL dta_bwd_mode(const float *ld, const float *ar, const float *gd, float *gar, float *gai, int fresh_r,
                        int fresh_i, int64_t H, int64_t N2)
{
    int64_t i = ZOO_GID;
    if (i >= H * N2)
        return;
    double dt = exp((double)ld[i / N2]);
    double gx = gd[2 * i], gy = gd[2 * i + 1];
    if (gar) {
        double xv = -dt * exp((double)ar[i]);
        float v = (float)(gx * xv);
        gar[i] = fresh_r ? v : gar[i] + v;
    }
    if (gai) {
        float v = (float)(gy * dt);
        gai[i] = fresh_i ? v : gai[i] + v;
    }
}

/* dlog_dt[h] += sum_n gx x + gy y, n ascending; one thread per h. */
ZOO_KERNEL dta_bwd_ld(const float *ld, const float *ar, const float *ai, const float *gd, float *gld, int fresh,
                      int64_t H, int64_t N2)
{
    int64_t h = ZOO_GID;
    if (h >= H)
        return;
    double dt = exp((double)ld[h]), sl = 0;
    for (int64_t n = 0; n < N2; n++) {
        int64_t i = h * N2 + n;
        double xv = -dt * exp((double)ar[i]), yv = dt * ai[i];
        double gx = gd[2 * i], gy = gd[2 * i + 1];
        sl += gx * xv + gy * yv;
    }
    gld[h] = fresh ? (float)sl : gld[h] + (float)sl;
}

extern "C" int zoo_cuda_s4d_dtA_forward(zoo_exec *x, zoo_tensor *t)
{
    const zoo_tensor *Ld = t->src[0], *Ar = t->src[1], *Ai = t->src[2];
    int64_t H = Ar->shape[0], N2 = Ar->shape[1];
    ZOO_CU(ZOO_LAUNCH(dta_fwd, H * N2, zoo_cuda_of(x)->stream, Ld->data, Ar->data, Ai->data, t->data, H, N2));
    return 0;
}

extern "C" int zoo_cuda_s4d_dtA_backward(zoo_exec *x, zoo_tensor *t)
{
    zoo_tensor *Ld = t->src[0], *Ar = t->src[1], *Ai = t->src[2];
    int64_t H = Ar->shape[0], N2 = Ar->shape[1];
    cudaStream_t s = zoo_cuda_of(x)->stream;
    if (Ar->grad || Ai->grad)
        ZOO_CU(ZOO_LAUNCH(dta_bwd_mode, H * N2, s, Ld->data, Ar->data, t->grad, Ar->grad, Ai->grad,
                          zoo_grad_fresh(t, 1), zoo_grad_fresh(t, 2), H, N2));
    if (Ld->grad)
        ZOO_CU(ZOO_LAUNCH(dta_bwd_ld, H, s, Ld->data, Ar->data, Ai->data, t->grad, Ld->grad, zoo_grad_fresh(t, 0), H,
                          N2));
    return 0;
}

/* ---- s4d_kernel --------------------------------------------------------------------- */

/* Complex double, the products and quotients written out (C's complex arithmetic). */
typedef struct s4d_cx {
    double re, im;
} s4d_cx;

ZOO_HD s4d_cx cx_make(double re, double im)
{
    s4d_cx z;
    z.re = re;
    z.im = im;
    return z;
}
ZOO_HD s4d_cx cx_mul(s4d_cx a, s4d_cx b) { return cx_make(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re); }
ZOO_HD s4d_cx cx_scale(s4d_cx a, double s) { return cx_make(a.re * s, a.im * s); }
ZOO_HD s4d_cx cx_add(s4d_cx a, s4d_cx b) { return cx_make(a.re + b.re, a.im + b.im); }
ZOO_HD s4d_cx cx_conj(s4d_cx a) { return cx_make(a.re, -a.im); }
/* a / b, Smith's method (no overflow from squaring b) */
ZOO_HD s4d_cx cx_div(s4d_cx a, s4d_cx b)
{
    if (fabs(b.re) >= fabs(b.im)) {
        double r = b.im / b.re, d = b.re + b.im * r;
        return cx_make((a.re + a.im * r) / d, (a.im - a.re * r) / d);
    }
    double r = b.re / b.im, d = b.re * r + b.im;
    return cx_make((a.re * r + a.im) / d, (a.im * r - a.re) / d);
}

/* One mode (h, n): den = 1 - dtA/2, w = (1 + dtA/2)/den, c = C B dt / den. */
typedef struct s4d_mode {
    s4d_cx den, w, c, C, B;
    double dt;
} s4d_mode;

ZOO_HD s4d_mode s4d_mode_of(const float *dta, const float *Cp, const float *Bp, const float *ld, int64_t N2,
                            int64_t hn)
{
    int64_t i = 2 * hn;
    s4d_mode m;
    s4d_cx a = cx_make(dta[i], dta[i + 1]);
    m.dt = exp((double)ld[hn / N2]);
    m.C = cx_make(Cp[i], Cp[i + 1]);
    m.B = cx_make(Bp[i], Bp[i + 1]);
    m.den = cx_make(1.0 - a.re / 2.0, -(a.im / 2.0));
    m.w = cx_div(cx_make(1.0 + a.re / 2.0, a.im / 2.0), m.den);
    m.c = cx_div(cx_scale(cx_mul(m.C, m.B), m.dt), m.den);
    return m;
}

/* One thread per mode: w into wv (H*N2), and the chain p_t = c w^t at t = 0, TB, 2 TB, ...
 * into ck (nTB, H*N2). */
ZOO_KERNEL s4d_chain(const float *dta, const float *Cp, const float *Bp, const float *ld, s4d_cx *wv, s4d_cx *ck,
                     int64_t HN, int64_t N2, int64_t L)
{
    int64_t hn = ZOO_GID;
    if (hn >= HN)
        return;
    s4d_mode m = s4d_mode_of(dta, Cp, Bp, ld, N2, hn);
    wv[hn] = m.w;
    s4d_cx p = m.c;
    for (int64_t tt = 0; tt < L; tt++) {
        if (tt % S4D_TB == 0)
            ck[tt / S4D_TB * HN + hn] = p;
        p = cx_mul(p, m.w);
    }
}

/* One thread per (h, block of TB steps): acc[h, t] = sum_n 2 Re p_{n,t}, n ascending, then K. */
ZOO_KERNEL s4d_acc(const s4d_cx *wv, const s4d_cx *ck, double *acc, float *K, int64_t H, int64_t N2, int64_t L,
                   int64_t nTB)
{
    int64_t i = ZOO_GID;
    if (i >= H * nTB)
        return;
    int64_t h = i / nTB, tb = i % nTB, t0 = tb * S4D_TB, t1 = t0 + S4D_TB < L ? t0 + S4D_TB : L;
    double *a = acc + h * L;
    for (int64_t tt = t0; tt < t1; tt++)
        a[tt] = 0;
    for (int64_t n = 0; n < N2; n++) {
        int64_t hn = h * N2 + n;
        s4d_cx w = wv[hn], p = ck[tb * H * N2 + hn];
        for (int64_t tt = t0; tt < t1; tt++) {
            a[tt] += 2.0 * p.re;
            p = cx_mul(p, w);
        }
    }
    for (int64_t tt = t0; tt < t1; tt++)
        K[h * L + tt] = (float)a[tt];
}

/* One thread per mode: the CPU's sums over t, the mode's gradients of dtA, C and B, and its
 * dlog_dt term into sl (H*N2). Gradient pointers are NULL when not wanted. */
ZOO_KERNEL s4d_bwd_mode(const float *dta, const float *Cp, const float *Bp, const float *ld, const float *dK,
                        float *gdt, float *gC, float *gB, double *sl, int fresh_dt, int fresh_c, int fresh_b, int64_t HN,
                        int64_t N2, int64_t L)
{
    int64_t hn = ZOO_GID;
    if (hn >= HN)
        return;
    s4d_mode m = s4d_mode_of(dta, Cp, Bp, ld, N2, hn);
    const float *dk = dK + hn / N2 * L;
    s4d_cx p = cx_make(1.0, 0.0), pm1 = cx_make(0.0, 0.0), s0 = cx_make(0.0, 0.0), s1 = cx_make(0.0, 0.0);
    for (int64_t tt = 0; tt < L; tt++) {
        double d = dk[tt];
        s0 = cx_add(s0, cx_scale(p, d));
        s1 = cx_add(s1, cx_scale(pm1, d * (double)tt));
        pm1 = p;
        p = cx_mul(p, m.w);
    }
    s4d_cx gc = cx_scale(cx_conj(s0), 2.0), gw = cx_conj(cx_mul(cx_scale(m.c, 2.0), s1));
    s4d_cx one = cx_make(1.0, 0.0);
    s4d_cx gdta = cx_add(cx_mul(gw, cx_conj(cx_div(one, cx_mul(m.den, m.den)))),
                         cx_mul(gc, cx_conj(cx_div(m.c, cx_scale(m.den, 2.0)))));
    int64_t i = 2 * hn;
    if (gdt) {
        float vr = (float)gdta.re, vi = (float)gdta.im;
        gdt[i] = fresh_dt ? vr : gdt[i] + vr;
        gdt[i + 1] = fresh_dt ? vi : gdt[i + 1] + vi;
    }
    if (gC) {
        s4d_cx g = cx_mul(gc, cx_conj(cx_div(cx_scale(m.B, m.dt), m.den)));
        float vr = (float)g.re, vi = (float)g.im;
        gC[i] = fresh_c ? vr : gC[i] + vr;
        gC[i + 1] = fresh_c ? vi : gC[i + 1] + vi;
    }
    if (gB) {
        s4d_cx g = cx_mul(gc, cx_conj(cx_div(cx_scale(m.C, m.dt), m.den)));
        float vr = (float)g.re, vi = (float)g.im;
        gB[i] = fresh_b ? vr : gB[i] + vr;
        gB[i + 1] = fresh_b ? vi : gB[i + 1] + vi;
    }
    sl[hn] = cx_mul(gc, cx_conj(cx_div(cx_mul(m.C, m.B), m.den))).re * m.dt;
}

/* dlog_dt[h] += sum_n sl[h, n], n ascending; one thread per h. */
ZOO_KERNEL s4d_bwd_ld(const double *sl, float *gld, int fresh, int64_t H, int64_t N2)
{
    int64_t h = ZOO_GID;
    if (h >= H)
        return;
    double s = 0;
    for (int64_t n = 0; n < N2; n++)
        s += sl[h * N2 + n];
    gld[h] = fresh ? (float)s : gld[h] + (float)s;
}

/* Workspace (floats; every part a whole number of doubles): forward acc (H, L) doubles,
 * w (H*N2) complex, the chain kept every TB steps (nTB, H*N2) complex; the backward reuses
 * its start for the dlog_dt terms (H*N2 doubles). */
static int64_t s4d_ntb(int64_t L) { return (L + S4D_TB - 1) / S4D_TB; }

extern "C" int zoo_cuda_s4d_kernel_prepare(zoo_exec *x, zoo_tensor *t)
{
    (void)x;
    int64_t H = t->shape[0], L = t->shape[1], HN = H * t->src[0]->shape[1];
    int64_t fwd = 2 * H * L + 4 * HN + 4 * HN * s4d_ntb(L), bwd = 2 * HN;
    t->aux_n = fwd > bwd ? fwd : bwd;
    return 0;
}

extern "C" int zoo_cuda_s4d_kernel_forward(zoo_exec *x, zoo_tensor *t)
{
    const zoo_tensor *Dt = t->src[0], *Ct = t->src[1], *Bt = t->src[2], *Ld = t->src[3];
    int64_t H = t->shape[0], L = t->shape[1], N2 = Dt->shape[1], HN = H * N2, nTB = s4d_ntb(L);
    double *acc = (double *)t->aux;
    s4d_cx *wv = (s4d_cx *)(t->aux + 2 * H * L), *ck = wv + HN;
    cudaStream_t s = zoo_cuda_of(x)->stream;
    ZOO_CU(ZOO_LAUNCH(s4d_chain, HN, s, Dt->data, Ct->data, Bt->data, Ld->data, wv, ck, HN, N2, L));
    ZOO_CU(ZOO_LAUNCH(s4d_acc, H * nTB, s, wv, ck, acc, t->data, H, N2, L, nTB));
    return 0;
}

extern "C" int zoo_cuda_s4d_kernel_backward(zoo_exec *x, zoo_tensor *t)
{
    zoo_tensor *Dt = t->src[0], *Ct = t->src[1], *Bt = t->src[2], *Ld = t->src[3];
    if (!Dt->grad && !Ct->grad && !Bt->grad && !Ld->grad)
        return 0;
    int64_t H = t->shape[0], L = t->shape[1], N2 = Dt->shape[1], HN = H * N2;
    double *sl = (double *)t->aux;
    cudaStream_t s = zoo_cuda_of(x)->stream;
    ZOO_CU(ZOO_LAUNCH(s4d_bwd_mode, HN, s, Dt->data, Ct->data, Bt->data, Ld->data, t->grad, Dt->grad, Ct->grad,
                      Bt->grad, sl, zoo_grad_fresh(t, 0), zoo_grad_fresh(t, 1), zoo_grad_fresh(t, 2), HN, N2, L));
    if (Ld->grad)
        ZOO_CU(ZOO_LAUNCH(s4d_bwd_ld, H, s, sl, Ld->grad, zoo_grad_fresh(t, 3), H, N2));
    return 0;
}
