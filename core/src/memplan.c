/* memplan.c: where each node's values, workspace and gradient live in the activation
 * arenas. The step's order is fixed (forward of nodes 0..n-1, then backward of n-1..0),
 * so each buffer's lifetime is known at planning: a buffer takes memory another one
 * used once that one's last reader has run (docs/backends.md, activation memory). The
 * offsets are a pure function of the graph, and fixed for the whole run (a captured
 * CUDA step replays the same addresses). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Step times: forward of node i at i, backward of node i at 2n-1-i; the gradients no
 * backward clears are cleared at n, before the first backward; END outlasts the step
 * (what the host may read afterwards). Spans are inclusive. */
typedef struct span {
    int64_t s, e;
} span;

typedef struct mbuf {
    int64_t size; /* floats, aligned */
    span t[2];    /* when it holds something a later reader needs (or a kernel's scratch) */
    int nt;
    int id;       /* node id, then kind: the tie-break that makes the order total */
    int kind;
    int64_t off;
} mbuf;

static int has_bwd(const zoo_graph *g, const zoo_tensor *t)
{
    return !g->forward_only && t->op && t->requires_grad;
}

static void add_buf(mbuf *b, int *nb, int64_t floats, int id, int kind, span a, span c, int two)
{
    mbuf *m = &b[(*nb)++];
    memset(m, 0, sizeof *m);
    m->size = zoo_align_floats(floats);
    m->id = id;
    m->kind = kind;
    m->t[0] = a;
    m->t[1] = c;
    m->nt = two ? 2 : 1;
}

static int overlap(const mbuf *a, const mbuf *b)
{
    for (int i = 0; i < a->nt; i++)
        for (int j = 0; j < b->nt; j++)
            if (a->t[i].s <= b->t[j].e && b->t[j].s <= a->t[i].e)
                return 1;
    return 0;
}

/* Largest first, then earliest, then by node: the greedy order that packs well. */
static int by_size(const void *pa, const void *pb)
{
    const mbuf *a = *(const mbuf *const *)pa, *b = *(const mbuf *const *)pb;
    if (a->size != b->size)
        return a->size > b->size ? -1 : 1;
    if (a->t[0].s != b->t[0].s)
        return a->t[0].s < b->t[0].s ? -1 : 1;
    if (a->id != b->id)
        return a->id < b->id ? -1 : 1;
    return a->kind - b->kind;
}

static int by_off(const void *pa, const void *pb)
{
    const mbuf *a = *(const mbuf *const *)pa, *b = *(const mbuf *const *)pb;
    return a->off < b->off ? -1 : a->off > b->off;
}

/* First fit: each buffer, largest first, at the lowest offset where no placed buffer
 * that is live at the same time lies. Returns the region's size in floats, or -1. */
static int64_t place(mbuf *b, int nb)
{
    mbuf **order = malloc((size_t)(nb ? nb : 1) * sizeof *order);
    mbuf **live = malloc((size_t)(nb ? nb : 1) * sizeof *live);
    if (!order || !live) {
        free(order);
        free(live);
        return -1;
    }
    for (int i = 0; i < nb; i++)
        order[i] = &b[i];
    qsort(order, (size_t)nb, sizeof *order, by_size);
    int64_t top = 0;
    for (int i = 0; i < nb; i++) {
        mbuf *m = order[i];
        int nl = 0;
        for (int j = 0; j < i; j++)
            if (overlap(m, order[j]))
                live[nl++] = order[j];
        qsort(live, (size_t)nl, sizeof *live, by_off);
        int64_t at = 0;
        for (int j = 0; j < nl && live[j]->off < at + m->size; j++)
            if (live[j]->off + live[j]->size > at)
                at = live[j]->off + live[j]->size;
        m->off = at;
        if (at + m->size > top)
            top = at + m->size;
    }
    free(order);
    free(live);
    return top;
}

enum { K_DATA = 0, K_AUX, K_GRAD };

/* Every buffer its own memory, values and workspace interleaved node by node: the
 * layout without reuse. */
static void plan_flat(const zoo_graph *g, zoo_memplan *p)
{
    int64_t ao = 0, go = 0, an = 0, wn = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const zoo_tensor *t = g->nodes[i];
        if (p->data_off[i] >= 0) {
            p->data_off[i] = ao;
            ao += zoo_align_floats(t->n);
            an += zoo_align_floats(t->n);
        }
        if (p->aux_off[i] >= 0) {
            p->aux_off[i] = ao;
            ao += zoo_align_floats(t->aux_n);
            wn += zoo_align_floats(t->aux_n);
        }
        if (p->grad_off[i] >= 0) {
            p->grad_off[i] = go;
            go += zoo_align_floats(t->n);
        }
    }
    p->data_n = an;
    p->aux_n = wn;
    p->grad_n = go;
}

