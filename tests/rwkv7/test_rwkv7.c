/* test_rwkv7.c: the rwkv7 plugin (docs/mixers.md, rwkv7) as the model builds it. Modes:
 *   torchref  forward and every gradient against a PyTorch float64 module written after
 *             Zoology's RWKV7Attention with the naive recurrence (ref_rwkv7.py), loaded
 *             from zoo's parameters by state_dict name with strict=True; the reference
 *             also counts the floats its recurrent form carries per step and compares
 *             them with the plugin's state_size;
 *   gradcheck every trainable parameter against finite differences;
 *   unit      knob refusals (one line naming the knob, the same in build), state_size
 *             against a formula written here, state_dict names and shapes at layers 0
 *             and 1, the init values, a 2-layer model's trainable count. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "zoo/plugin.h"
#include "zoo/run.h"

#define PREFIX "backbone.layers.0.sequence_mixer."
#define SMALL "decay_low_rank_dim=3 gate_low_rank_dim=5 a_low_rank_dim=3 v_low_rank_dim=2"

typedef struct mcase {
    const char *label, *knobs; /* knobs: "name=value ..." over the defaults */
    int64_t B, L, D;
    int layer, n_layers;
} mcase;

static const mcase cases[] = {
    {"layer 0, 2 heads of 4", "head_dim=4 " SMALL, 2, 9, 8, 0, 2},
    {"layer 1 (v_lora), num_heads=4, no affine", "head_dim=0 num_heads=4 elementwise_affine=false " SMALL, 1, 7, 8, 1,
     2},
    {"L=1, 2 heads of 3, norm_eps 1e-3", "head_dim=3 norm_eps=1e-3 mode=fused_recurrent " SMALL, 3, 1, 6, 1, 2},
    {"defaults at D=64 (one head of 64)", "", 1, 6, 64, 1, 2},
    {"L=40, one head of 4", "head_dim=4 " SMALL, 1, 40, 4, 0, 2},
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

/* Build case c on x = parameter "x" (B, L, D); not planned. 0 ok. */
static int build_case(const mcase *c, built *b)
{
    memset(b, 0, sizeof *b);
    if (zoo_plugin_find("rwkv7", &b->p) || zoo_hvals_new(b->p->mixer, &b->h) || set_knobs(b->h, c->knobs)) {
        fprintf(stderr, "FAIL [%s]: cannot load the plugin: %s\n", c->label, zoo_error_last()->msg);
        return 1;
    }
    b->li = (zoo_layer_info){c->layer, c->n_layers, c->D, c->L, c->L, c->B};
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

/* Generic values: every trainable N(0, s^2) (the zero inits would hide the delta
 * rule, the bonus and the shift), x N(0, 1). s = 0.3 up to D = 8, then 0.3 sqrt(8/D),
 * so projections stay O(1): with 0.3 at D = 64 they reach ~2.4 and the f32 finite
 * differences lose their digits (torchref still agrees there). */
static int plan_fill(built *b, uint64_t seed)
{
    if (zt_check_rc(zoo_graph_plan(b->g, seed), "plan"))
        return 1;
    double D = (double)b->li.d_model;
    zt_fill_params(b->g, seed, (float)(D > 8 ? 0.3 * sqrt(8.0 / D) : 0.3));
    zt_fill_normal(zoo_tensor_data(b->x), zoo_tensor_numel(b->x), seed + 1, 1.0f);
    return 0;
}

static float *pdata(zoo_graph *g, const char *rel)
{
    char name[256];
    snprintf(name, sizeof name, PREFIX "%s", rel);
    zoo_tensor *t = zoo_graph_find_param(g, name);
    return t ? zoo_tensor_data(t) : NULL;
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
    fprintf(f, "{\"knobs\": \"%s\", \"B\": %lld, \"L\": %lld, \"D\": %lld, \"layer_idx\": %d, \"n_layers\": %d, "
               "\"state_size\": %.17g, \"prefix\": \"%s\", \"label\": \"%s\"}\n",
            knobs, (long long)c->B, (long long)c->L, (long long)c->D, c->layer, c->n_layers,
            b->p->mixer->state_size(b->h, &b->li), PREFIX, c->label);
    return fclose(f) != 0;
}

static int run_torchref(uint64_t seed)
{
    char root[1024];
    if (zt_tmpdir(root, sizeof root, "rwkv7"))
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
    int rc = bad ? 1 : zt_python(ZT_DIR "/ref_rwkv7.py", args);
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
        if (cases[i].L > 16 || cases[i].D > 16) /* the long and the wide case are for the reference */
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
static int fails;
#define CHECK(cond, ...)                                                                                             \
    do {                                                                                                             \
        if (!(cond)) {                                                                                               \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                                     \
            fprintf(stderr, __VA_ARGS__);                                                                            \
            fprintf(stderr, "\n");                                                                                   \
            fails++;                                                                                                 \
        }                                                                                                            \
    } while (0)

/* A bad knob value at d_model D: validate refuses with one line naming the mixer and the
 * knob, and build refuses the same way. */
static void bad_knob(const char *knobs, const char *knob, int64_t D)
{
    zoo_plugin *p = NULL;
    zoo_hvals *h = NULL;
    if (zoo_plugin_find("rwkv7", &p) || zoo_hvals_new(p->mixer, &h) || set_knobs(h, knobs)) {
        CHECK(0, "rwkv7: cannot load or set %s", knobs);
        zoo_hvals_free(h);
        zoo_plugin_close(p);
        return;
    }
    zoo_layer_info li = {0, 2, D, 8, 8, 1};
    char msg[512] = "";
    int rc = p->mixer->validate ? p->mixer->validate(h, &li, msg, sizeof msg) : 0;
    CHECK(rc == ZOO_ERR_INVALID && strstr(msg, "'rwkv7'") && strstr(msg, knob) && !strchr(msg, '\n'),
          "%s: validate gave %d '%s' (want one line naming 'rwkv7' and %s)", knobs, rc, msg, knob);
    built b;
    memset(&b, 0, sizeof b);
    b.p = p;
    b.h = h;
    b.g = zoo_graph_new(ZOO_BACKEND_CPU);
    b.x = zoo_param(b.g, "x", 3, (int64_t[]){1, 8, D}, zoo_init_zeros());
    rc = p->mixer->build(b.g, h, &li, b.x, &b.y);
    CHECK(rc == ZOO_ERR_INVALID && strstr(zoo_graph_error(b.g), knob), "%s: build gave %d '%s'", knobs, rc,
          zoo_graph_error(b.g));
    built_free(&b);
}

static double state_of(const char *knobs, int64_t D)
{
    zoo_plugin *p = NULL;
    zoo_hvals *h = NULL;
    double s = -1;
    if (!zoo_plugin_find("rwkv7", &p) && !zoo_hvals_new(p->mixer, &h) && !set_knobs(h, knobs) && p->mixer->state_size) {
        zoo_layer_info li = {1, 2, D, 512, 512, 1};
        s = p->mixer->state_size(h, &li);
    }
    zoo_hvals_free(h);
    zoo_plugin_close(p);
    return s;
}

typedef struct pshape {
    const char *name;
    int64_t s[2];
} pshape;

/* Every parameter of one layer at D = 64 with the default knobs (one head of 64), as
 * Zoology's state_dict lists them, all trainable. */
static void names_shapes(int layer)
{
    static const pshape want[] = {
        {"x_x", {6, 64}},
        {"k_k", {64}},
        {"k_a", {64}},
        {"r_k", {1, 64}},
        {"r_proj.weight", {64, 64}},
        {"k_proj.weight", {64, 64}},
        {"v_proj.weight", {64, 64}},
        {"o_proj.weight", {64, 64}},
        {"w_lora.lora.0.weight", {64, 64}},
        {"w_lora.lora.2.weight", {64, 64}},
        {"w_lora.lora.2.bias", {64}},
        {"a_lora.lora.0.weight", {64, 64}},
        {"a_lora.lora.2.weight", {64, 64}},
        {"a_lora.lora.2.bias", {64}},
        {"g_lora.lora.0.weight", {128, 64}},
        {"g_lora.lora.2.weight", {64, 128}},
        {"g_norm.weight", {64}},
        {"g_norm.bias", {64}},
        {"v_lora.lora.0.weight", {16, 64}}, /* layers > 0 only: the last three */
        {"v_lora.lora.2.weight", {64, 16}},
        {"v_lora.lora.2.bias", {64}},
    };
    int n = layer ? 21 : 18;
    mcase c = {"names", "", 1, 8, 64, layer, 2};
    built b;
    if (build_case(&c, &b)) {
        CHECK(0, "rwkv7 layer %d: build", layer);
        built_free(&b);
        return;
    }
    CHECK(zoo_graph_nparams(b.g) == n + 1, "rwkv7 layer %d: %d parameters and buffers, Zoology's module has %d", layer,
          zoo_graph_nparams(b.g) - 1, n);
    for (int i = 0; i < 21; i++) {
        char full[256];
        snprintf(full, sizeof full, PREFIX "%s", want[i].name);
        zoo_tensor *t = zoo_graph_find_param(b.g, full);
        if (i >= n) {
            CHECK(!t, "rwkv7 layer 0 has %s: Zoology creates v_lora only in later layers", full);
            continue;
        }
        int nd = want[i].s[1] ? 2 : 1;
        int ok = t && zoo_tensor_ndim(t) == nd && zoo_tensor_is_trainable(t);
        for (int d = 0; ok && d < nd; d++)
            ok = zoo_tensor_dim(t, d) == want[i].s[d];
        CHECK(ok, "rwkv7 layer %d: %s missing, misshaped or frozen", layer, full);
    }
    built_free(&b);
}

static double rms(const float *x, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return sqrt(s / (double)n);
}

/* Zoology's values after its model init: x_x, k_k, k_a, r_k zero, g_norm 1 and 0, the
 * Linears (LoRAs included) N(0, 0.02^2), v_lora's bias 0. */
static void init_values(void)
{
    mcase c = {"init", "head_dim=8", 1, 4, 16, 1, 2};
    built b;
    if (build_case(&c, &b) || zt_check_rc(zoo_graph_plan(b.g, 11), "plan")) {
        CHECK(0, "rwkv7 init: build and plan");
        built_free(&b);
        return;
    }
    static const char *zero[] = {"x_x", "k_k", "k_a", "r_k", "g_norm.bias", "w_lora.lora.2.bias", "a_lora.lora.2.bias",
                                 "v_lora.lora.2.bias"};
    for (int i = 0; i < 8; i++) {
        char full[256];
        snprintf(full, sizeof full, PREFIX "%s", zero[i]);
        zoo_tensor *t = zoo_graph_find_param(b.g, full);
        CHECK(t && rms(zoo_tensor_data(t), zoo_tensor_numel(t)) == 0.0, "rwkv7 init: %s should start at 0", zero[i]);
    }
    const float *gw = pdata(b.g, "g_norm.weight");
    for (int i = 0; gw && i < 16; i++)
        CHECK(gw[i] == 1.0f, "rwkv7 init: g_norm.weight[%d] = %g, should be 1", i, gw[i]);
    static const char *normal[] = {"r_proj.weight", "g_lora.lora.0.weight", "w_lora.lora.2.weight",
                                   "v_lora.lora.0.weight"};
    for (int i = 0; i < 4; i++) {
        char full[256];
        snprintf(full, sizeof full, PREFIX "%s", normal[i]);
        zoo_tensor *t = zoo_graph_find_param(b.g, full);
        double r = t ? rms(zoo_tensor_data(t), zoo_tensor_numel(t)) : 0;
        CHECK(r > 0.012 && r < 0.03, "rwkv7 init: %s rms %.4g, should be N(0, 0.02^2)", normal[i], r);
    }
    built_free(&b);
}

/* A 2-layer model at D=64, L=64, V=8192 with the default knobs: 524,288 (tied embedding)
 * + 2 x (LN 256 + the layer's parameters) + 128 (final LN), with the layer's count from
 * Zoology's constructor: x_x 6D, k_k, k_a, r_k 3D, four D x D projections, w_lora and
 * a_lora D r + r D + D (r = 64), g_lora D 128 + 128 D, g_norm 2D, and in layer 1
 * v_lora D 16 + 16 D + D. o_proj keeps N(0, 0.02^2): its name is not out_proj. */
static void model_count(void)
{
    const int64_t D = 64, lora = 2 * D * 64 + D;
    const int64_t layer0 = 6 * D + 3 * D + 4 * D * D + 2 * lora + 2 * D * 128 + 2 * D;
    const int64_t layer1 = layer0 + 2 * D * 16 + D;
    const int64_t want = 524288 + (256 + layer0) + (256 + layer1) + 128;
    zoo_run_spec s;
    zoo_run_spec_default(&s);
    zoo_model *m = NULL;
    int rc = zoo_run_spec_set(&s, "mixer", "rwkv7");
    if (!rc)
        rc = zoo_model_build(&s, 2, 8, &m);
    CHECK(!rc, "model rwkv7: %s", zoo_error_last()->msg);
    if (!rc) {
        CHECK(zoo_graph_count_trainable(m->g) == want, "model rwkv7 at D=64 L=64 V=8192: %lld trainable, expected %lld",
              (long long)zoo_graph_count_trainable(m->g), (long long)want);
        zoo_tensor *o = zoo_graph_find_param(m->g, "backbone.layers.1.sequence_mixer.o_proj.weight");
        double r = 0;
        if (o) {
            float *buf = malloc(sizeof(float) * (size_t)zoo_tensor_numel(o));
            if (buf && !zoo_tensor_get(o, buf, 0, zoo_tensor_numel(o)))
                r = rms(buf, zoo_tensor_numel(o));
            free(buf);
        }
        CHECK(r > 0.016 && r < 0.024, "model rwkv7: o_proj.weight rms %.4g, should be 0.02 (not depth-scaled)", r);
    }
    zoo_model_free(m);
}

static int run_unit(void)
{
    bad_knob("d_state=32", "d_state", 64);
    bad_knob("d_state=1024", "d_state", 64);
    bad_knob("head_dim=48", "head_dim", 64);
    bad_knob("head_dim=-2", "head_dim", 64);
    bad_knob("num_heads=2", "num_heads", 64); /* head_dim keeps its default 64: both set */
    bad_knob("head_dim=0", "num_heads", 64);
    bad_knob("head_dim=0 num_heads=3", "num_heads", 64);
    bad_knob("decay_low_rank_dim=0", "decay_low_rank_dim", 64);
    bad_knob("gate_low_rank_dim=0", "gate_low_rank_dim", 64);
    bad_knob("a_low_rank_dim=-1", "a_low_rank_dim", 64);
    bad_knob("v_low_rank_dim=0", "v_low_rank_dim", 64);
    bad_knob("norm_eps=0", "norm_eps", 64);
    bad_knob("norm_eps=-1e-5", "norm_eps", 64);
    bad_knob("mode=parallel", "mode", 64);

    /* state per layer: H heads of an N x N WKV matrix plus the previous token (D); not
     * Zoology's num_heads * key_dim * value_dim = H D^2, and independent of l_max */
    struct {
        const char *knobs;
        int64_t D, H, N;
    } st[] = {{"", 64, 1, 64}, {"head_dim=32", 128, 4, 32}, {"head_dim=0 num_heads=8", 64, 8, 8}, {"d_state=16 head_dim=4", 16, 4, 4}};
    for (int i = 0; i < 4; i++) {
        double want = (double)(st[i].H * st[i].N * st[i].N + st[i].D), got = state_of(st[i].knobs, st[i].D);
        CHECK(got == want, "rwkv7 %s at D=%lld: state_size %g, want H N^2 + D = %g (Zoology's H D^2 = %g)", st[i].knobs,
              (long long)st[i].D, got, want, (double)(st[i].H * st[i].D * st[i].D));
    }
    names_shapes(0);
    names_shapes(1);
    init_values();
    model_count();
    return fails != 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    uint64_t seed = 20250307;
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
    printf("rwkv7 %s: %s\n", mode, bad ? "FAIL" : "ok");
    return bad ? 1 : 0;
}
