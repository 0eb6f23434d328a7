/* wkv.cu: the RWKV v4 WKV recurrence (ops/wkv.c). One thread per (batch row, channel)
 * runs the CPU's loop over T as is: the sums carried divided by e^o with o a running max,
 * the backward's forward sweep (denominators z and log scales e into the workspace, dL/dw
 * and dL/du of its row) and reverse sweep (dk, dv). dw and du go through per-row partials
 * (B, C) in the workspace, summed over b in order by one thread per channel: no atomics,
 * and the CPU's summation order throughout. */
#include "common.cuh"

ZOO_CUDA_OP_FNS(wkv)

#define WKV_MIN_LOG (-1e38f) /* log of an empty sum, as ops/wkv.c */

/* y: (B, T, C) from w, u: (C) and k, v: (B, T, C); one thread per (b, c). */
ZOO_KERNEL wkv_fwd(const float *wp, const float *up, const float *kp, const float *vp, float *yp, int64_t B,
                   int64_t T, int64_t C)
{
    int64_t bc = ZOO_GID;
    if (bc >= B * C)
        return;
    int64_t b = bc / C, c = bc % C, off = b * T * C + c;
    const float *k = kp + off, *v = vp + off;
    float *y = yp + off;
    float w = wp[c], u = up[c], p = 0.0f, q = 0.0f, o = WKV_MIN_LOG;
    for (int64_t i = 0; i < T; i++) {
        int64_t ii = i * C;
        float kk = k[ii], vv = v[ii];
        float no = fmaxf(o, u + kk);
        float A = expf(o - no), Bt = expf(u + kk - no);
        y[ii] = (A * p + Bt * vv) / (A * q + Bt);
        no = fmaxf(w + o, kk);
        A = expf(w + o - no);
        Bt = expf(kk - no);
        p = A * p + Bt * vv;
        q = A * q + Bt;
        o = no;
    }
}

/* One thread per (b, c): z, e (B, T, C) and the row partials gw, gu (B, C) into the
 * workspace; dk, dv of the row (NULL: not wanted). */
ZOO_KERNEL wkv_bwd_row(const float *wp, const float *up, const float *kp, const float *vp, const float *yp,
                       const float *gyp, float *zp, float *ep, float *gwp, float *gup, float *gk_all, float *gv_all,
                       int fresh_k, int fresh_v, int64_t B, int64_t T, int64_t C)
{
    int64_t bc = ZOO_GID;
    if (bc >= B * C)
        return;
    int64_t b = bc / C, c = bc % C, off = b * T * C + c;
    const float *k = kp + off, *v = vp + off, *y = yp + off, *gy = gyp + off;
    float *z = zp + off, *e = ep + off;
    float w = wp[c], u = up[c];
    float p = 0.0f, q = 0.0f, dp = 0.0f, dq = 0.0f, o = WKV_MIN_LOG, gw = 0.0f, gu = 0.0f;
    for (int64_t i = 0; i < T; i++) {
        int64_t ii = i * C;
        float kk = k[ii], vv = v[ii], yy = y[ii], g = gy[ii];
        float no = fmaxf(o, u + kk);
        float A = expf(o - no), Bt = expf(u + kk - no);
        float iden = 1.0f / (A * q + Bt);
        z[ii] = iden;
        e[ii] = u + kk - no;
        gw += g * (dp - dq * yy) * iden * A;
        gu += g * (vv - yy) * Bt * iden;
        no = fmaxf(w + o, kk);
        A = expf(w + o - no);
        Bt = expf(kk - no);
        dp = A * (p + dp);
        dq = A * (q + dq);
        p = A * p + Bt * vv;
        q = A * q + Bt;
        o = no;
    }
    gwp[bc] = gw;
    gup[bc] = gu;
    if (!gk_all && !gv_all)
        return;
    float gp = 0.0f, gq = 0.0f, og = WKV_MIN_LOG;
    for (int64_t i = T - 1; i >= 0; i--) {
        int64_t ii = i * C;
        float kk = k[ii], vv = v[ii], yy = y[ii], zz = z[ii], ee = e[ii], g = gy[ii];
        float A = g * zz * expf(ee); /* the direct (current-token) term */
        float Bt = expf(kk + og);
        if (gk_all) {
            float d = A * (vv - yy) + Bt * (gp * vv + gq);
            gk_all[off + ii] = fresh_k ? d : gk_all[off + ii] + d;
        }
        if (gv_all) {
            float d = A + Bt * gp;
            gv_all[off + ii] = fresh_v ? d : gv_all[off + ii] + d;
        }
        float lg = ee - kk - u; /* log of 1/denominator, less log z */
        float no = fmaxf(w + og, lg);
        A = expf(w + og - no);
        Bt = g * zz * expf(lg - no);
        gp = A * gp + Bt;
        gq = A * gq - Bt * yy;
        og = no;
    }
}

/* dw[c], du[c] += sum over b of the row partials, b ascending; one thread per channel. */
ZOO_KERNEL wkv_bwd_wu(const float *gwp, const float *gup, float *dw, float *du, int fresh_w, int fresh_u, int64_t B,
                      int64_t C)
{
    int64_t c = ZOO_GID;
    if (c >= C)
        return;
    float sw = 0.0f, su = 0.0f;
    for (int64_t b = 0; b < B; b++) {
        sw += gwp[b * C + c];
        su += gup[b * C + c];
    }
    if (dw)
        dw[c] = fresh_w ? sw : dw[c] + sw;
    if (du)
        du[c] = fresh_u ? su : du[c] + su;
}

/* Workspace: z, e (B, T, C) each, then gw, gu (B, C) each, as on the CPU. */
extern "C" int zoo_cuda_wkv_prepare(zoo_exec *x, zoo_tensor *t)
{
    (void)x;
    const zoo_tensor *k = t->src[2]; /* (B, T, C) */
    t->aux_n = 2 * k->n + 2 * k->shape[0] * k->shape[2];
    return 0;
}

extern "C" int zoo_cuda_wkv_forward(zoo_exec *x, zoo_tensor *t)
{
    const zoo_tensor *W = t->src[0], *U = t->src[1], *K = t->src[2], *V = t->src[3];
    int64_t B = K->shape[0], T = K->shape[1], C = K->shape[2];
    ZOO_CU(ZOO_LAUNCH(wkv_fwd, B * C, zoo_cuda_of(x)->stream, W->data, U->data, K->data, V->data, t->data, B, T, C));
    return 0;
}

extern "C" int zoo_cuda_wkv_backward(zoo_exec *x, zoo_tensor *t)
{
    zoo_tensor *W = t->src[0], *U = t->src[1], *K = t->src[2], *V = t->src[3];
    if (!W->grad && !U->grad && !K->grad && !V->grad)
        return 0;
    int64_t B = K->shape[0], T = K->shape[1], C = K->shape[2], n = B * T * C;
    float *zp = t->aux, *ep = zp + n, *gwp = ep + n, *gup = gwp + B * C;
    cudaStream_t s = zoo_cuda_of(x)->stream;
    ZOO_CU(ZOO_LAUNCH(wkv_bwd_row, B * C, s, W->data, U->data, K->data, V->data, t->data, t->grad, zp, ep, gwp, gup,
                      K->grad, V->grad, zoo_grad_fresh(t, 2), zoo_grad_fresh(t, 3), B, T, C));
    if (W->grad || U->grad)
        ZOO_CU(ZOO_LAUNCH(wkv_bwd_wu, C, s, gwp, gup, W->grad, U->grad, zoo_grad_fresh(t, 0), zoo_grad_fresh(t, 1), B,
                          C));
    return 0;
}
