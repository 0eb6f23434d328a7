/* mixer_test.h: what the mixer plugin tests (tests/mixers_ref and one folder per newer
 * mixer) share: building one layer of a plugin on an input parameter "x", generic
 * values, the torchref and gradcheck loops over a test's cases, knob refusals, state
 * sizes, state_dict names and shapes, model parameter counts, and the mode dispatch of
 * main(). Each test keeps only its cases and the checks particular to its mixer. */
#ifndef ZT_MIXER_TEST_H
#define ZT_MIXER_TEST_H

#include <stdint.h>

#include "testlib.h"
#include "zoo/plugin.h"
#include "zoo/run.h"

/* Where the model puts a sequence mixer's parameters (Zoology's module path). */
#define ZT_MIXER_PREFIX "backbone.layers.0.sequence_mixer."

/* One built layer: free with zt_mixer_free (also after a failed build). */
typedef struct zt_mixer {
    zoo_plugin *p;
    zoo_hvals *h;
    zoo_graph *g;
    zoo_tensor *x, *y;
    zoo_layer_info li;
    const char *mixer, *prefix, *label;
    char config_extra[128]; /* more "key": value pairs for config.json, or empty */
} zt_mixer;

/* "name=value name=value" (NULL or "" for none) into h; prints the refused pair. 0 ok. */
int zt_set_knobs(zoo_hvals *h, const char *knobs);

/* Load `mixer`, set knobs then extra (either may be NULL), build it under `prefix` on
 * x = parameter "x" of shape (li.batch, li.seq_len, li.d_model); not planned. Prints
 * "FAIL [label]: ..." and returns 1 on failure. */
int zt_mixer_build(zt_mixer *b, const char *mixer, const char *prefix, const char *label, const char *knobs,
                   const char *extra, zoo_layer_info li);
void zt_mixer_free(zt_mixer *b);
/* Plan, every trainable N(0, std^2) (seed), x N(0, 1) (seed + 1). 0 ok. */
int zt_mixer_plan_fill(zt_mixer *b, uint64_t seed, float std);
/* The parameter prefix + rel, or NULL. */
zoo_tensor *zt_mixer_param(const zt_mixer *b, const char *rel);
/* Its values (planned), or NULL. */
float *zt_mixer_pdata(const zt_mixer *b, const char *rel);

/* Case i of a test, built and filled for `seed` into b (gradcheck != 0: for finite
 * differences). Returns 0 ok, 1 failure, -1 when the case is not for this run. */
typedef int (*zt_mixer_case_fn)(int i, int gradcheck, zt_mixer *b, uint64_t seed);
/* Every case dumped (with config.json: mixer, knobs as the plugin formats them, B, L,
 * l_max, D, layer_idx, n_layers, state_size, prefix, label and config_extra) under one
 * directory, then `script` run once over it (zt.py's check_mixer reads these). Returns
 * like zt_python; the directory is kept (path printed) when the script fails. */
int zt_mixer_torchref(const char *tag, const char *script, int n, zt_mixer_case_fn make, uint64_t seed);
/* zt_gradcheck (12 checks per parameter) on every case; 0 ok, 1 a failure. */
int zt_mixer_gradcheck(int n, zt_mixer_case_fn make, uint64_t seed);

/* A bad knob value: validate returns `code` with one line naming 'mixer', knob and (when
 * fix is not NULL) fix, and build refuses with code naming knob. Counts zt_fails.
 * li.seq_len, li.batch and li.d_model shape x. */
void zt_mixer_bad_knob(const char *mixer, const char *knobs, const char *knob, const char *fix, zoo_layer_info li,
                       int code);
/* The plugin's state_size with knobs at li, or -1 when it cannot say. */
double zt_mixer_state(const char *mixer, const char *knobs, zoo_layer_info li);

/* One entry of a reference state_dict: shape (trailing zeros end it), buffer = frozen. */
typedef struct zt_pshape {
    const char *name;
    int64_t s[4];
    int buffer;
} zt_pshape;
/* The layer built at li has exactly want[0..n) (name under prefix, shape, trainability),
 * none of want[n..n+n_absent), and, when ordered, creates them in want's order (the
 * state_dict's). Counts zt_fails. */
void zt_mixer_names(const char *mixer, const char *prefix, const char *knobs, zoo_layer_info li, const zt_pshape *want,
                    int n, int n_absent, int ordered);

/* The default 2-layer model (D=64, L=64, V=8192) with mixer and optionally one more run
 * spec key; NULL (counted in zt_fails) when it does not build. */
zoo_model *zt_model(const char *mixer, const char *key, const char *val);
/* Its trainable parameter count is want. */
void zt_model_count(const char *mixer, const char *key, const char *val, int64_t want);

/* main() of a mode-dispatching test: runs the mode named by argv[1] (arg = argv[2] or
 * ""), prints "<what or arg> <mode>: ok|FAIL" and returns 0, 1 or ZT_SKIP; 2 with a
 * usage line for an unknown mode. modes ends with {NULL, NULL}. run returns 0 ok,
 * ZT_SKIP, anything else a failure. */
typedef struct zt_mode {
    const char *name;
    int (*run)(const char *arg, uint64_t seed);
} zt_mode;
int zt_main(int argc, char **argv, const char *what, uint64_t seed, const zt_mode *modes);

#endif
