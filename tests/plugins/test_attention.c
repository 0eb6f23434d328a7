/* test_attention.c: the attention plugin as the model uses it: knob defaults and
 * validation (validate slot and build), parameter names and shapes of the Zoology
 * state_dict, state size, the forward against a float64 transcription of the Zoology
 * MHA (docs/mixers.md, attention; eval mode), and its gradients against finite differences. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "zoo/plugin.h"

static int fails;

#define CHECK(cond, ...)                                                                                             \
    do {                                                                                                             \
        if (!(cond)) {                                                                                               \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                                     \
            fprintf(stderr, __VA_ARGS__);                                                                            \
            fprintf(stderr, "\n");                                                                                   \
            fails++;                                                                                                 \
        }                                                                                                            \
    } while (0)

#define PREFIX "backbone.layers.0.sequence_mixer."

static const zoo_mixer *M;

static zoo_layer_info info(int64_t D, int64_t B, int64_t L)
{
    zoo_layer_info li = {0, 2, D, L, L, B};
    return li;
}

/* Build the mixer on x (a parameter, so gradients reach it); returns y or NULL. */
static zoo_tensor *build(zoo_graph *g, const zoo_hvals *h, const zoo_layer_info *li, zoo_tensor **x)
{
    zoo_graph_set_prefix(g, "");
    *x = zoo_param(g, "x", 3, (int64_t[]){li->batch, li->seq_len, li->d_model}, zoo_init_zeros());
    zoo_graph_set_prefix(g, PREFIX);
    zoo_tensor *y = NULL;
    int rc = M->build(g, h, li, *x, &y);
    return rc ? NULL : y;
}

static void test_knobs(void)
{
    zoo_hvals *h = NULL;
    CHECK(zoo_hvals_new(M, &h) == 0, "hvals");
    char buf[256];
    zoo_hvals_format(h, buf, sizeof buf);
    CHECK(!strcmp(buf, "num_heads=1 dropout=0.1 bias=true"), "defaults: %s", buf);
    CHECK(M->validate && M->state_size, "validate and state_size slots");
    zoo_layer_info li = info(64, 2, 16);
    char msg[512] = "";
    CHECK(M->validate(h, &li, msg, sizeof msg) == 0, "defaults valid: %s", msg);

    /* num_heads must divide d_model: refused by validate and by build alike */
    zoo_hvals_set(h, "num_heads", "3");
    msg[0] = 0;
    CHECK(M->validate(h, &li, msg, sizeof msg) == ZOO_ERR_INVALID && strstr(msg, "num_heads=3") &&
              strstr(msg, "d_model=64") && strstr(msg, "'attention'"),
          "validate num_heads=3: %s", msg);
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *x;
    CHECK(build(g, h, &li, &x) == NULL && zoo_graph_status(g) == ZOO_ERR_INVALID &&
              strstr(zoo_graph_error(g), "num_heads=3"),
          "build num_heads=3: %s", zoo_graph_error(g));
    zoo_graph_free(g);
    zoo_hvals_set(h, "num_heads", "0");
    CHECK(M->validate(h, &li, msg, sizeof msg) == ZOO_ERR_INVALID, "num_heads=0");
    zoo_hvals_set(h, "num_heads", "4");
    CHECK(M->validate(h, &li, msg, sizeof msg) == 0, "num_heads=4: %s", msg);

    const char *bad_p[] = {"1", "1.5", "-0.1"};
    for (int i = 0; i < 3; i++) {
        zoo_hvals_set(h, "dropout", bad_p[i]);
        msg[0] = 0;
        CHECK(M->validate(h, &li, msg, sizeof msg) == ZOO_ERR_INVALID && strstr(msg, "dropout"), "dropout=%s: %s",
              bad_p[i], msg);
        g = zoo_graph_new(ZOO_BACKEND_CPU);
        CHECK(build(g, h, &li, &x) == NULL && zoo_graph_status(g) == ZOO_ERR_INVALID, "build dropout=%s", bad_p[i]);
        zoo_graph_free(g);
    }
    zoo_hvals_set(h, "dropout", "0");
    CHECK(M->validate(h, &li, msg, sizeof msg) == 0, "dropout=0: %s", msg);

    /* state size: keys and values for every position (2 D L), at l_max */
    li.l_max = 1024;
    CHECK(M->state_size(h, &li) == 2.0 * 64 * 1024, "state_size %g", M->state_size(h, &li));
    zoo_hvals_free(h);
}

