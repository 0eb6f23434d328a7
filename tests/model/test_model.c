/* test_model.c: the model of docs/model.md as zoo_model_build makes it: parameter counts,
 * state_dict names and shapes, the initialisation, batch
 * loading and padding, and build errors. Uses the attention plugin of this build. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "zoo/run.h"
#include "zoo/task.h"

static void set(zoo_run_spec *s, const char *k, const char *v)
{
    int rc = zoo_run_spec_set(s, k, v);
    ZT_CHECK(rc == 0, "set %s=%s: %s", k, v, zoo_error_last()->msg);
}

static zoo_model *build(const zoo_run_spec *s, int64_t B, int64_t M)
{
    zoo_model *m = NULL;
    int rc = zoo_model_build(s, B, M, &m);
    ZT_CHECK(rc == 0 && m, "zoo_model_build: %d %s", rc, zoo_error_last()->msg);
    return rc ? NULL : m;
}

static zoo_tensor *param(zoo_model *m, const char *name)
{
    return zoo_graph_find_param(m->g, name);
}

/* Sample mean and std of a parameter. */
static void stats(zoo_tensor *p, double *mean, double *std)
{
    const float *x = zoo_tensor_data(p);
    int64_t n = zoo_tensor_numel(p);
    double s = 0, ss = 0;
    for (int64_t i = 0; i < n; i++)
        s += x[i];
    *mean = s / (double)n;
    for (int64_t i = 0; i < n; i++)
        ss += (x[i] - *mean) * (x[i] - *mean);
    *std = sqrt(ss / (double)(n > 1 ? n - 1 : 1));
}

static void expect_init(zoo_model *m, const char *name, double want_std)
{
    zoo_tensor *p = param(m, name);
    ZT_CHECK(p != NULL, "no parameter %s", name);
    if (!p)
        return;
    double mean, std;
    stats(p, &mean, &std);
    int64_t n = zoo_tensor_numel(p);
    /* The sample std of n normals has relative error ~ 1/sqrt(2n); allow 6 of those. */
    double tol = 6.0 / sqrt(2.0 * (double)n);
    ZT_CHECK(fabs(std / want_std - 1) < tol, "%s: std %.5f, want %.5f (n=%lld)", name, std, want_std, (long long)n);
    ZT_CHECK(fabs(mean) < 6 * want_std / sqrt((double)n), "%s: mean %.5f", name, mean);
}

static void expect_const(zoo_model *m, const char *name, float v)
{
    zoo_tensor *p = param(m, name);
    ZT_CHECK(p != NULL, "no parameter %s", name);
    if (!p)
        return;
    const float *x = zoo_tensor_data(p);
    for (int64_t i = 0; i < zoo_tensor_numel(p); i++)
        if (x[i] != v) {
            ZT_CHECK(0, "%s[%lld] = %g, want %g", name, (long long)i, (double)x[i], (double)v);
            return;
        }
}

/* The reference state_dict of attention at D=64, L=64, V=8192, 2 layers (lm_head is tied). */
static const struct {
    const char *name;
    int64_t shape[2];
} attention_names[] = {
    {"backbone.embeddings.word_embeddings.weight", {8192, 64}},
    {"backbone.embeddings.position_embeddings.weight", {64, 64}},
    {"backbone.layers.0.sequence_mixer.Wqkv.weight", {192, 64}},
    {"backbone.layers.0.sequence_mixer.Wqkv.bias", {192, 0}},
    {"backbone.layers.0.sequence_mixer.out_proj.weight", {64, 64}},
    {"backbone.layers.0.sequence_mixer.out_proj.bias", {64, 0}},
    {"backbone.layers.0.norm1.weight", {64, 0}},
    {"backbone.layers.0.norm1.bias", {64, 0}},
    {"backbone.layers.0.norm2.weight", {64, 0}},
    {"backbone.layers.0.norm2.bias", {64, 0}},
    {"backbone.layers.1.sequence_mixer.Wqkv.weight", {192, 64}},
    {"backbone.layers.1.sequence_mixer.Wqkv.bias", {192, 0}},
    {"backbone.layers.1.sequence_mixer.out_proj.weight", {64, 64}},
    {"backbone.layers.1.sequence_mixer.out_proj.bias", {64, 0}},
    {"backbone.layers.1.norm1.weight", {64, 0}},
    {"backbone.layers.1.norm1.bias", {64, 0}},
    {"backbone.layers.1.norm2.weight", {64, 0}},
    {"backbone.layers.1.norm2.bias", {64, 0}},
    {"backbone.ln_f.weight", {64, 0}},
    {"backbone.ln_f.bias", {64, 0}},
};

