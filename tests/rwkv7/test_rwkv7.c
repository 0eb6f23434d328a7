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

#include "mixer_test.h"

#define PREFIX ZT_MIXER_PREFIX
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

/* Build case c on x = parameter "x" (B, L, D); not planned. 0 ok. */
static int build_case(const mcase *c, zt_mixer *b)
{
    return zt_mixer_build(b, "rwkv7", PREFIX, c->label, c->knobs, NULL,
                          (zoo_layer_info){c->layer, c->n_layers, c->D, c->L, c->L, c->B});
}

/* Generic values: every trainable N(0, s^2) (the zero inits would hide the delta
 * rule, the bonus and the shift), x N(0, 1). s = 0.3 up to D = 8, then 0.3 sqrt(8/D),
 * so projections stay O(1): with 0.3 at D = 64 they reach ~2.4 and the f32 finite
 * differences lose their digits (torchref still agrees there). */
static int plan_fill(zt_mixer *b, uint64_t seed)
{
    double D = (double)b->li.d_model;
    return zt_mixer_plan_fill(b, seed, (float)(D > 8 ? 0.3 * sqrt(8.0 / D) : 0.3));
}

/* ---- torchref and gradcheck ------------------------------------------------------------ */
/* Case i built and filled; the long and the wide case are for the reference. */
static int make_case(int i, int gradcheck, zt_mixer *b, uint64_t seed)
{
    if (gradcheck && (cases[i].L > 16 || cases[i].D > 16))
        return -1;
    return build_case(&cases[i], b) || plan_fill(b, seed);
}

static int run_torchref(const char *arg, uint64_t seed)
{
    (void)arg;
    return zt_mixer_torchref("rwkv7", ZT_DIR "/ref_rwkv7.py", NCASES, make_case, seed);
}

static int run_gradcheck(const char *arg, uint64_t seed)
{
    (void)arg;
    return zt_mixer_gradcheck(NCASES, make_case, seed);
}

/* ---- unit ------------------------------------------------------------------------------ */
/* A bad knob value at d_model D: validate refuses with one line naming the mixer and the
 * knob, and build refuses the same way. */
static void bad_knob(const char *knobs, const char *knob, int64_t D)
{
    zt_mixer_bad_knob("rwkv7", knobs, knob, NULL, (zoo_layer_info){0, 2, D, 8, 8, 1}, ZOO_ERR_INVALID);
}

static double state_of(const char *knobs, int64_t D)
{
    return zt_mixer_state("rwkv7", knobs, (zoo_layer_info){1, 2, D, 512, 512, 1});
}

/* Every parameter of one layer at D = 64 with the default knobs (one head of 64), as
 * Zoology's state_dict lists them, all trainable. */
static void names_shapes(int layer)
{
    static const zt_pshape want[] = {
        {"x_x", {6, 64}, 0},
        {"k_k", {64}, 0},
        {"k_a", {64}, 0},
        {"r_k", {1, 64}, 0},
        {"r_proj.weight", {64, 64}, 0},
        {"k_proj.weight", {64, 64}, 0},
        {"v_proj.weight", {64, 64}, 0},
        {"o_proj.weight", {64, 64}, 0},
        {"w_lora.lora.0.weight", {64, 64}, 0},
        {"w_lora.lora.2.weight", {64, 64}, 0},
        {"w_lora.lora.2.bias", {64}, 0},
        {"a_lora.lora.0.weight", {64, 64}, 0},
        {"a_lora.lora.2.weight", {64, 64}, 0},
        {"a_lora.lora.2.bias", {64}, 0},
        {"g_lora.lora.0.weight", {128, 64}, 0},
        {"g_lora.lora.2.weight", {64, 128}, 0},
        {"g_norm.weight", {64}, 0},
        {"g_norm.bias", {64}, 0},
        {"v_lora.lora.0.weight", {16, 64}, 0}, /* layers > 0 only: the last three */
        {"v_lora.lora.2.weight", {64, 16}, 0},
        {"v_lora.lora.2.bias", {64}, 0},
    };
    int n = layer ? 21 : 18;
    zt_mixer_names("rwkv7", PREFIX, "", (zoo_layer_info){layer, 2, 64, 8, 8, 1}, want, n, 21 - n, 0);
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
    zt_mixer b;
    if (build_case(&c, &b) || zt_check_rc(zoo_graph_plan(b.g, 11), "plan")) {
        ZT_CHECK(0, "rwkv7 init: build and plan");
        zt_mixer_free(&b);
        return;
    }
    static const char *zero[] = {"x_x", "k_k", "k_a", "r_k", "g_norm.bias", "w_lora.lora.2.bias", "a_lora.lora.2.bias",
                                 "v_lora.lora.2.bias"};
    for (int i = 0; i < 8; i++) {
        char full[256];
        snprintf(full, sizeof full, PREFIX "%s", zero[i]);
        zoo_tensor *t = zoo_graph_find_param(b.g, full);
        ZT_CHECK(t && rms(zoo_tensor_data(t), zoo_tensor_numel(t)) == 0.0, "rwkv7 init: %s should start at 0", zero[i]);
    }
    const float *gw = zt_mixer_pdata(&b, "g_norm.weight");
    for (int i = 0; gw && i < 16; i++)
        ZT_CHECK(gw[i] == 1.0f, "rwkv7 init: g_norm.weight[%d] = %g, should be 1", i, gw[i]);
    static const char *normal[] = {"r_proj.weight", "g_lora.lora.0.weight", "w_lora.lora.2.weight",
                                   "v_lora.lora.0.weight"};
    for (int i = 0; i < 4; i++) {
        char full[256];
        snprintf(full, sizeof full, PREFIX "%s", normal[i]);
        zoo_tensor *t = zoo_graph_find_param(b.g, full);
        double r = t ? rms(zoo_tensor_data(t), zoo_tensor_numel(t)) : 0;
        ZT_CHECK(r > 0.012 && r < 0.03, "rwkv7 init: %s rms %.4g, should be N(0, 0.02^2)", normal[i], r);
    }
    zt_mixer_free(&b);
}

