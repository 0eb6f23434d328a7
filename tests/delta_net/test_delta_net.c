/* test_delta_net.c: the delta_net and gated_delta_net plugins as the model builds them.
 *   test_delta_net MODE MIXER, MODE one of
 *   torchref  forward and every gradient against PyTorch float64 re-implementations of
 *             the Zoology modules run in their naive recurrent form (ref_delta_net.py),
 *             loaded with zoo's parameters by state_dict name (strict); the reference
 *             also counts the floats its recurrent form carries against state_size;
 *   gradcheck every trainable parameter against finite differences;
 *   unit      knob refusals (one line naming mixer and knob, the same in build), state
 *             sizes against a count written here, state_dict names and shapes, inits,
 *             model parameter counts (docs/mixers.md, delta_net and gated_delta_net). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mixer_test.h"

#define PREFIX ZT_MIXER_PREFIX

typedef struct mcase {
    const char *label, *mixer, *knobs; /* knobs: "name=value ..." over the defaults */
    int64_t B, L, D;
    int layer;
    int no_fd; /* not for finite differences: relu's kinks, or heads of dk = 2, whose L2 norm
                * of a short vector bends more than central differences of step 1e-3 resolve */
} mcase;

static const mcase cases[] = {
    {"delta_net defaults, 4 heads of 4", "delta_net", "", 2, 9, 16, 0, 0},
    {"delta_net gate, 2 heads, expand_k 0.5, expand_v 2", "delta_net",
     "use_gate=true num_heads=2 expand_k=0.5 expand_v=2", 1, 8, 16, 1, 0},
    {"delta_net relu, beta 1 doubled, conv 3 with bias", "delta_net",
     "qk_activation=relu use_beta=false allow_neg_eigval=true conv_size=3 conv_bias=true", 2, 7, 8, 0, 1},
    {"delta_net elu, no short conv, beta doubled", "delta_net",
     "qk_activation=elu use_short_conv=false allow_neg_eigval=true num_heads=2", 1, 9, 12, 0, 0},
    {"delta_net identity, 1 head, L=1", "delta_net", "qk_activation=identity num_heads=1", 3, 1, 6, 0, 0},
    {"delta_net expand_k 1.5, conv 1", "delta_net", "expand_k=1.5 num_heads=3 conv_size=1", 1, 6, 12, 1, 0},
    {"delta_net L=40", "delta_net", "num_heads=2", 1, 40, 8, 0, 0},
    {"gated_delta_net defaults at D=12 (6 heads, dk 2, dv 4)", "gated_delta_net", "", 2, 9, 12, 0, 1},
    {"gated_delta_net D=13, 3 heads (dk 4, floor), expand_v 1, no gate", "gated_delta_net",
     "num_heads=3 expand_v=1 use_gate=false", 1, 8, 13, 1, 0},
    {"gated_delta_net no short conv", "gated_delta_net", "use_short_conv=false num_heads=2", 2, 7, 8, 0, 0},
    {"gated_delta_net conv 2 with bias, expand_v 3", "gated_delta_net", "conv_size=2 conv_bias=true num_heads=2 expand_v=3",
     1, 9, 8, 0, 0},
    {"gated_delta_net L=1", "gated_delta_net", "num_heads=2", 2, 1, 8, 0, 0},
    {"gated_delta_net L=40", "gated_delta_net", "num_heads=2", 1, 40, 8, 0, 0},
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

/* Build case c's mixer on x = parameter "x" (B, L, D); not planned. 0 ok. */
static int build_case(const mcase *c, zt_mixer *b)
{
    return zt_mixer_build(b, c->mixer, PREFIX, c->label, c->knobs, NULL,
                          (zoo_layer_info){c->layer, 2, c->D, c->L, c->L, c->B});
}

/* ---- torchref and gradcheck ------------------------------------------------------------ */
static const char *run_mixer; /* the mixer this run covers (argv[2]) */

/* Case i built with generic values (every trainable N(0, 0.3^2), x N(0, 1)) when it is
 * one of run_mixer's. The long cases are for the recurrence's length: torchref covers
 * them and no_fd. */
static int make_case(int i, int gradcheck, zt_mixer *b, uint64_t seed)
{
    if (strcmp(cases[i].mixer, run_mixer) || (gradcheck && (cases[i].L > 16 || cases[i].no_fd)))
        return -1;
    return build_case(&cases[i], b) || zt_mixer_plan_fill(b, seed, 0.3f);
}

static int run_torchref(const char *mixer, uint64_t seed)
{
    run_mixer = mixer;
    return zt_mixer_torchref("delta_net", ZT_DIR "/ref_delta_net.py", NCASES, make_case, seed);
}

static int run_gradcheck(const char *mixer, uint64_t seed)
{
    run_mixer = mixer;
    return zt_mixer_gradcheck(NCASES, make_case, seed);
}

/* ---- unit ------------------------------------------------------------------------------ */
/* A bad knob value: validate refuses with `code` and one line naming the mixer and the
 * knob, and build refuses the same way. */
static void bad_knob(const char *mixer, const char *knobs, const char *knob, int code)
{
    zt_mixer_bad_knob(mixer, knobs, knob, NULL, (zoo_layer_info){0, 2, 64, 8, 8, 1}, code);
}

static double state_of(const char *mixer, const char *knobs, int64_t D, int64_t lmax)
{
    return zt_mixer_state(mixer, knobs, (zoo_layer_info){0, 2, D, lmax, lmax, 1});
}

/* The state a generating layer carries, counted per object: each head's matrix (its
 * key width by its value width), and per short conv its channels times the K-1 past
 * inputs it must remember. */
static double state_count(int64_t heads, int64_t key_dim, int64_t value_dim, int conv, int64_t K)
{
    double s = 0;
    for (int64_t hd = 0; hd < heads; hd++)
        s += (double)(key_dim / heads) * (double)(value_dim / heads);
    if (conv) {
        const int64_t channels[3] = {key_dim, key_dim, value_dim}; /* q_conv1d, k_conv1d, v_conv1d */
        for (int i = 0; i < 3; i++)
            s += (double)channels[i] * (double)(K - 1);
    }
    return s;
}

/* The reference state_dict of one layer at D = 64, L = 64. */
static void names_shapes(const char *mixer, const char *knobs, const zt_pshape *want, int n)
{
    zt_mixer_names(mixer, PREFIX, knobs, (zoo_layer_info){0, 2, 64, 64, 64, 1}, want, n, 0, 0);
}

static void model_count(const char *mixer, int64_t want)
{
    zt_model_count(mixer, NULL, NULL, want);
}

/* Every value of a parameter within [lo, hi]; returns the mean. */
static double in_range(const zt_mixer *b, const char *rel, int64_t n, double lo, double hi)
{
    const float *v = zt_mixer_pdata(b, rel);
    double s = 0;
    ZT_CHECK(v != NULL, "init: %s missing", rel);
    for (int64_t i = 0; v && i < n; i++) {
        ZT_CHECK(v[i] >= lo && v[i] <= hi, "init: %s[%lld] = %g outside [%g, %g]", rel, (long long)i, v[i], lo, hi);
        s += v[i];
    }
    return s / (double)n;
}

/* The constructor values (docs/mixers.md): o_norm.weight 1, conv weights U(+-1/sqrt(K)),
 * Linears N(0, 0.02^2); Gated DeltaNet's A_log = ln U(0, 16), dt_bias the inverse
 * softplus of a log-uniform dt in [1e-3, 0.1], D = 1 (a buffer). 64 heads give the
 * per-head draws enough samples for their means. */
static void inits(void)
{
    mcase c = {"init", "gated_delta_net", "num_heads=64", 1, 4, 64, 0, 0};
    zt_mixer b;
    if (build_case(&c, &b) || zt_check_rc(zoo_graph_plan(b.g, 7), "plan")) {
        ZT_CHECK(0, "gated_delta_net init: build");
        zt_mixer_free(&b);
        return;
    }
    const float *alog = zt_mixer_pdata(&b, "A_log"), *dtb = zt_mixer_pdata(&b, "dt_bias");
    double mA = 0, mlogdt = 0;
    for (int i = 0; alog && dtb && i < 64; i++) {
        double A = exp((double)alog[i]), dt = log1p(exp((double)dtb[i]));
        ZT_CHECK(A > 0 && A <= 16.0 * (1 + 1e-6), "init: exp(A_log[%d]) = %g outside (0, 16]", i, A);
        ZT_CHECK(dt >= 1e-3 * (1 - 1e-5) && dt <= 0.1 * (1 + 1e-5), "init: softplus(dt_bias[%d]) = %g outside [1e-3, 0.1]",
                 i, dt);
        mA += A / 64;
        mlogdt += log(dt) / 64;
    }
    /* U(0, 16) has mean 8, sd 4.6; log dt ~ U(ln 1e-3, ln 0.1): mean -4.61, sd 1.33 (/8 for 64) */
    ZT_CHECK(fabs(mA - 8.0) < 2.5, "init: mean exp(A_log) %g, U(0, 16) gives 8", mA);
    ZT_CHECK(fabs(mlogdt - log(1e-2)) < 0.7, "init: mean ln dt %g, log-uniform on [1e-3, 0.1] gives %g", mlogdt,
             log(1e-2));
    in_range(&b, "D", 64, 1.0, 1.0);
    in_range(&b, "o_norm.weight", 2, 1.0, 1.0);
    double mc = in_range(&b, "q_conv1d.weight", 64 * 4, -0.5, 0.5);
    ZT_CHECK(fabs(mc) < 0.1, "init: q_conv1d.weight mean %g, U(+-0.5) gives 0", mc);
    const float *w = zt_mixer_pdata(&b, "v_proj.weight");
    double ss = 0;
    for (int i = 0; w && i < 4096; i++)
        ss += (double)w[i] * w[i];
    ZT_CHECK(fabs(sqrt(ss / 4096) - 0.02) < 0.002, "init: v_proj.weight rms %g, N(0, 0.02^2) gives 0.02", sqrt(ss / 4096));
    zt_mixer_free(&b);
}

static int run_unit(const char *mixer, uint64_t seed)
{
    (void)seed;
    if (!strcmp(mixer, "delta_net")) {
        bad_knob(mixer, "num_heads=0", "num_heads", ZOO_ERR_INVALID);
        bad_knob(mixer, "num_heads=3", "num_heads", ZOO_ERR_INVALID);
        bad_knob(mixer, "expand_k=0", "expand_k", ZOO_ERR_INVALID);
        bad_knob(mixer, "expand_v=-1", "expand_v", ZOO_ERR_INVALID);
        bad_knob(mixer, "expand_v=0.25 num_heads=32", "num_heads", ZOO_ERR_INVALID); /* value_dim 16 */
        bad_knob(mixer, "conv_size=0", "conv_size", ZOO_ERR_INVALID);
        bad_knob(mixer, "qk_activation=tanh", "qk_activation", ZOO_ERR_INVALID);
        bad_knob(mixer, "qk_norm=sum", "qk_norm", ZOO_ERR_UNSUPPORTED);
        bad_knob(mixer, "qk_norm=l1", "qk_norm", ZOO_ERR_INVALID);
        bad_knob(mixer, "norm_eps=0", "norm_eps", ZOO_ERR_INVALID);

        /* state sizes at D = 64 */
        const char *kn[] = {"", "use_short_conv=false", "num_heads=8 expand_k=2 conv_size=2", "expand_v=0.5 num_heads=2"};
        double want[] = {state_count(4, 64, 64, 1, 4), state_count(4, 64, 64, 0, 4), state_count(8, 128, 64, 1, 2),
                         state_count(2, 64, 32, 1, 4)};
        for (int i = 0; i < 4; i++)
            ZT_CHECK(state_of(mixer, kn[i], 64, 64) == want[i], "delta_net %s: state_size %g, counted %g", kn[i],
                     state_of(mixer, kn[i], 64, 64), want[i]);
        ZT_CHECK(state_of(mixer, "", 64, 2048) == 1600, "delta_net: state_size depends on l_max (%g at 2048, want 1600)",
                 state_of(mixer, "", 64, 2048));

        static const zt_pshape dflt[] = {
            {"q_proj.weight", {64, 64}, 0},   {"k_proj.weight", {64, 64}, 0},     {"v_proj.weight", {64, 64}, 0},
            {"b_proj.weight", {4, 64}, 0},    {"q_conv1d.weight", {64, 1, 4}, 0}, {"k_conv1d.weight", {64, 1, 4}, 0},
            {"v_conv1d.weight", {64, 1, 4}, 0}, {"o_norm.weight", {16}, 0},       {"o_proj.weight", {64, 64}, 0},
        };
        names_shapes(mixer, "", dflt, 9);
        static const zt_pshape gated[] = {
            {"q_proj.weight", {32, 64}, 0},    {"k_proj.weight", {32, 64}, 0},      {"v_proj.weight", {128, 64}, 0},
            {"q_conv1d.weight", {32, 1, 4}, 0}, {"q_conv1d.bias", {32}, 0},          {"k_conv1d.weight", {32, 1, 4}, 0},
            {"k_conv1d.bias", {32}, 0},        {"v_conv1d.weight", {128, 1, 4}, 0}, {"v_conv1d.bias", {128}, 0},
            {"g_proj.weight", {128, 64}, 0},   {"o_norm.weight", {64}, 0},          {"o_proj.weight", {64, 128}, 0},
        };
        names_shapes(mixer, "use_beta=false use_gate=true expand_k=0.5 expand_v=2 num_heads=2 conv_bias=true", gated, 12);
        /* 2 layers at D=64, V=8192: embedding 524,288 + per layer the mixer (q, k, v, o
         * 4 x 4,096, b_proj 256, convs 3 x 256, o_norm 16) and two LayerNorms (256), + LN_f 128 */
        model_count(mixer, 524288 + 2 * (4 * 4096 + 256 + 3 * 256 + 16 + 256) + 128);
    } else {
        bad_knob(mixer, "num_heads=0", "num_heads", ZOO_ERR_INVALID);
        bad_knob(mixer, "num_heads=65", "num_heads", ZOO_ERR_INVALID);
        bad_knob(mixer, "expand_v=0", "expand_v", ZOO_ERR_INVALID);
        bad_knob(mixer, "conv_size=0", "conv_size", ZOO_ERR_INVALID);
        bad_knob(mixer, "norm_eps=-1", "norm_eps", ZOO_ERR_INVALID);

        /* head_dim = floor(64 / H): 10 for the default 6 heads */
        const char *kn[] = {"", "use_short_conv=false", "num_heads=4 expand_v=1 conv_size=3", "num_heads=7"};
        double want[] = {state_count(6, 60, 120, 1, 4), state_count(6, 60, 120, 0, 4), state_count(4, 64, 64, 1, 3),
                         state_count(7, 63, 126, 1, 4)};
        for (int i = 0; i < 4; i++)
            ZT_CHECK(state_of(mixer, kn[i], 64, 64) == want[i], "gated_delta_net %s: state_size %g, counted %g", kn[i],
                     state_of(mixer, kn[i], 64, 64), want[i]);

        static const zt_pshape dflt[] = {
            {"q_proj.weight", {60, 64}, 0},     {"k_proj.weight", {60, 64}, 0},      {"v_proj.weight", {120, 64}, 0},
            {"b_proj.weight", {6, 64}, 0},      {"a_proj.weight", {6, 64}, 0},       {"A_log", {6}, 0},
            {"D", {6}, 1},                      {"dt_bias", {6}, 0},                 {"q_conv1d.weight", {60, 1, 4}, 0},
            {"k_conv1d.weight", {60, 1, 4}, 0}, {"v_conv1d.weight", {120, 1, 4}, 0}, {"g_proj.weight", {120, 64}, 0},
            {"o_norm.weight", {20}, 0},         {"o_proj.weight", {64, 120}, 0},
        };
        names_shapes(mixer, "", dflt, 14);
        static const zt_pshape nogate[] = {
            {"q_proj.weight", {64, 64}, 0}, {"k_proj.weight", {64, 64}, 0}, {"v_proj.weight", {64, 64}, 0},
            {"b_proj.weight", {4, 64}, 0},  {"a_proj.weight", {4, 64}, 0},  {"A_log", {4}, 0},
            {"D", {4}, 1},                  {"dt_bias", {4}, 0},            {"o_norm.weight", {16}, 0},
            {"o_proj.weight", {64, 64}, 0},
        };
        names_shapes(mixer, "num_heads=4 expand_v=1 use_gate=false use_short_conv=false", nogate, 10);
        /* per layer: q, k 2 x 60 x 64, v, g 2 x 120 x 64, o 64 x 120, b, a 2 x 6 x 64,
         * A_log and dt_bias 2 x 6, convs 240 x 4, o_norm 20 (D is a buffer), LayerNorms 256 */
        model_count(mixer, 524288 + 2 * (2 * 3840 + 2 * 7680 + 7680 + 2 * 384 + 12 + 960 + 20 + 256) + 128);
        inits();
    }
    return zt_fails != 0;
}

int main(int argc, char **argv)
{
    static const zt_mode modes[] = {
        {"torchref", run_torchref}, {"gradcheck", run_gradcheck}, {"unit", run_unit}, {NULL, NULL}};
    const char *mixer = argc > 2 ? argv[2] : "";
    if (strcmp(mixer, "delta_net") && strcmp(mixer, "gated_delta_net")) {
        fprintf(stderr, "usage: %s torchref|gradcheck|unit delta_net|gated_delta_net\n", argv[0]);
        return 2;
    }
    return zt_main(argc, argv, NULL, 20250611, modes);
}
