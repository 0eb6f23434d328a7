/* wkv.c: the RWKV v4 WKV recurrence (docs/mixers.md, rwkv), per batch row b and channel c:
 *   y_t = (sum_{i<t} e^{(t-1-i) w + k_i} v_i + e^{u + k_t} v_t)
 *       / (sum_{i<t} e^{(t-1-i) w + k_i}     + e^{u + k_t})
 * w (C) is the per-channel log decay (Zoology passes w = -exp(time_decay); the mixer
 * composes that from exp and scale), u (C) the bonus of the current token ("time_first").
 * As the RWKV kernel, the sums are carried divided by e^o with o a running max of the
 * exponents, so nothing overflows for any k or w; the backward keeps its adjoints the
 * same way. No length limit (the CUDA kernel's T <= 1024 is a stack-array size).
 *
 * Precision: Zoology runs the kernel in fp32 and casts its output to bf16
 * (RWKV_FLOAT_MODE='bf16'). We keep the output f32 and do not round: zoo trains in
 * fp32 throughout, the rounding only adds noise of 2^-9 relative to y, and the
 * cast's gradient in PyTorch is the identity, so gradients are unaffected either way. */
#include <math.h>
#include <string.h>

#include "../backends/cuda/slot.h"
#include "../internal.h"

#define WKV_MIN_LOG (-1e38f) /* log of an empty sum: exp of it and of its sums is 0 */

/* aux layout: z[B,T,C] (1 / scaled denominator), e[B,T,C] (log scale of the direct term,
 * u + k_t - no_t), then the per-row partial gradients gw[B,C], gu[B,C], reduced over b in
 * a fixed order so the result does not depend on the thread count. */

static int wkv_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    const zoo_tensor *W = t->src[0], *U = t->src[1], *K = t->src[2], *V = t->src[3];
    int64_t B = K->shape[0], T = K->shape[1], C = K->shape[2];
    const float *wp = W->data, *up = U->data, *kp = K->data, *vp = V->data; /* w, u: (C); k, v: (B, T, C) */
    float *yp = t->data;                                                     /* y: (B, T, C) */
#pragma omp parallel for schedule(static)
    for (int64_t bc = 0; bc < B * C; bc++) {
        int64_t b = bc / C, c = bc % C, off = b * T * C + c;
        const float *k = kp + off, *v = vp + off;
        float *y = yp + off;
        float w = wp[c], u = up[c], p = 0.0f, q = 0.0f, o = WKV_MIN_LOG;
        for (int64_t i = 0; i < T; i++) {
            int64_t ii = i * C;
            float no = fmaxf(o, u + k[ii]);
            float A = expf(o - no), Bt = expf(u + k[ii] - no);
            y[ii] = (A * p + Bt * v[ii]) / (A * q + Bt);
            no = fmaxf(w + o, k[ii]);
            A = expf(w + o - no);
            Bt = expf(k[ii] - no);
            p = A * p + Bt * v[ii];
            q = A * q + Bt;
            o = no;
        }
    }
    return 0;
}

static int wkv_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *W = t->src[0], *U = t->src[1], *K = t->src[2], *V = t->src[3];
    int64_t B = K->shape[0], T = K->shape[1], C = K->shape[2], n = B * T * C;
    const float *wp = W->data, *up = U->data, *kp = K->data, *vp = V->data, *yp = t->data, *gyp = t->grad;
    float *zp = t->aux, *ep = t->aux + n, *gwp = t->aux + 2 * n, *gup = t->aux + 2 * n + B * C;
    float *gk_all = K->grad, *gv_all = V->grad;
