/* test_loss_terms.c: zoo_graph_add_loss. On p (3), loss = sum(p) and a term 0.5 sum(p^2):
 *   - zoo_graph_backward(loss) gives d(loss + term)/dp = 1 + p, and the loss's value
 *     stays sum(p) (the term is not in it);
 *   - zoo_graph_backward_seeded(loss, 1) gives 1 (the term left out), and a backward
 *     from the term itself gives p (seeded once, not twice);
 *   - refusals: a leaf, several elements, a constant, a term another node reads (at
 *     planning), a term added after planning; zoo_graph_loss_term lists the terms. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "testlib.h"

static const float P[3] = {0.5f, -2.0f, 3.0f};

/* p, loss = sum(p) as (1), term = 0.5 sum(p^2) as (1); read_term: a node reads the term */
static zoo_graph *build(zoo_tensor **p, zoo_tensor **loss, zoo_tensor **term, int read_term)
{
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    *p = zoo_param(g, "p", 1, (int64_t[]){3}, zoo_init_zeros());
    zoo_tensor *row = zoo_reshape(g, *p, 2, (int64_t[]){1, 3}), *ones = zoo_fill(g, 2, (int64_t[]){1, 3}, 1.0f);
    *loss = zoo_reshape(g, zoo_linear(g, row, ones, NULL), 1, (int64_t[]){1});
    zoo_tensor *sq = zoo_reshape(g, zoo_mul(g, row, row), 2, (int64_t[]){1, 3});
    *term = zoo_reshape(g, zoo_scale(g, zoo_linear(g, sq, ones, NULL), 0.5f), 1, (int64_t[]){1});
    zoo_graph_add_loss(g, *term);
    if (read_term)
        zoo_scale(g, *term, 2.0f);
    return g;
}

static void grads(zoo_tensor *p, float *gp)
{
    if (zt_check_rc(zoo_tensor_get_grad(p, gp, 0, 3), "read p's gradient"))
        memset(gp, 0, 3 * sizeof *gp);
}

int main(void)
{
    zoo_tensor *p, *loss, *term;
    zoo_graph *g = build(&p, &loss, &term, 0);
    ZT_CHECK(zoo_graph_loss_term(g, 0) == term && !zoo_graph_loss_term(g, 1), "zoo_graph_loss_term lists the one term");
    if (zt_check_rc(zoo_graph_status(g), "build") || zt_check_rc(zoo_graph_plan(g, 1), "plan") ||
        zt_check_rc(zoo_tensor_set(p, P, 0, 3), "set p") || zt_check_rc(zoo_graph_forward(g), "forward")) {
        zoo_graph_free(g);
        return 1;
    }
    float l = 0, t = 0, gp[3];
    zt_check_rc(zoo_tensor_get(loss, &l, 0, 1), "read the loss");
    zt_check_rc(zoo_tensor_get(term, &t, 0, 1), "read the term");
    ZT_CHECK(fabsf(l - 1.5f) < 1e-6f && fabsf(t - 6.625f) < 1e-5f, "values: loss %g (want 1.5), term %g (want 6.625)", l, t);

    zt_check_rc(zoo_graph_backward(g, loss), "backward");
    grads(p, gp);
    for (int i = 0; i < 3; i++)
        ZT_CHECK(fabsf(gp[i] - (1.0f + P[i])) < 1e-6f, "backward(loss): dp[%d] = %g, want 1 + p = %g", i, gp[i], 1.0f + P[i]);
    zt_check_rc(zoo_graph_backward_seeded(g, loss, (float[]){1.0f}), "seeded backward");
    grads(p, gp);
    for (int i = 0; i < 3; i++)
        ZT_CHECK(fabsf(gp[i] - 1.0f) < 1e-6f, "seeded backward(loss): dp[%d] = %g, want 1 (no term)", i, gp[i]);
    zt_check_rc(zoo_graph_backward(g, term), "backward from the term");
    grads(p, gp);
    for (int i = 0; i < 3; i++)
        ZT_CHECK(fabsf(gp[i] - P[i]) < 1e-6f, "backward(term): dp[%d] = %g, want p = %g", i, gp[i], P[i]);

    ZT_CHECK(zoo_graph_add_loss(g, term) == ZOO_ERR_STATE, "a term added after planning is refused");
    zoo_graph_free(g);

    /* refusals while building */
    const char *what[] = {"a leaf", "several elements", "a constant"};
    for (int k = 0; k < 3; k++) {
        zoo_graph *h = zoo_graph_new(ZOO_BACKEND_CPU);
        zoo_tensor *q = zoo_param(h, "q", 1, (int64_t[]){3}, zoo_init_zeros());
        zoo_tensor *bad = k == 0 ? q : k == 1 ? zoo_scale(h, q, 2.0f) : zoo_fill(h, 1, (int64_t[]){1}, 1.0f);
        ZT_CHECK(zoo_graph_add_loss(h, bad) == ZOO_ERR_INVALID && strstr(zoo_graph_error(h), "loss term"),
                 "add_loss refuses %s (got: %s)", what[k], zoo_graph_error(h));
        zoo_graph_free(h);
    }
    g = build(&p, &loss, &term, 1);
    int rc = zoo_graph_plan(g, 1);
    ZT_CHECK(rc == ZOO_ERR_INVALID && strstr(zoo_error_last()->msg, "loss term"),
             "planning refuses a term another node reads (rc %d: %s)", rc, zoo_error_last()->msg);
    zoo_graph_free(g);
    printf("loss terms: %s\n", zt_fails ? "FAIL" : "ok");
    return zt_fails != 0;
}
