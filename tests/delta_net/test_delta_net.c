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

#include "testlib.h"
#include "zoo/plugin.h"
#include "zoo/run.h"

#define PREFIX "backbone.layers.0.sequence_mixer."

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

/* Build case c's mixer on x = parameter "x" (B, L, D); not planned. 0 ok. */
static int build_case(const mcase *c, built *b)
{
    memset(b, 0, sizeof *b);
    if (zoo_plugin_find(c->mixer, &b->p) || zoo_hvals_new(b->p->mixer, &b->h) || set_knobs(b->h, c->knobs)) {
        fprintf(stderr, "FAIL [%s]: cannot load the plugin: %s\n", c->label, zoo_error_last()->msg);
        return 1;
    }
    b->li = (zoo_layer_info){c->layer, 2, c->D, c->L, c->L, c->B};
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

static float *pdata(zoo_graph *g, const char *rel)
{
    char name[256];
    snprintf(name, sizeof name, PREFIX "%s", rel);
    zoo_tensor *t = zoo_graph_find_param(g, name);
    return t ? zoo_tensor_data(t) : NULL;
}

/* Generic values: every trainable N(0, 0.3^2), x N(0, 1). */
static int plan_fill(built *b, uint64_t seed)
{
    if (zt_check_rc(zoo_graph_plan(b->g, seed), "plan"))
        return 1;
    zt_fill_params(b->g, seed, 0.3f);
    zt_fill_normal(zoo_tensor_data(b->x), zoo_tensor_numel(b->x), seed + 1, 1.0f);
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
    fprintf(f, "{\"mixer\": \"%s\", \"knobs\": \"%s\", \"B\": %lld, \"L\": %lld, \"D\": %lld, \"state_size\": %.17g, "
               "\"prefix\": \"%s\", \"label\": \"%s\"}\n",
            c->mixer, knobs, (long long)c->B, (long long)c->L, (long long)c->D,
            b->p->mixer->state_size(b->h, &b->li), PREFIX, c->label);
    return fclose(f) != 0;
}

static int run_torchref(const char *mixer, uint64_t seed)
{
    char root[1024];
    if (zt_tmpdir(root, sizeof root, "delta_net"))
        return 1;
    int bad = 0;
    for (int i = 0; i < NCASES && !bad; i++) {
        if (strcmp(cases[i].mixer, mixer))
            continue;
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
    int rc = bad ? 1 : zt_python(ZT_DIR "/ref_delta_net.py", args);
    if (rc == 0 || rc == ZT_SKIP)
        zt_rmtree(root);
    else
        fprintf(stderr, "  (reference inputs kept in %s)\n", root);
    return rc;
}

/* ---- gradcheck ------------------------------------------------------------------------ */
static int run_gradcheck(const char *mixer, uint64_t seed)
{
    int bad = 0;
    for (int i = 0; i < NCASES; i++) {
        /* the long cases are for the recurrence's length: torchref covers them and no_fd */
        if (strcmp(cases[i].mixer, mixer) || cases[i].L > 16 || cases[i].no_fd)
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
/* A bad knob value: validate refuses with `code` and one line naming the mixer and the
 * knob, and build refuses the same way. */
static void bad_knob(const char *mixer, const char *knobs, const char *knob, int code)
{
    zoo_plugin *p = NULL;
    zoo_hvals *h = NULL;
    if (zoo_plugin_find(mixer, &p) || zoo_hvals_new(p->mixer, &h) || set_knobs(h, knobs)) {
        ZT_CHECK(0, "%s: cannot load or set %s", mixer, knobs);
        zoo_hvals_free(h);
        zoo_plugin_close(p);
        return;
    }
    zoo_layer_info li = {0, 2, 64, 8, 8, 1};
    char msg[512] = "", want[80];
    snprintf(want, sizeof want, "'%s'", mixer);
    int rc = p->mixer->validate(h, &li, msg, sizeof msg);
    ZT_CHECK(rc == code && strstr(msg, want) && strstr(msg, knob) && !strchr(msg, '\n'),
             "%s with %s: validate gave %d '%s' (want %d, one line naming %s and %s)", mixer, knobs, rc, msg, code,
             want, knob);
    built b;
    memset(&b, 0, sizeof b);
    b.p = p;
    b.h = h;
    b.g = zoo_graph_new(ZOO_BACKEND_CPU);
    b.x = zoo_param(b.g, "x", 3, (int64_t[]){1, 8, 64}, zoo_init_zeros());
    rc = p->mixer->build(b.g, h, &li, b.x, &b.y);
    ZT_CHECK(rc == code && strstr(zoo_graph_error(b.g), knob), "%s with %s: build gave %d '%s'", mixer, knobs, rc,
             zoo_graph_error(b.g));
    built_free(&b);
}

static double state_of(const char *mixer, const char *knobs, int64_t D, int64_t lmax)
{
    zoo_plugin *p = NULL;
    zoo_hvals *h = NULL;
    double s = -1;
    if (!zoo_plugin_find(mixer, &p) && !zoo_hvals_new(p->mixer, &h) && !set_knobs(h, knobs) && p->mixer->state_size) {
        zoo_layer_info li = {0, 2, D, lmax, lmax, 1};
        s = p->mixer->state_size(h, &li);
    }
    zoo_hvals_free(h);
    zoo_plugin_close(p);
    return s;
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

typedef struct pshape {
    const char *name;
    int64_t s[4];
    int buffer;
} pshape;

static void names_shapes(const char *mixer, const char *knobs, const pshape *want, int n)
{
    mcase c = {mixer, mixer, knobs, 1, 64, 64, 0, 0};
    built b;
    if (build_case(&c, &b)) {
        ZT_CHECK(0, "%s %s: build", mixer, knobs);
        built_free(&b);
        return;
    }
    ZT_CHECK(zoo_graph_nparams(b.g) == n + 1, "%s %s: %d parameters and buffers, the reference lists %d", mixer, knobs,
             zoo_graph_nparams(b.g) - 1, n);
    for (int i = 0; i < n; i++) {
        char full[256];
        snprintf(full, sizeof full, PREFIX "%s", want[i].name);
        zoo_tensor *t = zoo_graph_find_param(b.g, full);
        int nd = 0;
        while (nd < 4 && want[i].s[nd])
            nd++;
        int ok = t && zoo_tensor_ndim(t) == nd && zoo_tensor_is_trainable(t) == !want[i].buffer;
        for (int d = 0; ok && d < nd; d++)
            ok = zoo_tensor_dim(t, d) == want[i].s[d];
        ZT_CHECK(ok, "%s %s: %s missing, misshaped or wrongly %s", mixer, knobs, full,
                 want[i].buffer ? "trainable" : "frozen");
    }
    built_free(&b);
}

static void model_count(const char *mixer, int64_t want)
{
    zoo_run_spec s;
    zoo_run_spec_default(&s);
    zoo_model *m = NULL;
    int rc = zoo_run_spec_set(&s, "mixer", mixer);
    if (!rc)
        rc = zoo_model_build(&s, 2, 8, &m);
    ZT_CHECK(!rc, "model %s: %s", mixer, zoo_error_last()->msg);
    if (!rc)
        ZT_CHECK(zoo_graph_count_trainable(m->g) == want, "model %s at D=64 L=64 V=8192: %lld trainable, expected %lld",
                 mixer, (long long)zoo_graph_count_trainable(m->g), (long long)want);
    zoo_model_free(m);
}

/* Every value of a parameter within [lo, hi]; returns the mean. */
static double in_range(built *b, const char *rel, int64_t n, double lo, double hi)
{
    const float *v = pdata(b->g, rel);
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
    built b;
    if (build_case(&c, &b) || zt_check_rc(zoo_graph_plan(b.g, 7), "plan")) {
        ZT_CHECK(0, "gated_delta_net init: build");
        built_free(&b);
        return;
    }
    const float *alog = pdata(b.g, "A_log"), *dtb = pdata(b.g, "dt_bias");
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
    const float *w = pdata(b.g, "v_proj.weight");
    double ss = 0;
    for (int i = 0; w && i < 4096; i++)
        ss += (double)w[i] * w[i];
    ZT_CHECK(fabs(sqrt(ss / 4096) - 0.02) < 0.002, "init: v_proj.weight rms %g, N(0, 0.02^2) gives 0.02", sqrt(ss / 4096));
    built_free(&b);
}

static int run_unit(const char *mixer)
{
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

        static const pshape dflt[] = {
            {"q_proj.weight", {64, 64}, 0},   {"k_proj.weight", {64, 64}, 0},     {"v_proj.weight", {64, 64}, 0},
            {"b_proj.weight", {4, 64}, 0},    {"q_conv1d.weight", {64, 1, 4}, 0}, {"k_conv1d.weight", {64, 1, 4}, 0},
            {"v_conv1d.weight", {64, 1, 4}, 0}, {"o_norm.weight", {16}, 0},       {"o_proj.weight", {64, 64}, 0},
        };
        names_shapes(mixer, "", dflt, 9);
        static const pshape gated[] = {
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

        static const pshape dflt[] = {
            {"q_proj.weight", {60, 64}, 0},     {"k_proj.weight", {60, 64}, 0},      {"v_proj.weight", {120, 64}, 0},
            {"b_proj.weight", {6, 64}, 0},      {"a_proj.weight", {6, 64}, 0},       {"A_log", {6}, 0},
            {"D", {6}, 1},                      {"dt_bias", {6}, 0},                 {"q_conv1d.weight", {60, 1, 4}, 0},
            {"k_conv1d.weight", {60, 1, 4}, 0}, {"v_conv1d.weight", {120, 1, 4}, 0}, {"g_proj.weight", {120, 64}, 0},
            {"o_norm.weight", {20}, 0},         {"o_proj.weight", {64, 120}, 0},
        };
        names_shapes(mixer, "", dflt, 14);
        static const pshape nogate[] = {
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
    const char *mode = argc > 1 ? argv[1] : "", *mixer = argc > 2 ? argv[2] : "";
    uint64_t seed = 20250611;
    int bad;
    zoo_set_threads(2);
    if (strcmp(mixer, "delta_net") && strcmp(mixer, "gated_delta_net")) {
        fprintf(stderr, "usage: %s torchref|gradcheck|unit delta_net|gated_delta_net\n", argv[0]);
        return 2;
    }
    if (!strcmp(mode, "torchref")) {
        int rc = run_torchref(mixer, seed);
        if (rc == ZT_SKIP)
            return ZT_SKIP;
        bad = rc != 0;
    } else if (!strcmp(mode, "gradcheck")) {
        bad = run_gradcheck(mixer, seed);
    } else if (!strcmp(mode, "unit")) {
        bad = run_unit(mixer);
    } else {
        fprintf(stderr, "usage: %s torchref|gradcheck|unit delta_net|gated_delta_net\n", argv[0]);
        return 2;
    }
    printf("%s %s: %s\n", mixer, mode, bad ? "FAIL" : "ok");
    return bad ? 1 : 0;
}
