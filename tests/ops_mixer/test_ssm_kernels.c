/* test_ssm_kernels.c: H3's two SSM kernel generators, the shift kernel (B, C -> (H, L))
 * and the S4D-Lin diagonal kernel (C, log_dt, B, inv_A_real, A_imag -> (H, L)), against
 * finite differences and PyTorch (Zoology's SSKernelShift / SSKernelDiag formulas in
 * float64 and complex128), with N below, at and above L, and L = 1; shape errors. */
#include <math.h>

#include "optest.h"

/* flag 0: shift, d = (H, N, L); flag 1: diagonal, d = (H, N2, L) */
static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    int64_t H = c->d[0], N = c->d[1], L = c->d[2];
    if (!c->flag)
        return zoo_ssm_shift_kernel(g, optest_param(g, "B", 2, H, N, 0), optest_param(g, "C", 3, 1, H, N), L);
    zoo_tensor *C = zoo_param(g, "C", 4, (int64_t[]){1, H, N, 2}, zoo_init_zeros());
    zoo_tensor *log_dt = optest_param(g, "log_dt", 1, H, 0, 0), *B = optest_param(g, "B", 3, H, N, 2);
    zoo_tensor *iar = optest_param(g, "inv_A_real", 2, H, N, 0), *ai = optest_param(g, "A_imag", 2, H, N, 0);
    return zoo_ssm_diag_kernel(g, C, log_dt, B, iar, ai, L);
}

/* Diagonal kernel parameters near H3's init (A = -1/2 + i pi n, B = 1, dt in [1e-3, 0.1])
 * but perturbed and with larger steps, so that every term matters. */
static void fill(zoo_graph *g, const optest_case *c, uint64_t seed)
{
    if (!c->flag)
        return;
    int64_t H = c->d[0], N2 = c->d[1];
    float *ld = zoo_tensor_data(zoo_graph_find_param(g, "log_dt")), *ar = zoo_tensor_data(zoo_graph_find_param(g, "inv_A_real"));
    float *ai = zoo_tensor_data(zoo_graph_find_param(g, "A_imag")), *B = zoo_tensor_data(zoo_graph_find_param(g, "B"));
    zt_fill_uniform(ld, H, seed, logf(0.01f), logf(0.5f));
    for (int64_t i = 0; i < H * N2; i++) {
        ar[i] = logf(0.5f) + 0.3f * ar[i];
        ai[i] = 3.14159265f * (float)(i % N2) + 0.3f * ai[i];
        B[2 * i] = 1.0f + 0.3f * B[2 * i];
        B[2 * i + 1] *= 0.3f;
    }
}

static void describe(zt_dump *d, zoo_graph *g, zoo_tensor *out, const optest_case *c)
{
    (void)g, (void)out;
    zt_dump_attr(d, "diag", c->flag);
    zt_dump_attr(d, "L", (double)c->d[2]);
}

static int refused(const char *what, zoo_graph *g, zoo_tensor *y)
{
    int bad = y != NULL || zoo_graph_status(g) != ZOO_ERR_SHAPE;
    if (bad)
        fprintf(stderr, "FAIL ssm kernels: %s should be refused (status %d, '%s')\n", what, zoo_graph_status(g),
                zoo_graph_error(g));
    zoo_graph_free(g);
    return bad;
}

/* With B = e_0 the shift kernel is C itself (H3's initial state), cut or padded to L. */
static int shift_is_c(void)
{
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *B = optest_param(g, "B", 2, 2, 5, 0), *C = optest_param(g, "C", 3, 1, 2, 5);
    zoo_tensor *K = zoo_ssm_shift_kernel(g, B, C, 7);
    int bad = zt_check_graph(g, "shift kernel") || zt_check_rc(zoo_graph_plan(g, 3), "plan");
    if (!bad) {
        float *b = zoo_tensor_data(B), *cd = zoo_tensor_data(C), want[14] = {0};
        zt_fill_normal(cd, 10, 4, 1.0f);
        memset(b, 0, 10 * sizeof *b);
        b[0] = b[5] = 1.0f;
        for (int h = 0; h < 2; h++)
            for (int j = 0; j < 5; j++)
                want[h * 7 + j] = cd[h * 5 + j];
        zoo_graph_forward(g);
        bad = zt_compare("shift kernel with B = e_0 equals C", zoo_tensor_data(K), want, 14, 0, 0);
    }
    zoo_graph_free(g);
    return bad;
}

static int unit(void)
{
    int bad = shift_is_c();
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    bad |= refused("shift C (1,3,5) for B (2,5)", g,
                   zoo_ssm_shift_kernel(g, optest_param(g, "B", 2, 2, 5, 0), optest_param(g, "C", 3, 1, 3, 5), 8));
    g = zoo_graph_new(ZOO_BACKEND_CPU);
    bad |= refused("diag B (2,4,1)", g,
                   zoo_ssm_diag_kernel(g, zoo_param(g, "C", 4, (int64_t[]){1, 2, 4, 2}, zoo_init_zeros()),
                                       optest_param(g, "ld", 1, 2, 0, 0), optest_param(g, "B", 3, 2, 4, 1),
                                       optest_param(g, "ar", 2, 2, 4, 0), optest_param(g, "ai", 2, 2, 4, 0), 8));
    g = zoo_graph_new(ZOO_BACKEND_CPU);
    bad |= refused("diag log_dt (3) for 2 heads", g,
                   zoo_ssm_diag_kernel(g, zoo_param(g, "C", 4, (int64_t[]){1, 2, 4, 2}, zoo_init_zeros()),
                                       optest_param(g, "ld", 1, 3, 0, 0), optest_param(g, "B", 3, 2, 4, 2),
                                       optest_param(g, "ar", 2, 2, 4, 0), optest_param(g, "ai", 2, 2, 4, 0), 8));
    return bad;
}

static const optest_case cases[] = {
    {"shift H3 N5 L9", {3, 5, 9}, {0}, 0},    {"shift H2 N8 L8", {2, 8, 8}, {0}, 0},
    {"shift H4 N11 L6", {4, 11, 6}, {0}, 0},  {"shift H1 N3 L1", {1, 3, 1}, {0}, 0},
    {"diag H3 N2=4 L9", {3, 4, 9}, {0}, 1},   {"diag H2 N2=1 L1", {2, 1, 1}, {0}, 1},
    {"diag H1 N2=6 L23", {1, 6, 23}, {0}, 1}, {"diag H5 N2=3 L16", {5, 3, 16}, {0}, 1},
};

int main(int argc, char **argv)
{
    const optest op = {"ssm_kernels", ZT_OPS_DIR "/ref_ssm_kernels.py", build, fill, describe, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
