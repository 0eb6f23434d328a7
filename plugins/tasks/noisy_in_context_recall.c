/* noisy_in_context_recall.c: MAD's noisy in-context recall (docs/tasks.md, MAD tasks):
 * in_context_recall (its definition and draw order are in in_context_recall.c) with
 * noise pairs: each pair but one is, with chance frac_noise, two tokens of the
 * noise_vocab_size noise tokens instead. MAD's benchmark setting is the default:
 * vocab 32 (16 of them noise), seq_len 128, frac_noise 0.2, multi_query. */
#include "mad_recall.h"

/* The stream salt ("madnicr"): fixed forever, or every dataset of this task changes. */
#define SALT 0x6d61646e69637200ull

static const zoo_hparam knobs[] = {
    {"multi_query", ZOO_HP_BOOL, "true", "every repeated key's value is scored, not only the probe's (MAD: true)"},
    MAD_NOISE_KNOBS("16", "0.2"),
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
    .name = "noisy_in_context_recall",
    .family = "mad",
    .summary = "MAD noisy in-context recall: in-context recall with pairs of noise tokens mixed in",
    .hparams = knobs,
    .validate = mad_recall_validate,
    .generate = generate,
};
