/* my_mixer.c: the smallest useful mixer plugin, as a template for your own: a gate
 * computed from each token, y = x ⊙ (x Wᵀ + b). It mixes no information across
 * positions (so it cannot solve MQAR); it shows the SDK, not a good architecture.
 *
 * Build it with CMake (CMakeLists.txt here: find_package(zoo) + zoo_add_mixer) or with
 *   cc -shared -fPIC $(pkg-config --cflags zoo) my_mixer.c -o my_mixer.so $(pkg-config --libs zoo)
 * then `ZOO_PLUGIN_PATH=$PWD zoo plugins` lists it and a run file can name `my_mixer`. */
#include "zoo/mixer.h"

/* Knobs: name, type, default (as a sweep file writes it), one line of help. */
static const zoo_hparam knobs[] = {
    {"bias", ZOO_HP_BOOL, "true", "bias b on the gate projection"},
    {NULL, 0, NULL, NULL},
};

/* Compose the forward from the core's ops; the core derives the backward pass.
 * x: (B, L, D) -> *y: (B, L, D). Parameter names are relative to the layer. */
static int build(zoo_graph *g, const zoo_hvals *h, const zoo_layer_info *li, zoo_tensor *x, zoo_tensor **y)
{
    zoo_tensor *gate = zoo_nn_linear(g, x, "gate", li->d_model, zoo_hvals_bool(h, "bias")); /* (B, L, D) */
    *y = zoo_mul(g, x, gate);
    return zoo_graph_status(g); /* 0, or the first builder error (it carries the message) */
}

/* The one exported symbol. Its name must match the file: my_mixer.so. */
ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = {
    .hdr = ZOO_MIXER_HEADER,
    .name = "my_mixer",
    .family = "gated",
    .summary = "example: per-token gate y = x * (x W^T + b)",
    .hparams = knobs,
    .build = build,
};
