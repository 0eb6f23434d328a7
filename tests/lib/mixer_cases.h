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
    const char *lr;      /* the learning test's learning rate when not its default (NULL) */
} mixer_case;

static const mixer_case CASES[] = {
    {"attention", "base_conv,attention", {{"mixer.0.kernel_size", "3"}}, 0, NULL, 0.9, NULL},
    {"base_conv", "base_conv", {{NULL, NULL}}, 1, NULL, 0, NULL},
    {"hyena", "hyena", {{NULL, NULL}}, 1, NULL, 0, NULL},
    {"h3", "h3", {{NULL, NULL}}, 1, NULL, 0, NULL},
    {"based", "base_conv,based", {{"mixer.0.kernel_size", "3"}, {"mixer.1.feature_dim", "8"}}, 0, NULL, 0, NULL},
    {"linear_attention", "base_conv,linear_attention", {{"mixer.0.kernel_size", "3"}}, 0, NULL, 0, NULL},
    {"sliding_window", "base_conv,sliding_window", {{"mixer.0.kernel_size", "3"}, {"mixer.1.block_size", "16"}}, 0, NULL, 0, NULL},
    {"rwkv", "rwkv", {{NULL, NULL}}, 1, NULL, 0, NULL},
    /* Mamba's own dt init (dt ~ logU[1e-3, 0.1]): with the iclr24 overwrite (dt bias 0,
     * so dt = softplus(0) = 0.69 and the state halves every token or faster) it learned
     * only the values prior here (test loss 4.86, acc 0.007); with this init 3.67, 0.114. */
    {"mamba", "mamba", {{"mixer.0.init", "mamba"}}, 0, NULL, 0, NULL},
    /* The newer mixers: the recurrent ones alone, with their short convolutions (GLA's is
     * off by default: on here, as fla recommends for recall); Mamba-2 at d_state 16
     * (Zoology's sweeps use 8-24; the default 128 is 8x the work); RWKV-7 with fla's init
     * (under Zoology's every decay starts at 0.74 a token and it had learned nothing
     * after an epoch: acc 0.007, test loss 4.88; with fla's 0.946). Budgets and floors
     * from measured runs of this setting (CI's time is the limit): the delta rule and
     * RWKV-7 recall after one epoch (0.89, 0.95), Gated DeltaNet after three (0.93),
     * Mamba-2 partly after three (0.37), GLA after six at lr 4.64e-3 (0.84; the best of
     * 1e-3, 2.15e-3, 4.64e-3, 1e-2 at three epochs: 0.07, 0.09, 0.19, 0.07), each floor
     * about 2/3 of that. */
    {"gla", "gla", {{"mixer.0.use_short_conv", "true"}}, 0, "6", 0.5, "4.641588833612779e-3"},
    {"mamba2", "mamba2", {{"mixer.0.d_state", "16"}}, 0, "3", 0.25, NULL},
    {"delta_net", "delta_net", {{NULL, NULL}}, 0, "1", 0.6, NULL},
    {"gated_delta_net", "gated_delta_net", {{NULL, NULL}}, 0, "3", 0.6, NULL},
    /* head_dim 16 divides the tests' widths (32, 64) */
    {"rwkv7", "rwkv7", {{"mixer.0.head_dim", "16"}, {"mixer.0.init", "fla"}}, 0, "1", 0.6, NULL},
    /* The paper's section 5 hybrid: a k=3 BaseConv, then input-dependent sparse attention,
     * under its three selection rules. selective.py's softmax (the default): attention's
     * share of the output starts near 1/L and it only has to learn (0.007 after one
     * epoch, 0.025 after ten: docs/mixers.md). Its SigmoidLookups: training learns the
     * task (train loss 0.03) and eval's top ceil(sqrt(L)) = 12 positions keep most of
     * it (0.789 after five epochs; 0.06 after four, so five). zoo's causal gate: 0.996
     * after three (a budget of 8 keeps the cosine rate up until then). */
    {"sparse_attention", "base_conv,sparse_attention", {{"mixer.0.kernel_size", "3"}}, 0, "1", 0, NULL},
    {"sparse_attention_sigmoid", "base_conv,sparse_attention",
     {{"mixer.0.kernel_size", "3"}, {"mixer.1.selection", "sigmoid"}}, 0, "5", 0.5, NULL},
    {"sparse_attention_gate", "base_conv,sparse_attention",
     {{"mixer.0.kernel_size", "3"}, {"mixer.1.selection", "gate"}}, 0, "8", 0.6, NULL},
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
