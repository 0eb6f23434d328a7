/* ssm_diag_kernel.c: H3's S4D-Lin diagonal SSM convolution kernel, bilinear
 * discretisation (docs/mixers.md, h3), as two nodes: dtA = exp(log_dt) (-exp(inv_A_real) +
 * i A_imag), then K[h,t] = 2 Re sum_n C'_n dA_n^t. Complex values are (real, imag) pairs in
 * the last axis, as in the Zoology state_dict. Computed in double; the conv is fftconv. */
#include <complex.h>
#include <math.h>
#include <string.h>

#include "../backends/cuda/slot.h"
#include "../internal.h"

/* ---- node 1: dtA (H, N2, 2) from log_dt (H), inv_A_real (H, N2), A_imag (H, N2) -------- */
static int dta_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    const zoo_tensor *Ld = t->src[0], *Ar = t->src[1], *Ai = t->src[2];
    int64_t H = Ar->shape[0], N2 = Ar->shape[1];
    for (int64_t h = 0; h < H; h++) {
        double dt = exp((double)Ld->data[h]);
        for (int64_t n = 0; n < N2; n++) {
            t->data[(h * N2 + n) * 2] = (float)(-dt * exp((double)Ar->data[h * N2 + n]));
            t->data[(h * N2 + n) * 2 + 1] = (float)(dt * Ai->data[h * N2 + n]);
        }
    }
    return 0;
}

/* x = dt a_r, y = dt a_i with dt = e^log_dt, a_r = -e^inv_A_real:
 * dlog_dt += gx x + gy y; dinv_A_real += gx x; dA_imag += gy dt. */
static int dta_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *Ld = t->src[0], *Ar = t->src[1], *Ai = t->src[2];
    int64_t H = Ar->shape[0], N2 = Ar->shape[1];
    const float *gd = t->grad; /* gd: (H, N2, 2) */
    for (int64_t h = 0; h < H; h++) {
        double dt = exp((double)Ld->data[h]), sl = 0;
        for (int64_t n = 0; n < N2; n++) {
            int64_t i = h * N2 + n;
            double x = -dt * exp((double)Ar->data[i]), y = dt * Ai->data[i];
            double gx = gd[2 * i], gy = gd[2 * i + 1];
            sl += gx * x + gy * y;
            if (Ar->grad)
                Ar->grad[i] += (float)(gx * x);
            if (Ai->grad)
                Ai->grad[i] += (float)(gy * dt);
        }
        if (Ld->grad)
            Ld->grad[h] += (float)sl;
    }
    return 0;
}

ZOO_CUDA_DECLARE(s4d_dtA)
const zoo_op_def zoo_op_s4d_dtA = {
    "s4d_dtA", {[ZOO_BACKEND_CPU] = {NULL, dta_fwd_cpu, dta_bwd_cpu} ZOO_CUDA_SLOT_NOPREP(s4d_dtA)}, 0};

/* ---- node 2: K (H, L) from dtA (H, N2, 2), C (1, H, N2, 2), B (H, N2, 2), log_dt (H) ----- */
typedef struct {
    double complex den, w, c, C, B;
    double dt;
} mode;

static mode mode_of(const zoo_tensor *t, int64_t h, int64_t n)
{
    const zoo_tensor *Dt = t->src[0], *Ct = t->src[1], *Bt = t->src[2], *Ld = t->src[3];
    int64_t N2 = Dt->shape[1], i = 2 * (h * N2 + n);
    mode m;
    double complex dtA = Dt->data[i] + I * (double)Dt->data[i + 1];
    m.dt = exp((double)Ld->data[h]);
    m.C = Ct->data[i] + I * (double)Ct->data[i + 1];
    m.B = Bt->data[i] + I * (double)Bt->data[i + 1];
    m.den = 1.0 - dtA / 2.0;
    m.w = (1.0 + dtA / 2.0) / m.den;
    m.c = m.C * m.B * m.dt / m.den;
    return m;
}

static int s4d_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    int64_t H = t->shape[0], L = t->shape[1], N2 = t->src[0]->shape[1];
    double *acc = (double *)t->aux; /* acc: (H, L) doubles */
#pragma omp parallel for schedule(static)
    for (int64_t h = 0; h < H; h++) {
        double *a = acc + h * L;
        memset(a, 0, (size_t)L * sizeof *a);
        for (int64_t n = 0; n < N2; n++) {
            mode m = mode_of(t, h, n);
            double complex p = m.c;
            for (int64_t tt = 0; tt < L; tt++) {
                a[tt] += 2.0 * creal(p);
                p *= m.w;
            }
        }
        for (int64_t tt = 0; tt < L; tt++)
            t->data[h * L + tt] = (float)a[tt];
    }
    return 0;
}

/* For a real loss and a complex z, write g_z = dl/dRe z + i dl/dIm z. Then for
 * K_t = 2 Re(c w^t): g_c = 2 conj(sum_t dK_t w^t), g_w = conj(2 c sum_t dK_t t w^(t-1)),
 * and through holomorphic maps g_u = g_z conj(dz/du): w' = 1/den^2, dc/ddtA = c/(2 den),
 * dc/dC = B dt/den, dc/dB = C dt/den; dt enters c directly as C B/den. */
