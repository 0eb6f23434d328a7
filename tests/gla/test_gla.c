/* test_gla.c: the gla mixer plugin (docs/mixers.md, gla) as the model builds it. Modes:
 *   torchref  forward and every gradient against ref_gla.py, a float64 PyTorch module with
 *             Zoology's module tree running the recurrent form token by token; it loads
 *             zoo's parameters by state_dict name with strict=True (names, shapes and
 *             trainability checked) and counts the floats it carries between tokens,
 *             which must equal state_size;
 *   gradcheck every trainable parameter and x against finite differences;
 *   unit      knob refusals (one line naming the knob, same in build), state sizes from
 *             the formula, state_dict names and shapes, inits, and a 2-layer model's
 *             trainable count and state size. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mixer_test.h"

#define PREFIX ZT_MIXER_PREFIX

typedef struct gcase {
    const char *label, *knobs; /* knobs: "name=value ..." over the defaults */
    int64_t B, L, D;
} gcase;

static const gcase cases[] = {
    {"defaults D16 (4 heads, dk 2, dv 4)", "", 2, 9, 16},
    {"short convs k3 with bias, 2 heads, expand_k 1", "use_short_conv=true conv_size=3 conv_bias=true num_heads=2 "
     "expand_k=1.0", 1, 7, 8},
    {"no output gate, swish map, clamp, normalizer 4, rank 3", "use_output_gate=false feature_map=swish "
     "clamp_min=-0.15 gate_logit_normalizer=4 gate_low_rank_dim=3 num_heads=3", 2, 8, 12},
    {"sigmoid map, expand_v 0.5, short conv k2 no bias, eps 1e-3", "feature_map=sigmoid expand_v=0.5 num_heads=2 "
     "use_short_conv=true conv_size=2 norm_eps=1e-3", 1, 6, 8},
    {"relu map, 1 head, L=1", "feature_map=relu num_heads=1", 3, 1, 8},
    {"defaults L=40", "", 1, 40, 16},
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

/* Build gla with case c's knobs, then `extra`, on x = parameter "x" (B, L, D); not
 * planned. 0 ok. */
static int build_case(const gcase *c, const char *extra, zt_mixer *b)
{
    return zt_mixer_build(b, "gla", PREFIX, c->label, c->knobs, extra, (zoo_layer_info){0, 2, c->D, c->L, c->L, c->B});
}

/* ---- torchref and gradcheck ------------------------------------------------------------ */
/* Case i built with generic values (every trainable N(0, 0.3^2), x N(0, 1)); the long
 * case is for the recurrence's reach, which torchref covers. For finite differences:
 * the per-head RMSNorm divides by the rms of a head's output, which is small wherever
 * q_t . k_s nearly cancels (likely somewhere at dk = 2): there its f32 output rounding
 * over a finite-difference step swamps the derivative. A larger norm eps bounds that
 * gain; torchref checks the gradients at the knobs' own eps in float64. */
static int make_case(int i, int gradcheck, zt_mixer *b, uint64_t seed)
{
    if (gradcheck && cases[i].L > 16)
        return -1;
    return build_case(&cases[i], gradcheck ? "norm_eps=0.05" : "", b) || zt_mixer_plan_fill(b, seed, 0.3f);
}

static int run_torchref(const char *arg, uint64_t seed)
{
    (void)arg;
    return zt_mixer_torchref("gla", ZT_DIR "/ref_gla.py", NCASES, make_case, seed);
}

static int run_gradcheck(const char *arg, uint64_t seed)
{
    (void)arg;
    return zt_mixer_gradcheck(NCASES, make_case, seed);
}

/* ---- unit ------------------------------------------------------------------------------ */
/* A bad knob value: validate refuses with one line naming the mixer and the knob, and
 * build refuses the same way. */
static void bad_knob(const char *knobs, const char *knob, int64_t D)
{
    zt_mixer_bad_knob("gla", knobs, knob, NULL, (zoo_layer_info){0, 2, D, 8, 8, 1}, ZOO_ERR_INVALID);
}

static double state_of(const char *knobs, int64_t D)
{
    return zt_mixer_state("gla", knobs, (zoo_layer_info){0, 2, D, 64, 64, 1});
}

/* The reference state_dict of one layer at D = 64 (all trainable). */
static void names_shapes(const char *knobs, const zt_pshape *want, int n)
{
    zt_mixer_names("gla", PREFIX, knobs, (zoo_layer_info){0, 2, 64, 8, 8, 1}, want, n, 0, 0);
}

/* Mean and root mean square of a planned parameter's values (the model's init). */
static int moments(zoo_graph *g, const char *full, double *mean, double *rms)
{
    zoo_tensor *t = zoo_graph_find_param(g, full);
    if (!t)
        return 1;
    int64_t n = zoo_tensor_numel(t);
    float *v = malloc(sizeof(float) * (size_t)n);
    if (!v || zoo_tensor_get(t, v, 0, n)) {
        free(v);
        return 1;
    }
    double s = 0, ss = 0;
    for (int64_t i = 0; i < n; i++)
        s += v[i], ss += (double)v[i] * v[i];
    free(v);
    *mean = s / (double)n;
    *rms = sqrt(ss / (double)n);
    return 0;
}

/* The 2-layer model at D=64, L=64, V=8192 with the defaults: its trainable count from the
 * shapes, its state size, and the inits that are not the plain Linear rule. */
static void model_checks(void)
{
    zoo_model *m = zt_model("gla", NULL, NULL);
    if (!m)
        return;
    /* key_dim 32, value_dim 64, 4 heads: q, k 32x64; v, g, o 64x64; gk_proj 16x64 and
     * 32x16 + 32; the norm weight 16. Per layer 17,968 + 256 (norm1, norm2); embedding
     * 524,288 (no positions: not the attention family); ln_f 128. */
    int64_t mixer = 2 * 32 * 64 + 3 * 64 * 64 + 16 * 64 + 32 * 16 + 32 + 16;
    int64_t want = 8192 * 64 + 2 * (mixer + 256) + 128;
    ZT_CHECK(zoo_graph_count_trainable(m->g) == want, "model gla: %lld trainable, expected %lld",
             (long long)zoo_graph_count_trainable(m->g), (long long)want);
    /* 4 heads of an 8 x 16 state matrix per layer */
    ZT_CHECK(m->state_size == 2.0 * 4 * 8 * 16, "model gla: state size %g, expected %g", m->state_size,
             2.0 * 4 * 8 * 16);
    double mean, rms;
    const char *pre = "backbone.layers.1.sequence_mixer.";
    char name[160];
    snprintf(name, sizeof name, "%sg_norm_swish_gate.weight", pre);
    ZT_CHECK(!moments(m->g, name, &mean, &rms) && mean == 1.0 && rms == 1.0, "%s should start at 1", name);
    snprintf(name, sizeof name, "%sgk_proj.1.bias", pre);
    ZT_CHECK(!moments(m->g, name, &mean, &rms) && rms == 0.0, "%s should start at 0", name);
    /* o_proj is not matched by the depth-scaled re-draw (0.01 at 2 layers): N(0, 0.02^2) */
    snprintf(name, sizeof name, "%so_proj.weight", pre);
    ZT_CHECK(!moments(m->g, name, &mean, &rms) && rms > 0.017 && rms < 0.023, "%s: rms %.4g, want about 0.02", name,
             rms);
    snprintf(name, sizeof name, "%sgk_proj.0.weight", pre);
    ZT_CHECK(!moments(m->g, name, &mean, &rms) && rms > 0.016 && rms < 0.024, "%s: rms %.4g, want about 0.02", name,
             rms);
    zoo_model_free(m);
}

/* With the short convs: weight and bias U(+-1/sqrt(k)), PyTorch's Conv1d default. */
static void conv_init(void)
{
    gcase c = {"conv init", "use_short_conv=true conv_size=4 conv_bias=true", 1, 8, 64};
    zt_mixer b;
    if (build_case(&c, "", &b) || zt_check_rc(zoo_graph_plan(b.g, 3), "plan")) {
        ZT_CHECK(0, "gla conv init: build");
        zt_mixer_free(&b);
        return;
    }
    const char *names[] = {PREFIX "q_conv1d.weight", PREFIX "v_conv1d.bias"};
    for (int i = 0; i < 2; i++) {
        zoo_tensor *t = zoo_graph_find_param(b.g, names[i]);
        const float *v = t ? zoo_tensor_data(t) : NULL;
        double lo = 1, hi = -1;
        for (int64_t j = 0; v && j < zoo_tensor_numel(t); j++)
            lo = v[j] < lo ? v[j] : lo, hi = v[j] > hi ? v[j] : hi;
        ZT_CHECK(v && lo >= -0.5 && hi <= 0.5 && hi - lo > 0.5, "%s: values in [%g, %g], want U(-0.5, 0.5)", names[i],
                 lo, hi);
    }
    zt_mixer_free(&b);
}

static int run_unit(const char *arg, uint64_t seed)
{
    (void)arg, (void)seed;
    bad_knob("num_heads=0", "num_heads", 64);
    bad_knob("num_heads=3", "num_heads", 64);  /* key_dim 32 */
    bad_knob("expand_v=0.5625 num_heads=8", "value_dim", 64); /* key_dim 32, value_dim 36 */
    bad_knob("expand_k=0", "expand_k", 64);
    bad_knob("expand_k=0.01", "expand_k", 64); /* key_dim int(0.64) = 0 */
    bad_knob("expand_v=-1", "expand_v", 64);
    bad_knob("expand_v=1e300", "expand_v", 64); /* refused, not cast (undefined) */
    bad_knob("gate_logit_normalizer=1e-300", "gate_logit_normalizer", 64);
    bad_knob("clamp_min=-1e300", "clamp_min", 64);
    bad_knob("feature_map=elu", "feature_map", 64);
    bad_knob("conv_size=0", "conv_size", 64);
    bad_knob("norm_eps=0", "norm_eps", 64);
    bad_knob("gate_logit_normalizer=-16", "gate_logit_normalizer", 64);
    bad_knob("gate_low_rank_dim=0", "gate_low_rank_dim", 64);
    bad_knob("clamp_min=0.5", "clamp_min", 64);

    /* State per layer = heads x head_k_dim x head_v_dim, plus (k - 1) inputs per channel of
     * the q, k and v convs when they are on. D = 64 unless noted. */
    ZT_CHECK(state_of("", 64) == 4 * 8 * 16, "defaults: 4 heads x 8 x 16 = 512, got %g", state_of("", 64));
    ZT_CHECK(state_of("num_heads=1", 64) == 1 * 32 * 64, "1 head: 32 x 64");
    ZT_CHECK(state_of("num_heads=8 expand_k=1 expand_v=2", 64) == 8 * 8 * 16, "8 heads: 8 x 8 x 16");
    ZT_CHECK(state_of("use_short_conv=true", 64) == 512 + 3 * (32 + 32 + 64),
             "short convs k=4: 512 + 3 x (32 + 32 + 64) = 896, got %g", state_of("use_short_conv=true", 64));
    ZT_CHECK(state_of("use_short_conv=true conv_size=1", 64) == 512, "conv_size 1 carries no input");
    ZT_CHECK(state_of("expand_k=0.3 num_heads=1", 10) == 3 * 10,
             "expand_k 0.3 at D 10: key_dim int(3.0000000000000004) = 3, 1 head: 3 x 10");

    static const zt_pshape defaults[] = {
        {"q_proj.weight", {32, 64}, 0},     {"k_proj.weight", {32, 64}, 0},  {"v_proj.weight", {64, 64}, 0},
        {"g_proj.weight", {64, 64}, 0},     {"gk_proj.0.weight", {16, 64}, 0}, {"gk_proj.1.weight", {32, 16}, 0},
        {"gk_proj.1.bias", {32}, 0},        {"o_proj.weight", {64, 64}, 0},  {"g_norm_swish_gate.weight", {16}, 0},
    };
    names_shapes("", defaults, (int)(sizeof defaults / sizeof defaults[0]));
    static const zt_pshape conv[] = {
        {"q_proj.weight", {32, 64}, 0},        {"k_proj.weight", {32, 64}, 0},        {"v_proj.weight", {64, 64}, 0},
        {"g_proj.weight", {64, 64}, 0},        {"q_conv1d.weight", {32, 1, 4}, 0},    {"k_conv1d.weight", {32, 1, 4}, 0},
        {"v_conv1d.weight", {64, 1, 4}, 0},    {"gk_proj.0.weight", {16, 64}, 0},     {"gk_proj.1.weight", {32, 16}, 0},
        {"gk_proj.1.bias", {32}, 0},           {"o_proj.weight", {64, 64}, 0},        {"g_norm_swish_gate.weight", {16}, 0},
    };
    names_shapes("use_short_conv=true", conv, (int)(sizeof conv / sizeof conv[0]));
    static const zt_pshape nogate[] = {
        {"q_proj.weight", {64, 64}, 0},   {"k_proj.weight", {64, 64}, 0},   {"v_proj.weight", {64, 64}, 0},
        {"q_conv1d.weight", {64, 1, 2}, 0}, {"q_conv1d.bias", {64}, 0},     {"k_conv1d.weight", {64, 1, 2}, 0},
        {"k_conv1d.bias", {64}, 0},       {"v_conv1d.weight", {64, 1, 2}, 0}, {"v_conv1d.bias", {64}, 0},
        {"gk_proj.0.weight", {5, 64}, 0}, {"gk_proj.1.weight", {64, 5}, 0}, {"gk_proj.1.bias", {64}, 0},
        {"o_proj.weight", {64, 64}, 0},   {"g_norm.weight", {32}, 0},
    };
    names_shapes("use_output_gate=false use_short_conv=true conv_size=2 conv_bias=true expand_k=1 num_heads=2 "
                 "gate_low_rank_dim=5",
                 nogate, (int)(sizeof nogate / sizeof nogate[0]));
    conv_init();
    model_checks();
    return zt_fails != 0;
}

int main(int argc, char **argv)
{
    static const zt_mode modes[] = {
        {"torchref", run_torchref}, {"gradcheck", run_gradcheck}, {"unit", run_unit}, {NULL, NULL}};
    return zt_main(argc, argv, "gla", 20240611, modes);
}
