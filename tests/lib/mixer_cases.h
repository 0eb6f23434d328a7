/* mixer_cases.h: every mixer of plugins/ as a test model: the run spec's mixer pattern
 * and knobs that make each learn MQAR at a small budget (tests/learn says why each is
 * set up this way), shared by the learning test and the CUDA-vs-CPU training parity
 * test, so both cover the same models. */
#ifndef ZT_MIXER_CASES_H
#define ZT_MIXER_CASES_H

#include "zoo/run.h"

typedef struct mixer_case {
    const char *name;   /* test and file name */
    const char *mixer;  /* the run spec's mixer pattern */
    const char *knobs[4][2];
    int below_attention; /* Figure 2's efficient models: attention must beat each */
    const char *epochs;  /* the learning test's budget when not its default (NULL) */
    double min_acc;      /* the learning test's floor on its final accuracy (0: none) */
} mixer_case;

static const mixer_case CASES[] = {
    {"attention", "base_conv,attention", {{"mixer.0.kernel_size", "3"}}, 0, NULL, 0.9},
    {"base_conv", "base_conv", {{NULL, NULL}}, 1, NULL, 0},
    {"hyena", "hyena", {{NULL, NULL}}, 1, NULL, 0},
    {"h3", "h3", {{NULL, NULL}}, 1, NULL, 0},
    {"based", "base_conv,based", {{"mixer.0.kernel_size", "3"}, {"mixer.1.feature_dim", "8"}}, 0, NULL, 0},
    {"linear_attention", "base_conv,linear_attention", {{"mixer.0.kernel_size", "3"}}, 0, NULL, 0},
    {"sliding_window", "base_conv,sliding_window", {{"mixer.0.kernel_size", "3"}, {"mixer.1.block_size", "16"}}, 0, NULL, 0},
    {"rwkv", "rwkv", {{NULL, NULL}}, 1, NULL, 0},
    /* Mamba's own dt init (dt ~ logU[1e-3, 0.1]): with the iclr24 overwrite (dt bias 0,
     * so dt = softplus(0) = 0.69 and the state halves every token or faster) it learned
     * only the values prior here (test loss 4.86, acc 0.007); with this init 3.67, 0.114. */
    {"mamba", "mamba", {{"mixer.0.init", "mamba"}}, 0, NULL, 0},
    /* The newer mixers: the recurrent ones alone, with their short convolutions (GLA's is
     * off by default: on here, as fla recommends for recall); Mamba-2 at d_state 16
     * (Zoology's sweeps use 8-24; the default 128 is 8x the work). Budgets and floors
     * from measured runs of this setting (CI's time is the limit): the delta rule recalls
     * after one epoch (0.89), Gated DeltaNet after three (0.93), Mamba-2 partly after
     * three (0.37), each floor about 2/3 of that; GLA (0.09 after three), RWKV-7 and the
     * softmax-selection hybrid only have to learn (docs/mixers.md says why for the last). */
    {"gla", "gla", {{"mixer.0.use_short_conv", "true"}}, 0, "3", 0},
    {"mamba2", "mamba2", {{"mixer.0.d_state", "16"}}, 0, "3", 0.25},
    {"delta_net", "delta_net", {{NULL, NULL}}, 0, "1", 0.6},
    {"gated_delta_net", "gated_delta_net", {{NULL, NULL}}, 0, "3", 0.6},
    {"rwkv7", "rwkv7", {{"mixer.0.head_dim", "16"}}, 0, "1", 0}, /* 16 divides the tests' widths (32, 64) */
    /* The paper's section 5 hybrid: a k=3 BaseConv, then input-dependent sparse attention
     * (selective.py's softmax selection, the default). */
    {"sparse_attention", "base_conv,sparse_attention", {{"mixer.0.kernel_size", "3"}}, 0, "1", 0},
};
#define N_CASES ((int)(sizeof CASES / sizeof *CASES))

/* The case's mixer pattern and knobs into s: 0, or 1 when a value is refused. */
static inline int mixer_case_apply(zoo_run_spec *s, const mixer_case *c)
{
    if (zoo_run_spec_set(s, "mixer", c->mixer))
        return 1;
    for (int i = 0; i < 4 && c->knobs[i][0]; i++)
        if (zoo_run_spec_set(s, c->knobs[i][0], c->knobs[i][1]))
            return 1;
    return 0;
}

#endif
