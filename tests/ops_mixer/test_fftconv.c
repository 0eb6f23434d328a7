#define _POSIX_C_SOURCE 200809L /* setenv */
/* test_fftconv.c: the causal long convolution on both paths (FFT and direct), with and
 * without the skip, per-channel and grouped filters, against finite differences and
 * PyTorch (Zoology's rfft/irfft formula); the FFT path against the direct path on longer
 * and odd lengths; the ZOO_FFTCONV override; shape errors. */
#include <math.h>
#include <stdlib.h>

#include "optest.h"

/* d = (B, L, D, G); flag bit 0: skip; bits 1-2: path (ZOO_CONV_*) */
static zoo_tensor *build(zoo_graph *g, const optest_case *c)
{
    zoo_tensor *u = optest_param(g, "u", 3, c->d[0], c->d[1], c->d[2]);
    zoo_tensor *k = optest_param(g, "k", 2, c->d[3], c->d[1], 0);
    zoo_tensor *s = c->flag & 1 ? optest_param(g, "skip", 1, c->d[3], 0, 0) : NULL;
    return zoo_fftconv_path(g, u, k, s, (zoo_conv_path)(c->flag >> 1));
}

static void describe(zt_dump *d, zoo_graph *g, zoo_tensor *out, const optest_case *c)
{
    (void)g, (void)out;
    zt_dump_attr(d, "groups", (double)c->d[3]);
}

#define SK 1
#define FFT (ZOO_CONV_FFT << 1)
#define DIR (ZOO_CONV_DIRECT << 1)

