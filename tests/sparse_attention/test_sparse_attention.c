/* test_sparse_attention.c: the sparse_attention mixer (Zoology's SelectiveLookups and
 * SigmoidLookups, and zoo's causal gate) as the model builds it. Modes:
 *   torchref  forward, the gradient of x and of every parameter against PyTorch float64
 *             versions of the modules (ref_sparse_attention.py) loaded with zoo's
 *             parameters by state_dict name (strict), in training mode and in eval mode
 *             (the top-k path), for the three selection rules;
 *   gradcheck every trainable parameter and x against finite differences, both modes;
 *   unit      knob refusals (validate and build, one line naming the knob), state size
 *             against the count written here, state_dict names and shapes, 2-layer model
 *             parameter counts (alone and in the BaseConv hybrid), and the sigmoid rule's
 *             loss term: its value against penalty * relu(mean(sigmoid(x w)) - n/L)
 *             computed here, and its gradient against finite differences;
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
    {"sigmoid eval (k = 3)", "selection=sigmoid num_heads=4", 1, 8, 8, 0},
    {"sigmoid eval n_lookups=2, no Wqkv bias", "selection=sigmoid n_lookups=2 bias=false", 2, 9, 8, 0},
    {"softmax eval n_lookups=5", "n_lookups=5", 1, 9, 4, 0},
    {"gate train", "selection=gate", 2, 8, 8, 1},
    {"gate eval", "selection=gate num_heads=4", 1, 8, 8, 0},
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

/* The sigmoid rule's loss term in training mode on layer x (B, L, D): its value against
 * penalty * relu(mean over b, t of sigmoid(x_bt . w) - n/L) in double from x and
 * selecting.weight, and its gradient by finite differences; with the target above
 * every selection (n = L) it is 0; without a penalty there is none. */
static void penalty_term(void)
{
    static const struct {
        const char *knobs;
        double n, pen; /* target count; the penalty */
    } pc[] = {{"selection=sigmoid selection_penalty=0.5", 3.0, 0.5},  /* n = sqrt(9) */
              {"selection=sigmoid selection_penalty=2 n_lookups=2", 2.0, 2.0},
              {"selection=sigmoid n_lookups=9", 9.0, 0.001}};        /* n/L = 1: relu(...) = 0 */
    const int64_t B = 2, L = 9, D = 8;
    for (int c = 0; c < 3; c++) {
        zt_mixer b;
        if (zt_mixer_build(&b, "sparse_attention", PREFIX, pc[c].knobs, pc[c].knobs, NULL, (zoo_layer_info){0, 2, D, L, L, B}) ||
            zt_mixer_plan_fill(&b, 5 + c, 0.3f) || zt_check_rc(zoo_graph_set_training(b.g, 1, 0), "training") ||
            zt_check_rc(zoo_graph_forward(b.g), "forward")) {
            ZT_CHECK(0, "penalty %s: build and run", pc[c].knobs);
            zt_mixer_free(&b);
            continue;
        }
        zoo_tensor *term = zoo_graph_loss_term(b.g, 0);
        const float *x = zoo_tensor_data(b.x), *w = zt_mixer_pdata(&b, "selecting.weight");
        ZT_CHECK(term && !zoo_graph_loss_term(b.g, 1) && w, "penalty %s: one loss term", pc[c].knobs);
        if (term && w) {
            double mean = 0;
            for (int64_t r = 0; r < B * L; r++) {
                double s = 0;
                for (int64_t d = 0; d < D; d++)
                    s += (double)x[r * D + d] * w[d];
                mean += 1.0 / (1.0 + exp(-s)) / (double)(B * L);
            }
            double want = pc[c].pen * fmax(0.0, mean - pc[c].n / (double)L), got = zoo_tensor_data(term)[0];
            ZT_CHECK(fabs(got - want) <= 1e-6 + 1e-5 * fabs(want), "penalty %s: term %.8g, want %.8g (mean sel %.4f)",
                     pc[c].knobs, got, want, mean);
            ZT_CHECK(c < 2 ? want > 0 : want == 0, "penalty %s: the case should make the term %s", pc[c].knobs,
                     c < 2 ? "positive" : "0");
            if (c < 2) /* at 0 the relu is flat: every difference is 0 */
                ZT_CHECK(zt_gradcheck(b.g, term, 9, 12, 0, 0, 0) == 0, "penalty %s: gradient against finite differences",
                         pc[c].knobs);
        }
        zt_mixer_free(&b);
    }
    zt_mixer b;
    if (!zt_mixer_build(&b, "sparse_attention", PREFIX, "no penalty", "selection=sigmoid selection_penalty=0", NULL,
                        (zoo_layer_info){0, 2, D, L, L, B}))
        ZT_CHECK(!zoo_graph_loss_term(b.g, 0), "selection_penalty=0 adds no loss term");
    zt_mixer_free(&b);
    for (int r = 0; r < 2; r++) { /* the other rules add none */
        if (!zt_mixer_build(&b, "sparse_attention", PREFIX, "other rule", r ? "selection=gate" : "", NULL,
                            (zoo_layer_info){0, 2, D, L, L, B}))
            ZT_CHECK(!zoo_graph_loss_term(b.g, 0), "selection=%s adds no loss term", r ? "gate" : "softmax");
        zt_mixer_free(&b);
    }
}

