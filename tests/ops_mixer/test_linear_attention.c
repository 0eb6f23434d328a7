/* test_linear_attention.c: causal linear attention with the Taylor, identity, ELU+1 and
 * ReLU feature maps, in both forms (prefix sums and masked quadratic), against finite
 * differences and PyTorch (Zoology's Based formulas); the two forms against each other;
 * feature-map names; shape errors. */
#include <math.h>
#include <stdlib.h>

#include "optest.h"

/* d = (B, L, H, f); f[0] = dv, f[1] = feature map, f[2] = eps; flag: 1 quadratic form */
static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    int64_t B = c->d[0], L = c->d[1], H = c->d[2], f = c->d[3], dv = (int64_t)c->f[0];
    zoo_tensor *q = optest_param(g, "q", 3, B, L, H * f), *k = optest_param(g, "k", 3, B, L, H * f);
    zoo_tensor *v = optest_param(g, "v", 3, B, L, H * dv);
    return zoo_linear_attention(g, q, k, v, (zoo_feature_map)c->f[1], (int)H, (float)c->f[2], c->flag);
}

/* Keep denominators away from 0 where the map allows negative scores: identity gets
 * positive q, k; ReLU gets mostly positive ones and values off its kink. */
static void fill(zoo_graph *g, const optest_case *c, uint64_t seed)
{
    zoo_feature_map fm = (zoo_feature_map)c->f[1];
    const char *names[] = {"q", "k"};
    for (int i = 0; i < 2; i++) {
        zoo_tensor *t = zoo_graph_find_param(g, names[i]);
        float *x = zoo_tensor_data(t);
        int64_t n = zoo_tensor_numel(t);
        if (fm == ZOO_FMAP_IDENTITY)
            zt_fill_uniform(x, n, seed + (uint64_t)i, 0.1f, 1.0f);
        if (fm == ZOO_FMAP_RELU)
            for (int64_t j = 0; j < n; j++)
                x[j] += x[j] >= 0 ? 1.05f : 0.95f;
    }
}

static void describe(zt_dump *d, zoo_graph *g, zoo_tensor *out, const optest_case *c)
{
    (void)g, (void)out;
    zt_dump_attr(d, "heads", (double)c->d[2]);
    zt_dump_attr(d, "fmap", c->f[1]);
    zt_dump_attr(d, "eps", (float)c->f[2]);
    zt_dump_attr(d, "quadratic", c->flag);
}

/* Forward + backward of one case: output then every gradient, malloc'ed. */
static float *run(const optest_case *c, int64_t *n)
{
    const optest op = {"linear_attention", NULL, build, fill, NULL, NULL, 0, 0, 0};
    zoo_tensor *out;
    zoo_graph *g = optest_setup(&op, c, 5, 0, &out);
    if (!g)
        return NULL;
    int64_t no = zoo_tensor_numel(out), pn = 0;
    float *R = malloc((size_t)no * sizeof *R), *res = NULL;
    zt_draw_dout(R, no, 9);
    if (!zt_check_rc(zoo_graph_forward(g), "forward") && !zt_check_rc(zoo_graph_backward_seeded(g, out, R), "backward")) {
        float *gr = zoo_graph_grads_flat(g, &pn);
        res = malloc((size_t)(no + pn) * sizeof *res);
        memcpy(res, zoo_tensor_data(out), (size_t)no * sizeof *res);
        memcpy(res + no, gr, (size_t)pn * sizeof *res);
        *n = no + pn;
    }
    free(R);
    zoo_graph_free(g);
    return res;
}

/* The two forms sum in different orders; the absolute tolerance scales with the rms. */
static int forms_agree(optest_case c)
{
    int64_t n1 = 0, n2 = 0;
    c.flag = 0;
    float *a = run(&c, &n1);
    c.flag = 1;
    float *b = run(&c, &n2);
    int bad = !a || !b || n1 != n2;
    if (!bad) {
        double ss = 0;
        for (int64_t i = 0; i < n2; i++)
            ss += (double)b[i] * b[i];
        char what[160];
        snprintf(what, sizeof what, "linear_attention [%s]: linear form vs quadratic form (output, then gradients)",
                 c.label);
        bad = zt_compare(what, a, b, n1, 1e-5 * sqrt(ss / (double)n2), 1e-4);
    }
    free(a);
    free(b);
    return bad;
}

