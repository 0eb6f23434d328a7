/* selective_scan.c: Mamba's selective scan (docs/mixers.md, mamba) without the D skip, per
 * batch row b and channel c with a state h in R^N:
 *   h_t[n] = exp(delta_t A[c,n]) h_{t-1}[n] + delta_t B_t[n] x_t,   h_{-1} = 0
 *   y_t    = sum_n C_t[n] h_t[n]
 * x, delta: (B, L, Di) channel last; A: (Di, N); BC: (B, L, 2N) with B_t = BC[..., :N] and
 * C_t = BC[..., N:] (the tail of Mamba's x_proj output, one slice). The skip D x is a
 * separate mul + add in the plugin.
 *
 * Work is split into tasks (b, block of CB channels). The states are not kept between
 * forward and backward (B*L*Di*N floats would dwarf every other activation): the
 * backward recomputes one task's states into its thread's slot, then runs the reverse
 * recurrence with dh_t = C_t g_t + exp(delta_{t+1} A) dh_{t+1}:
 *   dx_t += delta_t sum_n dh_t B_t,  ddelta_t += sum_n dh_t (h_{t-1} a_t A + B_t x_t),
 *   dA += dh_t h_{t-1} a_t delta_t,  dB_t += dh_t delta_t x_t,  dC_t += g_t h_t.
 * dB, dC (summed over channels) and dA (summed over b) go through per-task partials in
 * aux added up in a fixed order, so results do not depend on the thread count. */
#include <math.h>
#include <string.h>

#include "../backends/cuda/slot.h"
#include "../internal.h"
#include "slots.h"
#include "../vecmath.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define CB 32 /* channels per task */

enum { IP_SLOTS = 0, IP_STRIDE, IP_NBLK };

typedef struct dims {
    int64_t B, L, Di, N, nblk;
} dims;

static dims dims_of(const zoo_tensor *t)
{
    const zoo_tensor *X = t->src[0], *A = t->src[2];
    dims d = {X->shape[0], X->shape[1], X->shape[2], A->shape[1], t->ip[IP_NBLK]};
    return d;
}

/* Forward of one task: states of channels [c0, c0+nc) of row b. keep: hs holds the
 * states at every t (L, nc, N) and as the factors exp(delta_t A) (L, nc, N) for the
 * backward; else hs is one (nc, N) state reused. tmp: CB*N floats. y: written when not NULL. */
static void scan_task(const zoo_tensor *t, dims d, int64_t b, int64_t c0, int64_t nc, float *hs, float *as, int keep,
                      float *tmp, float *y)
{
    const float *x = t->src[0]->data, *dl = t->src[1]->data, *A = t->src[2]->data, *bc = t->src[3]->data;
    int64_t N = d.N;
    memset(hs, 0, (size_t)(nc * N) * sizeof *hs);
    for (int64_t tt = 0; tt < d.L; tt++) {
        int64_t row = b * d.L + tt;
        const float *Bt = bc + row * 2 * N, *Ct = Bt + N;
        const float *hp = keep && tt > 0 ? hs + (tt - 1) * nc * N : hs;
        float *h = keep ? hs + tt * nc * N : hs, *at = keep ? as + tt * nc * N : tmp;
        for (int64_t j = 0; j < nc; j++) {
            float dt = dl[row * d.Di + c0 + j];
            const float *Ac = A + (c0 + j) * N;
            for (int64_t n = 0; n < N; n++)
                tmp[j * N + n] = dt * Ac[n];
        }
        zoo_vec_expscale(tmp, at, nc * N, 0.0f, 1.0f); /* the whole block at once: exp is the main cost */
        for (int64_t j = 0; j < nc; j++) {
            int64_t c = c0 + j;
            float dt = dl[row * d.Di + c], u = dt * x[row * d.Di + c], acc = 0.0f;
            const float *hpj = hp + j * N, *a = at + j * N;
            float *hj = h + j * N;
            if (keep && tt == 0)
                for (int64_t n = 0; n < N; n++)
                    hj[n] = u * Bt[n];
            else
                for (int64_t n = 0; n < N; n++)
                    hj[n] = a[n] * hpj[n] + u * Bt[n];
            for (int64_t n = 0; n < N; n++)
                acc += Ct[n] * hj[n];
            if (y)
                y[row * d.Di + c] = acc;
        }
    }
}