static void test_paper_model(void)
{
    zoo_run_spec s;
    zoo_run_spec_default(&s);
    zoo_model *m = build(&s, 2, 8);
    if (!m)
        return;
    int64_t n = zoo_graph_count_trainable(m->g);
    /* 524,288 (E) + 4,096 (P) + 2 x (12,480 Wqkv + 4,160 out + 256 LN) + 128 (LN_f). */
    ZT_CHECK(n == 562304, "attention D=64 L=64 V=8192 2 layers: %lld trainable parameters, want 562,304", (long long)n);
    int np = zoo_graph_nparams(m->g), want = (int)(sizeof attention_names / sizeof attention_names[0]);
    ZT_CHECK(np == want, "%d parameters, the reference lists %d", np, want);
    for (int i = 0; i < want; i++) {
        zoo_tensor *p = param(m, attention_names[i].name);
        ZT_CHECK(p != NULL, "missing %s", attention_names[i].name);
        if (!p)
            continue;
        int nd = attention_names[i].shape[1] ? 2 : 1;
        ZT_CHECK(zoo_tensor_ndim(p) == nd && zoo_tensor_dim(p, 0) == attention_names[i].shape[0] &&
                  (nd == 1 || zoo_tensor_dim(p, 1) == attention_names[i].shape[1]),
              "%s has the wrong shape", attention_names[i].name);
    }
    ZT_CHECK(m->embed == param(m, "backbone.embeddings.word_embeddings.weight"), "m->embed is not the word embedding");
    ZT_CHECK(m->B == 2 && m->L == 64 && m->M == 8, "B, L, M = %lld %lld %lld", (long long)m->B, (long long)m->L,
          (long long)m->M);
    /* State size: attention keeps K and V for every position, 2 D L per layer. */
    ZT_CHECK(m->state_size == 2.0 * 2 * 64 * 64, "state_size %g, want %g", m->state_size, 2.0 * 2 * 64 * 64);

    /* Initialisation (docs/model.md): N(0, 0.02^2), out_proj re-drawn at 0.02/sqrt(2 n_layers). */
    expect_init(m, "backbone.embeddings.word_embeddings.weight", 0.02);
    expect_init(m, "backbone.embeddings.position_embeddings.weight", 0.02);
    expect_init(m, "backbone.layers.0.sequence_mixer.Wqkv.weight", 0.02);
    expect_init(m, "backbone.layers.1.sequence_mixer.Wqkv.weight", 0.02);
    expect_init(m, "backbone.layers.0.sequence_mixer.out_proj.weight", 0.02 / sqrt(4.0));
    expect_init(m, "backbone.layers.1.sequence_mixer.out_proj.weight", 0.02 / sqrt(4.0));
    expect_const(m, "backbone.layers.0.sequence_mixer.Wqkv.bias", 0.0f);
    expect_const(m, "backbone.layers.1.sequence_mixer.out_proj.bias", 0.0f);
    for (int l = 0; l < 2; l++) {
        char nm[128];
        snprintf(nm, sizeof nm, "backbone.layers.%d.norm1.weight", l);
        expect_const(m, nm, 1.0f);
        snprintf(nm, sizeof nm, "backbone.layers.%d.norm2.bias", l);
        expect_const(m, nm, 0.0f);
    }
    expect_const(m, "backbone.ln_f.weight", 1.0f);
    expect_const(m, "backbone.ln_f.bias", 0.0f);

    /* Same seed, same weights; another seed, other weights. */
    zoo_model *m2 = build(&s, 3, 12);
    s.seed = 124;
    zoo_model *m3 = build(&s, 2, 8);
    if (m2 && m3) {
        int64_t n1, n2, n3;
        float *a = zoo_graph_params_flat(m->g, &n1), *b = zoo_graph_params_flat(m2->g, &n2),
              *c = zoo_graph_params_flat(m3->g, &n3);
        ZT_CHECK(n1 == n2 && !memcmp(a, b, (size_t)n1 * sizeof *a), "same seed gave different weights");
        int64_t same = 0;
        for (int64_t i = 0; i < n1 && n1 == n3; i++)
            same += a[i] == c[i];
        /* Only the LayerNorm constants and zero biases may coincide. */
        ZT_CHECK(n1 == n3 && same < 2000, "seed 124 shares %lld of %lld values with seed 123", (long long)same,
              (long long)n1);
    }
    zoo_model_free(m2);
    zoo_model_free(m3);
    zoo_model_free(m);
}

