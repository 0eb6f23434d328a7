/* recurrence.c: the matrix-state linear recurrence shared by GLA, Mamba-2, DeltaNet,
 * Gated DeltaNet and RWKV-7 (docs/mixers.md, recurrence). Per batch row b and head h,
 * with S in R^{dk x dv} and S_{-1} = 0:
 *   S_t = diag(w_t) S_{t-1} + a_t (b_t^T S_{t-1}) + k_t v_t^T,   o_t = S_t^T q_t
 * The forward walks the state step by step, O(L dk dv) per head (a chunked form would
 * add work: reading and updating S already cost ~4 dk dv flops a step).
 *
 * Backward, with G = dL/dS_t carried from the end (G_L = 0), c = S_{t-1}^T b_t, e = G^T a_t:
 *   G += q_t do_t^T;  dq_t = S_t do_t;  dk_t = G v_t;  dv_t = G^T k_t;
 *   dw_t[i] = sum_j G[i,j] S_{t-1}[i,j] (summed over i too for one w per head);
 *   da_t = G c;  db_t = S_{t-1} e;  then G <- diag(w_t) G + b_t e^T (the gradient of S_{t-1}).
 * Keeping every S_t would take B*H*L*dk*dv floats; the forward keeps the state at the
 * start of every chunk of RC steps instead (1/RC of that, in aux until the backward),
 * and the backward recomputes one chunk's states into its thread's slot before walking
 * the chunk backwards. (A chunk's backward as matrix products, and the delta rule's
 * chunked WY form, were measured slower on CPU than this, docs/mixers.md.)
 *
 * Each (b, h) is one task, run by one thread in a fixed order, and no gradient is
 * summed over tasks (w, a, b are per position), so results do not depend on the thread
 * count. Row sums over dv use VEC_LANES fixed partial sums, as vecmath.c. */
#include <math.h>
#include <string.h>

#include "../backends/cuda/slot.h"
#include "../internal.h"
#include "../vecmath.h"
#include "slots.h"

#define RC 64 /* steps per chunk: one saved state per chunk, RC states recomputed at a time */
#define LANES VEC_LANES

/* ip[]: set by the builder (heads, how w is given, whether a, b are given), then by the
 * CPU prepare hook (thread slots and their stride in floats). */
enum { IP_HEADS = 0, IP_WMODE, IP_AB, IP_SLOTS, IP_STRIDE };
enum { W_NONE = 0, W_HEAD, W_CHAN };

typedef struct dims {
    int64_t B, L, H, dk, dv, nck;
    int wmode, ab;
} dims;

static dims dims_of(const zoo_tensor *t)
{
    const zoo_tensor *q = t->src[0], *v = t->src[2];
    int64_t H = t->ip[IP_HEADS];
    dims d = {q->shape[0], q->shape[1], H, q->shape[2] / H, v->shape[2] / H, (q->shape[1] + RC - 1) / RC,
              (int)t->ip[IP_WMODE], (int)t->ip[IP_AB]};
    return d;
}

/* Index of w, a and b among the sources (w absent shifts a and b down). */
static int src_a(const dims *d) { return d->wmode == W_NONE ? 3 : 4; }

/* One (b, h)'s view of the sources at step t: row pointers and w's stride over i. */
typedef struct step_in {
    const float *q, *k, *v, *w, *a, *b; /* q, k, a, b: (dk); v: (dv); w: (dk) or (1) */
    int64_t wis;                        /* 1: w per channel; 0: one value for all i */
} step_in;

static const float one = 1.0f;

static step_in step_at(const zoo_tensor *t, const dims *d, int64_t b, int64_t h, int64_t tt)
{
    int64_t row = b * d->L + tt, ok = (row * d->H + h) * d->dk, ov = (row * d->H + h) * d->dv;
    step_in s = {t->src[0]->data + ok, t->src[1]->data + ok, t->src[2]->data + ov, &one, NULL, NULL, 0};
    if (d->wmode == W_CHAN)
        s.w = t->src[3]->data + ok, s.wis = 1;
    else if (d->wmode == W_HEAD)
        s.w = t->src[3]->data + row * d->H + h;
    if (d->ab) {
        s.a = t->src[src_a(d)]->data + ok;
        s.b = t->src[src_a(d) + 1]->data + ok;
    }
    return s;
}

