/* in_context_recall.c: MAD's in-context recall (Poli et al. 2024, the MAD benchmark;
 * docs/tasks.md, MAD tasks). A sequence of key-value pairs drawn from one random map
 * per example; the last pair repeats a key shown before, and its value is what the test
 * scores. MAD's benchmark setting is the default: vocab 16, seq_len 128, multi_query.
 *
 * Vocabulary (V = vocab): without multi_query V-1 is the copy prefix; of the rest, the
 * top noise_vocab_size tokens are noise and the n below them (n = V - noise_vocab_size,
 * minus 1 for the prefix) are keys [0, n/2) and values [n/2, n).
 * Example e draws from its stream (seed, SALT, e), in this order (P = L/2):
 *   keep = below(P-1)                      the pair that is never noise
 *   for pair i = 0 .. P-2:
 *     if frac_noise > 0 and i != keep: noise = uniform() < frac_noise
 *     noise: two tokens n + below(noise_vocab_size)
 *     else: key = below(n/2); a key not shown before gets value n/2 + below(n - n/2),
 *           a key shown before keeps its value
 *   probe = below(#keys shown): the probe key, in the order keys were first shown
 * Sequence: the pairs, then (without multi_query) the copy prefix, then the probe key
 * and its value. Test targets: the probe's value, and with multi_query also every value
 * of a key shown before; -100 elsewhere. Inputs are the sequence, labels the next token
 * (training: every next token, MAD's is_training; test: the next token's target). With
 * multi_query the sequence is L long and the last input (the probe's value) predicts
 * nothing; without it, L+1 long and the value is only a label.
 * NumPy's bit stream is not reproduced, only the distribution. */
#include "mad_recall.h"

/* The stream salt ("madicr1"): fixed forever, or every dataset of this task changes. */
#define SALT 0x6d61646963723100ull

static const zoo_hparam knobs[] = {
    {"multi_query", ZOO_HP_BOOL, "true", "every repeated key's value is scored, not only the probe's (MAD: true)"},
    MAD_NOISE_KNOBS("0", "0"),
    {NULL, 0, NULL, NULL},
};

static int generate(const zoo_hvals *h, const zoo_task_set *set, int64_t first, int64_t count, int32_t *x,
                    int32_t *y, int32_t *tags)
{
    (void)tags;
    return mad_recall_generate(SALT, h, set, first, count, x, y);
}

ZOO_PLUGIN_EXPORT const zoo_task zoo_task_v1 = {
    .hdr = ZOO_TASK_HEADER,
    .name = "in_context_recall",
    .family = "mad",
    .summary = "MAD in-context recall: key-value pairs from one random map, values of repeated keys scored",
    .hparams = knobs,
    .validate = mad_recall_validate,
    .generate = generate,
};
