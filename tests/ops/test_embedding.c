/* test_embedding.c: the embedding gather against finite differences and PyTorch, with
 * repeated tokens (the backward must sum them) and ids outside [0, V) (zero rows, no
 * gradient, no crash); builder refusals for wrong dtypes and shapes. */
#include "optest.h"

static zoo_tensor *tokens; /* the case's token input, filled after planning */

/* d = (B, L, V, D), flag: put out-of-range ids in */
static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    tokens = zoo_input(g, "tokens", ZOO_I32, 2, (int64_t[]){c->d[0], c->d[1]});
    return zoo_embedding(g, tokens, optest_param(g, "weight", 2, c->d[2], c->d[3], 0));
}

static void fill(zoo_graph *g, const optest_case *c, uint64_t seed)
{
    (void)g;
    int32_t *tok = zoo_tensor_idata(tokens);
    int64_t n = c->d[0] * c->d[1];
    zt_fill_int(tok, n, seed, 0, (int32_t)c->d[2]);
    if (c->flag && n >= 3) {
        tok[0] = -1;
        tok[n / 2] = (int32_t)c->d[2];
        tok[n - 1] = 1 << 30;
    }
}

static void describe(zt_dump *d, zoo_graph *g, zoo_tensor *out, const optest_case *c)
{
    (void)g, (void)out, (void)c;
    zt_dump_tensor(d, "tokens", "input", tokens);
}

static int refused(const char *what, zoo_graph *g, zoo_tensor *y)
{
    int bad = y != NULL || zoo_graph_status(g) == 0;
    if (bad)
        fprintf(stderr, "FAIL embedding: %s should be refused\n", what);
    else if (!strstr(zoo_graph_error(g), "embedding:"))
        fprintf(stderr, "FAIL embedding: message '%s' does not name the op\n", zoo_graph_error(g)), bad = 1;
    zoo_graph_free(g);
    return bad;
}

static int unit(void)
{
    int bad = 0;
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    bad |= refused("f32 tokens", g,
                   zoo_embedding(g, zoo_input(g, "t", ZOO_F32, 2, (int64_t[]){2, 3}), optest_param(g, "E", 2, 7, 4, 0)));
    g = zoo_graph_new(ZOO_BACKEND_CPU);
    bad |= refused("a 3-D table", g,
                   zoo_embedding(g, zoo_input(g, "t", ZOO_I32, 2, (int64_t[]){2, 3}),
                                 optest_param(g, "E", 3, 7, 4, 2)));
    g = zoo_graph_new(ZOO_BACKEND_CPU);
    bad |= refused("4-D tokens", g,
                   zoo_embedding(g, zoo_input(g, "t", ZOO_I32, 4, (int64_t[]){1, 2, 2, 3}),
                                 optest_param(g, "E", 2, 7, 4, 0)));
    /* out-of-range ids: zero rows, the rest gathered exactly */
    g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *t = zoo_input(g, "t", ZOO_I32, 2, (int64_t[]){1, 4}), *E = optest_param(g, "E", 2, 3, 5, 0);
    zoo_tensor *y = zoo_embedding(g, t, E);
    if (zt_check_graph(g, "embedding build") || zt_check_rc(zoo_graph_plan(g, 1), "embedding plan")) {
        zoo_graph_free(g);
        return 1;
    }
    zt_fill_normal(zoo_tensor_data(E), 15, 5, 1.0f);
    const int32_t ids[4] = {2, -7, 3, 0};
    memcpy(zoo_tensor_idata(t), ids, sizeof ids);
    float ref[20] = {0};
    memcpy(ref, zoo_tensor_data(E) + 10, 5 * sizeof(float));
    memcpy(ref + 15, zoo_tensor_data(E), 5 * sizeof(float));
    bad |= zt_check_rc(zoo_graph_forward(g), "embedding forward") ||
           zt_compare("embedding with ids {2, -7, 3, 0}, V=3", zoo_tensor_data(y), ref, 20, 0, 0);
    zoo_graph_free(g);
    return bad;
}

static const optest_case cases[] = {
    {"B1 L1 V4 D5", {1, 1, 4, 5}, {0}, 0},
    {"B3 L7 V5 D13 repeats", {3, 7, 5, 13}, {0}, 0},
    {"B2 L9 V11 D3 out-of-range ids", {2, 9, 11, 3}, {0}, 1},
    {"B4 L16 V50 D8", {4, 16, 50, 8}, {0}, 0},
};

int main(int argc, char **argv)
{
    const optest op = {"embedding", ZT_OPS_DIR "/ref_embedding.py", build, fill, describe, unit, 0, 0, 1000};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
