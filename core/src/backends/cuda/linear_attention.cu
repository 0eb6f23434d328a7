/* linear_attention.cu: causal linear attention with a feature map (ops/linear_attention.c)
 * on CUDA, in both of the CPU's forms, forward and backward; the maps are
 * linear_attention_math.h's, shared with the CPU.
 *
 * Prefix-sum form. The features phi(q_t), phi(k_t) are formed once (one thread per
 * token). The prefix sums are sequential scans over t in which each thread owns one
 * column or one row of the F x (dv+1) state [S | z] (kept in workspace), so every sum
 * is one thread's, in the CPU's order:
 *   forward: thread (b, h, j) owns column j of [S | z]: S_t[:, j] and y_t[j]'s numerator
 *     phi(q_t) . S_t[:, j] (the z column gives the denominator); a second kernel divides;
 *   backward: dn_t = dy_t / den_t and dd_t = -(dy_t . y_t) / den_t per token; thread
 *     (b, h, i) owns row i of [S | z] (forward scan) for dphi(q_t)[i] = S_t[i] . dn_t +
 *     z_t[i] dd_t, then row i of [R | r] (reverse scan) for dphi(k_s)[i]; thread
 *     (b, h, j) owns column j of R (reverse scan) for dv_s[j] = phi(k_s) . R_s[:, j];
 *     one thread per token applies the map's backward (J_phi^T dphi) to dq and dk.
 * Masked form. p(q), p(k) (one thread per element), then X = p(Q) p(K)^T and y = A V
 * as batched GEMMs, with one thread per query row for A = kappa(X) under the causal
 * mask and the denominators; backward G = dn V^T (GEMM), dX = (G + dd) kappa'(X) one
 * thread per row, then dp(Q) = dX p(K), dp(K) = dX^T p(Q) and dV = A^T dn as GEMMs.
 * Deterministic: no atomics; every sum is one thread's loop in a fixed order or a GEMM. */
#include <math.h>

#include "common.cuh"
#include "gemm_bh.cuh"

#define ZOO_MATH_FN ZOO_HD
#include "../../ops/linear_attention_math.h"

ZOO_CUDA_OP_FNS(linear_attention)

enum { IP_FM = 0, IP_H, IP_QUAD }; /* ops/linear_attention.c's integer parameters */

typedef struct linattn_dims {
    int64_t B, L, H, f, dv, F, BH;
    int fm, quad;
    float eps, c1, c2;
} linattn_dims;

static linattn_dims linattn_dims_of(const zoo_tensor *t)
{
    linattn_dims d;
    d.B = t->src[0]->shape[0];
    d.L = t->src[0]->shape[1];
    d.H = t->ip[IP_H];
    d.f = t->src[0]->shape[2] / d.H;
    d.dv = t->src[2]->shape[2] / d.H;
    d.BH = d.B * d.H;
    d.fm = (int)t->ip[IP_FM];
    d.quad = t->ip[IP_QUAD] != 0;
    zoo_la_fmap m = zoo_la_fmap_of(d.fm, d.f);
    d.F = m.F;
    d.c1 = m.c1;
    d.c2 = m.c2;
    d.eps = t->fp[0];
    return d;
}

/* Workspace, in floats from t->aux. Both forms: den (BH, L), DN (BH, L, dv), DD (BH, L).
 * Prefix-sum form: PQ, PK (BH, L, F) features, ST (BH, F*(dv+1)) the scans' states,
 * DPHI (BH, L, F). Masked form: PQ, PK (BH, L, f), X, A, G (BH, L, L), DPQ, DPK (BH, L, f). */
typedef struct linattn_ws {
    float *den, *DN, *DD, *PQ, *PK, *ST, *DPHI, *X, *A, *G, *DPQ, *DPK;
    int64_t n;
} linattn_ws;

/* The next `count` floats of the workspace from offset *o (NULL while only sizing). */
static float *linattn_take(float *aux, int64_t *o, int64_t count)
{
    float *p = aux ? aux + *o : NULL;
    *o += count;
    return p;
}

