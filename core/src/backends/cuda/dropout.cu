/* dropout.cu: inverted dropout (ops/dropout.c), one thread per element. The mask is the
 * CPU's bit for bit: element i is kept when zoo_cu_hash_uniform(key, i) >= p, with the
 * node's key for the step computed on the device from the device step state
 * (zoo_cu_node_key, the same hash as the host's zoo_node_step_key). The training flag
 * is read there too, so forward and backward follow the step state the engine pushed,
 * as the CPU does; in eval mode (or p = 0) the op is the identity. No sums: each output
 * depends on its own element only. */
#include "common.cuh"

ZOO_CUDA_OP_FNS(dropout)

/* y = keep(i) ? c x : 0 in training mode, x otherwise. */
ZOO_KERNEL dropout_fwd(const float *x, float *y, int64_t n, int64_t per_row, const zoo_step_state *st, int id, double p,
                       float c)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    if (!st->training) {
        y[i] = x[i];
        return;
    }
    uint64_t gi = (uint64_t)st->row_base * (uint64_t)per_row + (uint64_t)i; /* index in the global batch */
    y[i] = zoo_cu_hash_uniform(zoo_cu_node_key(st, id), gi) >= p ? c * x[i] : 0.0f;
}

/* dx (=|+=) keep(i) ? c dy : 0 in training mode, dy otherwise. */
ZOO_KERNEL dropout_bwd(const float *dy, float *dx, int64_t n, int64_t per_row, const zoo_step_state *st, int id,
                       double p, float c, int fresh)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    uint64_t gi = (uint64_t)st->row_base * (uint64_t)per_row + (uint64_t)i;
    float g = !st->training ? dy[i] : zoo_cu_hash_uniform(zoo_cu_node_key(st, id), gi) >= p ? c * dy[i] : 0.0f;
    dx[i] = fresh ? g : dx[i] + g;
}

/* p = 0 is the identity whatever the mode (the CPU's `active`). */
ZOO_KERNEL dropout_copy(const float *x, float *y, int64_t n, int fresh)
{
    int64_t i = ZOO_GID;
    if (i < n)
        y[i] = fresh ? x[i] : y[i] + x[i];
}

extern "C" int zoo_cuda_dropout_forward(zoo_exec *x, zoo_tensor *t)
{
    cudaStream_t s = zoo_cuda_of(x)->stream;
    double p = t->fp[0];
    if (!(p > 0.0)) {
        ZOO_CU(ZOO_LAUNCH(dropout_copy, t->n, s, t->src[0]->data, t->data, t->n, 1));
        return 0;
    }
    float c = (float)(1.0 / (1.0 - p));
    ZOO_CU(ZOO_LAUNCH(dropout_fwd, t->n, s, t->src[0]->data, t->data, t->n, t->n / t->shape[0], x->step, t->id, p, c));
    return 0;
}

extern "C" int zoo_cuda_dropout_backward(zoo_exec *x, zoo_tensor *t)
{
    zoo_tensor *X = t->src[0];
    if (!X->grad)
        return 0;
    cudaStream_t s = zoo_cuda_of(x)->stream;
    double p = t->fp[0];
    int fresh = zoo_grad_fresh(t, 0);
    if (!(p > 0.0)) {
        ZOO_CU(ZOO_LAUNCH(dropout_copy, t->n, s, t->grad, X->grad, t->n, fresh));
        return 0;
    }
    float c = (float)(1.0 / (1.0 - p));
    ZOO_CU(ZOO_LAUNCH(dropout_bwd, t->n, s, t->grad, X->grad, t->n, t->n / t->shape[0], x->step, t->id, p, c, fresh));
    return 0;
}
