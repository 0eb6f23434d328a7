/* mad_recall.h: MAD's in-context recall, shared by the in_context_recall and
 * noisy_in_context_recall plugins, which differ only in knob defaults and salt (MAD
 * makes its noisy variant by calling the same generator). The definition, draw order
 * and layout are in in_context_recall.c's top comment and docs/tasks.md.
 * static: each .so gets its own copy, nothing exported. */
#ifndef ZOO_PLUGINS_MAD_RECALL_H
#define ZOO_PLUGINS_MAD_RECALL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mad_noise.h"
#include "zoo/error.h"
#include "zoo/task.h"

static int mad_recall_validate(const zoo_hvals *h, const zoo_task_set *set, char *msg, size_t n)
{
    int64_t L = set->seq_len, content;
    int mq = zoo_hvals_bool(h, "multi_query");
    if (L < 4 || L % 2)
        snprintf(msg, n, "seq_len %lld must be even and >= 4 (key-value pairs of 2 tokens, then the probe); use %lld",
                 (long long)L, (long long)(L < 4 ? 4 : L + 1));
    else /* one key and one value at least; without multi_query V-1 is the copy prefix */
        return mad_check_noise(h, set, mq ? 0 : 1, 2, "one key and one value", 0, &content, msg, n);
    return ZOO_ERR_INVALID;
}

static int mad_recall_generate(uint64_t salt, const zoo_hvals *h, const zoo_task_set *set, int64_t first,
                               int64_t count, int32_t *xs, int32_t *ys)
{
    const int64_t V = set->vocab, L = set->seq_len, P = L / 2, nv = zoo_hvals_int(h, "noise_vocab_size");
    const int mq = zoo_hvals_bool(h, "multi_query"), train = set->split == ZOO_SPLIT_TRAIN;
    const double f = zoo_hvals_float(h, "frac_noise");
    const int64_t nsv = V - (mq ? 0 : 1) - nv, hk = nsv / 2, S = L + (mq ? 0 : 1); /* S: sequence before the shift */
    int32_t *val = malloc((size_t)hk * sizeof *val);       /* (hk) value of each key, -1 not yet shown */
    int32_t *order = malloc((size_t)hk * sizeof *order);   /* keys in the order first shown */
    int32_t *seq = malloc((size_t)(2 * S) * sizeof *seq);  /* tokens (S), then test targets (S) */
    if (!val || !order || !seq) {
        free(val), free(order), free(seq);
        return ZOO_ERR_NOMEM;
    }
    int32_t *tgt = seq + S;
    for (int64_t k = 0; k < hk; k++)
        val[k] = -1;
    for (int64_t e = 0; e < count; e++) {
        zoo_task_rng r;
        zoo_task_rng_init(&r, set->seed, salt, first + e);
        int64_t shown = 0, t = 0;
        /* The pair that is never noise; MAD draws it from L/2, which can miss the P-1
         * pairs and leave no key to probe: zoo keeps it among them. */
        int64_t keep = zoo_task_rng_below(&r, P - 1);
        for (int64_t i = 0; i < P - 1; i++, t += 2) {
            int noise = f > 0 && i != keep && zoo_task_rng_uniform(&r) < f;
            if (noise) {
                seq[t] = (int32_t)(nsv + zoo_task_rng_below(&r, nv));
                seq[t + 1] = (int32_t)(nsv + zoo_task_rng_below(&r, nv));
                tgt[t] = tgt[t + 1] = ZOO_IGNORE_LABEL;
                continue;
            }
            int32_t k = (int32_t)zoo_task_rng_below(&r, hk);
            int seen = val[k] >= 0;
            if (!seen) {
                val[k] = (int32_t)(hk + zoo_task_rng_below(&r, nsv - hk));
                order[shown++] = k;
            }
            seq[t] = k;
            seq[t + 1] = val[k];
            tgt[t] = ZOO_IGNORE_LABEL;
            tgt[t + 1] = seen && mq ? val[k] : ZOO_IGNORE_LABEL;
        }
        int32_t kp = order[zoo_task_rng_below(&r, shown)]; /* the probe: a key shown before */
        if (!mq) {
            seq[t] = (int32_t)(V - 1); /* copy prefix */
            tgt[t++] = ZOO_IGNORE_LABEL;
        }
        seq[t] = kp;
        tgt[t++] = ZOO_IGNORE_LABEL;
        seq[t] = val[kp];
        tgt[t] = val[kp];
        /* Shift: input t predicts token t+1 (training: every next token; test: the
         * targets). With multi_query MAD's inputs are L-1 long: zoo keeps the probe's
         * value as an unsupervised last input, which a causal model's earlier outputs
         * cannot see. */
        int32_t *x = xs + e * L, *y = ys + e * L;
        for (int64_t j = 0; j < L; j++) {
            x[j] = seq[j];
            y[j] = j + 1 < S ? (train ? seq[j + 1] : tgt[j + 1]) : ZOO_IGNORE_LABEL;
        }
        for (int64_t j = 0; j < shown; j++)
            val[order[j]] = -1;
    }
    free(val), free(order), free(seq);
    return 0;
}

#endif