/* S = diag(w) Sp + a (b^T Sp) + k v^T (S may be Sp: row i reads only row i of Sp and
 * c); o = S^T q when o is not NULL. c: (dv) scratch. */
VEC_CLONES static void step_fwd(const step_in *s, int64_t dk, int64_t dv, const float *Sp, float *S, float *c,
                                float *o)
{
    if (s->a) {
        memset(c, 0, (size_t)dv * sizeof *c);
        for (int64_t i = 0; i < dk; i++) {
            const float bi = s->b[i], *Spi = Sp + i * dv;
#pragma omp simd
            for (int64_t j = 0; j < dv; j++)
                c[j] += bi * Spi[j];
        }
    }
    if (o)
        memset(o, 0, (size_t)dv * sizeof *o);
    const float *v = s->v;
    for (int64_t i = 0; i < dk; i++) {
        const float wi = s->w[i * s->wis], ki = s->k[i], *Spi = Sp + i * dv;
        float *Si = S + i * dv;
        if (s->a) {
            const float ai = s->a[i];
#pragma omp simd
            for (int64_t j = 0; j < dv; j++)
                Si[j] = wi * Spi[j] + ai * c[j] + ki * v[j];
        } else {
#pragma omp simd
            for (int64_t j = 0; j < dv; j++)
                Si[j] = wi * Spi[j] + ki * v[j];
        }
        if (o) {
            const float qi = s->q[i];
#pragma omp simd
            for (int64_t j = 0; j < dv; j++)
                o[j] += qi * Si[j];
        }
    }
}

/* Forward of one (b, h): the state runs in S (dk, dv); ck (nck, dk, dv) gets the state
 * before each chunk; c: (dv) scratch. */
static void task_fwd(const zoo_tensor *t, const dims *d, int64_t b, int64_t h, float *S, float *c, float *ck)
{
    int64_t n = d->dk * d->dv;
    float *out = t->data; /* out: (B, L, H*dv) */
    memset(S, 0, (size_t)n * sizeof *S);
    for (int64_t tt = 0; tt < d->L; tt++) {
        if (tt % RC == 0)
            memcpy(ck + tt / RC * n, S, (size_t)n * sizeof *S);
        step_in s = step_at(t, d, b, h, tt);
        step_fwd(&s, d->dk, d->dv, S, S, c, out + ((b * d->L + tt) * d->H + h) * d->dv);
    }
}

/* Gradient rows of one (b, h) at step t (NULL: not wanted). */
typedef struct step_grad {
    float *q, *k, *v, *w, *a, *b;
} step_grad;

static step_grad grad_at(const zoo_tensor *t, const dims *d, int64_t b, int64_t h, int64_t tt)
{
    int64_t row = b * d->L + tt, ok = (row * d->H + h) * d->dk, ov = (row * d->H + h) * d->dv;
    step_grad g = {0};
    g.q = t->src[0]->grad ? t->src[0]->grad + ok : NULL;
    g.k = t->src[1]->grad ? t->src[1]->grad + ok : NULL;
    g.v = t->src[2]->grad ? t->src[2]->grad + ov : NULL;
    if (d->wmode != W_NONE && t->src[3]->grad)
        g.w = t->src[3]->grad + (d->wmode == W_CHAN ? ok : row * d->H + h);
    if (d->ab) {
        zoo_tensor *A = t->src[src_a(d)], *Bm = t->src[src_a(d) + 1];
        g.a = A->grad ? A->grad + ok : NULL;
        g.b = Bm->grad ? Bm->grad + ok : NULL;
    }
    return g;
}

/* The blocks of LANES columns of the backward's row passes (m = LANES, or the tail),
 * inlined so each loop has a constant trip count where it can. */
#if defined(__GNUC__)
#define BLOCK static inline __attribute__((always_inline)) void
#else
#define BLOCK static inline void
#endif

/* First pass with a rank-one term: G += q_i do, dot products of dq, dk, dw, and the sums
 * gv += k_i G, e += a_i G, c += b_i Sp. */
BLOCK blk_first_ab(int m, float qi, float ki, float ai, float bi, const float *gy, const float *v, const float *S,
                   const float *Sp, float *G, float *gv, float *c, float *e, float *aq, float *ak, float *aw)
{
#pragma omp simd
    for (int l = 0; l < m; l++) {
        float g = G[l] + qi * gy[l];
        G[l] = g;
        aq[l] += S[l] * gy[l];
        ak[l] += g * v[l];
        aw[l] += g * Sp[l];
        gv[l] += ki * g;
        e[l] += ai * g;
        c[l] += bi * Sp[l];
    }
}

