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

#include "testlib.h"
#include "zoo/plugin.h"
#include "zoo/run.h"

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

static int set_knobs(zoo_hvals *h, const char *knobs)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", knobs);
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            return 1;
        *eq = 0;
        if (zoo_hvals_set(h, tok, eq + 1)) {
            fprintf(stderr, "FAIL: knob %s=%s: %s\n", tok, eq + 1, zoo_error_last()->msg);
            return 1;
        }
    }
    return 0;
}

typedef struct built {
    zoo_plugin *p;
    zoo_hvals *h;
    zoo_graph *g;
    zoo_tensor *x, *y;
    zoo_layer_info li;
} built;

static void built_free(built *b)
{
    zoo_graph_free(b->g);
    zoo_hvals_free(b->h);
    zoo_plugin_close(b->p);
    memset(b, 0, sizeof *b);
}

/* The mixer of case c on x = parameter "x" (B, L, D); not planned. 0 ok. */
static int build_case(const mcase *c, built *b)
{
    memset(b, 0, sizeof *b);
    if (zoo_plugin_find("mamba2", &b->p) || zoo_hvals_new(b->p->mixer, &b->h) || set_knobs(b->h, c->knobs)) {
        fprintf(stderr, "FAIL [%s]: cannot load the plugin: %s\n", c->label, zoo_error_last()->msg);
        return 1;
    }
    b->li = (zoo_layer_info){0, 2, c->D, c->L, c->L, c->B};
    b->g = zoo_graph_new(ZOO_BACKEND_CPU);
    b->x = zoo_param(b->g, "x", 3, (int64_t[]){c->B, c->L, c->D}, zoo_init_zeros());
    zoo_graph_set_prefix(b->g, PREFIX);
    int rc = b->p->mixer->build(b->g, b->h, &b->li, b->x, &b->y);
    zoo_graph_set_prefix(b->g, "");
    if (rc || !b->y) {
        fprintf(stderr, "FAIL [%s]: build: %s\n", c->label, zoo_graph_error(b->g));
        return 1;
    }
    return 0;
}

static zoo_tensor *param_of(zoo_graph *g, const char *rel)
{
    char name[256];
    snprintf(name, sizeof name, PREFIX "%s", rel);
    return zoo_graph_find_param(g, name);
}

/* Generic values (every trainable N(0, 0.3^2), x N(0, 1)), then step sizes and decays
 * spread as the init spreads them, so some heads keep their state over many tokens
 * (softplus(dt_bias) from 0.02 to 1.3, A from -1 to -16). */
static int plan_fill(built *b, uint64_t seed)
{
    if (zt_check_rc(zoo_graph_plan(b->g, seed), "plan"))
        return 1;
    zt_fill_params(b->g, seed, 0.3f);
    zt_fill_normal(zoo_tensor_data(b->x), zoo_tensor_numel(b->x), seed + 1, 1.0f);
    zoo_tensor *dtb = param_of(b->g, "dt_bias"), *al = param_of(b->g, "A_log");
    zt_fill_uniform(zoo_tensor_data(dtb), zoo_tensor_numel(dtb), seed + 2, -4.0f, 1.0f);
    zt_fill_uniform(zoo_tensor_data(al), zoo_tensor_numel(al), seed + 3, 0.0f, logf(16.0f));
    return 0;
}

/* ---- torchref ------------------------------------------------------------------------ */
static int write_config(const char *dir, const mcase *c, const built *b)
{
    char path[1200], knobs[1024];
    snprintf(path, sizeof path, "%s/config.json", dir);
    zoo_hvals_format(b->h, knobs, sizeof knobs);
    FILE *f = fopen(path, "w");
    if (!f)
        return 1;
    fprintf(f, "{\"knobs\": \"%s\", \"B\": %lld, \"L\": %lld, \"D\": %lld, \"prefix\": \"%s\", \"label\": \"%s\", "
               "\"state_size\": %.17g}\n",
            knobs, (long long)c->B, (long long)c->L, (long long)c->D, PREFIX, c->label,
            b->p->mixer->state_size(b->h, &b->li));
    return fclose(f) != 0;
}