/* max |A A^T - g^2 I| over the smaller side of W (rows, cols): rows when rows <= cols */
static double ortho_err(const float *w, int64_t rows, int64_t cols, double g)
{
    int byrow = rows <= cols;
    int64_t k = byrow ? rows : cols, len = byrow ? cols : rows;
    double worst = 0;
    for (int64_t i = 0; i < k; i++)
        for (int64_t j = 0; j < k; j++) {
            double d = 0;
            for (int64_t e = 0; e < len; e++)
                d += byrow ? (double)w[i * cols + e] * w[j * cols + e] : (double)w[e * cols + i] * w[e * cols + j];
            worst = fmax(worst, fabs(d - (i == j ? g * g : 0.0)));
        }
    return worst;
}

/* init=fla: the values of fla's RWKV7Attention._initialize_weights, written out here
 * from its loop over channels n (linear, zigzag, www, ddd), and the random parts checked
 * for what they must be: orthogonal with fla's gains, zero lora.0 and o_proj. */
static void fla_init_values(int layer, int n_layers, int64_t D, int64_t N)
{
    char knobs[96];
    snprintf(knobs, sizeof knobs, "init=fla head_dim=%lld " SMALL, (long long)N);
    mcase c = {"init=fla", knobs, 1, 4, D, layer, n_layers};
    zt_mixer b;
    if (build_case(&c, &b) || zt_check_rc(zoo_graph_plan(b.g, 7), "plan")) {
        ZT_CHECK(0, "rwkv7 init=fla: build and plan");
        zt_mixer_free(&b);
        return;
    }
    double r01 = n_layers > 1 ? (double)layer / (n_layers - 1) : 0.0, r1 = 1.0 - (double)layer / n_layers;
    const float *xx = zt_mixer_pdata(&b, "x_x"), *kk = zt_mixer_pdata(&b, "k_k"), *ka = zt_mixer_pdata(&b, "k_a"),
                *rk = zt_mixer_pdata(&b, "r_k"), *wb = zt_mixer_pdata(&b, "w_lora.lora.2.bias"),
                *ab = zt_mixer_pdata(&b, "a_lora.lora.2.bias"), *gw = zt_mixer_pdata(&b, "g_norm.weight"),
                *gb = zt_mixer_pdata(&b, "g_norm.bias"), *vb = layer ? zt_mixer_pdata(&b, "v_lora.lora.2.bias") : NULL;
    if (!xx || !kk || !ka || !rk || !wb || !ab || !gw || !gb || (layer && !vb)) {
        ZT_CHECK(0, "rwkv7 init=fla: a parameter is missing");
        zt_mixer_free(&b);
        return;
    }
    static const double pw[6] = {0.2, 0.9, 0.7, 0.7, 0.9, 0.2}; /* r, w, k, v, a, g */
    double worst = 0;
    for (int64_t n = 0; n < D; n++) {
        double linear = (double)n / (double)(D - 1) - 0.5;
        double zig = ((double)(n % N) - (N - 1) / 2.0) / ((N - 1) / 2.0);
        zig *= fabs(zig);
        double www = -6.0 + 6.0 * pow((double)n / (double)(D - 1), 1.0 + pow(r01, 0.3));
        double ddd = (double)n / (double)D;
        for (int i = 0; i < 6; i++)
            worst = fmax(worst, fabs(xx[i * D + n] - (1.0 - pow(ddd, pw[i] * r1))));
        worst = fmax(worst, fabs(kk[n] - (0.71 - linear * 0.1)));
        worst = fmax(worst, fabs(ka[n] - 1.02));
        worst = fmax(worst, fabs(rk[n] - -0.04));
        worst = fmax(worst, fabs(wb[n] - (www + 0.5 + zig * 2.5)));
        worst = fmax(worst, fabs(ab[n] - (-0.19 + zig * 0.3 + linear * 0.4)));
        worst = fmax(worst, fabs(gw[n] - pow((layer + 1.0) / n_layers, 0.7)));
        worst = fmax(worst, fabs(gb[n]));
        if (vb)
            worst = fmax(worst, fabs(vb[n] - (0.73 - linear * 0.4)));
    }
    ZT_CHECK(worst < 1e-6, "rwkv7 init=fla layer %d of %d, D=%lld N=%lld: fixed values off by %.3g", layer, n_layers,
             (long long)D, (long long)N, worst);
    struct {
        const char *name;
        double gain; /* < 0: zero */
    } w[] = {{"r_proj.weight", 1.0},        {"k_proj.weight", 0.1},        {"v_proj.weight", 1.0},
             {"o_proj.weight", -1},         {"w_lora.lora.0.weight", -1},  {"a_lora.lora.0.weight", -1},
             {"g_lora.lora.0.weight", -1},  {"w_lora.lora.2.weight", 0.1}, {"a_lora.lora.2.weight", 0.1},
             {"g_lora.lora.2.weight", 0.1}, {"v_lora.lora.0.weight", -1},  {"v_lora.lora.2.weight", 0.1}};
    for (size_t i = 0; i < sizeof w / sizeof *w; i++) {
        zoo_tensor *t = zt_mixer_param(&b, w[i].name);
        if (!t) {
            ZT_CHECK(!layer && !strncmp(w[i].name, "v_lora", 6), "rwkv7 init=fla: no %s", w[i].name);
            continue;
        }
        int64_t rows = zoo_tensor_dim(t, 0), cols = zoo_tensor_dim(t, 1);
        const float *d = zoo_tensor_data(t);
        if (w[i].gain < 0)
            ZT_CHECK(rms(d, rows * cols) == 0.0, "rwkv7 init=fla: %s should start at 0", w[i].name);
        else {
            /* a LoRA's lora.2 (out, rank) gains sqrt(rank/out) where rank > out */
            double g = w[i].gain * (strstr(w[i].name, "lora.2") && cols > rows ? sqrt((double)cols / rows) : 1.0);
            double e = ortho_err(d, rows, cols, g);
            ZT_CHECK(e < 1e-5, "rwkv7 init=fla: %s (%lld x %lld) not orthogonal with gain %g: off by %.3g", w[i].name,
                     (long long)rows, (long long)cols, g, e);
        }
    }
    zt_mixer_free(&b);
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
    zoo_model *m = zt_model("rwkv7", NULL, NULL);
    if (m) {
        ZT_CHECK(zoo_graph_count_trainable(m->g) == want, "model rwkv7 at D=64 L=64 V=8192: %lld trainable, expected %lld",
              (long long)zoo_graph_count_trainable(m->g), (long long)want);
        zoo_tensor *o = zoo_graph_find_param(m->g, "backbone.layers.1.sequence_mixer.o_proj.weight");
        double r = 0;
        if (o) {
            float *buf = malloc(sizeof(float) * (size_t)zoo_tensor_numel(o));
            if (buf && !zoo_tensor_get(o, buf, 0, zoo_tensor_numel(o)))
                r = rms(buf, zoo_tensor_numel(o));
            free(buf);
        }
        ZT_CHECK(r > 0.016 && r < 0.024, "model rwkv7: o_proj.weight rms %.4g, should be 0.02 (not depth-scaled)", r);
    }
    zoo_model_free(m);
}