static int selective_scan_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    dims d = dims_of(t);
    float *work = t->aux + t->aux_n - t->ip[IP_SLOTS] * t->ip[IP_STRIDE]; /* per-thread slots at the end */
#pragma omp parallel num_threads(zoo_slot_threads(t->ip[IP_SLOTS]))
    {
        float *hs = work + (int64_t)zoo_slot_id() * t->ip[IP_STRIDE], *tmp = hs + CB * d.N; /* (CB, N) each */
#pragma omp for schedule(static)
        for (int64_t k = 0; k < d.B * d.nblk; k++) {
            int64_t b = k / d.nblk, c0 = (k % d.nblk) * CB, nc = d.Di - c0 < CB ? d.Di - c0 : CB;
            scan_task(t, d, b, c0, nc, hs, NULL, 0, tmp, t->data);
        }
    }
    return 0;
}

static int selective_scan_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    dims d = dims_of(t);
    zoo_tensor *X = t->src[0], *DL = t->src[1], *AT = t->src[2], *BC = t->src[3];
    if (!X->grad && !DL->grad && !AT->grad && !BC->grad)
        return 0;
    const int64_t N = d.N, Di = d.Di, L = d.L;
    const float *x = X->data, *dl = DL->data, *A = AT->data, *bc = BC->data, *dy = t->grad;
    float *pbc = t->aux;                          /* (B, nblk, L, 2N): per-task dB, dC */
    float *pa = pbc + d.B * d.nblk * L * 2 * N;   /* (B, Di, N): per-row dA */
    float *work = t->aux + t->aux_n - t->ip[IP_SLOTS] * t->ip[IP_STRIDE];
#pragma omp parallel num_threads(zoo_slot_threads(t->ip[IP_SLOTS]))
    {
        float *hs = work + (int64_t)zoo_slot_id() * t->ip[IP_STRIDE]; /* (L, CB, N) states */
        float *as = hs + L * CB * N;                                 /* (L, CB, N) exp(delta A) */
        float *dh = as + L * CB * N, *tmp = dh + CB * N;             /* (CB, N) each */
#pragma omp for schedule(static)
        for (int64_t k = 0; k < d.B * d.nblk; k++) {
            int64_t b = k / d.nblk, c0 = (k % d.nblk) * CB, nc = Di - c0 < CB ? Di - c0 : CB;
            scan_task(t, d, b, c0, nc, hs, as, 1, tmp, NULL);
            float *pt = pbc + k * L * 2 * N, *pab = pa + b * Di * N;
            memset(pt, 0, (size_t)(L * 2 * N) * sizeof *pt);
            memset(pab + c0 * N, 0, (size_t)(nc * N) * sizeof *pab);
            memset(dh, 0, (size_t)(nc * N) * sizeof *dh);
            for (int64_t tt = L - 1; tt >= 0; tt--) {
                int64_t row = b * L + tt;
                const float *Bt = bc + row * 2 * N, *Ct = Bt + N;
                float *pB = pt + tt * 2 * N, *pC = pB + N;
                for (int64_t j = 0; j < nc; j++) {
                    int64_t c = c0 + j;
                    float gy = dy[row * Di + c], dt = dl[row * Di + c], xv = x[row * Di + c];
                    const float *Ac = A + c * N, *h = hs + (tt * nc + j) * N, *aj = as + (tt * nc + j) * N;
                    const float *hp = tt > 0 ? hs + ((tt - 1) * nc + j) * N : NULL;
                    float *dhj = dh + j * N, *paj = pab + c * N, sdx = 0.0f, sdd = 0.0f;
                    for (int64_t n = 0; n < N; n++) {
                        float a = aj[n], dv = dhj[n] + gy * Ct[n]; /* dL/dh_t */
                        pC[n] += gy * h[n];
                        if (hp) {
                            float da = dv * hp[n] * a; /* d/d(dt*A) of exp */
                            sdd += da * Ac[n];
                            paj[n] += da * dt;
                        }
                        sdd += dv * Bt[n] * xv;
                        pB[n] += dv * dt * xv;
                        sdx += dv * Bt[n];
                        dhj[n] = dv * a; /* carried to h_{t-1} */
                    }
                    if (X->grad)
                        X->grad[row * Di + c] += sdx * dt;
                    if (DL->grad)
                        DL->grad[row * Di + c] += sdd;
                }
            }
        }
    }
    if (BC->grad) {
        float *dbc = BC->grad;
#pragma omp parallel for schedule(static)
        for (int64_t row = 0; row < d.B * L; row++) {
            int64_t b = row / L, tt = row % L;
            for (int64_t k = 0; k < d.nblk; k++) {
                const float *p = pbc + ((b * d.nblk + k) * L + tt) * 2 * N;
                for (int64_t n = 0; n < 2 * N; n++)
                    dbc[row * 2 * N + n] += p[n];
            }
        }
    }
    if (AT->grad) {
        float *dA = AT->grad;
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < Di * N; i++) {
            float s = 0.0f;
            for (int64_t b = 0; b < d.B; b++)
                s += pa[b * Di * N + i];
            dA[i] += s;
        }
    }
    return 0;
}

