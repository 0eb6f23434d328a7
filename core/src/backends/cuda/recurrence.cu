/* recurrence.cu: the matrix-state recurrence (ops/recurrence.c), per batch row b and head h:
 *   S_t = diag(w_t) S_{t-1} + a_t (b_t^T S_{t-1}) + k_t v_t^T,   o_t = S_t^T q_t.
 * The columns of S evolve apart: column j needs only c_j = b_t . S[:, j], and the
 * backward's G = dL/dS columns only e_j = a_t . G[:, j]. So one thread per (b, h, j) runs
 * column j over t with its state in the workspace, laid out (i, b*H*dv + h*dv + j) so a
 * warp's accesses are contiguous, every sum over i in the CPU's order.
 *
 * The forward keeps the state entering each chunk of RC steps. The backward walks the
 * chunks from the last: one thread per column recomputes the chunk's states from the kept
 * one, then walks the chunk backwards carrying its column of G (in the workspace across
 * chunks), writes dv (a sum over i, its own) and keeps G_t, c and e of every step of the
 * chunk. dq, dk, dw, da, db (sums over j) are then made by one thread per (b, h, step, i)
 * over the chunk, j ascending; one w per head sums those over i in a third kernel, i
 * ascending. No atomics, so results are deterministic and do not depend on the launch. */
#include "common.cuh"

ZOO_CUDA_OP_FNS(recurrence)

#define RC 64 /* steps per chunk, as ops/recurrence.c */

/* ip[] as ops/recurrence.c sets them */
enum { IP_HEADS = 0, IP_WMODE, IP_AB };
enum { W_NONE = 0, W_HEAD, W_CHAN };

typedef struct rc_dims {
    int64_t B, L, H, dk, dv, nck, N; /* N = B*H*dv columns */
    int wmode, ab;
} rc_dims;

static rc_dims rc_dims_of(const zoo_tensor *t)
{
    const zoo_tensor *q = t->src[0], *v = t->src[2];
    rc_dims d;
    d.B = q->shape[0];
    d.L = q->shape[1];
    d.H = t->ip[IP_HEADS];
    d.dk = q->shape[2] / d.H;
    d.dv = v->shape[2] / d.H;
    d.nck = (d.L + RC - 1) / RC;
    d.N = d.B * d.H * d.dv;
    d.wmode = (int)t->ip[IP_WMODE];
    d.ab = (int)t->ip[IP_AB];
    return d;
}

/* The sources' data (w, a, b NULL when absent) or their gradients (NULL: not wanted). */
typedef struct rc_ptrs {
    float *q, *k, *v, *w, *a, *b;
} rc_ptrs;