static void test_params(int bias)
{
    zoo_hvals *h = NULL;
    zoo_hvals_new(M, &h);
    zoo_hvals_set(h, "bias", bias ? "true" : "false");
    zoo_layer_info li = info(8, 2, 5);
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *x, *y = build(g, h, &li, &x);
    CHECK(y != NULL, "build (bias=%d): %s", bias, zoo_graph_error(g));
    if (y) {
        CHECK(zoo_tensor_ndim(y) == 3 && zoo_tensor_dim(y, 0) == 2 && zoo_tensor_dim(y, 1) == 5 &&
                  zoo_tensor_dim(y, 2) == 8,
              "output shape");
        struct {
            const char *name;
            int64_t d0, d1; /* d1 = 0: 1-D */
        } want[] = {{PREFIX "Wqkv.weight", 24, 8}, {PREFIX "Wqkv.bias", 24, 0}, {PREFIX "out_proj.weight", 8, 8},
                    {PREFIX "out_proj.bias", 8, 0}};
        for (int i = 0; i < 4; i++) {
            zoo_tensor *p = zoo_graph_find_param(g, want[i].name);
            if (i == 1 && !bias) {
                CHECK(p == NULL, "bias=false still has %s", want[i].name);
                continue;
            }
            CHECK(p && zoo_tensor_ndim(p) == (want[i].d1 ? 2 : 1) && zoo_tensor_dim(p, 0) == want[i].d0 &&
                      (!want[i].d1 || zoo_tensor_dim(p, 1) == want[i].d1),
                  "parameter %s missing or misshaped", want[i].name);
        }
        int64_t n = zoo_graph_count_trainable(g) - 2 * 5 * 8; /* minus x */
        int64_t expect = 24 * 8 + (bias ? 24 : 0) + 8 * 8 + 8;
        CHECK(n == expect, "trainable count %lld, expected %lld", (long long)n, (long long)expect);
        CHECK(zoo_graph_nparams(g) == (bias ? 5 : 4), "parameter count %d", zoo_graph_nparams(g));
    }
    zoo_graph_free(g);
    zoo_hvals_free(h);
}

