/* test_mamba_model.c: the mamba plugin in the MambaBlock model (docs/mixers.md, mamba).
 * Modes:
 *   torchref <case>  whole model vs PyTorch: weights perturbed off their init, saved
 *                    through the checkpoint format and loaded by state_dict name with
 *                    strict=True into check_mamba_model.py's reference (so names and
 *                    shapes are checked too); step-0 loss, every gradient and 20 AdamW
 *                    losses against float64 (the comparison of tests/torchmodel);
 *   unit             state_dict names and shapes, parameter count and state size at
 *                    D=64, L=64, V=8192, 2 layers; the inits; knob errors.
 * usage: test_mamba_model torchref <check script> <case> | unit. Exit 0/1/77. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_trace.h"
#include "testlib.h"
#include "zoo/run.h"
#include "zoo/task.h"

typedef struct tcase {
    const char *name;
    const char *knobs; /* "knob=value ..." for mamba */
    int layers;
    int64_t V, D, L, K, B, batches;
} tcase;

/* Odd sizes: D = 6 gives Di = 12 and dt_rank 1; B = 1 and L = 4 in one case. */
static const tcase cases[] = {
    {"defaults", "", 2, 64, 16, 16, 2, 4, 3},
    {"odd", "d_state=3 d_conv=3 expand=1 dt_rank=2 bias=true conv_bias=false", 2, 48, 6, 12, 2, 3, 2},
    {"b1_3layers_mambainit", "d_state=5 init=mamba", 3, 32, 8, 8, 2, 1, 3},
};



static int set_knobs(zoo_run_spec *s, const char *knobs)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", knobs);
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '='), key[128];
        if (!eq)
            return 1;
        *eq = 0;
        snprintf(key, sizeof key, "mamba.%s", tok);
        if (zt_spec_set(s, key, eq + 1))
            return 1;
    }
    return 0;
}

static int spec_of(zoo_run_spec *spec, int layers, int64_t V, int64_t D, int64_t L, int64_t K, int64_t B, int64_t n,
                   const char *knobs)
{
    zoo_run_spec_default(spec);
    int bad = zt_spec_seti(spec, "vocab", V) || zt_spec_seti(spec, "seq_len", L) ||
              zt_spec_seti(spec, "kv_pairs", K) || zt_spec_seti(spec, "d_model", D) ||
              zt_spec_seti(spec, "n_layers", layers) || zt_spec_set(spec, "mixer", "mamba") ||
              set_knobs(spec, knobs) || zt_spec_seti(spec, "train_examples", n) ||
              zt_spec_seti(spec, "test_examples", B) || zt_spec_seti(spec, "batch_size", B) ||
              zt_spec_seti(spec, "seed", 7);
    return bad || zt_check_rc(zoo_run_spec_check(spec), "spec check");
}

/* spec_of, then the model for batches of B rows with K supervised positions each. */
static int build(zoo_run_spec *spec, zoo_model **m, int layers, int64_t V, int64_t D, int64_t L, int64_t K,
                 int64_t B, int64_t n, const char *knobs)
{
    *m = NULL;
    if (spec_of(spec, layers, V, D, L, K, B, n, knobs))
        return 1;
    return zt_check_rc(zoo_model_build(spec, B, B * K, m), "zoo_model_build");
}


static int run_case(const tcase *c, const char *script)
{
    zoo_run_spec spec;
    zoo_model *m;
    if (build(&spec, &m, c->layers, c->V, c->D, c->L, c->K, c->B, c->B * c->batches, c->knobs))
        return 1;
    zt_trace_case tc = {c->name, c->V, c->L, c->K, c->B, c->batches, 2000 + (uint64_t)c->D};
    return zt_model_trace(m, &spec, &tc, script);
}

/* ---- unit ---------------------------------------------------------------------------- */
typedef struct pshape {
    const char *name; /* after "backbone.layers.<l>." */
    int ndim;
    int64_t s[3];
} pshape;

/* Zoology's MambaBlock state_dict at D=64 (Di=128, N=16, dt_rank=4, d_conv=4). */
static const pshape layer_shapes[] = {
    {"mixer.in_proj.weight", 2, {256, 64}}, {"mixer.conv1d.weight", 3, {128, 1, 4}}, {"mixer.conv1d.bias", 1, {128}},
    {"mixer.x_proj.weight", 2, {36, 128}},  {"mixer.dt_proj.weight", 2, {128, 4}},   {"mixer.dt_proj.bias", 1, {128}},
    {"mixer.A_log", 2, {128, 16}},          {"mixer.D", 1, {128}},                   {"mixer.out_proj.weight", 2, {64, 128}},
    {"norm.weight", 1, {64}},
};
#define N_LAYER_SHAPES ((int)(sizeof layer_shapes / sizeof layer_shapes[0]))

