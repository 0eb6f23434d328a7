/* torchmodel.c: the whole model against PyTorch. Builds a small attention model
 * (dropout 0 everywhere), perturbs its weights, saves it through the checkpoint format,
 * computes the step-0 loss and every parameter's gradient on a fixed MQAR batch, runs
 * AdamW steps recording each loss, and hands it all to check_model.py, which rebuilds
 * the model in torch (zoology_ref.py) from the checkpoint and compares.
 * usage: zoo_test_torchmodel <check_model.py> <case>; exit 0 pass, 1 fail, 77 skip. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_trace.h"
#include "testlib.h"
#include "zoo/run.h"
#include "zoo/task.h"

typedef struct tcase {
    const char *name;
    const char *state_mixer;
    int heads, layers;
    int64_t V, D, L, K, B, batches;
} tcase;

/* Small, odd-ish sizes that still exercise every part: 1 and 2 heads, both state
 * mixers, 2 and 3 layers, several batches so later steps see new data. */
static const tcase cases[] = {
    {"identity_h1", "identity", 1, 2, 64, 16, 16, 2, 4, 3},
    {"identity_h2", "identity", 2, 2, 128, 32, 32, 4, 8, 2},
    {"mlp_h1", "mlp", 1, 2, 96, 24, 16, 3, 5, 3},
    {"mlp_h2_3layers", "mlp", 2, 3, 256, 32, 32, 4, 4, 2},
};




static int run_case(const tcase *c, const char *script)
{
    zoo_run_spec spec;
    zoo_run_spec_default(&spec);
    zoo_run_spec *sp = &spec;
    int bad = zt_spec_seti(sp, "vocab", c->V) || zt_spec_seti(sp, "seq_len", c->L) ||
              zt_spec_seti(sp, "kv_pairs", c->K) || zt_spec_seti(sp, "d_model", c->D) ||
              zt_spec_seti(sp, "n_layers", c->layers) || zt_spec_set(sp, "mixer", "attention") ||
              zt_spec_seti(sp, "attention.num_heads", c->heads) || zt_spec_set(sp, "attention.dropout", "0") ||
              zt_spec_set(sp, "state_mixer", c->state_mixer) || zt_spec_set(sp, "pos_emb", "on") ||
              zt_spec_set(sp, "embed_dropout", "0") || zt_spec_seti(sp, "train_examples", c->B * c->batches) ||
              zt_spec_seti(sp, "test_examples", c->B) || zt_spec_seti(sp, "batch_size", c->B) ||
              zt_spec_seti(sp, "seed", 7);
    if (bad || zt_check_rc(zoo_run_spec_check(&spec), "spec check"))
        return 1;

    zoo_model *m = NULL;
    if (zt_check_rc(zoo_model_build(&spec, c->B, c->B * c->K, &m), "zoo_model_build"))
        return 1;
    zt_trace_case tc = {c->name, c->V, c->L, c->K, c->B, c->batches, 1000 + (uint64_t)c->D};
    return zt_model_trace(m, &spec, &tc, script);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s check_model.py <case>\n", argv[0]);
        return 2;
    }
    zoo_set_threads(2);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (!strcmp(cases[i].name, argv[2]))
            return run_case(&cases[i], argv[1]);
    fprintf(stderr, "unknown case '%s'\n", argv[2]);
    return 2;
}