static int run_torchref(uint64_t seed)
{
    char root[1024];
    if (zt_tmpdir(root, sizeof root, "mamba2"))
        return 1;
    int bad = 0;
    for (int i = 0; i < NCASES && !bad; i++) {
        built b;
        bad = build_case(&cases[i], &b) || plan_fill(&b, seed + (uint64_t)i);
        if (!bad) {
            char sub[1100];
            snprintf(sub, sizeof sub, "%s/case%02d", root, i);
            zt_dump *d = zt_dump_open(sub, NULL);
            bad = !d || write_config(sub, &cases[i], &b) || zt_torchref(d, b.g, b.y, seed + (uint64_t)i, NULL);
        }
        built_free(&b);
    }
    char args[1100];
    snprintf(args, sizeof args, "'%s'", root);
    int rc = bad ? 1 : zt_python(ZT_DIR "/ref_mamba2.py", args);
    if (rc == 0 || rc == ZT_SKIP)
        zt_rmtree(root);
    else
        fprintf(stderr, "  (reference inputs kept in %s)\n", root);
    return rc;
}

/* ---- gradcheck ------------------------------------------------------------------------ */
static int run_gradcheck(uint64_t seed)
{
    int bad = 0;
    for (int i = 0; i < NCASES; i++) {
        if (cases[i].L > 16) /* the long cases exist for the kernel's chunks; torchref covers them */
            continue;
        built b;
        int fail = build_case(&cases[i], &b) || plan_fill(&b, seed + (uint64_t)i) ||
                   zt_check_rc(zoo_graph_forward(b.g), "forward") || zt_gradcheck(b.g, b.y, seed, 12, 0, 0, 0);
        if (fail)
            fprintf(stderr, "  in case [%s]\n", cases[i].label);
        bad |= fail;
        built_free(&b);
    }
    return bad;
}

/* ---- unit ------------------------------------------------------------------------------ */
/* A bad knob value: validate refuses with one line naming the mixer and the knob, and
 * build refuses the same way. */
static void bad_knob(const char *knobs, const char *knob, int64_t D)
{
    zoo_plugin *p = NULL;
    zoo_hvals *h = NULL;
    if (zoo_plugin_find("mamba2", &p) || zoo_hvals_new(p->mixer, &h) || set_knobs(h, knobs)) {
        ZT_CHECK(0, "cannot load mamba2 or set %s", knobs);
        zoo_hvals_free(h);
        zoo_plugin_close(p);
        return;
    }
    zoo_layer_info li = {0, 2, D, 8, 8, 1};
    char msg[512] = "";
    int rc = p->mixer->validate(h, &li, msg, sizeof msg);
    ZT_CHECK(rc == ZOO_ERR_INVALID && strstr(msg, "'mamba2'") && strstr(msg, knob) && !strchr(msg, '\n'),
             "%s: validate gave %d '%s' (want one line naming 'mamba2' and %s)", knobs, rc, msg, knob);
    built b;
    memset(&b, 0, sizeof b);
    b.p = p;
    b.h = h;
    b.g = zoo_graph_new(ZOO_BACKEND_CPU);
    b.x = zoo_param(b.g, "x", 3, (int64_t[]){1, 8, D}, zoo_init_zeros());
    rc = p->mixer->build(b.g, h, &li, b.x, &b.y);
    ZT_CHECK(rc == ZOO_ERR_INVALID && strstr(zoo_graph_error(b.g), knob), "%s: build gave %d '%s'", knobs, rc,
             zoo_graph_error(b.g));
    built_free(&b);
}

static double state_of(const char *knobs, int64_t D)
{
    zoo_plugin *p = NULL;
    zoo_hvals *h = NULL;
    double s = -1;
    if (!zoo_plugin_find("mamba2", &p) && !zoo_hvals_new(p->mixer, &h) && !set_knobs(h, knobs) && p->mixer->state_size) {
        zoo_layer_info li = {0, 2, D, 64, 64, 1};
        s = p->mixer->state_size(h, &li);
    }
    zoo_hvals_free(h);
    zoo_plugin_close(p);
    return s;
}

typedef struct pshape {
    const char *name;
    int64_t s[3];
} pshape;

/* The reference state_dict of one layer at D = 64, in its order: every name and shape, all
 * trainable. */