/* First pass without one: the same, and the row of G is done (times w_i). */
BLOCK blk_first(int m, float qi, float ki, float wi, const float *gy, const float *v, const float *S, const float *Sp,
                float *G, float *gv, float *aq, float *ak, float *aw)
{
#pragma omp simd
    for (int l = 0; l < m; l++) {
        float g = G[l] + qi * gy[l];
        aq[l] += S[l] * gy[l];
        ak[l] += g * v[l];
        aw[l] += g * Sp[l];
        gv[l] += ki * g;
        G[l] = wi * g;
    }
}

/* Second pass (c and e complete): dot products of da, db; G = w_i G + b_i e. */
BLOCK blk_second(int m, float wi, float bi, const float *c, const float *e, const float *Sp, float *G, float *aa,
                 float *ab)
{
#pragma omp simd
    for (int l = 0; l < m; l++) {
        float g = G[l];
        aa[l] += g * c[l];
        ab[l] += Sp[l] * e[l];
        G[l] = wi * g + bi * e[l];
    }
}

/* One step of the backward: G holds dL/dS_t less q_t do_t^T on entry and dL/dS_{t-1} on
 * return. S = S_t, Sp = S_{t-1}; gy = do_t (dv). c, e, gv: (dv) scratch. */
VEC_CLONES static void step_bwd(const step_in *s, const step_grad *gr, int wmode, int64_t dk, int64_t dv,
                                const float *S, const float *Sp, const float *gy, float *G, float *c, float *e,
                                float *gv)
{
    const float *v = s->v;
    const int64_t nv = dv / LANES * LANES;
    const int tail = (int)(dv - nv);
    memset(gv, 0, (size_t)dv * sizeof *gv);
    if (s->a) {
        memset(c, 0, (size_t)dv * sizeof *c);
        memset(e, 0, (size_t)dv * sizeof *e);
    }
    float dw_head = 0.0f;
    for (int64_t i = 0; i < dk; i++) {
        const float qi = s->q[i], ki = s->k[i], wi = s->w[i * s->wis], *Si = S + i * dv, *Spi = Sp + i * dv;
        float *Gi = G + i * dv;
        float aq[LANES] = {0}, ak[LANES] = {0}, aw[LANES] = {0};
        if (s->a) {
            const float ai = s->a[i], bi = s->b[i];
            for (int64_t j = 0; j < nv; j += LANES)
                blk_first_ab(LANES, qi, ki, ai, bi, gy + j, v + j, Si + j, Spi + j, Gi + j, gv + j, c + j, e + j, aq,
                             ak, aw);
            if (tail)
                blk_first_ab(tail, qi, ki, ai, bi, gy + nv, v + nv, Si + nv, Spi + nv, Gi + nv, gv + nv, c + nv,
                             e + nv, aq, ak, aw);
        } else {
            for (int64_t j = 0; j < nv; j += LANES)
                blk_first(LANES, qi, ki, wi, gy + j, v + j, Si + j, Spi + j, Gi + j, gv + j, aq, ak, aw);
            if (tail)
                blk_first(tail, qi, ki, wi, gy + nv, v + nv, Si + nv, Spi + nv, Gi + nv, gv + nv, aq, ak, aw);
        }
        if (gr->q)
            gr->q[i] += zoo_lanes_total(aq);
        if (gr->k)
            gr->k[i] += zoo_lanes_total(ak);
        if (gr->w) {
            if (wmode == W_CHAN)
                gr->w[i] += zoo_lanes_total(aw);
            else
                dw_head += zoo_lanes_total(aw);
        }
    }
    if (gr->w && wmode == W_HEAD)
        gr->w[0] += dw_head;
    if (gr->v) {
        float *dvj = gr->v;
#pragma omp simd
        for (int64_t j = 0; j < dv; j++)
            dvj[j] += gv[j];
    }
    if (!s->a)
        return;
    for (int64_t i = 0; i < dk; i++) {
        const float wi = s->w[i * s->wis], bi = s->b[i], *Spi = Sp + i * dv;
        float *Gi = G + i * dv;
        float aa[LANES] = {0}, ab[LANES] = {0};
        for (int64_t j = 0; j < nv; j += LANES)
            blk_second(LANES, wi, bi, c + j, e + j, Spi + j, Gi + j, aa, ab);
        if (tail)
            blk_second(tail, wi, bi, c + nv, e + nv, Spi + nv, Gi + nv, aa, ab);
        if (gr->a)
            gr->a[i] += zoo_lanes_total(aa);
        if (gr->b)
            gr->b[i] += zoo_lanes_total(ab);
    }
}