static rc_ptrs rc_ptrs_of(const zoo_tensor *t, const rc_dims &d, int grad)
{
    rc_ptrs p = {NULL, NULL, NULL, NULL, NULL, NULL};
    int ia = d.wmode == W_NONE ? 3 : 4;
    float *x[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
    for (int k = 0; k < t->nsrc; k++)
        x[k] = grad ? t->src[k]->grad : t->src[k]->data;
    p.q = x[0];
    p.k = x[1];
    p.v = x[2];
    if (d.wmode != W_NONE)
        p.w = x[3];
    if (d.ab) {
        p.a = x[ia];
        p.b = x[ia + 1];
    }
    return p;
}

/* Workspace (floats), "slot" = dk*N, one column state per thread:
 *   ck: nck slots, the state entering each chunk (forward to backward);
 *   run: 1 slot, the forward's running state, then the backward's G carried over chunks;
 *   st: RC slots, the states of the chunk being differentiated;
 *   gt: RC slots, G_t (with q_t do_t^T) at each step of that chunk;
 *   ce: 2 RC N, c and e at each step of that chunk;
 *   pw: B H RC dk, per-channel parts of one w per head. */
typedef struct rc_ws {
    float *ck, *run, *st, *gt, *ce, *pw;
} rc_ws;

static rc_ws rc_ws_of(const zoo_tensor *t, const rc_dims &d)
{
    int64_t slot = d.dk * d.N;
    rc_ws w;
    w.ck = t->aux;
    w.run = w.ck + d.nck * slot;
    w.st = w.run + slot;
    w.gt = w.st + RC * slot;
    w.ce = w.gt + RC * slot;
    w.pw = w.ce + 2 * RC * d.N;
    return w;
}

/* Scalars of step tt for batch row b, head h: row offsets into q/k/a/b (dk), v/o (dv), w. */
ZOO_HD int64_t rc_off_k(int64_t b, int64_t tt, int64_t h, int64_t L, int64_t H, int64_t dk)
{
    return ((b * L + tt) * H + h) * dk;
}

/* w_t[i]: w NULL is no decay; wis 0 is one w for all i. */
ZOO_HD float rc_w(const float *w, int64_t wis, int64_t i) { return w ? w[i * wis] : 1.0f; }

/* One step of column j: S (stride N) from Sp; returns q . S[:, j] when want_o. */
ZOO_HD float rc_step(const float *q, const float *k, float vj, const float *w, int64_t wis, const float *a,
                     const float *bb, const float *Sp, float *S, int64_t N, int64_t dk, int want_o)
{
    float c = 0.0f, o = 0.0f;
    if (a)
        for (int64_t i = 0; i < dk; i++)
            c += bb[i] * Sp[i * N];
    for (int64_t i = 0; i < dk; i++) {
        float wi = rc_w(w, wis, i);
        float s = a ? wi * Sp[i * N] + a[i] * c + k[i] * vj : wi * Sp[i * N] + k[i] * vj;
        S[i * N] = s;
        if (want_o)
            o += q[i] * s;
    }
    return o;
}

/* o: (B, L, H*dv); one thread per column (b, h, j). */
ZOO_KERNEL rc_fwd(rc_ptrs p, float *o, float *run, float *ck, int64_t B, int64_t L, int64_t H, int64_t dk,
                  int64_t dv, int wmode)
{
    int64_t g = ZOO_GID, N = B * H * dv;
    if (g >= N)
        return;
    int64_t b = g / (H * dv), h = g / dv % H, j = g % dv;
    float *S = run + g;
    for (int64_t i = 0; i < dk; i++)
        S[i * N] = 0.0f;
    for (int64_t tt = 0; tt < L; tt++) {
        if (tt % RC == 0) {
            float *kp = ck + tt / RC * dk * N + g;
            for (int64_t i = 0; i < dk; i++)
                kp[i * N] = S[i * N];
        }
        int64_t ok = rc_off_k(b, tt, h, L, H, dk), row = (b * L + tt) * H + h;
        const float *w = wmode == W_CHAN ? p.w + ok : wmode == W_HEAD ? p.w + row : NULL;
        o[row * dv + j] = rc_step(p.q + ok, p.k + ok, p.v[row * dv + j], w, wmode == W_CHAN, p.a ? p.a + ok : NULL,
                                  p.b ? p.b + ok : NULL, S, S, N, dk, 1);
    }
}

/* Chunk ch (steps t0 .. t0+len-1) of the backward, one thread per column: recompute the
 * chunk's states from ckc, then walk it backwards with G in run (zeroed when first, the
 * last chunk). dv of the column into gv (NULL: not wanted); G_t, c, e kept per step. */
ZOO_KERNEL rc_bwd_chunk(rc_ptrs p, const float *gy, float *gv, const float *ckc, float *run, float *st, float *gt,
                        float *ce, int first, int64_t B, int64_t L, int64_t H, int64_t dk, int64_t dv, int wmode,
                        int64_t t0, int64_t len)
{
    int64_t g = ZOO_GID, N = B * H * dv, slot = dk * N;
    if (g >= N)
        return;
    int64_t b = g / (H * dv), h = g / dv % H, j = g % dv;
    float *G = run + g;
    if (first)
        for (int64_t i = 0; i < dk; i++)
            G[i * N] = 0.0f;
    for (int64_t u = 0; u < len; u++) {
        int64_t tt = t0 + u, ok = rc_off_k(b, tt, h, L, H, dk), row = (b * L + tt) * H + h;
        const float *w = wmode == W_CHAN ? p.w + ok : wmode == W_HEAD ? p.w + row : NULL;
        rc_step(NULL, p.k + ok, p.v[row * dv + j], w, wmode == W_CHAN, p.a ? p.a + ok : NULL, p.b ? p.b + ok : NULL,
                (u ? st + (u - 1) * slot : ckc) + g, st + u * slot + g, N, dk, 0);
    }
    for (int64_t u = len - 1; u >= 0; u--) {
        int64_t tt = t0 + u, ok = rc_off_k(b, tt, h, L, H, dk), row = (b * L + tt) * H + h;
        const float *q = p.q + ok, *k = p.k + ok, *Sp = (u ? st + (u - 1) * slot : ckc) + g;
        const float *w = wmode == W_CHAN ? p.w + ok : wmode == W_HEAD ? p.w + row : NULL;
        int64_t wis = wmode == W_CHAN;
        float *Gt = gt + u * slot + g, dyj = gy[row * dv + j], sv = 0.0f;
        for (int64_t i = 0; i < dk; i++) {
            float x = G[i * N] + q[i] * dyj;
            G[i * N] = x;
            Gt[i * N] = x;
            sv += x * k[i];
        }
        if (gv)
            gv[row * dv + j] += sv;
        if (p.a) {
            const float *a = p.a + ok, *bb = p.b + ok;
            float c = 0.0f, e = 0.0f;
            for (int64_t i = 0; i < dk; i++) {
                c += bb[i] * Sp[i * N];
                e += a[i] * G[i * N];
            }
            ce[u * N + g] = c;
            ce[(RC + u) * N + g] = e;
            for (int64_t i = 0; i < dk; i++)
                G[i * N] = rc_w(w, wis, i) * G[i * N] + bb[i] * e;
        } else
            for (int64_t i = 0; i < dk; i++)
                G[i * N] = rc_w(w, wis, i) * G[i * N];
    }
}

/* dq, dk, dw, da, db of the chunk's steps (gradients r, r.v unused; NULL: not wanted),
 * sums over the columns j ascending; one thread per (b, h, step, i). One w per head:
 * this channel's part into pw. v: v's values. */
ZOO_KERNEL rc_bwd_rows(rc_ptrs r, const float *v, const float *gy, const float *ckc, const float *st, const float *gt,
                       const float *ce, float *pw, int64_t B, int64_t L, int64_t H, int64_t dk, int64_t dv, int wmode,
                       int ab, int64_t t0, int64_t len)
{
    int64_t x = ZOO_GID, N = B * H * dv, slot = dk * N;
    if (x >= B * H * len * dk)
        return;
    int64_t bh = x / (len * dk), u = x / dk % len, i = x % dk, b = bh / H, h = bh % H, tt = t0 + u;
    int64_t ok = rc_off_k(b, tt, h, L, H, dk) + i, row = (b * L + tt) * H + h, c0 = bh * dv;
    const float *S = st + u * slot + i * N + c0, *Sp = (u ? st + (u - 1) * slot : ckc) + i * N + c0;
    const float *G = gt + u * slot + i * N + c0, *dy = gy + row * dv, *vr = v + row * dv;
    float sq = 0.0f, sk = 0.0f, sw = 0.0f;
    for (int64_t j = 0; j < dv; j++) {
        sq += S[j] * dy[j];
        sk += G[j] * vr[j];
        sw += G[j] * Sp[j];
    }
    if (r.q)
        r.q[ok] += sq;
    if (r.k)
        r.k[ok] += sk;
    if (wmode == W_CHAN && r.w)
        r.w[ok] += sw;
    else if (wmode == W_HEAD)
        pw[x] = sw;
    if (ab) {
        const float *c = ce + u * N + c0, *e = ce + (RC + u) * N + c0;
        float sa = 0.0f, sb = 0.0f;
        for (int64_t j = 0; j < dv; j++) {
            sa += G[j] * c[j];
            sb += Sp[j] * e[j];
        }
        if (r.a)
            r.a[ok] += sa;
        if (r.b)
            r.b[ok] += sb;
    }
}

/* One w per head: dw[b, t, h] += the channels' parts, i ascending; one thread per (b, h, step). */
ZOO_KERNEL rc_bwd_whead(const float *pw, float *dw, int64_t B, int64_t L, int64_t H, int64_t dk, int64_t t0,
                        int64_t len)
{
    int64_t x = ZOO_GID;
    if (x >= B * H * len)
        return;
    int64_t bh = x / len, u = x % len, b = bh / H, h = bh % H;
    float s = 0.0f;
    for (int64_t i = 0; i < dk; i++)
        s += pw[x * dk + i];
    dw[(b * L + t0 + u) * H + h] += s;
}

extern "C" int zoo_cuda_recurrence_prepare(zoo_exec *x, zoo_tensor *t)
{
    (void)x;
    rc_dims d = rc_dims_of(t);
    t->aux_n = (d.nck + 1 + 2 * RC) * d.dk * d.N + 2 * RC * d.N + d.B * d.H * RC * d.dk;
    return 0;
}

extern "C" int zoo_cuda_recurrence_forward(zoo_exec *x, zoo_tensor *t)
{
    rc_dims d = rc_dims_of(t);
    rc_ws w = rc_ws_of(t, d);
    ZOO_CU(ZOO_LAUNCH(rc_fwd, d.N, zoo_cuda_of(x)->stream, rc_ptrs_of(t, d, 0), t->data, w.run, w.ck, d.B, d.L, d.H,
                      d.dk, d.dv, d.wmode));
    return 0;
}

extern "C" int zoo_cuda_recurrence_backward(zoo_exec *x, zoo_tensor *t)
{
    rc_dims d = rc_dims_of(t);
    rc_ptrs p = rc_ptrs_of(t, d, 0), r = rc_ptrs_of(t, d, 1);
    if (!r.q && !r.k && !r.v && !r.w && !r.a && !r.b)
        return 0;
    rc_ws w = rc_ws_of(t, d);
    cudaStream_t s = zoo_cuda_of(x)->stream;
    int64_t slot = d.dk * d.N;
    for (int64_t ch = d.nck - 1; ch >= 0; ch--) {
        int64_t t0 = ch * RC, len = d.L - t0 < RC ? d.L - t0 : RC;
        ZOO_CU(ZOO_LAUNCH(rc_bwd_chunk, d.N, s, p, t->grad, r.v, w.ck + ch * slot, w.run, w.st, w.gt, w.ce,
                          (int)(ch == d.nck - 1), d.B, d.L, d.H, d.dk, d.dv, d.wmode, t0, len));
        ZOO_CU(ZOO_LAUNCH(rc_bwd_rows, d.B * d.H * len * d.dk, s, r, p.v, t->grad, w.ck + ch * slot, w.st, w.gt, w.ce,
                          w.pw, d.B, d.L, d.H, d.dk, d.dv, d.wmode, d.ab, t0, len));
        if (d.wmode == W_HEAD && r.w)
            ZOO_CU(ZOO_LAUNCH(rc_bwd_whead, d.B * d.H * len, s, w.pw, r.w, d.B, d.L, d.H, d.dk, t0, len));
    }
    return 0;
}
