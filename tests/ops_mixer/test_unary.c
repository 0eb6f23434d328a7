/* test_unary.c: every elementwise map of the table in core/src/ops/unary.h (sin, exp,
 * relu, silu, sigmoid, softplus) against finite differences and PyTorch, each on the same
 * cases (values kept off relu's kink, B = T = 1, wide ranges), softplus also on both
 * sides of its threshold (20); refusal of int inputs. */
#include <math.h>

#include "optest.h"
#include "../../core/src/ops/unary.h" /* the table of ops under test */

typedef struct unary_op {
    const char *name;
    zoo_tensor *(*build)(zoo_graph *, zoo_tensor *);
} unary_op;

#define UNARY_ROW(name, f, df) {#name, zoo_##name},
static const unary_op ops[] = {ZOO_UNARY_OPS(UNARY_ROW)};
#undef UNARY_ROW
#define N_OPS ((int)(sizeof ops / sizeof ops[0]))

/* d = (B, T, D); f[0] = offset added to x; f[1] = scale of x */
typedef struct unary_shape {
    const char *label;
    int64_t d[3];
    double offset, scale;
} unary_shape;

/* Every op runs these. */
static const unary_shape shapes[] = {
    {"(1,1,5)", {1, 1, 5}, 0, 1},
    {"(3,7,13) x3", {3, 7, 13}, 0, 3},
    {"(2,5,7) x6", {2, 5, 7}, 0, 6},
};
#define N_SHAPES ((int)(sizeof shapes / sizeof shapes[0]))

/* And these, where an op has a feature at a point of its own: softplus's threshold
 * (elsewhere, e.g. sigmoid at 20, f32 outputs are flat and finite differences 0). */
static const struct {
    const char *op;
    unary_shape shape;
} extras[] = {
    {"softplus", {"(2,3,11) near 20", {2, 3, 11}, 20, 0.5}},
};
#define N_EXTRAS ((int)(sizeof extras / sizeof extras[0]))

/* flag = index in ops[] (the table's order, which ref_unary.py reads as well) */
static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    return ops[c->flag].build(g, optest_param(g, "x", 3, c->d[0], c->d[1], c->d[2]));
}

static void fill(zoo_graph *g, const optest_case *c, uint64_t seed)
{
    (void)seed;
    zoo_tensor *x = zoo_graph_find_param(g, "x");
    float *xd = zoo_tensor_data(x);
    for (int64_t i = 0; i < zoo_tensor_numel(x); i++) {
        float v = xd[i] * (float)c->f[1];
        v += v >= 0 ? 0.05f : -0.05f; /* finite differences never straddle relu's kink */
        xd[i] = v + (float)c->f[0];
    }
}

static void describe(zt_dump *d, zoo_graph *g, zoo_tensor *out, const optest_case *c)
{
    (void)g, (void)out;
    zt_dump_attr(d, "op", c->flag);
}

static int unit(void)
{
    int bad = 0;
    for (int k = 0; k < N_OPS; k++) {
        zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
        zoo_tensor *ids = zoo_input(g, "ids", ZOO_I32, 1, (int64_t[]){4});
        zoo_tensor *y = ops[k].build(g, ids);
        if (y != NULL || zoo_graph_status(g) != ZOO_ERR_INVALID) {
            fprintf(stderr, "FAIL unary: %s of an int32 input should be refused, got '%s'\n", ops[k].name,
                    zoo_graph_error(g));
            bad = 1;
        }
        zoo_graph_free(g);
    }
    return bad;
}

static optest_case make_case(char *label, size_t n, int k, const unary_shape *sh)
{
    snprintf(label, n, "%s %s", ops[k].name, sh->label);
    return (optest_case){label, {sh->d[0], sh->d[1], sh->d[2]}, {sh->offset, sh->scale}, k};
}

int main(int argc, char **argv)
{
    static char labels[N_OPS * N_SHAPES + N_EXTRAS][64];
    static optest_case cases[N_OPS * N_SHAPES + N_EXTRAS];
    int n = 0;
    for (int k = 0; k < N_OPS; k++)
        for (int s = 0; s < N_SHAPES; s++, n++)
            cases[n] = make_case(labels[n], sizeof labels[n], k, &shapes[s]);
    for (int e = 0; e < N_EXTRAS; e++) {
        int k = 0;
        while (k < N_OPS && strcmp(ops[k].name, extras[e].op))
            k++;
        if (k == N_OPS) {
            fprintf(stderr, "FAIL unary: extra case for '%s', which is not in the table\n", extras[e].op);
            return 1;
        }
        cases[n] = make_case(labels[n], sizeof labels[n], k, &extras[e].shape);
        n++;
    }
    const optest op = {"unary", ZT_OPS_DIR "/ref_unary.py", build, fill, describe, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, n);
}