static linattn_ws linattn_ws_of(const linattn_dims *d, float *aux)
{
    linattn_ws w = {};
    int64_t BL = d->BH * d->L, o = 0, fs = d->quad ? d->f : d->F;
    w.den = linattn_take(aux, &o, BL);
    w.DN = linattn_take(aux, &o, BL * d->dv);
    w.DD = linattn_take(aux, &o, BL);
    w.PQ = linattn_take(aux, &o, BL * fs);
    w.PK = linattn_take(aux, &o, BL * fs);
    if (d->quad) {
        w.X = linattn_take(aux, &o, BL * d->L);
        w.A = linattn_take(aux, &o, BL * d->L);
        w.G = linattn_take(aux, &o, BL * d->L);
        w.DPQ = linattn_take(aux, &o, BL * d->f);
        w.DPK = linattn_take(aux, &o, BL * d->f);
    } else {
        w.ST = linattn_take(aux, &o, d->BH * d->F * (d->dv + 1));
        w.DPHI = linattn_take(aux, &o, BL * d->F);
    }
    w.n = o;
    return w;
}

/* ---- prefix-sum form ---------------------------------------------------------------- */

/* One thread per token r = (b*H + h)*L + t: PQ[r] = phi(q_t), PK[r] = phi(k_t). */
ZOO_KERNEL linattn_lin_feat(const float *q, const float *k, float *PQ, float *PK, int64_t rows, int64_t L, int64_t H,
                            int64_t f, int64_t F, int fm, float c1, float c2)
{
    int64_t r = ZOO_GID;
    if (r >= rows)
        return;
    int64_t bh = r / L, tt = r % L, off = ((bh / H) * L + tt) * H * f + (bh % H) * f;
    zoo_la_fmap m = {fm, f, F, c1, c2};
    zoo_la_phi_full(&m, q + off, PQ + r * F);
    zoo_la_phi_full(&m, k + off, PK + r * F);
}

/* One thread per (b, h, j), j <= dv, owning column j of [S | z] (stride dv+1 in ST):
 * S_t[i][j] += phi(k_t)[i] v_t[j] (v_t[dv] = 1: z), numerator phi(q_t) . S_t[:, j] into
 * y_t[j], or into den_t with eps for the z column. */
ZOO_KERNEL linattn_lin_fwd_scan(const float *PQ, const float *PK, const float *v, float *ST, float *y, float *den,
                                int64_t n, int64_t L, int64_t H, int64_t dv, int64_t F, float eps)
{
    int64_t g = ZOO_GID;
    if (g >= n)
        return;
    int64_t W = dv + 1, bh = g / W, j = g % W, b = bh / H, h = bh % H;
    float *S = ST + bh * F * W + j;
    for (int64_t i = 0; i < F; i++)
        S[i * W] = 0.0f;
    for (int64_t tt = 0; tt < L; tt++) {
        int64_t r = bh * L + tt, o = (b * L + tt) * H * dv + h * dv;
        const float *pq = PQ + r * F, *pk = PK + r * F;
        float vj = j < dv ? v[o + j] : 1.0f, num = 0.0f;
        for (int64_t i = 0; i < F; i++) {
            float s = S[i * W] + pk[i] * vj;
            S[i * W] = s;
            num += pq[i] * s;
        }
        if (j < dv)
            y[o + j] = num;
        else
            den[r] = num + eps;
    }
}

/* One thread per output element: y /= den (both forms). */
ZOO_KERNEL linattn_div(float *y, const float *den, int64_t n, int64_t L, int64_t H, int64_t dv)
{
    int64_t g = ZOO_GID;
    if (g >= n)
        return;
    int64_t r = g / dv, j = g % dv, bh = r / L, tt = r % L;
    y[((bh / H) * L + tt) * H * dv + (bh % H) * dv + j] /= den[r];
}

/* One thread per token: DN = dy / den; DD = -(dy . y) / den (prefix-sum form) or
 * -(DN . y) (masked form), in the CPU's order of each. */
