/* toy_mixer.c: a mixer plugin for the sweep tests only: knobs of every type so the
 * sweep-file reader's knob checks can be tested without the real mixers, and a cheap
 * forward (one Linear) so tiny end-to-end sweeps run in seconds. Built twice, as
 * sweeptoy.so and sweeptoy_b.so (TOY_NAME), into the tests' own plugin folder. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "zoo/mixer.h"

#ifndef TOY_NAME
#define TOY_NAME "sweeptoy"
#endif

static const zoo_hparam knobs[] = {
    {"width", ZOO_HP_INT, "1", "an int knob; must divide d_model (checked by validate)"},
    {"scale", ZOO_HP_FLOAT, "0.5", "a float knob"},
    {"bias", ZOO_HP_BOOL, "true", "a bool knob: the Linear has a bias"},
    {"kind", ZOO_HP_STRING, "plain", "a string knob"},
    {"taps", ZOO_HP_INT_LIST, "[3, -1]", "an int-list knob"},
    {"crash", ZOO_HP_BOOL, "false", "test only: the build crashes its process (SIGSEGV) when true"},
    {"fail", ZOO_HP_BOOL, "false", "test only: the build returns ZOO_ERR_INVALID when true"},
    {NULL, 0, NULL, NULL},
};

static int build(zoo_graph *g, const zoo_hvals *h, const zoo_layer_info *li, zoo_tensor *x, zoo_tensor **y)
{
    if (zoo_hvals_bool(h, "crash"))
        raise(SIGSEGV); /* what a buggy plugin does; the sweep must contain it */
    if (zoo_hvals_bool(h, "fail"))
        return zoo_graph_fail(g, ZOO_ERR_INVALID, "mixer '%s': fail=true (test knob)", TOY_NAME);
    *y = zoo_nn_linear(g, x, "proj", li->d_model, zoo_hvals_bool(h, "bias"));
    return zoo_graph_status(g);
}

static int validate(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t n)
{
    int64_t w = zoo_hvals_int(h, "width");
    if (w < 1 || li->d_model % w) {
        snprintf(msg, n, "width=%lld must divide d_model=%lld", (long long)w, (long long)li->d_model);
        return ZOO_ERR_INVALID;
    }
    return 0;
}

ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = {
    .hdr = ZOO_MIXER_HEADER,
    .name = TOY_NAME,
    .family = "test",
    .summary = "test-only mixer: one Linear",
    .hparams = knobs,
    .build = build,
    .validate = validate,
};
