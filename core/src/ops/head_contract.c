/* head_contract.c: per-head contraction, H3's output (docs/mixers.md, h3):
 * o[..., j*H + h] = sum_i q[..., h*hd+i] * y[..., h*hd*hd + i*hd + j], channels in (j, h)
 * order as H3 emits them before its output Linear. Rows are independent. */
#include <string.h>

#include "../backends/cuda/slot.h"
#include "../internal.h"

static int contract_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    const zoo_tensor *Qt = t->src[0], *Yt = t->src[1];
    int64_t rows = zoo_rows(Qt), D = zoo_cols(Qt), H = t->ip[0], hd = D / H;
    float *o = t->data; /* o: (rows, hd*H) */
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const float *q = Qt->data + r * D, *y = Yt->data + r * H * hd * hd;
        float *orow = o + r * D;
        memset(orow, 0, (size_t)D * sizeof *orow);
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < hd; i++) {
                float a = q[h * hd + i];
                const float *yi = y + (h * hd + i) * hd;
                for (int64_t j = 0; j < hd; j++)
                    orow[j * H + h] += a * yi[j];
            }
    }
    return 0;
}

static int contract_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *Qt = t->src[0], *Yt = t->src[1];
    int64_t rows = zoo_rows(Qt), D = zoo_cols(Qt), H = t->ip[0], hd = D / H;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const float *q = Qt->data + r * D, *y = Yt->data + r * H * hd * hd, *dout = t->grad + r * D;
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < hd; i++) {
                const float *yi = y + (h * hd + i) * hd;
                if (Qt->grad) {
                    float s = 0;
                    for (int64_t j = 0; j < hd; j++)
                        s += dout[j * H + h] * yi[j];
                    Qt->grad[r * D + h * hd + i] += s;
                }
                if (Yt->grad) {
                    float *dyi = Yt->grad + r * H * hd * hd + (h * hd + i) * hd;
                    for (int64_t j = 0; j < hd; j++)
                        dyi[j] += dout[j * H + h] * q[h * hd + i];
                }
            }
    }
    return 0;
}

ZOO_CUDA_DECLARE(head_contract)
const zoo_op_def zoo_op_head_contract = {
    "head_contract", {[ZOO_BACKEND_CPU] = {NULL, contract_fwd_cpu, contract_bwd_cpu} ZOO_CUDA_SLOT_NOPREP(head_contract)}, ZOO_MEM_NO_OUT};

zoo_tensor *zoo_head_contract(zoo_graph *g, zoo_tensor *q, zoo_tensor *y, int heads)
{
    if (!g || g->status || !q || !y)
        return zoo_node_new(g, &zoo_op_head_contract, 1, (int64_t[]){1}, (zoo_tensor *[]){q, y}, 2);
    char s1[64], s2[64];
    if (heads < 1 || q->dtype != ZOO_F32 || zoo_cols(q) % heads)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "head_contract: %d heads do not divide the last dim of q %s", heads,
                             zoo_shape_str(q, s1, 64));
    int64_t hd = zoo_cols(q) / heads;
    int ok = y->ndim == q->ndim && y->dtype == ZOO_F32 && zoo_cols(y) == heads * hd * hd;
    for (int i = 0; ok && i < q->ndim - 1; i++)
        ok = y->shape[i] == q->shape[i];
    if (!ok)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "head_contract: y %s does not fit q %s (need (..., %lld))",
                             zoo_shape_str(y, s1, 64), zoo_shape_str(q, s2, 64), (long long)(heads * hd * hd));
    zoo_tensor *t = zoo_node_new(g, &zoo_op_head_contract, q->ndim, q->shape, (zoo_tensor *[]){q, y}, 2);
    if (t)
        t->ip[0] = heads;
    return t;
}