ZOO_KERNEL linattn_dn(const float *y, const float *dy, const float *den, float *DN, float *DD, int64_t rows, int64_t L,
                      int64_t H, int64_t dv, int quad)
{
    int64_t r = ZOO_GID;
    if (r >= rows)
        return;
    int64_t bh = r / L, tt = r % L, o = ((bh / H) * L + tt) * H * dv + (bh % H) * dv;
    float inv = 1.0f / den[r], dd = 0.0f;
    for (int64_t j = 0; j < dv; j++) {
        float dn = dy[o + j] * inv;
        DN[r * dv + j] = dn;
        dd -= quad ? dn * y[o + j] : dy[o + j] * y[o + j];
    }
    DD[r] = quad ? dd : dd * inv;
}

/* One thread per (b, h, i), owning row i of [S | z] (stride F in ST), forward in t:
 * DPHI_t[i] = z_t[i] dd_t + S_t[i] . dn_t. */
ZOO_KERNEL linattn_lin_dq_scan(const float *PK, const float *v, const float *DN, const float *DD, float *ST,
                               float *DPHI, int64_t n, int64_t L, int64_t H, int64_t dv, int64_t F)
{
    int64_t g = ZOO_GID;
    if (g >= n)
        return;
    int64_t bh = g / F, i = g % F, b = bh / H, h = bh % H;
    float *S = ST + bh * (dv + 1) * F + i;
    for (int64_t j = 0; j <= dv; j++)
        S[j * F] = 0.0f;
    for (int64_t tt = 0; tt < L; tt++) {
        int64_t r = bh * L + tt;
        const float *vr = v + (b * L + tt) * H * dv + h * dv, *dn = DN + r * dv;
        float a = PK[r * F + i], z = S[dv * F] + a;
        S[dv * F] = z;
        float s = z * DD[r];
        for (int64_t j = 0; j < dv; j++) { /* S_t[i][j] complete before it is read: the CPU's values */
            float sj = S[j * F] + a * vr[j];
            S[j * F] = sj;
            s += sj * dn[j];
        }
        DPHI[r * F + i] = s;
    }
}

/* One thread per (b, h, i), owning row i of [R | r] (stride F in ST), backward in t:
 * R_s[i] += phi(q_s)[i] dn_s, r_s[i] += phi(q_s)[i] dd_s, DPHI_s[i] = r_s[i] + R_s[i] . v_s. */
ZOO_KERNEL linattn_lin_dk_scan(const float *PQ, const float *v, const float *DN, const float *DD, float *ST,
                               float *DPHI, int64_t n, int64_t L, int64_t H, int64_t dv, int64_t F)
{
    int64_t g = ZOO_GID;
    if (g >= n)
        return;
    int64_t bh = g / F, i = g % F, b = bh / H, h = bh % H;
    float *R = ST + bh * (dv + 1) * F + i;
    for (int64_t j = 0; j <= dv; j++)
        R[j * F] = 0.0f;
    for (int64_t tt = L - 1; tt >= 0; tt--) {
        int64_t r = bh * L + tt;
        const float *vr = v + (b * L + tt) * H * dv + h * dv, *dn = DN + r * dv;
        float a = PQ[r * F + i], s = R[dv * F] + a * DD[r];
        R[dv * F] = s;
        for (int64_t j = 0; j < dv; j++) { /* R_s[i][j] complete before it is read: the CPU's values */
            float rj = R[j * F] + a * dn[j];
            R[j * F] = rj;
            s += rj * vr[j];
        }
        DPHI[r * F + i] = s;
    }
}

/* One thread per (b, h, j), j < dv, owning column j of R (stride dv in ST), backward in
 * t: R_s[:, j] += phi(q_s) dn_s[j], then dv_s[j] += phi(k_s) . R_s[:, j] in feature order. */
