/* shortconv.cu: depthwise causal short convolution with bias (ops/shortconv.c) on CUDA:
 * y[b,t,c] = bias[c] + sum_j w[c,j] x[b, t-(K-1)+j, c]. y and dx: one thread per element,
 * taps in the CPU's order. The weight and bias gradients sum over the B*L rows in fixed
 * chunks of SC_ROWS rows: one thread per (chunk, tap or bias, channel) writes its partial
 * to the workspace, then one thread per (tap or bias, channel) adds the partials in chunk
 * order. No atomics, and nothing depends on the launch size: bitwise reproducible. */
#include "common.cuh"

ZOO_CUDA_OP_FNS(shortconv)

#define SC_ROWS 256 /* rows (b, t) per partial sum of the weight and bias gradients */

ZOO_KERNEL sc_fwd(const float *x, const float *w, const float *bias, float *y, int64_t L, int64_t C, int64_t K,
                  int64_t n)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t c = i % C, bt = i / C, tt = bt % L;
    float acc = bias ? bias[c] : 0.0f;
    for (int64_t j = tt >= K - 1 ? 0 : K - 1 - tt; j < K; j++) /* tap j reads time t-(K-1)+j >= 0 */
        acc += w[c * K + j] * x[(bt - (K - 1) + j) * C + c];
    y[i] = acc;
}

/* dx[b,s,c] (+)= sum_j w[c,j] dy[b, s+(K-1)-j, c] */
ZOO_KERNEL sc_bwd_x(const float *dy, const float *w, float *dx, int64_t L, int64_t C, int64_t K, int64_t n, int fresh)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t c = i % C, bs = i / C, s = bs % L;
    float acc = fresh ? 0.0f : dx[i];
    for (int64_t j = s + K - 1 < L ? 0 : s + K - L; j < K; j++) /* time s+(K-1)-j < L */
        acc += w[c * K + j] * dy[(bs + (K - 1) - j) * C + c];
    dx[i] = acc;
}

/* part[(chunk, jj, c)]: over the chunk's rows, jj < K: sum dy[r,c] x[r-(K-1)+jj,c] (rows
 * whose time is at least (K-1)-jj); jj = K: sum dy[r,c] (the bias). */
ZOO_KERNEL sc_bwd_part(const float *dy, const float *x, float *part, int64_t BL, int64_t L, int64_t C, int64_t K,
                       int wgrad, int bgrad, int64_t n)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t c = i % C, q = i / C, jj = q % (K + 1), chunk = q / (K + 1);
    int64_t r0 = chunk * SC_ROWS, r1 = r0 + SC_ROWS < BL ? r0 + SC_ROWS : BL;
    float acc = 0.0f;
    if (jj == K) {
        if (!bgrad)
            return;
        for (int64_t r = r0; r < r1; r++)
            acc += dy[r * C + c];
    } else {
        if (!wgrad)
            return;
        int64_t lag = (K - 1) - jj, tt = r0 % L; /* tt: the time of row r */
        for (int64_t r = r0; r < r1; r++) {
            if (tt >= lag)
                acc += dy[r * C + c] * x[(r - lag) * C + c];
            if (++tt == L)
                tt = 0;
        }
    }
    part[i] = acc;
}

ZOO_KERNEL sc_bwd_sum(const float *part, float *dw, float *db, int64_t C, int64_t K, int64_t nchunk, int fresh_w,
                      int fresh_b, int64_t n)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t c = i % C, jj = i / C;
    float *d = jj == K ? db : dw;
    if (!d)
        return;
    float acc = 0.0f;
    for (int64_t chunk = 0; chunk < nchunk; chunk++)
        acc += part[(chunk * (K + 1) + jj) * C + c];
    int64_t o = jj == K ? c : c * K + jj;
    int fresh = jj == K ? fresh_b : fresh_w;
    d[o] = fresh ? acc : d[o] + acc;
}

static int64_t n_chunks(const zoo_tensor *t) { return (t->shape[0] * t->shape[1] + SC_ROWS - 1) / SC_ROWS; }

/* Workspace: the partial sums of the weight and bias gradients, (chunk, K+1, C). */
extern "C" int zoo_cuda_shortconv_prepare(zoo_exec *x, zoo_tensor *t)
{
    (void)x;
    t->aux_n = n_chunks(t) * (t->src[1]->shape[2] + 1) * t->shape[2];
    return 0;
}

extern "C" int zoo_cuda_shortconv_forward(zoo_exec *x, zoo_tensor *t)
{
    const zoo_tensor *X = t->src[0], *W = t->src[1], *Bi = t->nsrc > 2 ? t->src[2] : NULL;
    int64_t L = X->shape[1], C = X->shape[2], K = W->shape[2];
    ZOO_CU(ZOO_LAUNCH(sc_fwd, t->n, zoo_cuda_of(x)->stream, X->data, W->data, Bi ? Bi->data : (const float *)NULL,
                      t->data, L, C, K, t->n));
    return 0;
}

extern "C" int zoo_cuda_shortconv_backward(zoo_exec *x, zoo_tensor *t)
{
    zoo_tensor *X = t->src[0], *W = t->src[1], *Bi = t->nsrc > 2 ? t->src[2] : NULL;
    int64_t B = X->shape[0], L = X->shape[1], C = X->shape[2], K = W->shape[2];
    cudaStream_t s = zoo_cuda_of(x)->stream;
    if (X->grad)
        ZOO_CU(ZOO_LAUNCH(sc_bwd_x, t->n, s, t->grad, W->data, X->grad, L, C, K, t->n, zoo_grad_fresh(t, 0)));
    int wgrad = W->grad != NULL, bgrad = Bi && Bi->grad;
    if (!wgrad && !bgrad)
        return 0;
    int64_t nchunk = n_chunks(t), np = nchunk * (K + 1) * C;
    ZOO_CU(ZOO_LAUNCH(sc_bwd_part, np, s, t->grad, X->data, t->aux, B * L, L, C, K, wgrad, bgrad, np));
    ZOO_CU(ZOO_LAUNCH(sc_bwd_sum, (K + 1) * C, s, t->aux, W->grad, bgrad ? Bi->grad : (float *)NULL, C, K, nchunk,
                      zoo_grad_fresh(t, 1), zoo_grad_fresh(t, 2), (K + 1) * C));
    return 0;
}