static void test_variants(void)
{
    zoo_run_spec s;
    zoo_run_spec_default(&s);
    set(&s, "state_mixer", "mlp");
    zoo_model *m = build(&s, 1, 4);
    if (m) {
        /* 562,304 + 2 x (fc1 64x256 + 256, fc2 256x64 + 64) = 562,304 + 2 x 33,088. */
        int64_t n = zoo_graph_count_trainable(m->g);
        ZT_CHECK(n == 628480, "mlp state mixer: %lld trainable parameters, want 628,480", (long long)n);
        zoo_tensor *fc1 = param(m, "backbone.layers.1.state_mixer.fc1.weight");
        ZT_CHECK(fc1 && zoo_tensor_dim(fc1, 0) == 256 && zoo_tensor_dim(fc1, 1) == 64, "fc1.weight shape");
        ZT_CHECK(param(m, "backbone.layers.0.state_mixer.fc1.bias") && param(m, "backbone.layers.0.state_mixer.fc2.bias"),
              "mlp biases missing");
        expect_init(m, "backbone.layers.0.state_mixer.fc1.weight", 0.02);
        expect_init(m, "backbone.layers.0.state_mixer.fc2.weight", 0.01); /* the depth-scaled fc2 rule */
        expect_const(m, "backbone.layers.1.state_mixer.fc2.bias", 0.0f);
    }
    zoo_model_free(m);

    zoo_run_spec_default(&s);
    set(&s, "pos_emb", "off");
    m = build(&s, 1, 4);
    if (m) {
        ZT_CHECK(zoo_graph_count_trainable(m->g) == 562304 - 64 * 64, "pos_emb off: %lld",
              (long long)zoo_graph_count_trainable(m->g));
        ZT_CHECK(!param(m, "backbone.embeddings.position_embeddings.weight"), "positions built with pos_emb off");
    }
    zoo_model_free(m);

    /* 3 layers, D=32, L=32, V=100, 2 heads: the count by formula; out_proj std 0.02/sqrt(6). */
    zoo_run_spec_default(&s);
    set(&s, "n_layers", "3");
    set(&s, "d_model", "32");
    set(&s, "seq_len", "32");
    set(&s, "vocab", "100");
    set(&s, "attention.num_heads", "2");
    m = build(&s, 2, 8);
    if (m) {
        int64_t D = 32, want = 100 * D + 32 * D + 3 * ((3 * D * D + 3 * D) + (D * D + D) + 4 * D) + 2 * D;
        ZT_CHECK(zoo_graph_count_trainable(m->g) == want, "3-layer model: %lld, want %lld",
              (long long)zoo_graph_count_trainable(m->g), (long long)want);
        ZT_CHECK(param(m, "backbone.layers.2.sequence_mixer.out_proj.weight") != NULL, "layer 2 missing");
    }
    zoo_model_free(m);
}

static void test_errors(void)
{
    zoo_run_spec s;
    zoo_model *m = NULL;
    zoo_run_spec_default(&s);
    set(&s, "mixer", "no_such_mixer");
    int rc = zoo_model_build(&s, 1, 4, &m);
    ZT_CHECK(rc == ZOO_ERR_PLUGIN_NOT_FOUND && !m, "unknown mixer: rc %d", rc);
    ZT_CHECK(strstr(zoo_error_last()->msg, "attention") != NULL, "unknown mixer message does not list the known ones: %s",
          zoo_error_last()->msg);

    zoo_run_spec_default(&s);
    set(&s, "attention.num_haeds", "2");
    rc = zoo_model_build(&s, 1, 4, &m);
    ZT_CHECK(rc == ZOO_ERR_INVALID && !m, "misspelt knob: rc %d", rc);
    ZT_CHECK(strstr(zoo_error_last()->msg, "num_heads") != NULL, "misspelt knob message: %s", zoo_error_last()->msg);

    zoo_run_spec_default(&s);
    set(&s, "attention.num_heads", "3");
    rc = zoo_model_build(&s, 1, 4, &m);
    ZT_CHECK(rc == ZOO_ERR_INVALID && !m, "num_heads 3 with d_model 64: rc %d", rc);
    ZT_CHECK(strstr(zoo_error_last()->msg, "num_heads") && strstr(zoo_error_last()->msg, "layer 0"),
          "num_heads message: %s", zoo_error_last()->msg);

    zoo_run_spec_default(&s);
    s.seq_len = 63;
    rc = zoo_model_build(&s, 1, 4, &m);
    ZT_CHECK(rc == ZOO_ERR_INVALID && !m, "odd L accepted by zoo_model_build: rc %d", rc);
    zoo_run_spec_default(&s);
    rc = zoo_model_build(&s, 0, 4, &m);
    ZT_CHECK(rc == ZOO_ERR_INVALID && !m, "B=0 accepted: rc %d", rc);
}

