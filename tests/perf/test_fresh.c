/* test_fresh.c: the engine clears each gradient right before its first accumulating
 * backward, or lets that backward write it whole (zoo_grad_fresh). A kernel that adds
 * where it should write, or an engine that skips a clear, would pick up whatever the
 * buffer held. Here a graph shaped like the attention model (embedding, positions,
 * dropout, layernorm, fused qkv linear, slices, attention, out linear, residual adds,
 * tied ce_head) runs backward, every gradient is then overwritten with NaN, and a
 * second backward must reproduce the first bit for bit, on 1 and 2 threads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "zoo/graph.h"
#include "zoo/mixer.h"

#define B 3
#define L 37
#define D 24
#define V 50
#define M 9

typedef struct net {
    zoo_graph *g;
    zoo_tensor *tok, *pos, *lab, *loss;
    zoo_tensor *acts[32];
    int nact;
} net;

static zoo_tensor *keep(net *n, zoo_tensor *t)
{
    if (t && n->nact < 32)
        n->acts[n->nact++] = t;
    return t;
}

static zoo_tensor *norm(net *n, zoo_tensor *x, const char *name)
{
    char w[64], b[64];
    snprintf(w, sizeof w, "%s.w", name);
    snprintf(b, sizeof b, "%s.b", name);
    return keep(n, zoo_layernorm(n->g, x, zoo_param(n->g, w, 1, (int64_t[]){D}, zoo_init_const(1.0f)),
                                 zoo_param(n->g, b, 1, (int64_t[]){D}, zoo_init_zeros()), 1e-5f));
}

static int build(net *n)
{
    memset(n, 0, sizeof *n);
    zoo_graph *g = n->g = zoo_graph_new(ZOO_BACKEND_CPU);
    n->tok = zoo_input(g, "tok", ZOO_I32, 2, (int64_t[]){B, L});
    n->pos = zoo_input(g, "pos", ZOO_I32, 1, (int64_t[]){M});
    n->lab = zoo_input(g, "lab", ZOO_I32, 1, (int64_t[]){M});
    zoo_tensor *E = zoo_param(g, "E", 2, (int64_t[]){V, D}, zoo_init_normal(0.0f, 0.5f));
    zoo_tensor *P = zoo_param(g, "P", 2, (int64_t[]){L, D}, zoo_init_normal(0.0f, 0.5f));
    zoo_tensor *h = keep(n, zoo_add(g, keep(n, zoo_embedding(g, n->tok, E)), P));
    zoo_tensor *r = keep(n, zoo_dropout(g, h, 0.25f));
    for (int l = 0; l < 2; l++) {
        char nm[32];
        snprintf(nm, sizeof nm, "n1.%d", l);
        zoo_tensor *x = norm(n, r, nm);
        snprintf(nm, sizeof nm, "qkv.%d", l);
        zoo_tensor *qkv = keep(n, zoo_nn_linear(g, x, nm, 3 * D, 1));
        zoo_tensor *q = keep(n, zoo_slice(g, qkv, 0, D)), *k = keep(n, zoo_slice(g, qkv, D, D));
        zoo_tensor *v = keep(n, zoo_slice(g, qkv, 2 * D, D));
        zoo_tensor *o = keep(n, zoo_attention(g, q, k, v, 2, l ? 5 : -1, 0.3f, 0.2f));
        snprintf(nm, sizeof nm, "out.%d", l);
        r = keep(n, zoo_add(g, keep(n, zoo_nn_linear(g, o, nm, D, 1)), r));
        snprintf(nm, sizeof nm, "n2.%d", l);
        r = keep(n, zoo_add(g, norm(n, r, nm), r));
    }
    n->loss = zoo_ce_head(g, norm(n, r, "lnf"), E, n->pos, n->lab);
    if (zt_check_graph(g, "fresh graph") || zt_check_rc(zoo_graph_plan(g, 5), "plan"))
        return 1;
    zt_fill_params(g, 3, 0.5f);
    zt_fill_int(zoo_tensor_idata(n->tok), B * L, 9, 0, V);
    int32_t *pos = zoo_tensor_idata(n->pos), *lab = zoo_tensor_idata(n->lab);
    zt_fill_int(lab, M, 10, 0, V);
    for (int i = 0; i < M; i++)
        pos[i] = (int32_t)((i * 13 + 5) % (B * L));
    lab[M - 1] = -100; /* an ignored entry at the end */
    zoo_graph_set_training(g, 1, 4); /* dropout on, masks fixed for both backwards */
    return 0;
}