static int run_unit(const char *arg, uint64_t seed)
{
    (void)arg, (void)seed;
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
    bad_knob("init=fla-lite", "init", 64);

    /* state per layer: H heads of an N x N WKV matrix plus the previous token (D); not
     * Zoology's num_heads * key_dim * value_dim = H D^2, and independent of l_max */
    struct {
        const char *knobs;
        int64_t D, H, N;
    } st[] = {{"", 64, 1, 64}, {"head_dim=32", 128, 4, 32}, {"head_dim=0 num_heads=8", 64, 8, 8}, {"d_state=16 head_dim=4", 16, 4, 4}};
    for (int i = 0; i < 4; i++) {
        double want = (double)(st[i].H * st[i].N * st[i].N + st[i].D), got = state_of(st[i].knobs, st[i].D);
        ZT_CHECK(got == want, "rwkv7 %s at D=%lld: state_size %g, want H N^2 + D = %g (Zoology's H D^2 = %g)", st[i].knobs,
              (long long)st[i].D, got, want, (double)(st[i].H * st[i].D * st[i].D));
    }
    names_shapes(0);
    names_shapes(1);
    init_values();
    fla_init_values(1, 2, 16, 8);
    fla_init_values(0, 3, 12, 4);
    fla_init_values(0, 1, 4, 4); /* g_lora rank 5 > 4 outputs: gain 0.1 sqrt(5/4) */
    model_count();
    return zt_fails != 0;
}

int main(int argc, char **argv)
{
    static const zt_mode modes[] = {
        {"torchref", run_torchref}, {"gradcheck", run_gradcheck}, {"unit", run_unit}, {NULL, NULL}};
    return zt_main(argc, argv, "rwkv7", 20250307, modes);
}
