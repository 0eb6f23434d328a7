/* test_head_ops.c: H3's per-head outer product (kv) and contraction with q (output in
 * (j, h) channel order, as H3 emits them), composed as contract(q, outer(k, v)), against finite
 * differences and PyTorch written with H3's rearranges; shape errors. */
#include "optest.h"

/* d = (B, T, H, hd); flag: 0 outer only, 1 contract(q, outer(k, v)) */
static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    int64_t D = c->d[2] * c->d[3];
    zoo_tensor *k = optest_param(g, "k", 3, c->d[0], c->d[1], D), *v = optest_param(g, "v", 3, c->d[0], c->d[1], D);
    zoo_tensor *kv = zoo_head_outer(g, k, v, (int)c->d[2]);
    if (!c->flag)
        return kv;
    return zoo_head_contract(g, optest_param(g, "q", 3, c->d[0], c->d[1], D), kv, (int)c->d[2]);
}

static void describe(zt_dump *d, zoo_graph *g, zoo_tensor *out, const optest_case *c)
{
    (void)g, (void)out;
    zt_dump_attr(d, "heads", (double)c->d[2]);
    zt_dump_attr(d, "contract", c->flag);
}

static int unit(void)
{
    int bad = 0;
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *y = zoo_head_outer(g, optest_param(g, "k", 3, 2, 3, 6), optest_param(g, "v", 3, 2, 3, 6), 4);
    if (y || zoo_graph_status(g) != ZOO_ERR_SHAPE) {
        fprintf(stderr, "FAIL head_outer: 4 heads of 6 channels should be refused, got '%s'\n", zoo_graph_error(g));
        bad = 1;
    }
    zoo_graph_free(g);
    g = zoo_graph_new(ZOO_BACKEND_CPU);
    y = zoo_head_contract(g, optest_param(g, "q", 3, 2, 3, 6), optest_param(g, "y", 3, 2, 3, 10), 3);
    if (y || zoo_graph_status(g) != ZOO_ERR_SHAPE) {
        fprintf(stderr, "FAIL head_contract: y (2,3,10) for 3 heads of 2 should be refused, got '%s'\n",
                zoo_graph_error(g));
        bad = 1;
    }
    zoo_graph_free(g);
    return bad;
}

static const optest_case cases[] = {
    {"outer (1,1) H3 hd2", {1, 1, 3, 2}, {0}, 0},   {"outer (2,5) H2 hd3", {2, 5, 2, 3}, {0}, 0},
    {"h3 (1,1) H3 hd2", {1, 1, 3, 2}, {0}, 1},      {"h3 (2,7) H5 hd2", {2, 7, 5, 2}, {0}, 1},
    {"h3 (3,4) H2 hd3", {3, 4, 2, 3}, {0}, 1},      {"h3 (2,3) H7 hd1", {2, 3, 7, 1}, {0}, 1},
};

int main(int argc, char **argv)
{
    const optest op = {"head_ops", ZT_OPS_DIR "/ref_head_ops.py", build, NULL, describe, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