static int run_unit(const char *arg, uint64_t seed)
{
    (void)arg, (void)seed;
    bad_knob("num_heads=3", "num_heads", "divisors of d_model");
    bad_knob("num_heads=0", "num_heads", "divisors of d_model");
    bad_knob("dropout=1", "dropout", "[0, 1)");
    bad_knob("dropout=-0.1", "dropout", "[0, 1)");
    bad_knob("selection=topk", "selection", "softmax");
    bad_knob("n_lookups=-1", "n_lookups", "[0, L=8]");
    bad_knob("n_lookups=9", "n_lookups", "[0, L=8]");
    bad_knob("selection=sigmoid selection_penalty=-0.001", "selection_penalty", ">= 0");

    /* State: the KV cache, keys and values of every position (L D each), and for the
     * two Zoology rules each position's score (L: the softmax's normaliser and the eval
     * top-k span the sequence), at D = 64, l_max = 256. */
    double L = 256, D = 64;
    ZT_CHECK(state_of("", 64, 256) == L * D + L * D + L, "softmax: 2 D L + L = %g, got %g", 2 * D * L + L,
          state_of("", 64, 256));
    ZT_CHECK(state_of("selection=sigmoid", 64, 256) == L * D + L * D + L, "sigmoid: 2 D L + L = %g, got %g",
             2 * D * L + L, state_of("selection=sigmoid", 64, 256));
    ZT_CHECK(state_of("selection=gate", 64, 256) == L * D + L * D, "gate: 2 D L = %g, got %g", 2 * D * L,
          state_of("selection=gate", 64, 256));

    /* SelectiveLookups' state_dict at D = 64 */
    static const zt_pshape sl[] = {{"Wqkv.weight", {192, 64}, 0},   {"Wqkv.bias", {192, 0}, 0},     {"selecting.weight", {1, 64}, 0},
                                {"selecting.bias", {1, 0}, 0},    {"out_proj.weight", {64, 64}, 0}, {"out_proj.bias", {64, 0}, 0}};
    names_shapes("", sl, 6);
    static const zt_pshape nb[] = {{"Wqkv.weight", {192, 64}, 0},      {"selecting.weight", {1, 64}, 0}, {"selecting.bias", {1, 0}, 0},
                                {"out_proj.weight", {64, 64}, 0}, {"out_proj.bias", {64, 0}, 0}};
    names_shapes("bias=false num_heads=4", nb, 5);
    /* SigmoidLookups': selecting has no bias */
    static const zt_pshape sg[] = {{"Wqkv.weight", {192, 64}, 0},      {"Wqkv.bias", {192, 0}, 0}, {"selecting.weight", {1, 64}, 0},
                                   {"out_proj.weight", {64, 64}, 0}, {"out_proj.bias", {64, 0}, 0}};
    names_shapes("selection=sigmoid", sg, 5);
    penalty_term();

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
