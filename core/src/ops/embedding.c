/* embedding.c: y[r, :] = E[tokens[r], :], a row gather (word embeddings; positions are a
 * broadcast zoo_add of a parameter). Token ids are validated where data is loaded; an id
 * outside [0, V) here gives a zero row and no gradient instead of reading out of bounds
 * (never clamped: that would silently train another token's row).
 * Backward scatter-adds dy rows into dE, parallel over columns of D so every dE element
 * is summed by one thread in row order: deterministic, no atomics. */
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "../backends/cuda/slot.h"
#include "../internal.h"

static int embedding_fwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *T = t->src[0], *E = t->src[1];
    int64_t rows = T->n, V = E->shape[0], D = E->shape[1];
    const int32_t *tok = T->idata; /* tok: (rows) = (B, L) */
    const float *e = E->data;      /* e: (V, D) */
    float *y = t->data;            /* y: (rows, D) */
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        int64_t v = tok[r];
        if (v >= 0 && v < V)
            memcpy(y + r * D, e + v * D, (size_t)D * sizeof *y);
        else
            memset(y + r * D, 0, (size_t)D * sizeof *y);
    }
    return 0;
}

static int embedding_bwd_cpu(zoo_exec *ex, zoo_tensor *t)
{
    (void)ex;
    zoo_tensor *T = t->src[0], *E = t->src[1];
    if (!E->grad)
        return 0;
    int64_t rows = T->n, V = E->shape[0], D = E->shape[1];
    const int32_t *tok = T->idata; /* tok: (rows) */
    const float *dy = t->grad;     /* dy: (rows, D) */
    float *de = E->grad;           /* de: (V, D) */
#pragma omp parallel
    {
#ifdef _OPENMP
        int nt = omp_get_num_threads(), me = omp_get_thread_num();
#else
        int nt = 1, me = 0;
#endif
        /* each thread owns the columns [j0, j1) of every row of dE */
        int64_t j0 = D * me / nt, j1 = D * (me + 1) / nt;
        if (j1 > j0)
            for (int64_t r = 0; r < rows; r++) {
                int64_t v = tok[r];
                if (v < 0 || v >= V)
                    continue;
                const float *dyr = dy + r * D;
                float *der = de + v * D;
                for (int64_t j = j0; j < j1; j++)
                    der[j] += dyr[j];
            }
    }
    return 0;
}

ZOO_CUDA_DECLARE(embedding)
const zoo_op_def zoo_op_embedding = {
    "embedding", {[ZOO_BACKEND_CPU] = {NULL, embedding_fwd_cpu, embedding_bwd_cpu} ZOO_CUDA_SLOT(embedding)}, ZOO_MEM_NO_OUT | ZOO_MEM_AUX_SCRATCH};

zoo_tensor *zoo_embedding(zoo_graph *g, zoo_tensor *tokens, zoo_tensor *E)
{
    zoo_tensor *src[2] = {tokens, E};
    if (!g || g->status || !tokens || !E)
        return zoo_node_new(g, &zoo_op_embedding, 1, (int64_t[]){1}, src, 2);
    char s1[64], s2[64];
    if (tokens->dtype != ZOO_I32)
        return zoo_node_fail(g, ZOO_ERR_INVALID, "embedding: tokens %s must be an int32 input",
                             zoo_shape_str(tokens, s1, 64));
    if (tokens->ndim + 1 > ZOO_MAX_DIMS)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "embedding: tokens %s have too many dims (at most %d)",
                             zoo_shape_str(tokens, s1, 64), ZOO_MAX_DIMS - 1);
    if (E->dtype != ZOO_F32 || E->ndim != 2)
        return zoo_node_fail(g, ZOO_ERR_SHAPE, "embedding: table %s must be an f32 (vocab, dim) matrix",
                             zoo_shape_str(E, s2, 64));
    int64_t shape[ZOO_MAX_DIMS];
    for (int i = 0; i < tokens->ndim; i++)
        shape[i] = tokens->shape[i];
    shape[tokens->ndim] = E->shape[1];
    return zoo_node_new(g, &zoo_op_embedding, tokens->ndim + 1, shape, src, 2);
}
