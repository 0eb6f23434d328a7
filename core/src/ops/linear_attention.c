/* linear_attention.c: causal linear attention with a feature map (docs/mixers.md, based):
 * y_t = sum_{s<=t} (phi(q_t).phi(k_s)) v_s / (sum_{s<=t} phi(q_t).phi(k_s) + eps),
 * in the prefix-sum ("linear") form or the masked L x L ("quadratic") form. No rotary, no
 * separate key/value head count, no non-causal variant. */
#include <math.h>
#include <string.h>

#include "../backends/cuda/slot.h"
#include "../internal.h"
#include "linear_attention_math.h"
#include "slots.h"

#ifdef _OPENMP
#include <omp.h>
#endif

enum { IP_FM = 0, IP_H, IP_QUAD, IP_SLOTS, IP_STRIDE };

int zoo_feature_map_parse(const char *name, zoo_feature_map *out)
{
    static const struct {
        const char *name;
        zoo_feature_map fm;
    } names[] = {{"taylor_exp", ZOO_FMAP_TAYLOR}, {"taylor", ZOO_FMAP_TAYLOR}, {"none", ZOO_FMAP_IDENTITY},
                 {"identity", ZOO_FMAP_IDENTITY}, {"pos_elu", ZOO_FMAP_ELU1},  {"elu", ZOO_FMAP_ELU1},
                 {"relu", ZOO_FMAP_RELU}};
    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i].name)) {
            if (out)
                *out = names[i].fm;
            return 0;
        }
    return ZOO_ERR_INVALID;
}

const char *zoo_feature_map_name(zoo_feature_map fm)
{
    switch (fm) {
    case ZOO_FMAP_TAYLOR: return "taylor_exp";
    case ZOO_FMAP_IDENTITY: return "none";
    case ZOO_FMAP_ELU1: return "pos_elu";
    case ZOO_FMAP_RELU: return "relu";
    }
    return "?";
}

int64_t zoo_feature_map_dim(zoo_feature_map fm, int64_t f) { return fm == ZOO_FMAP_TAYLOR ? 1 + f + f * f : f; }

/* The feature maps phi (elementwise, or Taylor's 1 + f + f(f+1)/2 features) and their
 * backward are in linear_attention_math.h, shared with the CUDA kernels. */

typedef struct {
    int64_t B, L, H, f, dv, F;
    float eps;
    zoo_la_fmap m;
} dims;

static dims dims_of(const zoo_tensor *t)
{
    const zoo_tensor *Q = t->src[0], *V = t->src[2];
    dims d;
    d.B = Q->shape[0];
    d.L = Q->shape[1];
    d.H = t->ip[IP_H];
    d.f = Q->shape[2] / d.H;
    d.dv = V->shape[2] / d.H;
    d.m = zoo_la_fmap_of((int)t->ip[IP_FM], d.f);
    d.F = d.m.F;
    d.eps = t->fp[0];
    return d;
}

/* ---- prefix-sum ("linear") form ------------------------------------------------------
 * Per (b, h): S_t = sum_{s<=t} phi(k_s) v_s^T (F x dv), z_t = sum_{s<=t} phi(k_s) (F),
 * y_t = S_t^T phi(q_t) / (phi(q_t).z_t + eps). aux: den (B, H, L), then per thread
 * S (F*dv), z (F), pq (F), pk (F), dphi (F), dn (dv), dx (f). */