static int check_shape(zoo_graph *g, const char *name, int ndim, const int64_t *s)
{
    zoo_tensor *t = zoo_graph_find_param(g, name);
    if (!t) {
        fprintf(stderr, "FAIL: no parameter %s\n", name);
        return 1;
    }
    int bad = zoo_tensor_ndim(t) != ndim;
    for (int k = 0; !bad && k < ndim; k++)
        bad = zoo_tensor_dim(t, k) != s[k];
    if (bad)
        fprintf(stderr, "FAIL: %s has the wrong shape\n", name);
    return bad;
}

static int unit_names(void)
{
    zoo_run_spec spec;
    zoo_model *m;
    if (build(&spec, &m, 2, 8192, 64, 64, 4, 2, 2, ""))
        return 1;
    zoo_graph *g = m->g;
    int bad = 0, listed = 3; /* the word embedding, ln_f.weight and ln_f.bias */
    bad |= check_shape(g, "backbone.embeddings.word_embeddings.weight", 2, (int64_t[]){8192, 64});
    bad |= check_shape(g, "backbone.ln_f.weight", 1, (int64_t[]){64});
    bad |= check_shape(g, "backbone.ln_f.bias", 1, (int64_t[]){64});
    for (int l = 0; l < 2; l++)
        for (int i = 0; i < N_LAYER_SHAPES; i++) {
            char name[256];
            snprintf(name, sizeof name, "backbone.layers.%d.%s", l, layer_shapes[i].name);
            bad |= check_shape(g, name, layer_shapes[i].ndim, layer_shapes[i].s);
            listed++;
        }
    int64_t count = 0;
    for (int i = 0; i < zoo_graph_nparams(g); i++)
        if (zoo_tensor_is_trainable(zoo_graph_param(g, i)))
            count += zoo_tensor_numel(zoo_graph_param(g, i));
    /* From the parameter shapes: per layer in_proj 2*Di*D, conv Di*(k+1),
     * x_proj (R+2N)*Di, dt_proj Di*(R+1), A_log Di*N, D Di, out_proj D*Di, norm D. */
    int64_t D = 64, Di = 128, N = 16, R = 4, k = 4, V = 8192;
    int64_t layer = 2 * Di * D + Di * (k + 1) + (R + 2 * N) * Di + Di * (R + 1) + Di * N + Di + D * Di + D;
    int64_t want = V * D + 2 * layer + 2 * D;
    if (zoo_graph_nparams(g) != listed || count != want) {
        fprintf(stderr, "FAIL: %d parameters holding %lld values; want %d holding %lld\n", zoo_graph_nparams(g),
                (long long)count, listed, (long long)want);
        bad = 1;
    }
    printf("mamba D=64 L=64 V=8192 2 layers: %lld trainable parameters, state size %.0f floats\n", (long long)count,
           m->state_size);
    if (m->state_size != 2 * 2.0 * 64 * 16) {
        fprintf(stderr, "FAIL: state size %g, want 2 layers x 2*D*N = %g\n", m->state_size, 2 * 2.0 * 64 * 16);
        bad = 1;
    }
    /* The paper-era (init=zoology) init: dt_proj.bias = 0, A_log = ln(n+1), D = 1, norm = 1, conv
     * within 1/sqrt(4), out_proj.weight std 0.02/sqrt(2*2), in_proj std 0.02. */
    const float *bdt = zoo_tensor_data(zoo_graph_find_param(g, "backbone.layers.1.mixer.dt_proj.bias"));
    const float *alog = zoo_tensor_data(zoo_graph_find_param(g, "backbone.layers.0.mixer.A_log"));
    const float *dd = zoo_tensor_data(zoo_graph_find_param(g, "backbone.layers.0.mixer.D"));
    const float *nw = zoo_tensor_data(zoo_graph_find_param(g, "backbone.layers.1.norm.weight"));
    const float *cw = zoo_tensor_data(zoo_graph_find_param(g, "backbone.layers.0.mixer.conv1d.weight"));
    for (int64_t i = 0; i < Di * N; i++)
        if (fabsf(alog[i] - logf((float)(i % N + 1))) > 1e-6f) {
            fprintf(stderr, "FAIL: A_log[%lld] = %g, want ln(%lld)\n", (long long)i, alog[i], (long long)(i % N + 1));
            bad = 1;
            break;
        }
    double cmax = 0;
    for (int64_t i = 0; i < Di; i++) {
        if (bdt[i] != 0.0f || dd[i] != 1.0f) {
            fprintf(stderr, "FAIL: dt_proj.bias[%lld] = %g (want 0), D = %g (want 1)\n", (long long)i, bdt[i], dd[i]);
            bad = 1;
            break;
        }
    }
    for (int64_t i = 0; i < D; i++)
        bad |= nw[i] != 1.0f;
    for (int64_t i = 0; i < Di * k; i++)
        cmax = fmax(cmax, fabs(cw[i]));
    if (cmax > 0.5 || cmax < 0.4) {
        fprintf(stderr, "FAIL: conv1d.weight max |w| %g, want U(-0.5, 0.5)\n", cmax);
        bad = 1;
    }
    const struct { const char *name; double std; } stds[] = {
        {"backbone.layers.0.mixer.out_proj.weight", 0.02 / 2.0},
        {"backbone.layers.0.mixer.in_proj.weight", 0.02},
        {"backbone.layers.1.mixer.dt_proj.weight", 0.02},
    };
    for (int j = 0; j < 3; j++) {
        zoo_tensor *t = zoo_graph_find_param(g, stds[j].name);
        const float *x = zoo_tensor_data(t);
        double ss = 0;
        for (int64_t i = 0; i < zoo_tensor_numel(t); i++)
            ss += (double)x[i] * x[i];
        double sd = sqrt(ss / (double)zoo_tensor_numel(t));
        if (fabs(sd / stds[j].std - 1) > 0.15) {
            fprintf(stderr, "FAIL: %s std %g, want %g\n", stds[j].name, sd, stds[j].std);
            bad = 1;
        }
    }
    zoo_model_free(m);
    return bad;
}