/* Backward of one (b, h): chunks from the last, each recomputed from its saved start
 * state ck into st (RC, dk, dv), then walked backwards. G (dk, dv); c, e, gv (dv). */
static void task_bwd(const zoo_tensor *t, const dims *d, int64_t b, int64_t h, const float *ck, float *st,
                     float *G, float *c, float *e, float *gv)
{
    int64_t n = d->dk * d->dv;
    const float *gyp = t->grad; /* do: (B, L, H*dv) */
    memset(G, 0, (size_t)n * sizeof *G);
    for (int64_t ch = d->nck - 1; ch >= 0; ch--) {
        int64_t t0 = ch * RC, len = d->L - t0 < RC ? d->L - t0 : RC;
        const float *start = ck + ch * n;
        for (int64_t u = 0; u < len; u++) {
            step_in s = step_at(t, d, b, h, t0 + u);
            step_fwd(&s, d->dk, d->dv, u ? st + (u - 1) * n : start, st + u * n, c, NULL);
        }
        for (int64_t u = len - 1; u >= 0; u--) {
            int64_t tt = t0 + u;
            step_in s = step_at(t, d, b, h, tt);
            step_grad gr = grad_at(t, d, b, h, tt);
            step_bwd(&s, &gr, d->wmode, d->dk, d->dv, st + u * n, u ? st + (u - 1) * n : start,
                     gyp + ((b * d->L + tt) * d->H + h) * d->dv, G, c, e, gv);
        }
    }
}

/* aux: the chunk start states (B*H, nck, dk, dv), kept from forward to backward, then
 * one slot per thread: the backward's RC states, G (dk, dv), c, e, gv (dv); the
 * forward uses its start for S (dk, dv) and c (dv). */
static int recurrence_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    dims d = dims_of(t);
    int64_t n = d.dk * d.dv, stride = t->ip[IP_STRIDE];
    float *ck = t->aux, *work = t->aux + d.B * d.H * d.nck * n;
#pragma omp parallel num_threads(zoo_slot_threads(t->ip[IP_SLOTS]))
    {
        float *S = work + (int64_t)zoo_slot_id() * stride, *c = S + n;
#pragma omp for schedule(static)
        for (int64_t bh = 0; bh < d.B * d.H; bh++)
            task_fwd(t, &d, bh / d.H, bh % d.H, S, c, ck + bh * d.nck * n);
    }
    return 0;
}

static int recurrence_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    dims d = dims_of(t);
    int any = 0;
    for (int k = 0; k < t->nsrc; k++)
        any |= t->src[k]->grad != NULL;
    if (!any)
        return 0;
    int64_t n = d.dk * d.dv, stride = t->ip[IP_STRIDE];
    const float *ck = t->aux;
    float *work = t->aux + d.B * d.H * d.nck * n;
#pragma omp parallel num_threads(zoo_slot_threads(t->ip[IP_SLOTS]))
    {
        float *st = work + (int64_t)zoo_slot_id() * stride, *G = st + RC * n;
        float *c = G + n, *e = c + d.dv, *gv = e + d.dv;
#pragma omp for schedule(static)
        for (int64_t bh = 0; bh < d.B * d.H; bh++)
            task_bwd(t, &d, bh / d.H, bh % d.H, ck + bh * d.nck * n, st, G, c, e, gv);
    }
    return 0;
}

/* Workspace of the CPU kernels, sized for this backend (threads included). */
static int recurrence_prepare_cpu(zoo_exec *ex, zoo_tensor *t)
{
    dims d = dims_of(t);
    int64_t n = d.dk * d.dv, slots = ex->threads > 0 ? ex->threads : 1;
    if (slots > d.B * d.H)
        slots = d.B * d.H;
    t->ip[IP_SLOTS] = slots;
    t->ip[IP_STRIDE] = (RC * n + n + 3 * d.dv + 15) / 16 * 16;
    t->aux_n = d.B * d.H * d.nck * n + slots * t->ip[IP_STRIDE];
    return 0;
}

