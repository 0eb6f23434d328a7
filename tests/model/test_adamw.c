/* test_adamw.c: zoo_adamw_step against the PyTorch AdamW formula written out by hand
 * (double), and (mode "torchref") against torch.optim.AdamW itself in float32.
 * usage: test_adamw unit | torchref <ref_adamw.py>. Needs no plugin and no op. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "zoo/run.h"

#define NP 7     /* trainable values */
#define NB 3     /* buffer values (must never move) */
#define STEPS 4

static const double LR = 3e-2, B1 = 0.9, B2 = 0.999, EPS = 1e-8, WD = 0.1;

/* Values chosen to cover signs, zero gradient (decay only), tiny and large gradients. */
static const float p0[NP] = {0.5f, -1.25f, 0.0f, 2.0f, -0.03125f, 1e-3f, -3.0f};
static float grad_at(int step, int i)
{
    static const float g[NP] = {0.1f, -0.2f, 0.0f, 1e-6f, 5.0f, -0.7f, 0.3f};
    return g[i] * (float)(1 + step) * (step % 2 ? -1.0f : 1.0f) + (i == 2 ? 0.0f : 0.01f * (float)step);
}

static zoo_graph *make(zoo_tensor **w, zoo_tensor **buf)
{
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    *w = zoo_param(g, "w", 1, (int64_t[]){NP}, zoo_init_zeros());
    *buf = zoo_buffer(g, "fixed", 1, (int64_t[]){NB}, zoo_init_const(0.75f));
    if (zt_check_graph(g, "graph") || zt_check_rc(zoo_graph_plan(g, 1), "plan")) {
        zoo_graph_free(g);
        return NULL;
    }
    memcpy(zoo_tensor_data(*w), p0, sizeof p0);
    return g;
}

static int unit(void)
{
    zoo_tensor *w, *buf;
    zoo_graph *g = make(&w, &buf);
    if (!g)
        return 1;
    /* The reference: torch.optim.AdamW's update, in double. */
    double p[NP], m[NP] = {0}, v[NP] = {0};
    for (int i = 0; i < NP; i++)
        p[i] = p0[i];
    int bad = 0;
    for (int t = 1; t <= STEPS; t++) {
        float *gr = zoo_tensor_grad(w);
        for (int i = 0; i < NP; i++)
            gr[i] = grad_at(t, i);
        zoo_adamw_step(g, LR, B1, B2, EPS, WD, t);
        for (int i = 0; i < NP; i++) {
            double gi = grad_at(t, i);
            p[i] *= 1 - LR * WD;
            m[i] = B1 * m[i] + (1 - B1) * gi;
            v[i] = B2 * v[i] + (1 - B2) * gi * gi;
            double bc1 = 1 - pow(B1, t), bc2 = 1 - pow(B2, t);
            p[i] -= LR / bc1 * m[i] / (sqrt(v[i]) / sqrt(bc2) + EPS);
        }
        char what[64];
        snprintf(what, sizeof what, "parameters after step %d", t);
        bad |= zt_compare_d(what, zoo_tensor_data(w), p, NP, 1e-6, 1e-5);
        snprintf(what, sizeof what, "first moment after step %d", t);
        bad |= zt_compare_d(what, zoo_graph_adam_m(g), m, NP, 1e-7, 1e-5);
        snprintf(what, sizeof what, "second moment after step %d", t);
        bad |= zt_compare_d(what, zoo_graph_adam_v(g), v, NP, 1e-10, 1e-5);
    }
    const float *buf_v = zoo_tensor_data(buf);
    for (int i = 0; i < NB; i++)
        if (buf_v[i] != 0.75f) {
            fprintf(stderr, "FAIL buffer value %d changed to %g: AdamW must skip buffers\n", i, (double)buf_v[i]);
            bad = 1;
        }
    /* The zero-gradient element only decays: p0 = 0 stays exactly 0. */
    if (zoo_tensor_data(w)[2] != 0.0f) {
        fprintf(stderr, "FAIL zero parameter with zero gradient moved to %g\n", (double)zoo_tensor_data(w)[2]);
        bad = 1;
    }
    zoo_graph_free(g);
    if (!bad)
        printf("adamw unit: ok\n");
    return bad;
}

static int torchref(const char *script)
{
    zoo_tensor *w, *buf;
    zoo_graph *g = make(&w, &buf);
    if (!g)
        return 1;
    zt_dump *d = zt_dump_open(NULL, "adamw");
    if (!d)
        return 2;
    int rc = zt_dump_f32(d, "p0", "input", p0, 1, (int64_t[]){NP});
    for (int t = 1; t <= STEPS && !rc; t++) {
        float gr[NP];
        for (int i = 0; i < NP; i++)
            gr[i] = zoo_tensor_grad(w)[i] = grad_at(t, i);
        zoo_adamw_step(g, LR, B1, B2, EPS, WD, t);
        char name[32];
        snprintf(name, sizeof name, "grad%d", t);
        rc |= zt_dump_f32(d, name, "input", gr, 1, (int64_t[]){NP});
        snprintf(name, sizeof name, "p%d", t);
        rc |= zt_dump_f32(d, name, "out", zoo_tensor_data(w), 1, (int64_t[]){NP});
    }
    rc |= zt_dump_attr(d, "steps", STEPS);
    rc |= zt_dump_attr(d, "lr", LR);
    rc |= zt_dump_attr(d, "beta1", B1);
    rc |= zt_dump_attr(d, "beta2", B2);
    rc |= zt_dump_attr(d, "eps", EPS);
    rc |= zt_dump_attr(d, "weight_decay", WD);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", zt_dump_dir(d));
    rc |= zt_dump_close(d, 0);
    zoo_graph_free(g);
    if (rc)
        return 2;
    rc = zt_python(script, dir);
    if (rc == 0)
        zt_rmtree(dir);
    else if (rc != ZT_SKIP)
        fprintf(stderr, "dump kept in %s\n", dir);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "unit"))
        return unit();
    if (argc >= 3 && !strcmp(argv[1], "torchref"))
        return torchref(argv[2]);
    fprintf(stderr, "usage: test_adamw unit | torchref <ref_adamw.py>\n");
    return 2;
}