static void lin_fwd(zoo_tensor *t)
{
    dims d = dims_of(t);
    const zoo_tensor *Q = t->src[0], *K = t->src[1], *V = t->src[2];
    int64_t F = d.F, dv = d.dv, f = d.f, HF = d.H * f, HV = d.H * dv;
    float *den = t->aux, *work = t->aux + d.B * d.H * d.L;
#pragma omp parallel num_threads(zoo_slot_threads(t->ip[IP_SLOTS]))
    {
        float *S = work + (int64_t)zoo_slot_id() * t->ip[IP_STRIDE], *z = S + F * dv, *pq = z + F, *pk = pq + F;
#pragma omp for schedule(dynamic, 1)
        for (int64_t bh = 0; bh < d.B * d.H; bh++) {
            int64_t b = bh / d.H, h = bh % d.H;
            memset(S, 0, (size_t)(F * dv + F) * sizeof *S);
            for (int64_t tt = 0; tt < d.L; tt++) {
                int64_t row = b * d.L + tt;
                const float *q = Q->data + row * HF + h * f, *k = K->data + row * HF + h * f;
                const float *v = V->data + row * HV + h * dv;
                float *y = t->data + row * HV + h * dv;
                zoo_la_phi_full(&d.m, k, pk);
                zoo_la_phi_full(&d.m, q, pq);
                for (int64_t i = 0; i < F; i++) {
                    float *Si = S + i * dv, a = pk[i];
#pragma omp simd
                    for (int64_t j = 0; j < dv; j++)
                        Si[j] += a * v[j];
                    z[i] += a;
                }
                float dn = 0;
                for (int64_t i = 0; i < F; i++)
                    dn += pq[i] * z[i];
                dn += d.eps;
                memset(y, 0, (size_t)dv * sizeof *y);
                for (int64_t i = 0; i < F; i++) {
                    const float *Si = S + i * dv;
                    float a = pq[i];
#pragma omp simd
                    for (int64_t j = 0; j < dv; j++)
                        y[j] += a * Si[j];
                }
#pragma omp simd
                for (int64_t j = 0; j < dv; j++)
                    y[j] /= dn;
                den[bh * d.L + tt] = dn;
            }
        }
    }
}

/* With dn_t = dy_t / den_t and dd_t = -(dy_t . y_t) / den_t:
 *   dphi(q_t) = S_t dn_t + z_t dd_t                       (forward scan)
 *   R_s = sum_{t>=s} phi(q_t) dn_t^T, r_s = sum_{t>=s} phi(q_t) dd_t  (reverse scan)
 *   dphi(k_s) = R_s v_s + r_s, dv_s = R_s^T phi(k_s). */
static void lin_bwd(zoo_tensor *t)
{
    dims d = dims_of(t);
    zoo_tensor *Q = t->src[0], *K = t->src[1], *V = t->src[2];
    int64_t F = d.F, dv = d.dv, f = d.f, HF = d.H * f, HV = d.H * dv;
    const float *den = t->aux, *work = t->aux + d.B * d.H * d.L;
#pragma omp parallel num_threads(zoo_slot_threads(t->ip[IP_SLOTS]))
    {
        float *S = (float *)work + (int64_t)zoo_slot_id() * t->ip[IP_STRIDE], *z = S + F * dv, *pq = z + F;
        float *pk = pq + F, *dphi = pk + F, *dn = dphi + F;
#pragma omp for schedule(dynamic, 1)
        for (int64_t bh = 0; bh < d.B * d.H; bh++) {
            int64_t b = bh / d.H, h = bh % d.H;
            if (Q->grad) {
                memset(S, 0, (size_t)(F * dv + F) * sizeof *S);
                for (int64_t tt = 0; tt < d.L; tt++) {
                    int64_t row = b * d.L + tt;
                    const float *q = Q->data + row * HF + h * f, *k = K->data + row * HF + h * f;
                    const float *v = V->data + row * HV + h * dv;
                    const float *y = t->data + row * HV + h * dv, *dy = t->grad + row * HV + h * dv;
                    zoo_la_phi_full(&d.m, k, pk);
                    for (int64_t i = 0; i < F; i++) {
                        float *Si = S + i * dv, a = pk[i];
#pragma omp simd
                        for (int64_t j = 0; j < dv; j++)
                            Si[j] += a * v[j];
                        z[i] += a;
                    }
                    float inv = 1.0f / den[bh * d.L + tt], dd = 0;
                    for (int64_t j = 0; j < dv; j++) {
                        dn[j] = dy[j] * inv;
                        dd -= dy[j] * y[j];
                    }
                    dd *= inv;
                    for (int64_t i = 0; i < F; i++) {
                        const float *Si = S + i * dv;
                        float s = z[i] * dd;
#pragma omp simd reduction(+ : s)
                        for (int64_t j = 0; j < dv; j++)
                            s += Si[j] * dn[j];
                        dphi[i] = s;
                    }
                    zoo_la_phi_full_bwd(&d.m, q, dphi, Q->grad + row * HF + h * f);
                }
            }
            if (!K->grad && !V->grad)
                continue;
            memset(S, 0, (size_t)(F * dv + F) * sizeof *S); /* now R and r */
            for (int64_t tt = d.L - 1; tt >= 0; tt--) {
                int64_t row = b * d.L + tt;
                const float *q = Q->data + row * HF + h * f, *k = K->data + row * HF + h * f;
                const float *v = V->data + row * HV + h * dv;
                const float *y = t->data + row * HV + h * dv, *dy = t->grad + row * HV + h * dv;
                float inv = 1.0f / den[bh * d.L + tt], dd = 0;
                for (int64_t j = 0; j < dv; j++) {
                    dn[j] = dy[j] * inv;
                    dd -= dy[j] * y[j];
                }
                dd *= inv;
                zoo_la_phi_full(&d.m, q, pq);
                for (int64_t i = 0; i < F; i++) {
                    float *Ri = S + i * dv, a = pq[i];
#pragma omp simd
                    for (int64_t j = 0; j < dv; j++)
                        Ri[j] += a * dn[j];
                    z[i] += a * dd;
                }
                zoo_la_phi_full(&d.m, k, pk);
                if (K->grad) {
                    for (int64_t i = 0; i < F; i++) {
                        const float *Ri = S + i * dv;
                        float s = z[i];
#pragma omp simd reduction(+ : s)
                        for (int64_t j = 0; j < dv; j++)
                            s += Ri[j] * v[j];
                        dphi[i] = s;
                    }
                    zoo_la_phi_full_bwd(&d.m, k, dphi, K->grad + row * HF + h * f);
                }
                if (V->grad) {
                    float *gv = V->grad + row * HV + h * dv;
                    for (int64_t i = 0; i < F; i++) {
                        const float *Ri = S + i * dv;
                        float a = pk[i];
#pragma omp simd
                        for (int64_t j = 0; j < dv; j++)
                            gv[j] += a * Ri[j];
                    }
                }
            }
        }
    }
}