static void names_shapes(const char *knobs, const pshape *want, int n)
{
    mcase c = {knobs, knobs, 1, 8, 64};
    built b;
    if (build_case(&c, &b)) {
        ZT_CHECK(0, "names (%s): build", knobs);
        built_free(&b);
        return;
    }
    ZT_CHECK(zoo_graph_nparams(b.g) == n + 1, "names (%s): %d parameters, the reference lists %d", knobs,
             zoo_graph_nparams(b.g) - 1, n);
    for (int i = 0; i < n; i++) {
        zoo_tensor *t = param_of(b.g, want[i].name);
        int nd = 0;
        while (nd < 3 && want[i].s[nd])
            nd++;
        int ok = t && zoo_tensor_ndim(t) == nd && zoo_tensor_is_trainable(t);
        for (int d = 0; ok && d < nd; d++)
            ok = zoo_tensor_dim(t, d) == want[i].s[d];
        ZT_CHECK(ok, "names (%s): %s%s missing, misshaped or frozen", knobs, PREFIX, want[i].name);
        /* creation order is the Zoology state_dict's, so checkpoints list names in its order */
        ZT_CHECK(t && zoo_graph_param(b.g, i + 1) == t, "names (%s): %s is not parameter %d", knobs, want[i].name,
                 i + 1);
    }
    built_free(&b);
}

/* Constructor values: dt_bias the inverse softplus of dt in [dt_min, dt_max] (floored),
 * A_log = ln U[A_init_range], D and norm.weight 1, the conv U(+-1/sqrt(d_conv)) or
 * U(+-conv_init), the Linears N(0, 0.02^2). */
static void inits(const char *knobs, double dt_lo, double dt_hi, int dt_spread, double a_lo, double a_hi, double conv_w)
{
    mcase c = {knobs, knobs, 1, 8, 64};
    built b;
    if (build_case(&c, &b) || zt_check_rc(zoo_graph_plan(b.g, 11), "plan")) {
        ZT_CHECK(0, "inits (%s): build", knobs);
        built_free(&b);
        return;
    }
    zoo_tensor *dtb = param_of(b.g, "dt_bias"), *al = param_of(b.g, "A_log"), *Dp = param_of(b.g, "D");
    zoo_tensor *nw = param_of(b.g, "norm.weight"), *cw = param_of(b.g, "conv1d.weight");
    zoo_tensor *cb = param_of(b.g, "conv1d.bias"), *ip = param_of(b.g, "in_proj.weight");
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
    built_free(&b);
}

/* A 2-layer model at D=64, L=64, V=8192 with the defaults: its trainable count, its
 * block (a MambaBlock: one RMSNorm weight, parameters under backbone.layers.l.mixer.) and
 * its summed state size. */
static void model_check(void)
{
    zoo_run_spec s;
    zoo_run_spec_default(&s);
    zoo_model *m = NULL;
    int rc = zoo_run_spec_set(&s, "mixer", "mamba2");
    if (!rc)
        rc = zoo_model_build(&s, 2, 8, &m);
    ZT_CHECK(!rc, "model mamba2: %s", zoo_error_last()->msg);
    if (rc)
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

static int run_unit(void)
{
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
        if (!zoo_plugin_find("mamba2", &p) && !zoo_hvals_new(p->mixer, &h) && !set_knobs(h, "headdim=48")) {
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

    static const pshape def[] = {
        {"dt_bias", {2}},       {"A_log", {2}},         {"D", {2}},           {"in_proj.weight", {514, 64}},
        {"conv1d.weight", {384, 1, 4}}, {"conv1d.bias", {384}}, {"norm.weight", {128}}, {"out_proj.weight", {64, 128}},
    };
    names_shapes("", def, 8);
    /* d_ssm 64 of 128: 4 heads of 16, 2 groups of N 8: in_proj 2*128 + 2*2*8 + 4 = 292 */
    static const pshape var[] = {
        {"dt_bias", {4}},       {"A_log", {4}},          {"D", {64}},           {"in_proj.weight", {292, 64}},
        {"in_proj.bias", {292}}, {"conv1d.weight", {96, 1, 3}}, {"out_proj.weight", {64, 128}}, {"out_proj.bias", {64}},
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
    const char *mode = argc > 1 ? argv[1] : "";
    uint64_t seed = 20240921;
    int bad;
    zoo_set_threads(2);
    if (!strcmp(mode, "torchref")) {
        int rc = run_torchref(seed);
        if (rc == ZT_SKIP)
            return ZT_SKIP;
        bad = rc != 0;
    } else if (!strcmp(mode, "gradcheck")) {
        bad = run_gradcheck(seed);
    } else if (!strcmp(mode, "unit")) {
        bad = run_unit();
    } else {
        fprintf(stderr, "usage: %s torchref|gradcheck|unit\n", argv[0]);
        return 2;
    }
    printf("mamba2 %s: %s\n", mode, bad ? "FAIL" : "ok");
    return bad ? 1 : 0;
}