ZOO_KERNEL linattn_lin_dv_scan(const float *PQ, const float *PK, const float *DN, float *ST, float *gv, int64_t n,
                               int64_t L, int64_t H, int64_t dv, int64_t F, int fresh)
{
    int64_t g = ZOO_GID;
    if (g >= n)
        return;
    int64_t bh = g / dv, j = g % dv, b = bh / H, h = bh % H;
    float *R = ST + bh * F * dv + j;
    for (int64_t i = 0; i < F; i++)
        R[i * dv] = 0.0f;
    for (int64_t tt = L - 1; tt >= 0; tt--) {
        int64_t r = bh * L + tt, o = (b * L + tt) * H * dv + h * dv + j;
        const float *pq = PQ + r * F, *pk = PK + r * F;
        float dn = DN[r * dv + j], acc = fresh ? 0.0f : gv[o];
        for (int64_t i = 0; i < F; i++) {
            float s = R[i * dv] + pq[i] * dn;
            R[i * dv] = s;
            acc += pk[i] * s;
        }
        gv[o] = acc;
    }
}

/* One thread per token: dx (+)= J_phi(x_t)^T DPHI_t. */
ZOO_KERNEL linattn_lin_map_bwd(const float *xs, const float *DPHI, float *gx, int64_t rows, int64_t L, int64_t H,
                               int64_t f, int64_t F, int fm, float c1, float c2, int fresh)
{
    int64_t r = ZOO_GID;
    if (r >= rows)
        return;
    int64_t bh = r / L, tt = r % L, off = ((bh / H) * L + tt) * H * f + (bh % H) * f;
    if (fresh)
        for (int64_t i = 0; i < f; i++)
            gx[off + i] = 0.0f;
    zoo_la_fmap m = {fm, f, F, c1, c2};
    zoo_la_phi_full_bwd(&m, xs + off, DPHI + r * F, gx + off);
}

/* ---- masked form -------------------------------------------------------------------- */

/* The elementwise part of the map (Taylor: the identity; kappa does the rest). */
static int linattn_pm(int fm) { return fm == ZOO_FMAP_TAYLOR ? (int)ZOO_FMAP_IDENTITY : fm; }

/* One thread per element of (b, h, t, i): PQ = p(q), PK = p(k), heads made contiguous. */
ZOO_KERNEL linattn_quad_map(const float *q, const float *k, float *PQ, float *PK, int64_t n, int64_t L, int64_t H,
                            int64_t f, int pm)
{
    int64_t g = ZOO_GID;
    if (g >= n)
        return;
    int64_t r = g / f, i = g % f, bh = r / L, tt = r % L, off = ((bh / H) * L + tt) * H * f + (bh % H) * f + i;
    PQ[g] = zoo_la_phi_el(pm, q[off]);
    PK[g] = zoo_la_phi_el(pm, k[off]);
}

/* One thread per query row r = (b*H + h)*L + t: A[t, s] = kappa(X[t, s]) for s <= t, 0
 * after; den_t = sum_s A[t, s] + eps in key order. */
ZOO_KERNEL linattn_quad_rows(const float *X, float *A, float *den, int64_t rows, int64_t L, int fm, int64_t f,
                             int64_t F, float c1, float c2, float eps)
{
    int64_t r = ZOO_GID;
    if (r >= rows)
        return;
    int64_t tt = r % L;
    zoo_la_fmap m = {fm, f, F, c1, c2};
    const float *x = X + r * L;
    float *a = A + r * L, sum = 0.0f;
    for (int64_t s = 0; s <= tt; s++) {
        float v = zoo_la_kappa(&m, x[s]);
        a[s] = v;
        sum += v;
    }
    for (int64_t s = tt + 1; s < L; s++)
        a[s] = 0.0f;
    den[r] = sum + eps;
}

/* One thread per query row: G = dn V^T becomes dX = (G + dd_t) kappa'(X) for s <= t, 0 after. */
ZOO_KERNEL linattn_quad_dx(float *G, const float *X, const float *DD, int64_t rows, int64_t L, int fm, int64_t f,
                           int64_t F, float c1, float c2)
{
    int64_t r = ZOO_GID;
    if (r >= rows)
        return;
    int64_t tt = r % L;
    zoo_la_fmap m = {fm, f, F, c1, c2};
    const float *x = X + r * L;
    float *gr = G + r * L, dd = DD[r];
    for (int64_t s = 0; s <= tt; s++)
        gr[s] = (gr[s] + dd) * zoo_la_kappa_d(&m, x[s]);
    for (int64_t s = tt + 1; s < L; s++)
        gr[s] = 0.0f;
}

