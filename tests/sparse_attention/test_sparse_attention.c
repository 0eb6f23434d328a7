/* test_sparse_attention.c: the sparse_attention mixer (Zoology's SelectiveLookups) as the
 * model builds it. Modes:
 *   torchref  forward, the gradient of x and of every parameter against a PyTorch float64
 *             SelectiveLookups (ref_sparse_attention.py) loaded with zoo's parameters by
 *             state_dict name (strict), in training mode and in eval mode (the top-k path);
 *   gradcheck every trainable parameter and x against finite differences, both modes;
 *   unit      knob refusals (validate and build, one line naming the knob), state size
 *             against the count written here, state_dict names and shapes, 2-layer model
 *             parameter counts (alone and in the BaseConv hybrid);
 *   hybrid    the [base_conv, sparse_attention] pattern trains a few steps and evaluates. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mixer_test.h"

#define PREFIX ZT_MIXER_PREFIX

typedef struct mcase {
    const char *label, *knobs; /* knobs: "name=value ..." over the defaults */
    int64_t B, L, D;
    int training;
} mcase;

static const mcase cases[] = {
    {"softmax train", "", 2, 9, 8, 1},
    {"softmax eval (k = 3)", "", 2, 9, 8, 0},
    {"softmax 2 heads, no Wqkv bias, train", "num_heads=2 bias=false", 1, 7, 8, 1},
    {"softmax 2 heads eval L=16 (k = 4)", "num_heads=2", 2, 16, 8, 0},
    {"softmax eval with dropout 0.1 (off at eval)", "dropout=0.1", 1, 10, 6, 0},
    {"sigmoid train", "selection=sigmoid", 2, 8, 8, 1},
    {"sigmoid eval", "selection=sigmoid num_heads=4", 1, 8, 8, 0},
    {"softmax eval L=1 (k = L)", "", 3, 1, 4, 0},
    {"softmax eval L=40 (k = 7)", "", 1, 40, 4, 0},
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

/* ---- torchref and gradcheck ------------------------------------------------------------ */
/* Case i, layer 0 of 2: planned, every trainable N(0, 0.3^2), x N(0, 1), in the case's
 * mode. The long case is for the top-k at larger k; torchref covers it. */
static int make_case(int i, int gradcheck, zt_mixer *b, uint64_t seed)
{
    const mcase *c = &cases[i];
    if (gradcheck && c->L > 16)
        return -1;
    if (zt_mixer_build(b, "sparse_attention", PREFIX, c->label, c->knobs, NULL, (zoo_layer_info){0, 2, c->D, c->L, c->L, c->B}) ||
        zt_mixer_plan_fill(b, seed, 0.3f))
        return 1;
    snprintf(b->config_extra, sizeof b->config_extra, "\"training\": %d", c->training);
    return zt_check_rc(zoo_graph_set_training(b->g, c->training, 0), "set_training");
}

static int run_torchref(const char *arg, uint64_t seed)
{
    (void)arg;
    return zt_mixer_torchref("sparse_attention", ZT_DIR "/ref_sparse_attention.py", NCASES, make_case, seed);
}

static int run_gradcheck(const char *arg, uint64_t seed)
{
    (void)arg;
    return zt_mixer_gradcheck(NCASES, make_case, seed);
}

/* ---- unit ------------------------------------------------------------------------------ */
/* validate refuses with one line naming the mixer, the knob and a fix; build the same. */
static void bad_knob(const char *knobs, const char *knob, const char *fix)
{
    zt_mixer_bad_knob("sparse_attention", knobs, knob, fix, (zoo_layer_info){0, 2, 64, 8, 8, 1}, ZOO_ERR_INVALID);
}

static double state_of(const char *knobs, int64_t D, int64_t lmax)
{
    return zt_mixer_state("sparse_attention", knobs, (zoo_layer_info){0, 2, D, lmax, lmax, 1});
}

/* Every parameter of one layer at D = 64: name, shape, trainable; nothing else. */
static void names_shapes(const char *knobs, const zt_pshape *want, int n)
{
    zt_mixer_names("sparse_attention", PREFIX, knobs, (zoo_layer_info){0, 2, 64, 64, 64, 1}, want, n, 0, 0);
}

static int run_unit(const char *arg, uint64_t seed)
{
    (void)arg, (void)seed;
    bad_knob("num_heads=3", "num_heads", "divisors of d_model");
    bad_knob("num_heads=0", "num_heads", "divisors of d_model");
    bad_knob("dropout=1", "dropout", "[0, 1)");
    bad_knob("dropout=-0.1", "dropout", "[0, 1)");
    bad_knob("selection=topk", "selection", "softmax");

    /* State: the KV cache, keys and values of every position (L D each), and for the
     * softmax rule each position's score (L), at D = 64, l_max = 256. */
    double L = 256, D = 64;
    ZT_CHECK(state_of("", 64, 256) == L * D + L * D + L, "softmax: 2 D L + L = %g, got %g", 2 * D * L + L,
          state_of("", 64, 256));
    ZT_CHECK(state_of("selection=sigmoid", 64, 256) == L * D + L * D, "sigmoid: 2 D L = %g, got %g", 2 * D * L,
          state_of("selection=sigmoid", 64, 256));

    /* SelectiveLookups' state_dict at D = 64 */
    static const zt_pshape sl[] = {{"Wqkv.weight", {192, 64}, 0},   {"Wqkv.bias", {192, 0}, 0},     {"selecting.weight", {1, 64}, 0},
                                {"selecting.bias", {1, 0}, 0},    {"out_proj.weight", {64, 64}, 0}, {"out_proj.bias", {64, 0}, 0}};
    names_shapes("", sl, 6);
    static const zt_pshape nb[] = {{"Wqkv.weight", {192, 64}, 0},      {"selecting.weight", {1, 64}, 0}, {"selecting.bias", {1, 0}, 0},
                                {"out_proj.weight", {64, 64}, 0}, {"out_proj.bias", {64, 0}, 0}};
    names_shapes("bias=false num_heads=4", nb, 5);

    /* 2-layer models at D=64, L=64, V=8192 (docs/model.md): word embedding 524,288 and
     * learned positions 4,096 (the attention family), final LayerNorm 128; per block two
     * LayerNorms (256) and the mixer: Wqkv 192 x 64 + 192, out_proj 64 x 64 + 64, selecting
     * 64 + 1 = 16,705. BaseConv's first layer (k = 3): projection 64 x 64 + 64, conv 64 x 3
     * + 64 = 4,416. */
    int64_t sa = 192 * 64 + 192 + 64 * 64 + 64 + 64 + 1, bc = 64 * 64 + 64 + 64 * 3 + 64;
    zt_model_count("sparse_attention", NULL, NULL, 524288 + 4096 + 128 + 2 * (256 + sa));
    zt_model_count("[base_conv, sparse_attention]", NULL, NULL, 524288 + 4096 + 128 + (256 + bc) + (256 + sa));
    return zt_fails != 0;
}

/* ---- hybrid ---------------------------------------------------------------------------- */
static int run_hybrid(const char *arg, uint64_t seed)
{
    (void)arg, (void)seed;
    zoo_run_spec s;
    zoo_run_spec_default(&s);
    const char *kv[][2] = {{"mixer", "[base_conv, sparse_attention]"},
                           {"vocab", "64"},
                           {"seq_len", "32"},
                           {"kv_pairs", "4"},
                           {"d_model", "32"},
                           {"train_examples", "512"},
                           {"test_examples", "64"},
                           {"batch_size", "64"},
                           {"epochs", "2"},
                           {"lr", "3e-3"}};
    for (size_t i = 0; i < sizeof kv / sizeof *kv; i++)
        if (zoo_run_spec_set(&s, kv[i][0], kv[i][1])) {
            fprintf(stderr, "FAIL setting %s=%s: %s\n", kv[i][0], kv[i][1], zoo_error_last()->msg);
            return 1;
        }
    zoo_run_result r;
    int rc = zoo_run(&s, NULL, &r, NULL);
    int bad = rc != 0;
    if (rc)
        fprintf(stderr, "FAIL [base_conv, sparse_attention]: run failed: %s\n", r.message);
    else {
        /* 16 steps: the loss is finite and falls from its first step (ln 64 = 4.16 at init) */
        bad = r.n_steps != 16 || !isfinite(r.final_loss) || !(r.step_loss[r.n_steps - 1] < r.step_loss[0]) ||
              !(r.state_size > 0);
        printf("[base_conv, sparse_attention]: %lld steps, loss %.4f -> %.4f, test loss %.4f acc %.4f, "
               "state %.0f floats\n",
               (long long)r.n_steps, r.n_steps ? r.step_loss[0] : NAN, r.n_steps ? r.step_loss[r.n_steps - 1] : NAN,
               r.final_loss, r.final_acc, r.state_size);
        if (bad)
            fprintf(stderr, "FAIL [base_conv, sparse_attention]: expected 16 steps with a falling finite loss\n");
    }
    zoo_run_result_free(&r);
    return bad;
}

int main(int argc, char **argv)
{
    static const zt_mode modes[] = {{"torchref", run_torchref},
                                    {"gradcheck", run_gradcheck},
                                    {"unit", run_unit},
                                    {"hybrid", run_hybrid},
                                    {NULL, NULL}};
    return zt_main(argc, argv, "sparse_attention", 20240611, modes);
}