/* Workspace of the CPU kernels, sized for this backend (threads included). */
static int selective_scan_prepare_cpu(zoo_exec *ex, zoo_tensor *t)
{
    const zoo_tensor *x = t->src[0], *A = t->src[2];
    int64_t B = x->shape[0], L = x->shape[1], Di = x->shape[2], N = A->shape[1];
    int64_t nblk = (Di + CB - 1) / CB, slots = ex->threads > 0 ? ex->threads : 1;
    if (slots > B * nblk)
        slots = B * nblk;
    t->ip[IP_SLOTS] = slots;
    t->ip[IP_STRIDE] = ((2 * L + 2) * CB * N + 15) / 16 * 16; /* states and factors at every t, dh, tmp */
    t->ip[IP_NBLK] = nblk;
    t->aux_n = B * nblk * L * 2 * N + B * Di * N + slots * t->ip[IP_STRIDE];
    return 0;
}

ZOO_CUDA_DECLARE(selective_scan)
const zoo_op_def zoo_op_selective_scan = {
    "selective_scan",
    {[ZOO_BACKEND_CPU] = {selective_scan_prepare_cpu, selective_scan_fwd_cpu, selective_scan_bwd_cpu}
         ZOO_CUDA_SLOT(selective_scan)}, 0};

zoo_tensor *zoo_selective_scan(zoo_graph *g, zoo_tensor *x, zoo_tensor *delta, zoo_tensor *A, zoo_tensor *BC)
{
    zoo_tensor *src[4] = {x, delta, A, BC};
    if (!g || g->status || !x || !delta || !A || !BC)
        return zoo_node_new(g, &zoo_op_selective_scan, 1, (int64_t[]){1}, src, 4);
    char s1[64], s2[64], s3[64];
    if (x->dtype != ZOO_F32 || delta->dtype != ZOO_F32 || A->dtype != ZOO_F32 || BC->dtype != ZOO_F32)
        return zoo_node_fail(g, ZOO_ERR_INVALID, "selective_scan: x, delta, A and BC must be f32");
    if (x->ndim != 3)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "selective_scan: x %s must be (B, L, Di)", zoo_shape_str(x, s1, 64));
    if (delta->ndim != 3 || memcmp(delta->shape, x->shape, 3 * sizeof *x->shape))
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "selective_scan: delta %s must have x's shape %s",
                             zoo_shape_str(delta, s1, 64), zoo_shape_str(x, s2, 64));
    int64_t B = x->shape[0], L = x->shape[1], Di = x->shape[2];
    if (A->ndim != 2 || A->shape[0] != Di || A->shape[1] < 1)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "selective_scan: A %s does not fit x %s (need (%lld, N))",
                             zoo_shape_str(A, s1, 64), zoo_shape_str(x, s2, 64), (long long)Di);
    int64_t N = A->shape[1];
    if (BC->ndim != 3 || BC->shape[0] != B || BC->shape[1] != L || BC->shape[2] != 2 * N)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "selective_scan: BC %s does not fit x %s and A %s (need (%lld, %lld, %lld))",
                             zoo_shape_str(BC, s1, 64), zoo_shape_str(x, s2, 64), zoo_shape_str(A, s3, 64),
                             (long long)B, (long long)L, (long long)(2 * N));
    zoo_tensor *t = zoo_node_new(g, &zoo_op_selective_scan, 3, x->shape, src, 4);
    if (!t)
        return NULL;
    return t;
}