/* init=mamba: softplus(dt_proj.bias) in [dt_min, dt_max], dt_proj.weight in +-dt_rank^-1/2. */
static int unit_mamba_init(void)
{
    zoo_run_spec spec;
    zoo_model *m;
    if (build(&spec, &m, 2, 64, 32, 8, 2, 2, 2, "init=mamba dt_min=0.01 dt_max=0.05"))
        return 1;
    int bad = 0;
    zoo_tensor *b = zoo_graph_find_param(m->g, "backbone.layers.0.mixer.dt_proj.bias");
    zoo_tensor *w = zoo_graph_find_param(m->g, "backbone.layers.0.mixer.dt_proj.weight");
    double lo = 1, hi = 0, wmax = 0;
    for (int64_t i = 0; i < zoo_tensor_numel(b); i++) {
        double dt = log1p(exp(zoo_tensor_data(b)[i]));
        lo = fmin(lo, dt);
        hi = fmax(hi, dt);
    }
    for (int64_t i = 0; i < zoo_tensor_numel(w); i++)
        wmax = fmax(wmax, fabs(zoo_tensor_data(w)[i]));
    if (lo < 0.01 * (1 - 1e-4) || hi > 0.05 * (1 + 1e-4) || hi - lo < 0.01 || wmax > 1 / sqrt(2.0) || wmax < 0.5) {
        fprintf(stderr, "FAIL init=mamba: softplus(dt bias) in [%g, %g] (want within [0.01, 0.05]), |dt W| <= %g "
                "(want U(+-%g))\n", lo, hi, wmax, 1 / sqrt(2.0));
        bad = 1;
    }
    zoo_model_free(m);
    return bad;
}

/* Bad knob values: a build error naming mixer and knob, before anything is built. */
static int unit_knobs(void)
{
    static const struct { const char *knobs, *needle; } bad_knobs[] = {
        {"d_state=0", "d_state"}, {"expand=0", "expand"},     {"d_conv=0", "d_conv"},
        {"dt_rank=-1", "dt_rank"}, {"dt_min=0.2", "dt_min"},  {"dt_scale=0", "dt_scale"},
        {"dt_init=foo", "dt_init"}, {"init=foo", "init"},     {"dt_init_floor=0", "dt_init_floor"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof bad_knobs / sizeof bad_knobs[0]; i++) {
        zoo_run_spec spec;
        if (spec_of(&spec, 2, 64, 16, 8, 2, 2, 2, bad_knobs[i].knobs))
            return 1;
        zoo_model *m = NULL;
        zoo_error_clear();
        int rc = zoo_model_build(&spec, 2, 4, &m);
        const char *msg = zoo_error_last()->msg;
        if (rc != ZOO_ERR_INVALID || m || !strstr(msg, "mamba") || !strstr(msg, bad_knobs[i].needle) ||
            strchr(msg, '\n')) {
            fprintf(stderr, "FAIL %s: rc %d, message '%s'\n", bad_knobs[i].knobs, rc, msg);
            bad = 1;
        }
        zoo_model_free(m);
    }
    return bad;
}

int main(int argc, char **argv)
{
    zoo_set_threads(2);
    if (argc == 2 && !strcmp(argv[1], "unit")) {
        int bad = unit_names() | unit_mamba_init() | unit_knobs();
        printf("mamba model unit: %s\n", bad ? "FAIL" : "ok");
        return bad;
    }
    if (argc == 4 && !strcmp(argv[1], "torchref")) {
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
            if (!strcmp(cases[i].name, argv[3]))
                return run_case(&cases[i], argv[2]);
        fprintf(stderr, "unknown case '%s'\n", argv[3]);
        return 2;
    }
    fprintf(stderr, "usage: %s torchref <check_mamba_model.py> <case> | unit\n", argv[0]);
    return 2;
}