/* One thread per element of (b, h, t, i): dx (+)= D p'(x). */
ZOO_KERNEL linattn_quad_dmap(const float *xs, const float *D, float *gx, int64_t n, int64_t L, int64_t H, int64_t f,
                             int pm, int fresh)
{
    int64_t g = ZOO_GID;
    if (g >= n)
        return;
    int64_t r = g / f, i = g % f, bh = r / L, tt = r % L, off = ((bh / H) * L + tt) * H * f + (bh % H) * f + i;
    float d = D[g] * zoo_la_phi_el_d(pm, xs[off]);
    gx[off] = fresh ? d : gx[off] + d;
}

/* ---- entry points ------------------------------------------------------------------- */

extern "C" int zoo_cuda_linear_attention_prepare(zoo_exec *x, zoo_tensor *t)
{
    (void)x;
    linattn_dims d = linattn_dims_of(t);
    t->aux_n = linattn_ws_of(&d, NULL).n;
    return 0;
}

extern "C" int zoo_cuda_linear_attention_forward(zoo_exec *x, zoo_tensor *t)
{
    linattn_dims d = linattn_dims_of(t);
    linattn_ws w = linattn_ws_of(&d, t->aux);
    cudaStream_t st = zoo_cuda_of(x)->stream;
    const float *q = t->src[0]->data, *k = t->src[1]->data, *v = t->src[2]->data;
    float *y = t->data;
    int64_t BL = d.BH * d.L, LL = d.L * d.L;
    if (!d.quad) {
        ZOO_CU(ZOO_LAUNCH(linattn_lin_feat, BL, st, q, k, w.PQ, w.PK, BL, d.L, d.H, d.f, d.F, d.fm, d.c1, d.c2));
        ZOO_CU(ZOO_LAUNCH(linattn_lin_fwd_scan, d.BH * (d.dv + 1), st, w.PQ, w.PK, v, w.ST, y, w.den, d.BH * (d.dv + 1),
                          d.L, d.H, d.dv, d.F, d.eps));
    } else {
        int64_t sv = d.L * d.H * d.dv;
        ZOO_CU(ZOO_LAUNCH(linattn_quad_map, BL * d.f, st, q, k, w.PQ, w.PK, BL * d.f, d.L, d.H, d.f, linattn_pm(d.fm)));
        int rc = zoo_cuda_gemm_batched(x, 0, 1, d.L, d.L, d.f, 1.0f, w.PQ, d.f, d.L * d.f, w.PK, d.f, d.L * d.f, 0.0f,
                                       w.X, d.L, LL, d.BH); /* X = p(Q) p(K)^T */
        if (rc)
            return rc;
        ZOO_CU(ZOO_LAUNCH(linattn_quad_rows, BL, st, w.X, w.A, w.den, BL, d.L, d.fm, d.f, d.F, d.c1, d.c2, d.eps));
        zoo_bh_op A = {w.A, d.L, d.H * LL, LL}, V = {v, d.H * d.dv, sv, d.dv}, Y = {y, d.H * d.dv, sv, d.dv};
        if ((rc = zoo_cuda_gemm_bh(x, 0, 0, d.L, d.dv, d.L, 1.0f, A, V, 0.0f, Y, d.B, d.H))) /* y = A V */
            return rc;
    }
    ZOO_CU(ZOO_LAUNCH(linattn_div, BL * d.dv, st, y, w.den, BL * d.dv, d.L, d.H, d.dv));
    return 0;
}