static void test_load_batch(void)
{
    zoo_run_spec s;
    zoo_run_spec_default(&s);
    set(&s, "vocab", "64");
    set(&s, "seq_len", "16");
    set(&s, "kv_pairs", "2");
    set(&s, "d_model", "16");
    zoo_mqar_spec ms = {64, 16, 2, 6, 0.01, 0, 5};
    zoo_dataset d = {0};
    ZT_CHECK(zoo_mqar_generate(&ms, &d) == 0, "generate: %s", zoo_error_last()->msg);
    zoo_model *m = build(&s, 4, 8), *m2 = build(&s, 2, 4), *small = build(&s, 4, 3);
    if (!m || !m2 || !small || !d.inputs)
        goto out;
    const int64_t L = 16, order[6] = {5, 4, 3, 2, 1, 0};
    ZT_CHECK(zoo_model_load_batch(m, &d, order, 3, 2) == 0, "load: %s", zoo_error_last()->msg);
    const int32_t *tok = zoo_tensor_idata(m->tokens), *pos = zoo_tensor_idata(m->sup_pos),
                  *lab = zoo_tensor_idata(m->sup_lab);
    /* rows order[3] = 2 and order[4] = 1, then two padding rows of blanks */
    for (int64_t b = 0; b < 4; b++)
        for (int64_t t = 0; t < L; t++) {
            int32_t want = b < 2 ? d.inputs[(2 - b) * L + t] : 0;
            if (tok[b * L + t] != want) {
                ZT_CHECK(0, "token (%lld, %lld) = %d, want %d", (long long)b, (long long)t, tok[b * L + t], want);
                b = 4;
                break;
            }
        }
    int64_t k = 0;
    for (int64_t b = 0; b < 2; b++)
        for (int64_t t = 0; t < L; t++) {
            int32_t l = d.labels[(2 - b) * L + t];
            if (l == ZOO_IGNORE_LABEL)
                continue;
            ZT_CHECK(k < 8 && pos[k] == b * L + t && lab[k] == l, "supervised entry %lld: pos %d lab %d, want %lld %d",
                  (long long)k, pos[k], lab[k], (long long)(b * L + t), l);
            k++;
        }
    ZT_CHECK(k == 4, "%lld supervised entries in two MQAR rows with K=2", (long long)k);
    for (; k < 8; k++)
        ZT_CHECK(lab[k] == ZOO_IGNORE_LABEL, "padding entry %lld has label %d", (long long)k, lab[k]);

    /* Padding changes neither the loss nor the gradients: the same two rows in a B=4
     * model (two pad rows) and a B=2 model with the same weights agree. */
    ZT_CHECK(zoo_model_load_batch(m2, &d, order, 3, 2) == 0, "load m2");
    zoo_graph_set_training(m->g, 0, 0);
    zoo_graph_set_training(m2->g, 0, 0);
    ZT_CHECK(zoo_graph_forward(m->g) == 0 && zoo_graph_backward(m->g, m->loss) == 0, "fwd/bwd m");
    ZT_CHECK(zoo_graph_forward(m2->g) == 0 && zoo_graph_backward(m2->g, m2->loss) == 0, "fwd/bwd m2");
    float l4 = zoo_tensor_data(m->loss)[0], l2 = zoo_tensor_data(m2->loss)[0];
    ZT_CHECK(isfinite(l4) && fabsf(l4 - l2) <= 1e-6f * fabsf(l2), "loss with padding %.8g, without %.8g", (double)l4,
          (double)l2);
    ZT_CHECK(fabsf(l4 - logf(64.0f)) < 0.5f, "initial loss %g is far from ln V = %g", (double)l4, log(64.0));
    int64_t n4, n2;
    float *g4 = zoo_graph_grads_flat(m->g, &n4), *g2 = zoo_graph_grads_flat(m2->g, &n2);
    if (n4 == n2)
        zt_fails += zt_compare("gradients with padding rows", g4, g2, n4, 1e-7, 1e-5);
    else
        ZT_CHECK(0, "flat sizes differ %lld %lld", (long long)n4, (long long)n2);

    /* Errors: more rows than B, a row past the end, too many supervised positions. */
    ZT_CHECK(zoo_model_load_batch(m, &d, NULL, 0, 5) == ZOO_ERR_INVALID, "count > B accepted");
    ZT_CHECK(zoo_model_load_batch(m, &d, NULL, 4, 3) == ZOO_ERR_INVALID, "rows past the end accepted");
    ZT_CHECK(zoo_model_load_batch(small, &d, NULL, 0, 2) == ZOO_ERR_SHAPE, "4 supervised positions fit M=3");
    ZT_CHECK(strstr(zoo_error_last()->msg, "M=3") != NULL, "M message: %s", zoo_error_last()->msg);
out:
    zoo_model_free(m);
    zoo_model_free(m2);
    zoo_model_free(small);
    zoo_dataset_free(&d);
}

int main(void)
{
    zoo_set_threads(2);
    test_paper_model();
    test_variants();
    test_errors();
    test_load_batch();
    if (zt_fails)
        fprintf(stderr, "%d check(s) failed\n", zt_fails);
    else
        printf("model: ok\n");
    return zt_fails ? 1 : 0;
}