/* The Zoology MHA in float64. x: (B, L, D); returns out (B, L, D) in ref. */
static void reference(zoo_graph *g, const float *x, int64_t B, int64_t L, int64_t D, int H, int bias, double *ref)
{
    const float *W = zoo_tensor_data(zoo_graph_find_param(g, PREFIX "Wqkv.weight"));   /* (3D, D) */
    const float *bq = bias ? zoo_tensor_data(zoo_graph_find_param(g, PREFIX "Wqkv.bias")) : NULL;
    const float *Wo = zoo_tensor_data(zoo_graph_find_param(g, PREFIX "out_proj.weight")); /* (D, D) */
    const float *bo = zoo_tensor_data(zoo_graph_find_param(g, PREFIX "out_proj.bias"));
    int64_t dh = D / H;
    double *qkv = calloc((size_t)(B * L * 3 * D), sizeof *qkv); /* (B, L, 3D) */
    double *o = calloc((size_t)(B * L * D), sizeof *o);         /* (B, L, D) */
    double *p = calloc((size_t)L, sizeof *p);
    for (int64_t r = 0; r < B * L; r++)
        for (int64_t j = 0; j < 3 * D; j++) {
            double s = bq ? bq[j] : 0;
            for (int64_t i = 0; i < D; i++)
                s += (double)x[r * D + i] * W[j * D + i];
            qkv[r * 3 * D + j] = s;
        }
    double scale = 1.0 / sqrt((double)dh);
    for (int64_t b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int64_t t = 0; t < L; t++) {
                const double *q = qkv + (b * L + t) * 3 * D + h * dh;
                double mx = -INFINITY, z = 0;
                for (int64_t s = 0; s < L; s++) {
                    const double *k = qkv + (b * L + s) * 3 * D + D + h * dh;
                    double sc = 0;
                    for (int64_t i = 0; i < dh; i++)
                        sc += q[i] * k[i];
                    p[s] = sc * scale + (s > t ? -10000.0 : 0.0); /* additive mask, not -inf */
                    if (p[s] > mx)
                        mx = p[s];
                }
                for (int64_t s = 0; s < L; s++)
                    z += (p[s] = exp(p[s] - mx));
                for (int64_t i = 0; i < dh; i++) {
                    double acc = 0;
                    for (int64_t s = 0; s < L; s++)
                        acc += p[s] / z * qkv[(b * L + s) * 3 * D + 2 * D + h * dh + i];
                    o[(b * L + t) * D + h * dh + i] = acc;
                }
            }
    for (int64_t r = 0; r < B * L; r++)
        for (int64_t j = 0; j < D; j++) {
            double s = bo[j];
            for (int64_t i = 0; i < D; i++)
                s += o[r * D + i] * Wo[j * D + i];
            ref[r * D + j] = s;
        }
    free(qkv);
    free(o);
    free(p);
}

static void test_numerics(int64_t B, int64_t L, int64_t D, int H, int bias)
{
    char what[128];
    snprintf(what, sizeof what, "attention B=%lld L=%lld D=%lld H=%d bias=%d", (long long)B, (long long)L,
             (long long)D, H, bias);
    zoo_hvals *h = NULL;
    zoo_hvals_new(M, &h);
    char hs[16];
    snprintf(hs, sizeof hs, "%d", H);
    zoo_hvals_set(h, "num_heads", hs);
    zoo_hvals_set(h, "bias", bias ? "true" : "false");
    zoo_layer_info li = info(D, B, L);
    zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
    zoo_tensor *x, *y = build(g, h, &li, &x);
    if (zt_check_graph(g, what) || !y || zt_check_rc(zoo_graph_plan(g, 7), what)) {
        fails++;
        goto out;
    }
    zt_fill_params(g, 11, 0.5f);
    zoo_graph_set_training(g, 0, 0);
    if (zt_check_rc(zoo_graph_forward(g), what)) {
        fails++;
        goto out;
    }
    double *ref = malloc((size_t)(B * L * D) * sizeof *ref);
    reference(g, zoo_tensor_data(x), B, L, D, H, bias, ref);
    fails += zt_compare_d(what, zoo_tensor_data(y), ref, B * L * D, ZT_TOL_FWD_ATOL, ZT_TOL_FWD_RTOL);
    free(ref);
    /* gradients of every parameter (and x) against central differences, eval mode */
    fails += zt_gradcheck(g, y, 5, 12, 0, 0, 0) != 0;
out:
    zoo_graph_free(g);
    zoo_hvals_free(h);
}

int main(void)
{
    zoo_plugin *p = NULL;
    if (zoo_plugin_find("attention", &p)) {
        fprintf(stderr, "FAIL loading the attention plugin: %s\n", zoo_error_last()->msg);
        return 1;
    }
    M = p->mixer;
    CHECK(!strcmp(M->family, "attention"), "family %s", M->family);
    zoo_set_threads(2);
    test_knobs();
    test_params(1);
    test_params(0);
    test_numerics(1, 1, 4, 1, 1);
    test_numerics(2, 7, 12, 3, 1);
    test_numerics(3, 5, 8, 2, 0);
    test_numerics(1, 9, 6, 1, 1);
    zoo_plugin_close(p);
    if (fails) {
        fprintf(stderr, "test_attention: %d check(s) failed\n", fails);
        return 1;
    }
    printf("test_attention: ok\n");
    return 0;
}
