/* softmax_seq.cu: softmax over the sequence of (B, L, C) (ops/softmax_seq.c). One thread
 * per (batch row, channel) column finds the column's max and sums exp(x - max) over time
 * in double, in order, as the CPU does, into the workspace; then one thread per element
 * writes y. Backward the same way: one thread per column sums dy y in order, one thread
 * per element writes dx = y (dy - sum). The workspace is scratch in each pass: per
 * column two doubles (max and sum forward, the dot product backward). */
#include "common.cuh"

ZOO_CUDA_OP_FNS(softmax_seq)

/* One thread per column: st[2 col] = max, st[2 col + 1] = sum_s exp(x_s - max). */
ZOO_KERNEL sms_stats(const float *x, double *st, int64_t B, int64_t L, int64_t C)
{
    int64_t col = ZOO_GID;
    if (col >= B * C)
        return;
    int64_t off = (col / C) * L * C + col % C;
    float m = x[off];
    for (int64_t s = 1; s < L; s++)
        m = fmaxf(m, x[off + s * C]);
    double z = 0.0;
    for (int64_t s = 0; s < L; s++)
        z += exp((double)x[off + s * C] - m);
    st[2 * col] = m;
    st[2 * col + 1] = z;
}

/* One thread per element: y = exp(x - max) / sum of its column. */
ZOO_KERNEL sms_fwd(const float *x, const double *st, float *y, int64_t n, int64_t L, int64_t C)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t col = (i / (L * C)) * C + i % C;
    y[i] = (float)(exp((double)x[i] - st[2 * col]) / st[2 * col + 1]);
}

/* One thread per column: dot[col] = sum_s dy_s y_s. */
ZOO_KERNEL sms_dot(const float *y, const float *dy, double *dot, int64_t B, int64_t L, int64_t C)
{
    int64_t col = ZOO_GID;
    if (col >= B * C)
        return;
    int64_t off = (col / C) * L * C + col % C;
    double d = 0.0;
    for (int64_t s = 0; s < L; s++)
        d += (double)dy[off + s * C] * y[off + s * C];
    dot[col] = d;
}

/* One thread per element: dx (=|+=) y (dy - dot of its column). */
ZOO_KERNEL sms_bwd(const float *y, const float *dy, const double *dot, float *dx, int64_t n, int64_t L, int64_t C,
                   int fresh)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t col = (i / (L * C)) * C + i % C;
    float g = (float)((double)y[i] * ((double)dy[i] - dot[col]));
    dx[i] = fresh ? g : dx[i] + g;
}

extern "C" int zoo_cuda_softmax_seq_prepare(zoo_exec *x, zoo_tensor *t)
{
    (void)x;
    t->aux_n = 4 * t->shape[0] * t->shape[2]; /* two doubles per column */
    return 0;
}

extern "C" int zoo_cuda_softmax_seq_forward(zoo_exec *x, zoo_tensor *t)
{
    int64_t B = t->shape[0], L = t->shape[1], C = t->shape[2];
    cudaStream_t s = zoo_cuda_of(x)->stream;
    double *st = (double *)t->aux;
    ZOO_CU(ZOO_LAUNCH(sms_stats, B * C, s, t->src[0]->data, st, B, L, C));
    ZOO_CU(ZOO_LAUNCH(sms_fwd, t->n, s, t->src[0]->data, (const double *)st, t->data, t->n, L, C));
    return 0;
}

extern "C" int zoo_cuda_softmax_seq_backward(zoo_exec *x, zoo_tensor *t)
{
    zoo_tensor *X = t->src[0];
    if (!X->grad)
        return 0;
    int64_t B = t->shape[0], L = t->shape[1], C = t->shape[2];
    cudaStream_t s = zoo_cuda_of(x)->stream;
    double *dot = (double *)t->aux;
    ZOO_CU(ZOO_LAUNCH(sms_dot, B * C, s, t->data, t->grad, dot, B, L, C));
    ZOO_CU(ZOO_LAUNCH(sms_bwd, t->n, s, t->data, t->grad, (const double *)dot, X->grad, t->n, L, C,
                      zoo_grad_fresh(t, 0)));
    return 0;
}