/* The backward reads every source (the states are recomputed from them) and the
 * chunk states the forward left in aux, never the output. */
ZOO_CUDA_DECLARE(recurrence)
const zoo_op_def zoo_op_recurrence = {
    "recurrence",
    {[ZOO_BACKEND_CPU] = {recurrence_prepare_cpu, recurrence_fwd_cpu, recurrence_bwd_cpu} ZOO_CUDA_SLOT(recurrence)},
    ZOO_MEM_NO_OUT};

/* x is (B, L, last) for q's B and L. */
static int same_rows(const zoo_tensor *x, const zoo_tensor *q, int64_t last)
{
    return x->ndim == 3 && x->shape[0] == q->shape[0] && x->shape[1] == q->shape[1] && x->shape[2] == last;
}

zoo_tensor *zoo_recurrence(zoo_graph *g, zoo_tensor *q, zoo_tensor *k, zoo_tensor *v, zoo_tensor *w,
                           zoo_tensor *a, zoo_tensor *b, int heads)
{
    zoo_tensor *src[6] = {q, k, v};
    int nsrc = 3;
    if (w)
        src[nsrc++] = w;
    if (a || b) {
        src[nsrc++] = a;
        src[nsrc++] = b;
    }
    if (!g || g->status || !q || !k || !v)
        return zoo_node_new(g, &zoo_op_recurrence, 1, (int64_t[]){1}, src, nsrc);
    char s1[64], s2[64];
    if (!a != !b)
        return zoo_node_fail(g, ZOO_ERR_INVALID, "recurrence: a and b go together (a rank-one term a b^T): got %s without %s",
                             a ? "a" : "b", a ? "b" : "a");
    for (int i = 0; i < nsrc; i++)
        if (src[i]->dtype != ZOO_F32)
            return zoo_node_fail(g, ZOO_ERR_INVALID, "recurrence: input %d must be f32", i);
    if (heads < 1)
        return zoo_node_fail(g, ZOO_ERR_INVALID, "recurrence: heads is %d, must be >= 1", heads);
    if (q->ndim != 3 || q->shape[2] % heads)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "recurrence: q %s must be (B, L, H*dk) with H = %d heads",
                             zoo_shape_str(q, s1, 64), heads);
    int64_t HK = q->shape[2], H = heads;
    if (!same_rows(k, q, HK))
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "recurrence: k %s must have q's shape %s", zoo_shape_str(k, s1, 64),
                             zoo_shape_str(q, s2, 64));
    if (v->ndim != 3 || v->shape[0] != q->shape[0] || v->shape[1] != q->shape[1] || v->shape[2] % H)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "recurrence: v %s must be (%lld, %lld, H*dv) with H = %d heads (q %s)",
                             zoo_shape_str(v, s1, 64), (long long)q->shape[0], (long long)q->shape[1], heads,
                             zoo_shape_str(q, s2, 64));
    int wmode = W_NONE;
    if (w) {
        if (same_rows(w, q, HK))
            wmode = W_CHAN; /* also when dk = 1, where both readings agree */
        else if (same_rows(w, q, H))
            wmode = W_HEAD;
        else
            return zoo_node_fail(g, ZOO_ERR_SHAPE,
                                 "recurrence: w %s must be (%lld, %lld, %lld) per key channel or (%lld, %lld, %lld) per head (q %s)",
                                 zoo_shape_str(w, s1, 64), (long long)q->shape[0], (long long)q->shape[1], (long long)HK,
                                 (long long)q->shape[0], (long long)q->shape[1], (long long)H, zoo_shape_str(q, s2, 64));
    }
    if (a && !same_rows(a, q, HK))
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "recurrence: a %s must have q's shape %s", zoo_shape_str(a, s1, 64),
                             zoo_shape_str(q, s2, 64));
    if (b && !same_rows(b, q, HK))
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "recurrence: b %s must have q's shape %s", zoo_shape_str(b, s1, 64),
                             zoo_shape_str(q, s2, 64));
    int64_t shape[3] = {q->shape[0], q->shape[1], v->shape[2]};
    zoo_tensor *t = zoo_node_new(g, &zoo_op_recurrence, 3, shape, src, nsrc);
    if (!t)
        return NULL;
    t->ip[IP_HEADS] = heads;
    t->ip[IP_WMODE] = wmode;
    t->ip[IP_AB] = a != NULL;
    return t;
}
