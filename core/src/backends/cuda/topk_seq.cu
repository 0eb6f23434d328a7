/* topk_seq.cu: the evaluation-time top-k mask along the sequence (ops/topk_seq.c). One
 * thread per (batch row, channel) column finds the column's threshold, its k-th entry in
 * the CPU's ranking (larger first, ties by lower position), by the CPU's k passes; then
 * one thread per element writes the mask (kept from forward to backward in the
 * workspace) and y. The training flag is read from the device step state, so a captured
 * step follows the mode the engine pushed; in training (or when k >= L) every entry is
 * kept. Comparisons only, no sums: the CPU's bits exactly. */
#include "common.cuh"

ZOO_CUDA_OP_FNS(topk_seq)

ZOO_HD int tk_before(float va, int64_t a, float vb, int64_t b) { return va > vb || (va == vb && a < b); }

/* One thread per column: th[col] = time index of its k-th ranked entry (-1: none ranked);
 * nothing in training mode. */
ZOO_KERNEL tk_threshold(const float *x, int32_t *th, int64_t B, int64_t L, int64_t C, int64_t k,
                        const zoo_step_state *st)
{
    int64_t col = ZOO_GID;
    if (col >= B * C || st->training || k >= L)
        return;
    const float *xc = x + (col / C) * L * C + col % C;
    int64_t prev = -1;
    for (int64_t j = 0; j < k; j++) {
        int64_t best = -1;
        for (int64_t s = 0; s < L; s++)
            if ((prev < 0 || tk_before(xc[prev * C], prev, xc[s * C], s)) &&
                (best < 0 || tk_before(xc[s * C], s, xc[best * C], best)))
                best = s;
        if (best < 0)
            break;
        prev = best;
    }
    th[col] = (int32_t)prev;
}

/* One thread per element: mask = kept, y = kept ? x : 0. */
ZOO_KERNEL tk_fwd(const float *x, const int32_t *th, float *mask, float *y, int64_t n, int64_t L, int64_t C,
                  int64_t k, const zoo_step_state *st)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int keep = 1;
    if (!st->training && k < L) {
        int64_t col = (i / (L * C)) * C + i % C, s = (i / C) % L, t = th[col];
        int64_t off = (i / (L * C)) * L * C + i % C;
        keep = t >= 0 && (s == t || tk_before(x[i], s, x[off + t * C], t));
    }
    mask[i] = keep ? 1.0f : 0.0f;
    y[i] = keep ? x[i] : 0.0f;
}

/* dx (=|+=) mask dy. */
ZOO_KERNEL tk_bwd(const float *mask, const float *dy, float *dx, int64_t n, int fresh)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    float g = mask[i] != 0.0f ? dy[i] : 0.0f;
    dx[i] = fresh ? g : dx[i] + g;
}

/* Workspace: the mask (n floats), then one int32 threshold per column. */
extern "C" int zoo_cuda_topk_seq_prepare(zoo_exec *x, zoo_tensor *t)
{
    (void)x;
    t->aux_n = t->n + t->shape[0] * t->shape[2];
    return 0;
}

extern "C" int zoo_cuda_topk_seq_forward(zoo_exec *x, zoo_tensor *t)
{
    int64_t B = t->shape[0], L = t->shape[1], C = t->shape[2], k = t->ip[0];
    cudaStream_t s = zoo_cuda_of(x)->stream;
    int32_t *th = (int32_t *)(t->aux + t->n);
    ZOO_CU(ZOO_LAUNCH(tk_threshold, B * C, s, t->src[0]->data, th, B, L, C, k, (const zoo_step_state *)x->step));
    ZOO_CU(ZOO_LAUNCH(tk_fwd, t->n, s, t->src[0]->data, (const int32_t *)th, t->aux, t->data, t->n, L, C, k,
                      (const zoo_step_state *)x->step));
    return 0;
}

extern "C" int zoo_cuda_topk_seq_backward(zoo_exec *x, zoo_tensor *t)
{
    zoo_tensor *X = t->src[0];
    if (!X->grad)
        return 0;
    ZOO_CU(ZOO_LAUNCH(tk_bwd, t->n, zoo_cuda_of(x)->stream, (const float *)t->aux, t->grad, X->grad, t->n,
                      zoo_grad_fresh(t, 0)));
    return 0;
}
