/* concat.c: y = [x0, x1, ...] along the last dim (re-joining channel groups). More than
 * ZOO_MAX_SRC inputs are joined as a chain of nodes; no views, every output is a copy. */
#include <string.h>

#include "../backends/cuda/slot.h"
#include "../internal.h"

static int concat_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    int64_t rows = zoo_rows(t), out = zoo_cols(t);
    float *y = t->data; /* y: (rows, out) */
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        int64_t off = 0;
        for (int i = 0; i < t->nsrc; i++) {
            int64_t w = zoo_cols(t->src[i]);
            memcpy(y + r * out + off, t->src[i]->data + r * w, (size_t)w * sizeof *y);
            off += w;
        }
    }
    return 0;
}

static int concat_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    int64_t rows = zoo_rows(t), out = zoo_cols(t);
    const float *dy = t->grad; /* dy: (rows, out) */
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        int64_t off = 0;
        for (int i = 0; i < t->nsrc; i++) {
            zoo_tensor *X = t->src[i];
            int64_t w = zoo_cols(X);
            if (X->grad)
                for (int64_t j = 0; j < w; j++)
                    X->grad[r * w + j] += dy[r * out + off + j];
            off += w;
        }
    }
    return 0;
}

ZOO_CUDA_DECLARE(concat)
const zoo_op_def zoo_op_concat = {
    "concat", {[ZOO_BACKEND_CPU] = {NULL, concat_fwd_cpu, concat_bwd_cpu} ZOO_CUDA_SLOT_NOPREP(concat)}, ZOO_MEM_NO_OUT | ZOO_MEM_NO_SRCS};

zoo_tensor *zoo_concat(zoo_graph *g, zoo_tensor *const *xs, int n)
{
    if (!g || g->status)
        return NULL;
    if (!xs || n < 1)
        return zoo_node_fail(g, ZOO_ERR_INVALID, "concat: need at least one input (got n = %d)", n);
    for (int i = 0; i < n; i++)
        if (!xs[i])
            return zoo_node_fail(g, ZOO_ERR_INVALID, "concat: input %d is NULL", i);
    char s0[64], s1[64];
    int64_t shape[ZOO_MAX_DIMS], last = 0;
    for (int i = 0; i < n; i++) {
        zoo_tensor *x = xs[i];
        if (x->dtype != ZOO_F32)
            return zoo_node_fail(g, ZOO_ERR_INVALID, "concat: input %d must be f32", i);
        int same = x->ndim == xs[0]->ndim;
        for (int d = 0; same && d < x->ndim - 1; d++)
            same = x->shape[d] == xs[0]->shape[d];
        if (!same)
            return zoo_node_fail(g, ZOO_ERR_SHAPE,
                                 "concat: input %d %s does not match input 0 %s in every dim but the last", i,
                                 zoo_shape_str(x, s1, 64), zoo_shape_str(xs[0], s0, 64));
        last += zoo_cols(x);
    }
    if (n > ZOO_MAX_SRC) { /* join the first ZOO_MAX_SRC - 1 and recurse on the rest */
        zoo_tensor *head = zoo_concat(g, xs, ZOO_MAX_SRC - 1);
        zoo_tensor *rest[ZOO_MAX_SRC];
        rest[0] = head;
        int m = n - (ZOO_MAX_SRC - 1);
        if (m <= ZOO_MAX_SRC - 1) {
            for (int i = 0; i < m; i++)
                rest[1 + i] = xs[ZOO_MAX_SRC - 1 + i];
            return head ? zoo_concat(g, rest, 1 + m) : NULL;
        }
        zoo_tensor *tail = zoo_concat(g, xs + ZOO_MAX_SRC - 1, m);
        return head && tail ? zoo_concat(g, (zoo_tensor *[]){head, tail}, 2) : NULL;
    }
    for (int d = 0; d < xs[0]->ndim; d++)
        shape[d] = xs[0]->shape[d];
    shape[xs[0]->ndim - 1] = last;
    return zoo_node_new(g, &zoo_op_concat, xs[0]->ndim, shape, xs, n);
}
