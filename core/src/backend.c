/* backend.c: the backend registry and what every caller may ask of it: names, whether
 * a backend is built and usable here, and which of the core's ops it implements
 * (counted from the op table, not from what the compiler found). */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#ifndef ZOO_HAVE_CUDA_BACKEND
/* This build has no CUDA backend code: every slot is empty, and planning on it fails
 * with the ops it lacks (all of them) named. */
const zoo_backend_iface zoo_backend_cuda_iface = {.name = "cuda", .id = ZOO_BACKEND_CUDA, .built = 0};
#endif

const zoo_backend_iface *zoo_backend_iface_of(zoo_backend id)
{
    return id == ZOO_BACKEND_CUDA ? &zoo_backend_cuda_iface : &zoo_backend_cpu_iface;
}

const char *zoo_backend_name(zoo_backend b)
{
    return b >= 0 && b < ZOO_BACKEND_COUNT ? zoo_backend_iface_of(b)->name : "?";
}

int zoo_backend_built(zoo_backend b) { return b >= 0 && b < ZOO_BACKEND_COUNT && zoo_backend_iface_of(b)->built; }

int zoo_backend_available(zoo_backend b)
{
    if (b < 0 || b >= ZOO_BACKEND_COUNT)
        return ZOO_FAIL(ZOO_ERR_INVALID, "backend %d does not exist", (int)b);
    const zoo_backend_iface *be = zoo_backend_iface_of(b);
    if (!be->built)
        return ZOO_FAIL(ZOO_ERR_UNSUPPORTED, "the %s backend is not built into this zoo: use backend cpu", be->name);
    return be->available ? be->available() : 0;
}

int zoo_backend_describe(zoo_backend b, char *buf, size_t n)
{
    if (!buf || !n)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_backend_describe: no buffer");
    buf[0] = 0;
    int rc = zoo_backend_available(b);
    if (rc)
        return rc;
    const zoo_backend_iface *be = zoo_backend_iface_of(b);
    if (!be->describe) {
        snprintf(buf, n, "%s", be->name);
        return 0;
    }
    return be->describe(buf, n);
}

static int op_has(const zoo_op_def *op, zoo_backend b, int need_backward)
{
    return op->k[b].forward && (!need_backward || op->k[b].backward);
}

int zoo_backend_op_count(zoo_backend b, int *n_total)
{
    int n = 0, have = 0;
    for (; zoo_op_table[n]; n++)
        have += b >= 0 && b < ZOO_BACKEND_COUNT && op_has(zoo_op_table[n], b, 1);
    if (n_total)
        *n_total = n;
    return have;
}

const char *zoo_backend_op_missing(zoo_backend b, int i)
{
    for (int k = 0; zoo_op_table[k]; k++)
        if (!(b >= 0 && b < ZOO_BACKEND_COUNT && op_has(zoo_op_table[k], b, 1)) && i-- == 0)
            return zoo_op_table[k]->name;
    return NULL;
}

int zoo_graph_missing_ops(const zoo_graph *g, zoo_backend b, char *buf, size_t n)
{
    if (buf && n)
        buf[0] = 0;
    if (!g || b < 0 || b >= ZOO_BACKEND_COUNT)
        return 0;
    int count = 0;
    size_t k = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const zoo_tensor *t = g->nodes[i];
        if (!t->op || op_has(t->op, b, t->requires_grad))
            continue;
        int seen = 0; /* each op once, in first-use order */
        for (int j = 0; j < i && !seen; j++)
            seen = g->nodes[j]->op == t->op && !op_has(t->op, b, g->nodes[j]->requires_grad);
        if (seen)
            continue;
        const char *what = t->op->k[b].forward ? " (backward)" : "";
        if (buf && k < n)
            k += (size_t)snprintf(buf + k, n - k, "%s%s%s", count ? ", " : "", t->op->name, what);
        count++;
    }
    return count;
}
