/* embedding.cu: y[r, :] = E[tokens[r], :] (ops/embedding.c), one thread per element of
 * y. An id outside [0, V) gives a zero row and no gradient, as on the CPU (ids are
 * validated where data is loaded; nothing here reads out of bounds or raises).
 *
 * Backward without atomics, by buckets: the tokens are grouped by id in token order
 * (a counting sort: one thread per vocabulary row counts and later lists its tokens,
 * block sums of the counts are scanned in order by one thread), then one thread per
 * element (v, j) of dE adds dy[r, j] over its id's tokens r in token order, starting
 * from dE[v, j]: the CPU's summation order exactly, so the bits agree and no run
 * differs from another. Rows of dE no token uses are not touched (+= nothing). */
#include "common.cuh"

ZOO_CUDA_OP_FNS(embedding)

#define SCAN_BLOCK 256 /* vocabulary rows per block of the count scan */

/* aux as int32: count (V) | first (V) | block sums (nbv) | block offsets (nbv) | list (rows) */
typedef struct emb_ws {
    int32_t *count, *first, *bsum, *boff, *list;
} emb_ws;

static int64_t nbv_of(int64_t V) { return (V + SCAN_BLOCK - 1) / SCAN_BLOCK; }

static emb_ws ws_of(const zoo_tensor *t, int64_t V)
{
    emb_ws w;
    w.count = (int32_t *)t->aux;
    w.first = w.count + V;
    w.bsum = w.first + V;
    w.boff = w.bsum + nbv_of(V);
    w.list = w.boff + nbv_of(V);
    return w;
}

ZOO_KERNEL emb_fwd(const int32_t *tok, const float *e, float *y, int64_t n, int64_t V, int64_t D)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t v = tok[i / D];
    y[i] = v >= 0 && v < V ? e[v * D + i % D] : 0.0f;
}

/* count[v] = tokens with id v */
ZOO_KERNEL emb_count(const int32_t *tok, int32_t *count, int64_t rows, int64_t V)
{
    int64_t v = ZOO_GID;
    if (v >= V)
        return;
    int32_t c = 0;
    for (int64_t r = 0; r < rows; r++)
        c += tok[r] == v;
    count[v] = c;
}

/* bsum[b] = the counts of block b, in order */
ZOO_KERNEL emb_block_sum(const int32_t *count, int32_t *bsum, int64_t V, int64_t nbv)
{
    int64_t b = ZOO_GID;
    if (b >= nbv)
        return;
    int64_t v1 = (b + 1) * SCAN_BLOCK < V ? (b + 1) * SCAN_BLOCK : V;
    int32_t s = 0;
    for (int64_t v = b * SCAN_BLOCK; v < v1; v++)
        s += count[v];
    bsum[b] = s;
}

/* boff[b] = the tokens of the blocks before b (one thread) */
ZOO_KERNEL emb_block_scan(const int32_t *bsum, int32_t *boff, int64_t nbv)
{
    if (ZOO_GID != 0)
        return;
    int32_t s = 0;
    for (int64_t b = 0; b < nbv; b++) {
        boff[b] = s;
        s += bsum[b];
    }
}

/* first[v] = where v's tokens start in list; list[first[v] ...] = v's tokens in order */
ZOO_KERNEL emb_fill(const int32_t *tok, const int32_t *count, const int32_t *boff, int32_t *first, int32_t *list,
                    int64_t rows, int64_t V)
{
    int64_t v = ZOO_GID;
    if (v >= V)
        return;
    int64_t b0 = v / SCAN_BLOCK * SCAN_BLOCK;
    int32_t o = boff[v / SCAN_BLOCK];
    for (int64_t u = b0; u < v; u++)
        o += count[u];
    first[v] = o;
    int32_t c = count[v];
    for (int64_t r = 0; r < rows && c > 0; r++)
        if (tok[r] == v) {
            list[o++] = (int32_t)r;
            c--;
        }
}

/* dE[v, j] += dy[r, j] over v's tokens r, in token order */
ZOO_KERNEL emb_bwd(const float *dy, const int32_t *count, const int32_t *first, const int32_t *list, float *de,
                   int64_t n, int64_t D)
{
    int64_t i = ZOO_GID;
    if (i >= n)
        return;
    int64_t v = i / D, j = i % D;
    int32_t c = count[v];
    if (c == 0)
        return;
    const int32_t *l = list + first[v];
    float s = de[i];
    for (int32_t k = 0; k < c; k++)
        s += dy[(int64_t)l[k] * D + j];
    de[i] = s;
}

/* aux: the bucket workspace (int32) */
extern "C" int zoo_cuda_embedding_prepare(zoo_exec *x, zoo_tensor *t)
{
    (void)x;
    int64_t V = t->src[1]->shape[0];
    t->aux_n = 2 * V + 2 * nbv_of(V) + t->src[0]->n;
    return 0;
}

extern "C" int zoo_cuda_embedding_forward(zoo_exec *x, zoo_tensor *t)
{
    const zoo_tensor *T = t->src[0], *E = t->src[1];
    ZOO_CU(ZOO_LAUNCH(emb_fwd, t->n, zoo_cuda_of(x)->stream, T->idata, E->data, t->data, t->n, E->shape[0],
                      E->shape[1]));
    return 0;
}

extern "C" int zoo_cuda_embedding_backward(zoo_exec *x, zoo_tensor *t)
{
    zoo_tensor *T = t->src[0], *E = t->src[1];
    if (!E->grad)
        return 0;
    int64_t rows = T->n, V = E->shape[0], D = E->shape[1], nbv = nbv_of(V);
    cudaStream_t s = zoo_cuda_of(x)->stream;
    emb_ws w = ws_of(t, V);
    ZOO_CU(ZOO_LAUNCH(emb_count, V, s, T->idata, w.count, rows, V));
    ZOO_CU(ZOO_LAUNCH(emb_block_sum, nbv, s, w.count, w.bsum, V, nbv));
    ZOO_CU(ZOO_LAUNCH(emb_block_scan, 1, s, w.bsum, w.boff, nbv));
    ZOO_CU(ZOO_LAUNCH(emb_fill, V, s, T->idata, w.count, w.boff, w.first, w.list, rows, V));
    ZOO_CU(ZOO_LAUNCH(emb_bwd, V * D, s, t->grad, w.count, w.first, w.list, E->grad, V * D, D));
    return 0;
}