/* forward, backward; returns the parameter gradients and every kept activation's. */
static float *grads(net *n, int64_t *count)
{
    int64_t pn = 0;
    float *gf = zoo_graph_grads_flat(n->g, &pn);
    int64_t total = pn;
    for (int i = 0; i < n->nact; i++)
        total += zoo_tensor_numel(n->acts[i]);
    float *out = malloc((size_t)total * sizeof *out);
    memcpy(out, gf, (size_t)pn * sizeof *out);
    int64_t o = pn;
    for (int i = 0; i < n->nact; i++) {
        int64_t k = zoo_tensor_numel(n->acts[i]);
        memcpy(out + o, zoo_tensor_grad(n->acts[i]), (size_t)k * sizeof *out);
        o += k;
    }
    *count = total;
    return out;
}

static void poison(net *n)
{
    for (int i = 0; i < zoo_graph_nparams(n->g); i++) {
        zoo_tensor *p = zoo_graph_param(n->g, i);
        float *gr = zoo_tensor_grad(p);
        for (int64_t j = 0; gr && zoo_tensor_is_trainable(p) && j < zoo_tensor_numel(p); j++)
            gr[j] = NAN;
    }
    for (int i = 0; i < n->nact; i++) {
        float *gr = zoo_tensor_grad(n->acts[i]);
        for (int64_t j = 0; j < zoo_tensor_numel(n->acts[i]); j++)
            gr[j] = NAN;
    }
}

int main(void)
{
    int bad = 0;
    float *first[2] = {NULL, NULL};
    int64_t cnt = 0;
    for (int th = 1; th <= 2 && !bad; th++) {
        zoo_set_threads(th);
        net n;
        if (build(&n)) {
            zoo_graph_free(n.g);
            return 1;
        }
        int64_t c1 = 0, c2 = 0;
        bad |= zt_check_rc(zoo_graph_forward(n.g), "forward") || zt_check_rc(zoo_graph_backward(n.g, n.loss), "backward");
        float *a = grads(&n, &c1);
        bad |= zt_check_finite("gradients of the first backward", a, c1);
        poison(&n);
        bad |= zt_check_rc(zoo_graph_forward(n.g), "forward") || zt_check_rc(zoo_graph_backward(n.g, n.loss), "backward");
        float *b = grads(&n, &c2);
        if (!bad && memcmp(a, b, (size_t)c1 * sizeof *a)) {
            char msg[128];
            snprintf(msg, sizeof msg, "%d thread(s): backward after NaN-poisoned gradients vs the first (same bits)", th);
            zt_compare(msg, b, a, c1, 0, 0);
            bad = 1;
        }
        first[th - 1] = a;
        cnt = c1;
        free(b);
        zoo_graph_free(n.g);
    }
    zoo_set_threads(2);
    if (!bad && memcmp(first[0], first[1], (size_t)cnt * sizeof(float))) {
        zt_compare("gradients: 2 threads vs 1 (same bits)", first[1], first[0], cnt, 0, 0);
        bad = 1;
    }
    free(first[0]);
    free(first[1]);
    if (!bad)
        printf("fresh: %lld gradient values identical after NaN poisoning, on 1 and 2 threads\n", (long long)cnt);
    return bad;
}
