/* test_mamba2.c: the mamba2 mixer plugin (docs/mixers.md, mamba2). Modes:
 *   torchref  forward and every gradient against ref_mamba2.py, a float64 PyTorch module
 *             with the Zoology module's tree (loaded by state_dict name, strict), run in
 *             its recurrent step form; the reference also checks its own SSD dual
 *             (quadratic) form and that the state it carries has zoo's state_size;
 *   gradcheck every trainable parameter against finite differences;
 *   unit      knob refusals (one line naming the knob, the same from build), state sizes
 *             against counts written out here, state_dict names and shapes, the
 *             constructor inits, and a 2-layer model's trainable count, block and state. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mixer_test.h"

#define PREFIX "backbone.layers.0.mixer."

typedef struct mcase {
    const char *label, *knobs; /* knobs: "name=value ..." over the defaults */
    int64_t B, L, D;
} mcase;

static const mcase cases[] = {
    {"4 heads of 4, N5", "headdim=4 d_state=5", 2, 9, 8},
    {"2 groups, d_conv 3, biases, no conv bias", "headdim=4 d_state=3 ngroups=2 d_conv=3 bias=true conv_bias=false", 2,
     9, 8},
    {"d_ssm 8 (gated MLP), D per channel, norm before gate, 4 groups",
     "headdim=2 d_state=3 d_ssm=8 ngroups=4 D_has_hdim=true norm_before_gate=true", 2, 8, 8},
    {"no rmsnorm, expand 1, headdim 3", "headdim=3 d_state=4 expand=1 rmsnorm=false", 2, 7, 6},
    {"one head, d_conv 1", "headdim=4 d_state=6 expand=1 d_conv=1", 1, 6, 4},
    {"L=1", "headdim=8 d_state=4", 3, 1, 8},
    {"L=70", "headdim=4 d_state=4", 1, 70, 4},
    {"L=150, 2 groups", "headdim=2 d_state=3 ngroups=2", 1, 150, 4},
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

/* The mixer of case c on x = parameter "x" (B, L, D); not planned. 0 ok. */
static int build_case(const mcase *c, zt_mixer *b)
{
    return zt_mixer_build(b, "mamba2", PREFIX, c->label, c->knobs, NULL, (zoo_layer_info){0, 2, c->D, c->L, c->L, c->B});
}

/* Generic values (every trainable N(0, 0.3^2), x N(0, 1)), then step sizes and decays
 * spread as the init spreads them, so some heads keep their state over many tokens
 * (softplus(dt_bias) from 0.02 to 1.3, A from -1 to -16). */
static int plan_fill(zt_mixer *b, uint64_t seed)
{
    if (zt_mixer_plan_fill(b, seed, 0.3f))
        return 1;
    zoo_tensor *dtb = zt_mixer_param(b, "dt_bias"), *al = zt_mixer_param(b, "A_log");
    zt_fill_uniform(zoo_tensor_data(dtb), zoo_tensor_numel(dtb), seed + 2, -4.0f, 1.0f);
    zt_fill_uniform(zoo_tensor_data(al), zoo_tensor_numel(al), seed + 3, 0.0f, logf(16.0f));
    return 0;
}

/* ---- torchref and gradcheck ------------------------------------------------------------ */
/* Case i built and filled; the long cases exist for the kernel's chunks: torchref covers
 * them. */
static int make_case(int i, int gradcheck, zt_mixer *b, uint64_t seed)
{
    if (gradcheck && cases[i].L > 16)
        return -1;
    return build_case(&cases[i], b) || plan_fill(b, seed);
}

static int run_torchref(const char *arg, uint64_t seed)
{
    (void)arg;
    return zt_mixer_torchref("mamba2", ZT_DIR "/ref_mamba2.py", NCASES, make_case, seed);
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
    zt_mixer_bad_knob("mamba2", knobs, knob, NULL, (zoo_layer_info){0, 2, D, 8, 8, 1}, ZOO_ERR_INVALID);
}

static double state_of(const char *knobs, int64_t D)
{
    return zt_mixer_state("mamba2", knobs, (zoo_layer_info){0, 2, D, 64, 64, 1});
}

/* The reference state_dict of one layer at D = 64, in its order: every name and shape, all
 * trainable. */
static void names_shapes(const char *knobs, const zt_pshape *want, int n)
{
    zt_mixer_names("mamba2", PREFIX, knobs, (zoo_layer_info){0, 2, 64, 8, 8, 1}, want, n, 0, 1);
}

/* Constructor values: dt_bias the inverse softplus of dt in [dt_min, dt_max] (floored),
 * A_log = ln U[A_init_range], D and norm.weight 1, the conv U(+-1/sqrt(d_conv)) or
 * U(+-conv_init), the Linears N(0, 0.02^2). */
static void inits(const char *knobs, double dt_lo, double dt_hi, int dt_spread, double a_lo, double a_hi, double conv_w)
{
    mcase c = {knobs, knobs, 1, 8, 64};
    zt_mixer b;
    if (build_case(&c, &b) || zt_check_rc(zoo_graph_plan(b.g, 11), "plan")) {
        ZT_CHECK(0, "inits (%s): build", knobs);
        zt_mixer_free(&b);
        return;
    }
    zoo_tensor *dtb = zt_mixer_param(&b, "dt_bias"), *al = zt_mixer_param(&b, "A_log"), *Dp = zt_mixer_param(&b, "D");
    zoo_tensor *nw = zt_mixer_param(&b, "norm.weight"), *cw = zt_mixer_param(&b, "conv1d.weight");
    zoo_tensor *cb = zt_mixer_param(&b, "conv1d.bias"), *ip = zt_mixer_param(&b, "in_proj.weight");
    const float *v = zoo_tensor_data(dtb);
    double mn = 1e30, mx = -1e30;
    for (int64_t i = 0; i < zoo_tensor_numel(dtb); i++) {
        double dt = log1p(exp((double)v[i]));
        mn = fmin(mn, dt), mx = fmax(mx, dt);
    }
    ZT_CHECK(mn >= dt_lo * (1 - 1e-5) && mx <= dt_hi * (1 + 1e-5) && (mx > mn) == dt_spread,
             "inits (%s): softplus(dt_bias) spans [%g, %g], want %s in [%g, %g]", knobs, mn, mx,
             dt_spread ? "distinct values" : "one value", dt_lo, dt_hi);
    v = zoo_tensor_data(al);
    mn = 1e30, mx = -1e30;
    for (int64_t i = 0; i < zoo_tensor_numel(al); i++)
        mn = fmin(mn, exp((double)v[i])), mx = fmax(mx, exp((double)v[i]));
    ZT_CHECK(mn >= a_lo * (1 - 1e-5) && mx <= a_hi * (1 + 1e-5) && mx > mn,
             "inits (%s): exp(A_log) spans [%g, %g], want distinct values in [%g, %g]", knobs, mn, mx, a_lo, a_hi);
    for (int64_t i = 0; i < zoo_tensor_numel(Dp); i++)
        ZT_CHECK(zoo_tensor_data(Dp)[i] == 1.0f, "inits (%s): D[%lld] = %g, want 1", knobs, (long long)i,
                 zoo_tensor_data(Dp)[i]);
    for (int64_t i = 0; nw && i < zoo_tensor_numel(nw); i++)
        ZT_CHECK(zoo_tensor_data(nw)[i] == 1.0f, "inits (%s): norm.weight[%lld] = %g, want 1", knobs, (long long)i,
                 zoo_tensor_data(nw)[i]);
    double amax = 0;
    for (int64_t i = 0; i < zoo_tensor_numel(cw); i++)
        amax = fmax(amax, fabs(zoo_tensor_data(cw)[i]));
    ZT_CHECK(amax <= conv_w && amax > 0.8 * conv_w, "inits (%s): |conv1d.weight| reaches %g, want U(+-%g)", knobs, amax,
             conv_w);
    amax = 0;
    for (int64_t i = 0; cb && i < zoo_tensor_numel(cb); i++)
        amax = fmax(amax, fabs(zoo_tensor_data(cb)[i]));
    ZT_CHECK(!cb || (amax <= 0.5 && amax > 0.4), "inits (%s): |conv1d.bias| reaches %g, want U(+-1/sqrt(4))", knobs,
             amax);
    double ss = 0;
    for (int64_t i = 0; i < zoo_tensor_numel(ip); i++)
        ss += (double)zoo_tensor_data(ip)[i] * zoo_tensor_data(ip)[i];
    ss = sqrt(ss / (double)zoo_tensor_numel(ip));
    ZT_CHECK(ss > 0.018 && ss < 0.022, "inits (%s): in_proj.weight rms %g, want N(0, 0.02^2)", knobs, ss);
    zt_mixer_free(&b);
}

/* A 2-layer model at D=64, L=64, V=8192 with the defaults: its trainable count, its
 * block (a MambaBlock: one RMSNorm weight, parameters under backbone.layers.l.mixer.) and
 * its summed state size. */
static void model_check(void)
{
    zoo_model *m = zt_model("mamba2", NULL, NULL);
    if (!m)
        return;
    /* Per layer: in_proj (2*128 + 2*128 + 2) x 64, conv (384 x 4 + 384), dt_bias, A_log, D
     * (2 each), norm.weight 128, out_proj 64 x 128, the block's RMSNorm 64. */
    int64_t layer = 514 * 64 + 384 * 4 + 384 + 3 * 2 + 128 + 64 * 128 + 64;
    int64_t want = 8192 * 64 + 2 * layer + 2 * 64;
    ZT_CHECK(zoo_graph_count_trainable(m->g) == want, "model mamba2 at D=64 L=64 V=8192: %lld trainable, expected %lld",
             (long long)zoo_graph_count_trainable(m->g), (long long)want);
    ZT_CHECK(zoo_graph_find_param(m->g, "backbone.layers.1.mixer.A_log") &&
                 zoo_graph_find_param(m->g, "backbone.layers.1.norm.weight") &&
                 !zoo_graph_find_param(m->g, "backbone.layers.1.norm1.weight"),
             "model mamba2: not in Mamba blocks (backbone.layers.l.mixer., RMSNorm norm)");
    ZT_CHECK(m->state_size == 2.0 * (2 * 64 * 128 + 3 * 384), "model mamba2: state %g, want 2 layers x 17,536",
             m->state_size);
    zoo_model_free(m);
}

static int run_unit(const char *arg, uint64_t seed)
{
    (void)arg, (void)seed;
    bad_knob("d_state=0", "d_state", 64);
    bad_knob("d_conv=0", "d_conv", 64);
    bad_knob("expand=0", "expand", 64);
    bad_knob("headdim=48", "headdim", 64);
    bad_knob("headdim=0", "headdim", 64);
    bad_knob("", "headdim", 16); /* d_inner 32 < headdim 64 */
    bad_knob("d_ssm=100 headdim=4", "d_ssm", 32);
    bad_knob("d_ssm=-1", "d_ssm", 64);
    bad_knob("ngroups=3", "ngroups", 64);
    bad_knob("ngroups=0", "ngroups", 64);
    bad_knob("A_init_range=[0,16]", "A_init_range", 64);
    bad_knob("A_init_range=[8,2]", "A_init_range", 64);
    bad_knob("A_init_range=[1,4,16]", "A_init_range", 64);
    bad_knob("dt_min=0", "dt_min", 64);
    bad_knob("dt_min=0.2", "dt_max", 64);
    bad_knob("dt_init_floor=0", "dt_init_floor", 64);
    bad_knob("conv_init=-0.1", "conv_init", 64);
    bad_knob("d_state=2000000", "d_state", 64);
    bad_knob("headdim=1 expand=128", "headdim", 64); /* 8192 heads */
    bad_knob("expand=4611686018427387904", "expand", 64); /* would overflow expand * d_model */
    /* the suggested headdim divides d_ssm */
    {
        zoo_plugin *p = NULL;
        zoo_hvals *h = NULL;
        char msg[512] = "";
        if (!zoo_plugin_find("mamba2", &p) && !zoo_hvals_new(p->mixer, &h) && !zt_set_knobs(h, "headdim=48")) {
            zoo_layer_info li = {0, 2, 64, 8, 8, 1};
            p->mixer->validate(h, &li, msg, sizeof msg);
        }
        ZT_CHECK(strstr(msg, "such as 32"), "headdim=48 at d_ssm 128 should suggest 32: '%s'", msg);
        zoo_hvals_free(h);
        zoo_plugin_close(p);
    }

    /* state per layer, counted here: heads x headdim x d_state for the SSM states, plus
     * d_conv - 1 past inputs of each conv channel (x, then B and C per group) */
    double s = state_of("", 64);
    ZT_CHECK(s == 2 * 64 * 128 + 3 * (128 + 2 * 128), "defaults at D=64: state %g, want 17536", s);
    s = state_of("d_ssm=64 headdim=16 d_state=8 ngroups=2 d_conv=2", 64);
    ZT_CHECK(s == 4 * 16 * 8 + 1 * (64 + 2 * 2 * 8), "d_ssm 64, 4 heads of 16, N 8, 2 groups, d_conv 2: state %g", s);
    s = state_of("expand=1 headdim=8 d_state=16 d_conv=1", 32);
    ZT_CHECK(s == 4 * 8 * 16, "d_conv 1 keeps no conv window: state %g, want 512", s);

    static const zt_pshape def[] = {
        {"dt_bias", {2}, 0},       {"A_log", {2}, 0},         {"D", {2}, 0},           {"in_proj.weight", {514, 64}, 0},
        {"conv1d.weight", {384, 1, 4}, 0}, {"conv1d.bias", {384}, 0}, {"norm.weight", {128}, 0}, {"out_proj.weight", {64, 128}, 0},
    };
    names_shapes("", def, 8);
    /* d_ssm 64 of 128: 4 heads of 16, 2 groups of N 8: in_proj 2*128 + 2*2*8 + 4 = 292 */
    static const zt_pshape var[] = {
        {"dt_bias", {4}, 0},       {"A_log", {4}, 0},          {"D", {64}, 0},           {"in_proj.weight", {292, 64}, 0},
        {"in_proj.bias", {292}, 0}, {"conv1d.weight", {96, 1, 3}, 0}, {"out_proj.weight", {64, 128}, 0}, {"out_proj.bias", {64}, 0},
    };
    names_shapes("d_ssm=64 headdim=16 d_state=8 ngroups=2 d_conv=3 bias=true conv_bias=false D_has_hdim=true "
                 "rmsnorm=false",
                 var, 8);

    inits("headdim=2", 0.001, 0.1, 1, 1, 16, 0.5);
    inits("headdim=2 dt_min=0.01 dt_max=0.02 A_init_range=[2,3] conv_init=0.1", 0.01, 0.02, 1, 2, 3, 0.1);
    inits("headdim=2 dt_min=1e-6 dt_max=1e-5 dt_init_floor=1e-3", 1e-3, 1e-3, 0, 1, 16, 0.5); /* all floored */

    model_check();
    return zt_fails != 0;
}

int main(int argc, char **argv)
{
    static const zt_mode modes[] = {
        {"torchref", run_torchref}, {"gradcheck", run_gradcheck}, {"unit", run_unit}, {NULL, NULL}};
    return zt_main(argc, argv, "mamba2", 20240921, modes);
}