/* ---- masked ("quadratic") form -------------------------------------------------------
 * A_ts = kappa(p(q_t).p(k_s)) for s <= t, where p is the elementwise map and kappa the
 * identity, or for Taylor p = identity and kappa(x) = 1 + x/sqrt f + x^2/(2f), which is
 * phi(q).phi(k) exactly without forming the 1+f+f^2 features. aux: den (B, H, L), then per
 * thread pq, pk, dpq, dpk (L*f each), dV (L*dv), x row (L), a row (L), dn (dv).
 * The maps (phi, kappa and their derivatives) are linear_attention_math.h's. */

/* p(x) for every token of (b, h): src (B, L, H*f) -> dst (L, f) */
static void quad_map(const dims *d, const float *src, int64_t b, int64_t h, float *dst)
{
    for (int64_t tt = 0; tt < d->L; tt++) {
        const float *x = src + (b * d->L + tt) * d->H * d->f + h * d->f;
        for (int64_t i = 0; i < d->f; i++)
            dst[tt * d->f + i] = zoo_la_phi_el(d->m.fm == ZOO_FMAP_TAYLOR ? ZOO_FMAP_IDENTITY : d->m.fm, x[i]);
    }
}

static float dotf(const float *a, const float *b, int64_t n)
{
    float s = 0;
    for (int64_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static void quad_fwd(zoo_tensor *t)
{
    dims d = dims_of(t);
    const zoo_tensor *Q = t->src[0], *K = t->src[1], *V = t->src[2];
    int64_t L = d.L, f = d.f, dv = d.dv, HV = d.H * dv;
    float *den = t->aux, *work = t->aux + d.B * d.H * L;
#pragma omp parallel num_threads(zoo_slot_threads(t->ip[IP_SLOTS]))
    {
        float *pq = work + (int64_t)zoo_slot_id() * t->ip[IP_STRIDE], *pk = pq + L * f, *arow = pk + 3 * L * f + L * dv;
#pragma omp for schedule(dynamic, 1)
        for (int64_t bh = 0; bh < d.B * d.H; bh++) {
            int64_t b = bh / d.H, h = bh % d.H;
            quad_map(&d, Q->data, b, h, pq);
            quad_map(&d, K->data, b, h, pk);
            for (int64_t tt = 0; tt < L; tt++) {
                float sum = 0;
                for (int64_t s = 0; s <= tt; s++) {
                    arow[s] = zoo_la_kappa(&d.m, dotf(pq + tt * f, pk + s * f, f));
                    sum += arow[s];
                }
                float dn = sum + d.eps;
                float *y = t->data + (b * L + tt) * HV + h * dv;
                memset(y, 0, (size_t)dv * sizeof *y);
                for (int64_t s = 0; s <= tt; s++) {
                    const float *v = V->data + (b * L + s) * HV + h * dv;
#pragma omp simd
                    for (int64_t j = 0; j < dv; j++)
                        y[j] += arow[s] * v[j];
                }
#pragma omp simd
                for (int64_t j = 0; j < dv; j++)
                    y[j] /= dn;
                den[bh * L + tt] = dn;
            }
        }
    }
}

/* dA_ts = (dy_t . v_s - dy_t . y_t) / den_t; dx_ts = dA_ts kappa'(x_ts);
 * dp(q_t) = sum_s dx_ts p(k_s); dp(k_s) = sum_t dx_ts p(q_t); dv_s = sum_t A_ts dy_t / den_t. */
static void quad_bwd(zoo_tensor *t)
{
    dims d = dims_of(t);
    zoo_tensor *Q = t->src[0], *K = t->src[1], *V = t->src[2];
    int64_t L = d.L, f = d.f, dv = d.dv, HV = d.H * dv, HF = d.H * f;
    const float *den = t->aux;
    float *work = t->aux + d.B * d.H * L;
    int pm = d.m.fm == ZOO_FMAP_TAYLOR ? ZOO_FMAP_IDENTITY : d.m.fm; /* the elementwise part of the map */
#pragma omp parallel num_threads(zoo_slot_threads(t->ip[IP_SLOTS]))
    {
        float *pq = work + (int64_t)zoo_slot_id() * t->ip[IP_STRIDE], *pk = pq + L * f, *dpq = pk + L * f;
        float *dpk = dpq + L * f, *dV = dpk + L * f, *dn = dV + L * dv + 2 * L;
#pragma omp for schedule(dynamic, 1)
        for (int64_t bh = 0; bh < d.B * d.H; bh++) {
            int64_t b = bh / d.H, h = bh % d.H;
            quad_map(&d, Q->data, b, h, pq);
            quad_map(&d, K->data, b, h, pk);
            memset(dpq, 0, (size_t)(2 * L * f + L * dv) * sizeof *dpq);
            for (int64_t tt = 0; tt < L; tt++) {
                const float *y = t->data + (b * L + tt) * HV + h * dv, *dy = t->grad + (b * L + tt) * HV + h * dv;
                float inv = 1.0f / den[bh * L + tt], dd = 0;
                for (int64_t j = 0; j < dv; j++) {
                    dn[j] = dy[j] * inv;
                    dd -= dn[j] * y[j];
                }
                const float *pqt = pq + tt * f;
                float *dpqt = dpq + tt * f;
                for (int64_t s = 0; s <= tt; s++) {
                    const float *v = V->data + (b * L + s) * HV + h * dv, *pks = pk + s * f;
                    float x = dotf(pqt, pks, f), a = zoo_la_kappa(&d.m, x);
                    float dx = (dotf(dn, v, dv) + dd) * zoo_la_kappa_d(&d.m, x);
                    float *dpks = dpk + s * f, *dVs = dV + s * dv;
                    for (int64_t i = 0; i < f; i++) {
                        dpqt[i] += dx * pks[i];
                        dpks[i] += dx * pqt[i];
                    }
#pragma omp simd
                    for (int64_t j = 0; j < dv; j++)
                        dVs[j] += a * dn[j];
                }
            }
            for (int64_t tt = 0; tt < L; tt++) {
                int64_t ro = (b * L + tt) * HF + h * f;
                for (int64_t i = 0; i < f; i++) {
                    if (Q->grad)
                        Q->grad[ro + i] += dpq[tt * f + i] * zoo_la_phi_el_d(pm, Q->data[ro + i]);
                    if (K->grad)
                        K->grad[ro + i] += dpk[tt * f + i] * zoo_la_phi_el_d(pm, K->data[ro + i]);
                }
                if (V->grad) {
                    float *gv = V->grad + (b * L + tt) * HV + h * dv;
#pragma omp simd
                    for (int64_t j = 0; j < dv; j++)
                        gv[j] += dV[tt * dv + j];
                }
            }
        }
    }
}

static int la_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    if (t->ip[IP_QUAD])
        quad_fwd(t);
    else
        lin_fwd(t);
    return 0;
}

static int la_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    if (t->ip[IP_QUAD])
        quad_bwd(t);
    else
        lin_bwd(t);
    return 0;
}