/* Forward + backward of one case on one path: output then every gradient, malloc'ed. */
static float *run(const optest_case *c, int path, int64_t *n)
{
    optest_case cc = *c;
    cc.flag = (c->flag & 1) | (path << 1);
    const optest op = {"fftconv", NULL, build, NULL, NULL, NULL, 0, 0, 0};
    zoo_tensor *out;
    zoo_graph *g = optest_setup(&op, &cc, 7, 0, &out);
    if (!g)
        return NULL;
    int64_t no = zoo_tensor_numel(out), pn = 0;
    float *R = malloc((size_t)no * sizeof *R);
    zt_draw_dout(R, no, 11);
    float *res = NULL;
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

/* The FFT path rounds differently from the direct sum: its error is relative to the norm
 * of the whole sequence, not of each element, so the absolute tolerance scales with the
 * root-mean-square of the result. */
static int paths_agree(const optest_case *c)
{
    int64_t n1 = 0, n2 = 0;
    float *a = run(c, ZOO_CONV_FFT, &n1), *b = run(c, ZOO_CONV_DIRECT, &n2);
    int bad = !a || !b || n1 != n2;
    if (!bad) {
        double ss = 0;
        for (int64_t i = 0; i < n2; i++)
            ss += (double)b[i] * b[i];
        char what[128];
        snprintf(what, sizeof what, "fftconv [%s]: FFT path vs direct path (output, then gradients)", c->label);
        bad = zt_compare(what, a, b, n1, 1e-5 * sqrt(ss / (double)n2), 1e-4);
    }
    free(a);
    free(b);
    return bad;
}

static int refused(const char *what, zoo_graph *g, zoo_tensor *y)
{
    int bad = y != NULL || zoo_graph_status(g) != ZOO_ERR_SHAPE;
    if (bad)
        fprintf(stderr, "FAIL fftconv: %s should be refused (status %d, '%s')\n", what, zoo_graph_status(g),
                zoo_graph_error(g));
    zoo_graph_free(g);
    return bad;
}

static int unit(void)
{
    static const optest_case agree[] = {
        {"(2,100,6,6) skip", {2, 100, 6, 6}, {0}, SK}, {"(1,257,5,5)", {1, 257, 5, 5}, {0}, 0},
        {"(3,129,8,2) skip", {3, 129, 8, 2}, {0}, SK}, {"(2,1,3,3) skip", {2, 1, 3, 3}, {0}, SK},
        {"(1,2,4,1)", {1, 2, 4, 1}, {0}, 0},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof agree / sizeof agree[0]; i++)
        bad |= paths_agree(&agree[i]);
    /* ZOO_FFTCONV=direct turns the automatic choice at a long L into the direct path, bit for bit */
    const optest_case lc = {"(1,300,3,3)", {1, 300, 3, 3}, {0}, SK};
    int64_t n1 = 0, n2 = 0;
    setenv("ZOO_FFTCONV", "direct", 1);
    float *a = run(&lc, ZOO_CONV_AUTO, &n1);
    unsetenv("ZOO_FFTCONV");
    float *b = run(&lc, ZOO_CONV_DIRECT, &n2), *f = run(&lc, ZOO_CONV_FFT, &n2);
    if (!a || !b || !f || memcmp(a, b, (size_t)n1 * sizeof *a) || !memcmp(a, f, (size_t)n1 * sizeof *a)) {
        fprintf(stderr, "FAIL fftconv: ZOO_FFTCONV=direct did not select the direct path\n");
        bad = 1;
    }
    free(a), free(b), free(f);
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    bad |= refused("k (4,6) for u (2,7,4)", g,
                   zoo_fftconv(g, optest_param(g, "u", 3, 2, 7, 4), optest_param(g, "k", 2, 4, 6, 0), NULL));
    g = zoo_graph_new(ZOO_BACKEND_CPU);
    bad |= refused("k (3,7) for u (2,7,4) (3 does not divide 4)", g,
                   zoo_fftconv(g, optest_param(g, "u", 3, 2, 7, 4), optest_param(g, "k", 2, 3, 7, 0), NULL));
    g = zoo_graph_new(ZOO_BACKEND_CPU);
    bad |= refused("skip (4) for k (2,7)", g,
                   zoo_fftconv(g, optest_param(g, "u", 3, 2, 7, 4), optest_param(g, "k", 2, 2, 7, 0),
                               optest_param(g, "s", 1, 4, 0, 0)));
    g = zoo_graph_new(ZOO_BACKEND_CPU);
    bad |= refused("a 2-D u", g,
                   zoo_fftconv(g, optest_param(g, "u", 2, 7, 4, 0), optest_param(g, "k", 2, 4, 7, 0), NULL));
    return bad;
}

static const optest_case cases[] = {
    {"fft (1,1,5,5)", {1, 1, 5, 5}, {0}, FFT},
    {"direct (1,1,5,5) skip", {1, 1, 5, 5}, {0}, DIR | SK},
    {"fft (2,7,6,6) skip", {2, 7, 6, 6}, {0}, FFT | SK},
    {"direct (2,7,6,6) skip", {2, 7, 6, 6}, {0}, DIR | SK},
    {"fft (3,13,8,4) grouped skip", {3, 13, 8, 4}, {0}, FFT | SK},
    {"direct (3,13,8,4) grouped skip", {3, 13, 8, 4}, {0}, DIR | SK},
    {"fft (1,37,9,3) grouped", {1, 37, 9, 3}, {0}, FFT},
    {"direct (2,5,6,1) one filter", {2, 5, 6, 1}, {0}, DIR},
    {"fft (2,64,4,4) skip", {2, 64, 4, 4}, {0}, FFT | SK},
    {"auto (2,23,3,3) skip", {2, 23, 3, 3}, {0}, SK},
    /* for the CUDA kernels: more than 256 rows (b, t), so the skip gradient's partial sums
     * span chunks, on both paths; 17 channels per filter, so dk's sum spans two channel tiles */
    {"fft (26,10,2,2) skip", {26, 10, 2, 2}, {0}, FFT | SK},
    {"direct (20,13,3,3) skip", {20, 13, 3, 3}, {0}, DIR | SK},
    {"fft (2,9,17,1) one filter", {2, 9, 17, 1}, {0}, FFT},
};

int main(int argc, char **argv)
{
    const optest op = {"fftconv", ZT_OPS_DIR "/ref_fftconv.py", build, NULL, describe, unit, 0, 0, 0};
    return optest_main(argc, argv, &op, cases, (int)(sizeof cases / sizeof cases[0]));
}
