/* head_outer.c: per-head outer product, H3's kv (docs/mixers.md, h3):
 * y[..., h*hd*hd + i*hd + j] = k[..., h*hd+i] * v[..., h*hd+j]. Rows are independent. */
#include "../backends/cuda/slot.h"
#include "../internal.h"

static int outer_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    const zoo_tensor *Kt = t->src[0], *Vt = t->src[1];
    int64_t rows = zoo_rows(Kt), D = zoo_cols(Kt), H = t->ip[0], hd = D / H;
    float *y = t->data; /* y: (rows, H*hd*hd) */
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const float *k = Kt->data + r * D, *v = Vt->data + r * D; /* (H*hd) */
        float *yr = y + r * H * hd * hd;
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < hd; i++)
                for (int64_t j = 0; j < hd; j++)
                    yr[(h * hd + i) * hd + j] = k[h * hd + i] * v[h * hd + j];
    }
    return 0;
}

static int outer_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *Kt = t->src[0], *Vt = t->src[1];
    int64_t rows = zoo_rows(Kt), D = zoo_cols(Kt), H = t->ip[0], hd = D / H;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const float *k = Kt->data + r * D, *v = Vt->data + r * D, *dy = t->grad + r * H * hd * hd;
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < hd; i++) {
                const float *d = dy + (h * hd + i) * hd;
                if (Kt->grad) {
                    float s = 0;
                    for (int64_t j = 0; j < hd; j++)
                        s += d[j] * v[h * hd + j];
                    Kt->grad[r * D + h * hd + i] += s;
                }
                if (Vt->grad)
                    for (int64_t j = 0; j < hd; j++)
                        Vt->grad[r * D + h * hd + j] += d[j] * k[h * hd + i];
            }
    }
    return 0;
}

ZOO_CUDA_DECLARE(head_outer)
const zoo_op_def zoo_op_head_outer = {
    "head_outer", {[ZOO_BACKEND_CPU] = {NULL, outer_fwd_cpu, outer_bwd_cpu} ZOO_CUDA_SLOT_NOPREP(head_outer)}, ZOO_MEM_NO_OUT};

zoo_tensor *zoo_head_outer(zoo_graph *g, zoo_tensor *k, zoo_tensor *v, int heads)
{
    if (!g || g->status || !k || !v)
        return zoo_node_new(g, &zoo_op_head_outer, 1, (int64_t[]){1}, (zoo_tensor *[]){k, v}, 2);
    char s1[64], s2[64];
    int same = k->ndim == v->ndim && k->dtype == ZOO_F32 && v->dtype == ZOO_F32;
    for (int i = 0; same && i < k->ndim; i++)
        same = k->shape[i] == v->shape[i];
    if (!same)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "head_outer: k %s and v %s must be f32 of one shape",
                             zoo_shape_str(k, s1, 64), zoo_shape_str(v, s2, 64));
    if (heads < 1 || zoo_cols(k) % heads)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "head_outer: %d heads do not divide the last dim of %s", heads,
                             zoo_shape_str(k, s1, 64));
    int64_t shape[ZOO_MAX_DIMS], hd = zoo_cols(k) / heads;
    for (int i = 0; i < k->ndim; i++)
        shape[i] = k->shape[i];
    shape[k->ndim - 1] = heads * hd * hd;
    zoo_tensor *t = zoo_node_new(g, &zoo_op_head_outer, k->ndim, shape, (zoo_tensor *[]){k, v}, 2);
    if (t)
        t->ip[0] = heads;
    return t;
}