static int s4d_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *Dt = t->src[0], *Ct = t->src[1], *Bt = t->src[2], *Ld = t->src[3];
    int64_t H = t->shape[0], L = t->shape[1], N2 = Dt->shape[1];
    const float *dK = t->grad; /* dK: (H, L) */
#pragma omp parallel for schedule(static)
    for (int64_t h = 0; h < H; h++) {
        double sl = 0;
        for (int64_t n = 0; n < N2; n++) {
            mode m = mode_of(t, h, n);
            double complex p = 1.0, pm1 = 0.0, s0 = 0.0, s1 = 0.0;
            for (int64_t tt = 0; tt < L; tt++) {
                double d = dK[h * L + tt];
                s0 += d * p;
                s1 += d * (double)tt * pm1;
                pm1 = p;
                p *= m.w;
            }
            double complex gc = 2.0 * conj(s0), gw = conj(2.0 * m.c * s1);
            double complex gdta = gw * conj(1.0 / (m.den * m.den)) + gc * conj(m.c / (2.0 * m.den));
            int64_t i = 2 * (h * N2 + n);
            if (Dt->grad) {
                Dt->grad[i] += (float)creal(gdta);
                Dt->grad[i + 1] += (float)cimag(gdta);
            }
            if (Ct->grad) {
                double complex gC = gc * conj(m.B * m.dt / m.den);
                Ct->grad[i] += (float)creal(gC);
                Ct->grad[i + 1] += (float)cimag(gC);
            }
            if (Bt->grad) {
                double complex gB = gc * conj(m.C * m.dt / m.den);
                Bt->grad[i] += (float)creal(gB);
                Bt->grad[i + 1] += (float)cimag(gB);
            }
            sl += creal(gc * conj(m.C * m.B / m.den)) * m.dt;
        }
        if (Ld->grad)
            Ld->grad[h] += (float)sl;
    }
    return 0;
}

/* Workspace of the CPU kernels, sized for this backend (threads included). */
static int s4d_kernel_prepare_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    t->aux_n = 2 * t->shape[0] * t->shape[1]; /* H*L doubles */
    return 0;
}

ZOO_CUDA_DECLARE(s4d_kernel)
const zoo_op_def zoo_op_s4d_kernel = {
    "s4d_kernel", {[ZOO_BACKEND_CPU] = {s4d_kernel_prepare_cpu, s4d_fwd_cpu, s4d_bwd_cpu} ZOO_CUDA_SLOT(s4d_kernel)}, 0};

zoo_tensor *zoo_ssm_diag_kernel(zoo_graph *g, zoo_tensor *C, zoo_tensor *log_dt, zoo_tensor *B,
                                zoo_tensor *inv_A_real, zoo_tensor *A_imag, int64_t L)
{
    if (!g || g->status)
        return NULL;
    if (!C || !log_dt || !B || !inv_A_real || !A_imag)
        return zoo_node_fail(g, ZOO_ERR_INVALID, "ssm_diag_kernel: an input is NULL");
    char s1[64], s2[64];
    if (inv_A_real->ndim != 2)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "ssm_diag_kernel: inv_A_real %s must be (H, N/2)",
                             zoo_shape_str(inv_A_real, s1, 64));
    int64_t H = inv_A_real->shape[0], N2 = inv_A_real->shape[1];
    if (A_imag->ndim != 2 || A_imag->shape[0] != H || A_imag->shape[1] != N2)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "ssm_diag_kernel: A_imag %s must match inv_A_real %s",
                             zoo_shape_str(A_imag, s1, 64), zoo_shape_str(inv_A_real, s2, 64));
    if (log_dt->ndim != 1 || log_dt->shape[0] != H)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "ssm_diag_kernel: log_dt %s must be (%lld,)",
                             zoo_shape_str(log_dt, s1, 64), (long long)H);
    if (B->ndim != 3 || B->shape[0] != H || B->shape[1] != N2 || B->shape[2] != 2)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "ssm_diag_kernel: B %s must be (%lld, %lld, 2)",
                             zoo_shape_str(B, s1, 64), (long long)H, (long long)N2);
    int okc = (C->ndim == 4 && C->shape[0] == 1 && C->shape[1] == H && C->shape[2] == N2 && C->shape[3] == 2) ||
              (C->ndim == 3 && C->shape[0] == H && C->shape[1] == N2 && C->shape[2] == 2);
    if (!okc)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "ssm_diag_kernel: C %s must be (1, %lld, %lld, 2)",
                             zoo_shape_str(C, s1, 64), (long long)H, (long long)N2);
    if (L < 1)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "ssm_diag_kernel: length must be >= 1 (got %lld)", (long long)L);
    zoo_tensor *dta = zoo_node_new(g, &zoo_op_s4d_dtA, 3, (int64_t[]){H, N2, 2}, (zoo_tensor *[]){log_dt, inv_A_real, A_imag}, 3);
    return zoo_node_new(g, &zoo_op_s4d_kernel, 2, (int64_t[]){H, L}, (zoo_tensor *[]){dta, C, B, log_dt}, 4);
}