extern "C" int zoo_cuda_linear_attention_backward(zoo_exec *x, zoo_tensor *t)
{
    linattn_dims d = linattn_dims_of(t);
    linattn_ws w = linattn_ws_of(&d, t->aux);
    cudaStream_t st = zoo_cuda_of(x)->stream;
    zoo_tensor *Q = t->src[0], *K = t->src[1], *V = t->src[2];
    int64_t BL = d.BH * d.L, LL = d.L * d.L;
    ZOO_CU(ZOO_LAUNCH(linattn_dn, BL, st, t->data, t->grad, w.den, w.DN, w.DD, BL, d.L, d.H, d.dv, d.quad));
    if (!d.quad) {
        if (Q->grad) {
            ZOO_CU(ZOO_LAUNCH(linattn_lin_dq_scan, d.BH * d.F, st, w.PK, V->data, w.DN, w.DD, w.ST, w.DPHI, d.BH * d.F,
                              d.L, d.H, d.dv, d.F));
            ZOO_CU(ZOO_LAUNCH(linattn_lin_map_bwd, BL, st, Q->data, w.DPHI, Q->grad, BL, d.L, d.H, d.f, d.F, d.fm, d.c1,
                              d.c2, zoo_grad_fresh(t, 0)));
        }
        if (K->grad) {
            ZOO_CU(ZOO_LAUNCH(linattn_lin_dk_scan, d.BH * d.F, st, w.PQ, V->data, w.DN, w.DD, w.ST, w.DPHI, d.BH * d.F,
                              d.L, d.H, d.dv, d.F));
            ZOO_CU(ZOO_LAUNCH(linattn_lin_map_bwd, BL, st, K->data, w.DPHI, K->grad, BL, d.L, d.H, d.f, d.F, d.fm, d.c1,
                              d.c2, zoo_grad_fresh(t, 1)));
        }
        if (V->grad)
            ZOO_CU(ZOO_LAUNCH(linattn_lin_dv_scan, d.BH * d.dv, st, w.PQ, w.PK, w.DN, w.ST, V->grad, d.BH * d.dv, d.L,
                              d.H, d.dv, d.F, zoo_grad_fresh(t, 2)));
        return 0;
    }
    int rc, pm = linattn_pm(d.fm);
    int64_t sv = d.L * d.H * d.dv, sp = d.L * d.f;
    zoo_bh_op A = {w.A, d.L, d.H * LL, LL}, DN = {w.DN, d.dv, d.H * d.L * d.dv, d.L * d.dv};
    if (Q->grad || K->grad) {
        zoo_bh_op Vm = {V->data, d.H * d.dv, sv, d.dv}, G = {w.G, d.L, d.H * LL, LL};
        if ((rc = zoo_cuda_gemm_bh(x, 0, 1, d.L, d.L, d.dv, 1.0f, DN, Vm, 0.0f, G, d.B, d.H))) /* G = dn V^T */
            return rc;
        ZOO_CU(ZOO_LAUNCH(linattn_quad_dx, BL, st, w.G, w.X, w.DD, BL, d.L, d.fm, d.f, d.F, d.c1, d.c2));
    }
    if (Q->grad) { /* dp(Q) = dX p(K) */
        if ((rc = zoo_cuda_gemm_batched(x, 0, 0, d.L, d.f, d.L, 1.0f, w.G, d.L, LL, w.PK, d.f, sp, 0.0f, w.DPQ, d.f, sp,
                                        d.BH)))
            return rc;
        ZOO_CU(ZOO_LAUNCH(linattn_quad_dmap, BL * d.f, st, Q->data, w.DPQ, Q->grad, BL * d.f, d.L, d.H, d.f, pm,
                          zoo_grad_fresh(t, 0)));
    }
    if (K->grad) { /* dp(K) = dX^T p(Q) */
        if ((rc = zoo_cuda_gemm_batched(x, 1, 0, d.L, d.f, d.L, 1.0f, w.G, d.L, LL, w.PQ, d.f, sp, 0.0f, w.DPK, d.f, sp,
                                        d.BH)))
            return rc;
        ZOO_CU(ZOO_LAUNCH(linattn_quad_dmap, BL * d.f, st, K->data, w.DPK, K->grad, BL * d.f, d.L, d.H, d.f, pm,
                          zoo_grad_fresh(t, 1)));
    }
    if (V->grad) { /* dV = A^T dn */
        zoo_bh_op gv = {V->grad, d.H * d.dv, sv, d.dv};
        if ((rc = zoo_cuda_gemm_bh(x, 1, 0, d.L, d.dv, d.L, 1.0f, A, DN, zoo_grad_fresh(t, 2) ? 0.0f : 1.0f, gv, d.B,
                                   d.H)))
            return rc;
    }
    return 0;
}