/* Workspace of the CPU kernels, sized for this backend (threads included). */
static int linear_attention_prepare_cpu(zoo_exec *ex, zoo_tensor *t)
{
    int64_t B = t->shape[0], L = t->shape[1], heads = t->ip[IP_H];
    int64_t f = t->src[0]->shape[2] / heads, dv = t->shape[2] / heads;
    int64_t F = zoo_la_fmap_of((zoo_feature_map)t->ip[IP_FM], f).F;
    int64_t stride = t->ip[IP_QUAD] ? 4 * L * f + L * dv + 2 * L + dv : F * dv + 4 * F + dv;
    stride = (stride + 15) / 16 * 16;
    t->ip[IP_SLOTS] = ex->threads > 0 ? ex->threads : 1; /* one work slot per thread */
    t->ip[IP_STRIDE] = stride;
    t->aux_n = B * heads * L + t->ip[IP_SLOTS] * stride;
    return 0;
}

ZOO_CUDA_DECLARE(linear_attention)
const zoo_op_def zoo_op_linear_attention = {
    "linear_attention",
    {[ZOO_BACKEND_CPU] = {linear_attention_prepare_cpu, la_fwd_cpu, la_bwd_cpu} ZOO_CUDA_SLOT(linear_attention)}, 0};

zoo_tensor *zoo_linear_attention(zoo_graph *g, zoo_tensor *q, zoo_tensor *k, zoo_tensor *v, zoo_feature_map fm,
                                 int heads, float eps, int quadratic)
{
    zoo_tensor *src[3] = {q, k, v};
    if (!g || g->status || !q || !k || !v)
        return zoo_node_new(g, &zoo_op_linear_attention, 1, (int64_t[]){1}, src, 3);
    char s1[64], s2[64];
    if (fm < ZOO_FMAP_TAYLOR || fm > ZOO_FMAP_RELU)
        return zoo_node_fail(g, ZOO_ERR_INVALID, "linear_attention: unknown feature map %d", (int)fm);
    if (heads < 1)
        return zoo_node_fail(g, ZOO_ERR_INVALID, "linear_attention: heads must be >= 1 (got %d)", heads);
    if (q->dtype != ZOO_F32 || q->ndim != 3 || q->shape[2] % heads)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "linear_attention: q %s must be f32 (B, L, heads*f) with heads = %d",
                             zoo_shape_str(q, s1, 64), heads);
    if (k->ndim != 3 || memcmp(k->shape, q->shape, 3 * sizeof *k->shape))
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "linear_attention: k %s must have q's shape %s",
                             zoo_shape_str(k, s1, 64), zoo_shape_str(q, s2, 64));
    if (v->ndim != 3 || v->shape[0] != q->shape[0] || v->shape[1] != q->shape[1] || v->shape[2] % heads)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "linear_attention: v %s does not fit q %s (need (B, L, heads*dv))",
                             zoo_shape_str(v, s1, 64), zoo_shape_str(q, s2, 64));
    zoo_tensor *t = zoo_node_new(g, &zoo_op_linear_attention, 3, v->shape, src, 3);
    if (!t)
        return NULL;
    t->ip[IP_FM] = fm;
    t->ip[IP_H] = heads;
    t->ip[IP_QUAD] = quadratic ? 1 : 0;
    t->fp[0] = eps;
    return t;
}