int zoo_memplan_make(const zoo_graph *g, int reuse, zoo_memplan *p)
{
    const int n = g->n_nodes;
    const int64_t FWD_END = n, END = 2 * (int64_t)n;
    memset(p, 0, sizeof *p);
    p->data_off = malloc((size_t)(n ? n : 1) * sizeof *p->data_off);
    p->aux_off = malloc((size_t)(n ? n : 1) * sizeof *p->aux_off);
    p->grad_off = malloc((size_t)(n ? n : 1) * sizeof *p->grad_off);
    int *consumers = calloc((size_t)(n ? n : 1), sizeof *consumers);
    int64_t *data_end = malloc((size_t)(n ? n : 1) * sizeof *data_end);
    mbuf *b = malloc((size_t)(3 * n + 1) * sizeof *b);
    int rc = ZOO_ERR_NOMEM;
    if (!p->data_off || !p->aux_off || !p->grad_off || !consumers || !data_end || !b)
        goto done;
    /* which buffers exist: f32 values of inputs and op outputs (int32 ones live in
     * the input arena), workspace, gradients of activations */
    for (int i = 0; i < n; i++) {
        const zoo_tensor *t = g->nodes[i];
        int act = t->kind == ZOO_T_ACT || t->kind == ZOO_T_INPUT;
        p->data_off[i] = act && t->dtype != ZOO_I32 ? 0 : -1;
        p->aux_off[i] = act && t->aux_n ? 0 : -1;
        p->grad_off[i] = act && t->requires_grad && !g->forward_only ? 0 : -1;
        for (int k = 0; k < t->nsrc; k++)
            consumers[t->src[k]->id]++;
    }
    if (!reuse) {
        plan_flat(g, p);
        rc = 0;
        goto done;
    }
    /* When each value is last read: by a consumer's forward, by the backward of a
     * consumer that may read its inputs, by its own backward unless the op says it
     * never reads its output. */
    for (int i = 0; i < n; i++) {
        const zoo_tensor *t = g->nodes[i];
        data_end[i] = i;
        if (t->op && has_bwd(g, t) && !(t->op->mem & ZOO_MEM_NO_OUT))
            data_end[i] = END - 1 - i;
    }
    for (int i = 0; i < n; i++) {
        const zoo_tensor *c = g->nodes[i];
        for (int k = 0; k < c->nsrc; k++) {
            int s = c->src[k]->id;
            int64_t e = has_bwd(g, c) && !(c->op->mem & ZOO_MEM_NO_SRC(k)) ? END - 1 - i : i;
            if (e > data_end[s])
                data_end[s] = e;
        }
    }
    int nb = 0;
    for (int i = 0; i < n; i++) {
        const zoo_tensor *t = g->nodes[i];
        /* inputs are set before the step and read all through it, side outputs are read
         * by the host, and so is what no node consumes (the loss, ce_head's logits in
         * its workspace): never shared */
        int keep = !t->op || !consumers[i];
        span whole = {0, END}, none = {0, -1};
        if (p->data_off[i] >= 0)
            add_buf(b, &nb, t->n, i, K_DATA, keep ? whole : (span){i, data_end[i]}, none, 0);
        if (p->aux_off[i] >= 0) {
            int64_t bt = END - 1 - i;
            if (keep)
                add_buf(b, &nb, t->aux_n, i, K_AUX, whole, none, 0);
            else if (!has_bwd(g, t))
                add_buf(b, &nb, t->aux_n, i, K_AUX, (span){i, i}, none, 0);
            else if (t->op->mem & ZOO_MEM_AUX_SCRATCH) /* nothing kept in between */
                add_buf(b, &nb, t->aux_n, i, K_AUX, (span){i, i}, (span){bt, bt}, 1);
            else
                add_buf(b, &nb, t->aux_n, i, K_AUX, (span){i, bt}, none, 0);
        }
        if (p->grad_off[i] >= 0) {
            /* from the first backward that accumulates into it (or the clearing before
             * the first backward) to its own backward */
            int64_t s = g->zero_at[i] >= 0 ? END - 1 - g->zero_at[i] : FWD_END;
            add_buf(b, &nb, t->n, i, K_GRAD, (span){s, t->op ? END - 1 - i : END}, none, 0);
        }
    }
    /* three regions, each packed on its own: values, workspace, gradients */
    int64_t size[3];
    for (int k = 0; k < 3; k++) {
        int m = 0;
        mbuf *sub = malloc((size_t)(nb ? nb : 1) * sizeof *sub);
        if (!sub)
            goto done;
        for (int j = 0; j < nb; j++)
            if (b[j].kind == k)
                sub[m++] = b[j];
        size[k] = place(sub, m);
        for (int j = 0; j < m; j++)
            (k == K_DATA ? p->data_off : k == K_AUX ? p->aux_off : p->grad_off)[sub[j].id] = sub[j].off;
        free(sub);
        if (size[k] < 0)
            goto done;
    }
    p->data_n = size[K_DATA];
    p->aux_n = size[K_AUX];
    p->grad_n = size[K_GRAD];
    /* the workspace region follows the values in the one arena */
    for (int i = 0; i < n; i++)
        if (p->aux_off[i] >= 0)
            p->aux_off[i] += p->data_n;
    rc = 0;
done:
    free(consumers);
    free(data_end);
    free(b);
    if (rc)
        zoo_memplan_free(p);
    return rc;
}

void zoo_memplan_free(zoo_memplan *p)
{
    free(p->data_off);
    free(p->aux_off);
    free(p->grad_off);
    memset(p, 0, sizeof *p);
}