#pragma omp parallel for schedule(static)
    for (int64_t bc = 0; bc < B * C; bc++) {
        int64_t b = bc / C, c = bc % C, off = b * T * C + c;
        const float *k = kp + off, *v = vp + off, *y = yp + off, *gy = gyp + off;
        float *z = zp + off, *e = ep + off;
        float w = wp[c], u = up[c];
        /* forward direction: the denominators, dL/du, and dL/dw by carrying the derivative
         * of the scaled sums with respect to w along (dp, dq) */
        float p = 0.0f, q = 0.0f, dp = 0.0f, dq = 0.0f, o = WKV_MIN_LOG, gw = 0.0f, gu = 0.0f;
        for (int64_t i = 0; i < T; i++) {
            int64_t ii = i * C;
            float no = fmaxf(o, u + k[ii]);
            float A = expf(o - no), Bt = expf(u + k[ii] - no);
            float iden = 1.0f / (A * q + Bt);
            z[ii] = iden;
            e[ii] = u + k[ii] - no;
            gw += gy[ii] * (dp - dq * y[ii]) * iden * A;
            gu += gy[ii] * (v[ii] - y[ii]) * Bt * iden;
            no = fmaxf(w + o, k[ii]);
            A = expf(w + o - no);
            Bt = expf(k[ii] - no);
            dp = A * (p + dp);
            dq = A * (q + dq);
            p = A * p + Bt * v[ii];
            q = A * q + Bt;
            o = no;
        }
        gwp[bc] = gw;
        gup[bc] = gu;
        if (!gk_all && !gv_all)
            continue;
        /* reverse direction: adjoints of the numerator and denominator sums, scaled by e^og */
        float gp = 0.0f, gq = 0.0f, og = WKV_MIN_LOG;
        for (int64_t i = T - 1; i >= 0; i--) {
            int64_t ii = i * C;
            float A = gy[ii] * z[ii] * expf(e[ii]); /* the direct (current-token) term */
            float Bt = expf(k[ii] + og);
            if (gk_all)
                gk_all[off + ii] += A * (v[ii] - y[ii]) + Bt * (gp * v[ii] + gq);
            if (gv_all)
                gv_all[off + ii] += A + Bt * gp;
            float lg = e[ii] - k[ii] - u; /* log of 1/denominator, less log z */
            float no = fmaxf(w + og, lg);
            A = expf(w + og - no);
            Bt = gy[ii] * z[ii] * expf(lg - no);
            gp = A * gp + Bt;
            gq = A * gq - Bt * y[ii];
            og = no;
        }
    }
    if (W->grad || U->grad)
        for (int64_t c = 0; c < C; c++) {
            float sw = 0.0f, su = 0.0f;
            for (int64_t b = 0; b < B; b++) {
                sw += gwp[b * C + c];
                su += gup[b * C + c];
            }
            if (W->grad)
                W->grad[c] += sw;
            if (U->grad)
                U->grad[c] += su;
        }
    return 0;
}

/* Workspace of the CPU kernels, sized for this backend (threads included). */
static int wkv_prepare_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    const zoo_tensor *k = t->src[2]; /* (B, T, C) */
    t->aux_n = 2 * k->n + 2 * k->shape[0] * k->shape[2];
    return 0;
}

ZOO_CUDA_DECLARE(wkv)
const zoo_op_def zoo_op_wkv = {
    "wkv", {[ZOO_BACKEND_CPU] = {wkv_prepare_cpu, wkv_fwd_cpu, wkv_bwd_cpu} ZOO_CUDA_SLOT(wkv)}, 0};

zoo_tensor *zoo_wkv(zoo_graph *g, zoo_tensor *w, zoo_tensor *u, zoo_tensor *k, zoo_tensor *v)
{
    zoo_tensor *src[4] = {w, u, k, v};
    if (!g || g->status || !w || !u || !k || !v)
        return zoo_node_new(g, &zoo_op_wkv, 1, (int64_t[]){1}, src, 4);
    char s1[64], s2[64];
    if (k->dtype != ZOO_F32 || k->ndim != 3)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "wkv: k %s must be f32 (B, T, C)", zoo_shape_str(k, s1, 64));
    if (v->ndim != 3 || v->shape[0] != k->shape[0] || v->shape[1] != k->shape[1] || v->shape[2] != k->shape[2])
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "wkv: v %s differs from k %s", zoo_shape_str(v, s1, 64),
                             zoo_shape_str(k, s2, 64));
    int64_t C = k->shape[2];
    if (w->ndim != 1 || w->shape[0] != C)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "wkv: w %s must be (%lld), one decay per channel",
                             zoo_shape_str(w, s1, 64), (long long)C);
    if (u->ndim != 1 || u->shape[0] != C)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "wkv: u %s must be (%lld), one bonus per channel",
                             zoo_shape_str(u, s1, 64), (long long)C);
    return zoo_node_new(g, &zoo_op_wkv, 3, k->shape, src, 4);
}
