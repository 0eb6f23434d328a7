/* test_mixers_ref.c: the mixer plugins (base_conv, hyena, h3, based,
 * linear_attention, sliding_window) and rwkv as the model builds them. Modes:
 *   torchref  forward and every gradient against PyTorch re-implementations of the Zoology
 *             modules (ref_mixers.py), which load zoo's parameters by state_dict name
 *             with strict=True, so names, shapes and trainability are checked too;
 *   gradcheck every trainable parameter against finite differences;
 *   unit      knob validation (one line naming mixer and knob, same in build), state
 *             sizes (docs/mixers.md), state_dict names and shapes, model parameter counts
 *             (docs/model.md). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mixer_test.h"

#define PREFIX ZT_MIXER_PREFIX

typedef struct mcase {
    const char *label, *mixer, *knobs; /* knobs: "name=value ..." over the defaults */
    int64_t B, L, lmax, D;
    int layer, n_layers;
} mcase;

static const mcase cases[] = {
    {"base_conv short k3", "base_conv", "", 2, 9, 9, 8, 0, 2},
    {"base_conv implicit long, l_max > L", "base_conv", "", 2, 9, 12, 8, 1, 2},
    {"base_conv explicit long", "base_conv", "implicit_long_conv=false", 1, 11, 11, 6, 1, 2},
    {"base_conv short k4 use_act", "base_conv", "kernel_size=4 use_act=true", 2, 7, 7, 5, 0, 2},
    {"base_conv implicit long L=80 (FFT path)", "base_conv", "kernel_size=-1", 1, 80, 80, 4, 0, 1},
    {"hyena order 8, l_max > L", "hyena", "filter_order=8", 2, 9, 11, 8, 0, 2},
    {"hyena order 6, 1 inner, emb 5, no skip", "hyena", "filter_order=6 num_inner_mlps=1 emb_dim=5 bias=false", 1,
     7, 7, 4, 1, 2},
    {"hyena L=70 (FFT path)", "hyena", "filter_order=4", 1, 70, 70, 4, 0, 2},
    {"h3 N8 hd2", "h3", "d_state=8", 2, 9, 9, 8, 0, 2},
    {"h3 N=l_max hd1", "h3", "d_state=0 head_dim=1", 1, 7, 10, 6, 1, 2},
    {"h3 N6 hd3 L=66 (FFT path)", "h3", "d_state=6 head_dim=3", 1, 66, 66, 6, 0, 2},
    {"based f4 linear", "based", "feature_dim=4", 2, 9, 9, 8, 1, 2},
    {"based f3 quadratic 2 heads", "based", "feature_dim=3 num_heads=2 train_view=quadratic", 2, 8, 8, 8, 1, 2},
    {"based relu f5", "based", "feature_dim=5 feature_name=relu", 1, 9, 9, 6, 1, 2},
    {"linear_attention pos_elu f=D", "linear_attention", "", 2, 9, 9, 6, 0, 2},
    {"linear_attention quadratic f4", "linear_attention", "feature_dim=4 train_view=quadratic", 1, 8, 8, 6, 0, 2},
    {"sliding_window w3", "sliding_window", "block_size=3", 2, 9, 9, 8, 0, 2},
    {"sliding_window w0 no bias", "sliding_window", "block_size=0 bias=false", 1, 6, 6, 4, 0, 2},
    {"rwkv layer 0", "rwkv", "", 2, 9, 9, 8, 0, 2},
    {"rwkv layer 1, init from 2 layers, odd D", "rwkv", "init_n_layer=0", 1, 7, 7, 5, 1, 2},
    {"rwkv L=1", "rwkv", "", 3, 1, 1, 6, 1, 2},
    {"rwkv L=40", "rwkv", "", 1, 40, 40, 4, 1, 2},
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

/* Build the mixer of case c on x = parameter "x" (B, L, D); not planned. 0 ok. */
static int build_case(const mcase *c, zt_mixer *b)
{
    return zt_mixer_build(b, c->mixer, PREFIX, c->label, c->knobs, NULL,
                          (zoo_layer_info){c->layer, c->n_layers, c->D, c->L, c->lmax, c->B});
}

/* Generic values (every trainable N(0, 0.3^2), x N(0, 1)), then the few parameters whose
 * meaning needs a range: H3's step sizes and poles, and Hyena's aliases of the shared
 * sine frequency, which a checkpoint must hold equal to implicit_filter.1.freq. */
static int plan_fill(const mcase *c, zt_mixer *b, uint64_t seed)
{
    if (zt_mixer_plan_fill(b, seed, 0.3f))
        return 1;
    if (!strcmp(c->mixer, "h3")) {
        zoo_tensor *ld = zoo_graph_find_param(b->g, PREFIX "kernel.kernel.log_dt");
        zoo_tensor *ai = zoo_graph_find_param(b->g, PREFIX "kernel.kernel.A_imag");
        float *iar = zt_mixer_pdata(b, "kernel.kernel.inv_A_real"), *aid = zoo_tensor_data(ai);
        int64_t n2 = zoo_tensor_dim(ai, 1);
        zt_fill_uniform(zoo_tensor_data(ld), zoo_tensor_numel(ld), seed + 2, logf(0.01f), logf(0.5f));
        for (int64_t i = 0; i < zoo_tensor_numel(ai); i++) {
            iar[i] = logf(0.5f) + iar[i];
            aid[i] = 3.14159265f * (float)(i % n2) + aid[i];
        }
    }
    if (!strcmp(c->mixer, "hyena")) {
        zoo_tensor *f1 = zoo_graph_find_param(b->g, PREFIX "filter_fn.implicit_filter.1.freq");
        for (int i = 3; f1 && i < 2 * 64 + 3; i += 2) {
            char rel[96];
            snprintf(rel, sizeof rel, "filter_fn.implicit_filter.%d.freq", i);
            float *fa = zt_mixer_pdata(b, rel);
            if (fa)
                memcpy(fa, zoo_tensor_data(f1), sizeof(float) * (size_t)zoo_tensor_numel(f1));
        }
    }
    return 0;
}

/* Case i built and filled; the long cases exist for the FFT path: torchref covers them. */
static int make_case(int i, int gradcheck, zt_mixer *b, uint64_t seed)
{
    if (gradcheck && cases[i].L > 16)
        return -1;
    return build_case(&cases[i], b) || plan_fill(&cases[i], b, seed);
}

static int run_torchref(const char *arg, uint64_t seed)
{
    (void)arg;
    return zt_mixer_torchref("mixers_ref", ZT_DIR "/ref_mixers.py", NCASES, make_case, seed);
}

static int run_gradcheck(const char *arg, uint64_t seed)
{
    (void)arg;
    return zt_mixer_gradcheck(NCASES, make_case, seed);
}

/* ---- unit ------------------------------------------------------------------------------ */
/* A bad knob value: validate refuses with one line naming the mixer and the knob, and
 * build refuses the same way. */
static void bad_knob(const char *mixer, const char *knobs, const char *knob, int64_t D, int n_layers)
{
    zt_mixer_bad_knob(mixer, knobs, knob, NULL, (zoo_layer_info){0, n_layers, D, 8, 8, 1}, ZOO_ERR_INVALID);
}

static double state_of(const char *mixer, const char *knobs, int layer, int64_t D, int64_t lmax)
{
    return zt_mixer_state(mixer, knobs, (zoo_layer_info){layer, 2, D, lmax, lmax, 1});
}

/* The reference state_dict of one layer at D = 64, l_max = 64. */
static void names_shapes(const char *mixer, const char *knobs, int layer, const zt_pshape *want, int n)
{
    zt_mixer_names(mixer, PREFIX, knobs, (zoo_layer_info){layer, 2, 64, 64, 64, 1}, want, n, 0, 0);
}

/* RWKV's constructor init (docs/mixers.md, rwkv) at D = 8, layer 1 of a 2-layer model with
 * n_layer = 12 (Zoology never passes the real count):
 * r0 = 1/11, r1 = 1 - 1/12; and with init_n_layer=0 (n_layer = 2): r0 = 1, r1 = 1/2. */
static void rwkv_init(void)
{
    for (int real = 0; real < 2; real++) {
        mcase c = {"rwkv init", "rwkv", real ? "init_n_layer=0" : "", 1, 4, 4, 8, 1, 2};
        zt_mixer b;
        if (build_case(&c, &b) || zt_check_rc(zoo_graph_plan(b.g, 5), "plan")) {
            ZT_CHECK(0, "rwkv init: build");
            zt_mixer_free(&b);
            return;
        }
        double D = 8, r0 = real ? 1.0 : 1.0 / 11.0, r1 = real ? 0.5 : 1.0 - 1.0 / 12.0;
        const float *dec = zt_mixer_pdata(&b, "time_decay"), *fst = zt_mixer_pdata(&b, "time_first"), *mk = zt_mixer_pdata(&b, "time_mix_k"),
                    *mv = zt_mixer_pdata(&b, "time_mix_v"), *mr = zt_mixer_pdata(&b, "time_mix_r");
        for (int i = 0; i < 8; i++) {
            double want[5] = {-5.0 + 8.0 * pow(i / (D - 1), 0.7 + 1.3 * r0), log(0.3) + 0.5 * ((i + 1) % 3 - 1),
                              pow(i / D, r1), pow(i / D, r1) + 0.3 * r0, pow(i / D, 0.5 * r1)};
            const float *got[5] = {dec, fst, mk, mv, mr};
            for (int j = 0; j < 5; j++)
                ZT_CHECK(fabs(got[j][i] - want[j]) <= 1e-6 * (1 + fabs(want[j])),
                      "rwkv init (%s): parameter %d channel %d is %.8g, the init formula gives %.8g", c.knobs, j, i, got[j][i],
                      want[j]);
        }
        float *kw = zt_mixer_pdata(&b, "key.weight");
        double ss = 0;
        for (int i = 0; i < 64; i++)
            ss += (double)kw[i] * kw[i];
        ZT_CHECK(ss > 0 && sqrt(ss / 64) < 0.05, "rwkv init: key.weight should be N(0, 0.02^2), rms %.4g", sqrt(ss / 64));
        zt_mixer_free(&b);
    }
}

static int run_unit(const char *arg, uint64_t seed)
{
    (void)arg, (void)seed;
    bad_knob("base_conv", "kernel_size=[3,-1]", "kernel_size", 64, 4);
    bad_knob("base_conv", "kernel_size=0", "kernel_size", 64, 2);
    bad_knob("base_conv", "kernel_size=-2", "kernel_size", 64, 2);
    bad_knob("hyena", "filter_order=0", "filter_order", 64, 2);
    bad_knob("hyena", "emb_dim=4", "emb_dim", 64, 2);
    bad_knob("hyena", "short_filter_order=0", "short_filter_order", 64, 2);
    bad_knob("hyena", "dropout=1", "dropout", 64, 2);
    bad_knob("h3", "head_dim=3", "head_dim", 64, 2);
    bad_knob("h3", "d_state=5", "d_state", 64, 2);
    bad_knob("based", "feature_dim=0", "feature_dim", 64, 2);
    bad_knob("based", "num_heads=3", "num_heads", 64, 2);
    bad_knob("based", "feature_name=cosformer", "feature_name", 64, 2);
    bad_knob("based", "train_view=cubic", "train_view", 64, 2);
    bad_knob("based", "eps=-1", "eps", 64, 2);
    bad_knob("linear_attention", "feature_dim=-1", "feature_dim", 64, 2);
    bad_knob("sliding_window", "block_size=-1", "block_size", 64, 2);
    bad_knob("sliding_window", "dropout=-0.5", "dropout", 64, 2);
    bad_knob("rwkv", "init_n_layer=1", "init_n_layer", 64, 2);
    bad_knob("rwkv", "init_n_layer=-3", "init_n_layer", 64, 2);
    bad_knob("rwkv", "init_n_layer=0", "init_n_layer", 64, 1);
    bad_knob("rwkv", "init_n_layer=65", "init_n_layer", 64, 2);
    bad_knob("rwkv", "", "d_model", 1, 2);
    rwkv_init();

    /* state sizes (floats per layer, docs/mixers.md) at D = 64, l_max = 64 */
    ZT_CHECK(state_of("base_conv", "", 0, 64, 64) == 64 * 3, "base_conv short k=3: D k");
    ZT_CHECK(state_of("base_conv", "", 1, 64, 64) == 64 * 64, "base_conv long: D L");
    ZT_CHECK(state_of("hyena", "", 0, 64, 512) == 64 * 512, "hyena: D L");
    ZT_CHECK(state_of("h3", "d_state=32", 0, 64, 64) == 64 * 32, "h3: D N");
    ZT_CHECK(state_of("based", "", 0, 64, 64) == 9945,
          "based f=16: D E + E = 9945 with E = f(f+1)/2 + f + 1 = 153, got %g", state_of("based", "", 0, 64, 64));
    ZT_CHECK(state_of("linear_attention", "feature_name=relu feature_dim=8", 0, 64, 64) == 64 * 8 + 8,
          "linear_attention relu f=8: D f + f");
    ZT_CHECK(state_of("sliding_window", "block_size=16", 0, 64, 64) == 2 * 16 * 64, "sliding_window: 2 w D");
    ZT_CHECK(state_of("rwkv", "", 0, 64, 512) == 3 * 64, "rwkv: 3 D (WKV numerator, denominator, previous token)");

    static const zt_pshape bc0[] = {{"projection.weight", {64, 64}, 0}, {"projection.bias", {64}, 0},
                                 {"conv.conv.weight", {64, 1, 3}, 0}, {"conv.conv.bias", {64}, 0}};
    static const zt_pshape bc1[] = {{"projection.weight", {64, 64}, 0}, {"projection.bias", {64}, 0},
                                 {"conv.pos_emb.z", {1, 64, 3}, 1},  {"conv.mlp.0.weight", {16, 3}, 0},
                                 {"conv.mlp.0.bias", {16}, 0},       {"conv.mlp.2.weight", {64, 16}, 0},
                                 {"conv.mlp.2.bias", {64}, 0}};
    static const zt_pshape hy[] = {
        {"in_proj.weight", {192, 64}, 0},
        {"in_proj.bias", {192}, 0},
        {"out_proj.weight", {64, 64}, 0},
        {"out_proj.bias", {64}, 0},
        {"short_filter.weight", {192, 1, 3}, 0},
        {"short_filter.bias", {192}, 0},
        {"filter_fn.bias", {64}, 0},
        {"filter_fn.pos_emb.z", {1, 64, 3}, 0},
        {"filter_fn.pos_emb.t", {1, 64, 1}, 1},
        {"filter_fn.implicit_filter.0.weight", {64, 3}, 0},
        {"filter_fn.implicit_filter.0.bias", {64}, 0},
        {"filter_fn.implicit_filter.1.freq", {1, 64}, 0},
        {"filter_fn.implicit_filter.2.weight", {64, 64}, 0},
        {"filter_fn.implicit_filter.2.bias", {64}, 0},
        {"filter_fn.implicit_filter.3.freq", {1, 64}, 1},
        {"filter_fn.implicit_filter.4.weight", {64, 64}, 0},
        {"filter_fn.implicit_filter.4.bias", {64}, 0},
        {"filter_fn.implicit_filter.5.freq", {1, 64}, 1},
        {"filter_fn.implicit_filter.6.weight", {64, 64}, 0},
        {"filter_fn.modulation.deltas", {1, 1, 64}, 1},
    };
    static const zt_pshape h3[] = {
        {"ssm_k_D", {64}, 0},
        {"D", {32}, 0},
        {"q_proj.weight", {64, 64}, 0},
        {"q_proj.bias", {64}, 0},
        {"k_proj.weight", {64, 64}, 0},
        {"k_proj.bias", {64}, 0},
        {"v_proj.weight", {64, 64}, 0},
        {"v_proj.bias", {64}, 0},
        {"ssm_k_kernel.kernel.B", {64, 64}, 0},
        {"ssm_k_kernel.kernel.C", {1, 64, 64}, 0},
        {"kernel.kernel.C", {1, 32, 32, 2}, 0},
        {"kernel.kernel.log_dt", {32}, 0},
        {"kernel.kernel.B", {32, 32, 2}, 0},
        {"kernel.kernel.inv_A_real", {32, 32}, 0},
        {"kernel.kernel.A_imag", {32, 32}, 0},
        {"output_linear.weight", {64, 64}, 0},
        {"output_linear.bias", {64}, 0},
    };
    static const zt_pshape bd[] = {{"proj_q.weight", {8, 64}, 0},
                                {"proj_k.weight", {8, 64}, 0},
                                {"proj_v.weight", {64, 64}, 0},
                                {"proj_o.weight", {64, 64}, 0}};
    static const zt_pshape sw[] = {{"Wqkv.weight", {192, 64}, 0},
                                {"Wqkv.bias", {192}, 0},
                                {"out_proj.weight", {64, 64}, 0},
                                {"out_proj.bias", {64}, 0}};
    names_shapes("base_conv", "", 0, bc0, 4);
    names_shapes("base_conv", "", 1, bc1, 7);
    names_shapes("hyena", "", 0, hy, (int)(sizeof hy / sizeof hy[0]));
    names_shapes("h3", "d_state=64 head_dim=2", 0, h3, (int)(sizeof h3 / sizeof h3[0]));
    names_shapes("based", "feature_dim=8", 1, bd, 4);
    names_shapes("sliding_window", "block_size=16", 0, sw, 4);
    static const zt_pshape rw[] = {{"time_decay", {64}, 0},          {"time_first", {64}, 0},
                                {"time_mix_k", {1, 1, 64}, 0},    {"time_mix_v", {1, 1, 64}, 0},
                                {"time_mix_r", {1, 1, 64}, 0},    {"key.weight", {64, 64}, 0},
                                {"value.weight", {64, 64}, 0},    {"receptance.weight", {64, 64}, 0},
                                {"output.weight", {64, 64}, 0}};
    names_shapes("rwkv", "", 1, rw, 9);

    /* Whole models at D=64, L=64, V=8192, 2 layers (docs/model.md, sizes to check against) */
    zt_model_count("base_conv", NULL, NULL, 534656);
    zt_model_count("hyena", NULL, NULL, 585728);
    zt_model_count("h3", "h3.d_state", "64", 587136);
    zt_model_count("sliding_window", NULL, NULL, 558208);
    zt_model_count("[base_conv, based]", "based.feature_dim", "8", 538560);
    /* RWKV from its parameter shapes: 524,288 (E) + 2 x (64 time_decay + 64 time_first
     * + 3 x 64 time_mix + 4 x 4,096 key/value/receptance/output + 256 LN) + 128 (LN_f) */
    zt_model_count("rwkv", NULL, NULL, 524288 + 2 * (64 + 64 + 3 * 64 + 4 * 4096 + 256) + 128);
    return zt_fails != 0;
}

int main(int argc, char **argv)
{
    static const zt_mode modes[] = {
        {"torchref", run_torchref}, {"gradcheck", run_gradcheck}, {"unit", run_unit}, {NULL, NULL}};
    return zt_main(argc, argv, "mixers_ref", 20240607, modes);
}