static int unit(void)
{
    static const optest_case agree[] = {
        {"taylor (2,33,2,4) dv5", {2, 33, 2, 4}, {5, ZOO_FMAP_TAYLOR, 1e-12}, 0},
        {"taylor (1,70,1,8) dv16", {1, 70, 1, 8}, {16, ZOO_FMAP_TAYLOR, 1e-12}, 0},
        {"identity (2,21,3,3) dv2", {2, 21, 3, 3}, {2, ZOO_FMAP_IDENTITY, 1e-12}, 0},
        {"elu1 (3,17,1,5) dv7", {3, 17, 1, 5}, {7, ZOO_FMAP_ELU1, 1e-12}, 0},
        {"relu (2,19,2,4) dv3", {2, 19, 2, 4}, {3, ZOO_FMAP_RELU, 1e-12}, 0},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof agree / sizeof agree[0]; i++)
        bad |= forms_agree(agree[i]);
    static const struct {
        const char *name;
        int fm;
    } names[] = {{"taylor_exp", ZOO_FMAP_TAYLOR}, {"none", ZOO_FMAP_IDENTITY}, {"pos_elu", ZOO_FMAP_ELU1},
                 {"relu", ZOO_FMAP_RELU}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        zoo_feature_map fm;
        if (zoo_feature_map_parse(names[i].name, &fm) || (int)fm != names[i].fm ||
            strcmp(zoo_feature_map_name(fm), names[i].name)) {
            fprintf(stderr, "FAIL linear_attention: feature map name '%s' does not round-trip\n", names[i].name);
            bad = 1;
        }
    }
    if (zoo_feature_map_parse("cosformer", NULL) != ZOO_ERR_INVALID || zoo_feature_map_dim(ZOO_FMAP_TAYLOR, 16) != 273 ||
        zoo_feature_map_dim(ZOO_FMAP_RELU, 16) != 16) {
        fprintf(stderr, "FAIL linear_attention: unknown map accepted or wrong feature dims\n");
        bad = 1;
    }
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *y = zoo_linear_attention(g, optest_param(g, "q", 3, 2, 5, 6), optest_param(g, "k", 3, 2, 5, 4),
                                         optest_param(g, "v", 3, 2, 5, 6), ZOO_FMAP_TAYLOR, 1, 1e-12f, 0);
    if (y || zoo_graph_status(g) != ZOO_ERR_SHAPE) {
        fprintf(stderr, "FAIL linear_attention: k (2,5,4) for q (2,5,6) should be refused, got '%s'\n",
                zoo_graph_error(g));
        bad = 1;
    }
    zoo_graph_free(g);
    g = zoo_graph_new(ZOO_BACKEND_CPU);
    y = zoo_linear_attention(g, optest_param(g, "q", 3, 2, 5, 6), optest_param(g, "k", 3, 2, 5, 6),
                             optest_param(g, "v", 3, 2, 5, 5), ZOO_FMAP_TAYLOR, 2, 1e-12f, 0);
    if (y || zoo_graph_status(g) != ZOO_ERR_SHAPE) {
        fprintf(stderr, "FAIL linear_attention: v of 5 channels for 2 heads should be refused, got '%s'\n",
                zoo_graph_error(g));
        bad = 1;
    }
    zoo_graph_free(g);
    return bad;
}

#define T ZOO_FMAP_TAYLOR
#define I ZOO_FMAP_IDENTITY
#define E ZOO_FMAP_ELU1
#define R ZOO_FMAP_RELU
static const optest_case cases[] = {
    {"taylor lin (1,1,1,3) dv2", {1, 1, 1, 3}, {2, T, 1e-12}, 0},
    {"taylor quad (1,1,1,3) dv2", {1, 1, 1, 3}, {2, T, 1e-12}, 1},
    {"taylor lin (2,7,2,4) dv3", {2, 7, 2, 4}, {3, T, 1e-12}, 0},
    {"taylor quad (2,7,2,4) dv3", {2, 7, 2, 4}, {3, T, 1e-12}, 1},
    {"taylor lin (1,13,1,5) dv6 eps0.5", {1, 13, 1, 5}, {6, T, 0.5}, 0},
    {"taylor quad (1,13,1,5) dv6 eps0.5", {1, 13, 1, 5}, {6, T, 0.5}, 1},
    {"identity lin (2,6,1,3) dv4", {2, 6, 1, 3}, {4, I, 1e-12}, 0},
    {"identity quad (2,6,1,3) dv4", {2, 6, 1, 3}, {4, I, 1e-12}, 1},
    {"elu1 lin (2,9,3,2) dv1", {2, 9, 3, 2}, {1, E, 1e-12}, 0},
    {"elu1 quad (2,9,3,2) dv1", {2, 9, 3, 2}, {1, E, 1e-12}, 1},
    {"relu lin (1,11,2,4) dv3", {1, 11, 2, 4}, {3, R, 1e-12}, 0},
    {"relu quad (1,11,2,4) dv3", {1, 11, 2, 4}, {3, R, 1e-12}, 1},
};

int main(int argc, char **argv)
{
    const optest op = {"linear_attention", ZT_OPS_DIR "/ref_linear_attention.py", build, fill, describe, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
