/* zoo/mixer.h: the whole plugin SDK. A mixer plugin is one C file that exports one
 * constant descriptor, `zoo_mixer_v1`, and composes its forward pass from the core's
 * differentiable ops (zoo/graph.h); the core derives the backward pass.
 * Plugins have no constructors, no global mutable state, and never exit. */
#ifndef ZOO_MIXER_H
#define ZOO_MIXER_H

#include <stddef.h>
#include <stdint.h>

#include "zoo/graph.h"
#include "zoo/api.h"

#ifdef __cplusplus
extern "C" {
#endif
ZOO_API_BEGIN

#define ZOO_ABI_MAGIC 0x4d4f4f5au /* "ZOOM" little-endian */
#define ZOO_ABI_MAJOR 1u          /* bumped on any incompatible change */
#define ZOO_ABI_MINOR 1u          /* bumped when fields are appended (1: block) */

/* Checked by the loader before any plugin code runs. */
typedef struct zoo_abi_header {
    uint32_t magic, abi_major, abi_minor, size; /* size = sizeof(zoo_mixer) the plugin saw */
} zoo_abi_header;

/* ---- knobs (hyperparameters) ------------------------------------------------------ */
typedef enum zoo_hparam_type {
    ZOO_HP_INT = 0,
    ZOO_HP_FLOAT,
    ZOO_HP_BOOL,
    ZOO_HP_STRING,
    ZOO_HP_INT_LIST, /* "[3, -1, 3, -1]" or a single int */
} zoo_hparam_type;

/* One declared knob. A plugin's table ends with an entry whose name is NULL. */
typedef struct zoo_hparam {
    const char *name;
    zoo_hparam_type type;
    const char *def;  /* default, written as in a sweep file ("1", "0.1", "true", "[3, -1]") */
    const char *help; /* one line */
} zoo_hparam;

/* Values of a plugin's knobs for one layer (defaults overridden by the sweep). */
typedef struct zoo_hvals zoo_hvals;
int64_t zoo_hvals_int(const zoo_hvals *h, const char *name);
double zoo_hvals_float(const zoo_hvals *h, const char *name);
int zoo_hvals_bool(const zoo_hvals *h, const char *name);
const char *zoo_hvals_str(const zoo_hvals *h, const char *name);
/* Number of entries of an INT_LIST knob; *vals points into h (valid while h lives). */
int zoo_hvals_list(const zoo_hvals *h, const char *name, const int64_t **vals);

/* Where in the model this mixer sits. */
typedef struct zoo_layer_info {
    int layer_idx; /* 0-based */
    int n_layers;
    int64_t d_model;
    int64_t seq_len; /* L of this run's inputs */
    int64_t l_max;   /* longest sequence the model is built for (= seq_len in zoo's runs) */
    int64_t batch;   /* B */
} zoo_layer_info;

#define ZOO_BACKEND_BIT(b) (1u << (b))

/* The block the model wraps a mixer in (docs/model.md, blocks). */
typedef enum zoo_block_kind {
    ZOO_BLOCK_TRANSFORMER = 0, /* add, LayerNorm norm1, mixer, add, norm2 + state mixer */
    ZOO_BLOCK_MAMBA = 1,       /* add, RMSNorm "norm", mixer "mixer"; no MLP, no dropout */
} zoo_block_kind;

typedef struct zoo_mixer {
    zoo_abi_header hdr;
    const char *name;    /* what a sweep file names; must equal the file name (name.so) */
    const char *family;  /* "attention" | "gated-conv" | "hybrid" | "recurrent" | ... */
    const char *summary; /* one line for `zoo plugins` */
    const zoo_hparam *hparams; /* may be NULL (no knobs) */
    /* Required. Compose the forward: x (B, L, D) -> *y (B, L, D). Create parameters with
     * zoo_param (names relative to the layer, e.g. "Wqkv.weight"). Return 0, or a code
     * from zoo_graph_fail / zoo_graph_status. */
    int (*build)(zoo_graph *g, const zoo_hvals *h, const zoo_layer_info *li, zoo_tensor *x, zoo_tensor **y);
    /* Optional: recurrent state size in floats at inference for one layer, at li->l_max
     * (the counts of the built-in mixers: docs/mixers.md). */
    double (*state_size)(const zoo_hvals *h, const zoo_layer_info *li);
    /* Optional: reject knob values before anything is built. Write one line to msg
     * naming the knob and the fix; return ZOO_ERR_INVALID (or ZOO_ERR_UNSUPPORTED). */
    int (*validate)(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t msglen);
    /* Opt-out only: 0 (the usual) = every backend that has a kernel for each op the
     * mixer's graph uses (zoo derives that from the graph); otherwise only the backends
     * whose ZOO_BACKEND_BIT is set, and only where their kernels exist. */
    uint32_t backends;
    /* ABI 1.1: a zoo_block_kind. 0 (and every ABI 1.0 plugin) = TransformerBlock. */
    uint32_t block;
} zoo_mixer;

#define ZOO_PLUGIN_EXPORT __attribute__((visibility("default")))
/* The header every descriptor starts with. */
#define ZOO_MIXER_HEADER {ZOO_ABI_MAGIC, ZOO_ABI_MAJOR, ZOO_ABI_MINOR, (uint32_t)sizeof(zoo_mixer)}
#define ZOO_MIXER_SYMBOL "zoo_mixer_v1"

/* ---- helpers for plugin authors (implemented in libzoo) ---------------------------- */
/* A PyTorch-style Linear: creates "<name>.weight" (out, in) ~ N(0, 0.02^2) and, when
 * bias, "<name>.bias" (out) = 0 (the Zoology global init), and applies it to x. */
zoo_tensor *zoo_nn_linear(zoo_graph *g, zoo_tensor *x, const char *name, int64_t out, int bias);

ZOO_API_END
#ifdef __cplusplus
}
#endif
#endif
