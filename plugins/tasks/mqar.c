/* mqar.c: multi-query associative recall, the Zoology paper's task (docs/task.md):
 * K key-value pairs, then each key asked once at a random distance; the label sits on
 * the repeated key. num_passes P > 1 repeats the block of pairs P times before the
 * queries (JRT-style, as Zoology's num_passes): context C = 2KP, S = (L - C)/2 slots.
 *
 * Draw order of example e (its own stream keyed by (seed, e)): K distinct keys of
 * [1, V/2) then K distinct values of [V/2, V) (each: below(n) until K different came);
 * one uniform per query slot 0..S-1 for the slot clocks (mqar_draws.h); with
 * random_non_queries, below(V) for each blank of the query region in position order.
 * Implements Zoology's distribution, not NumPy's bit stream. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mqar_draws.h"
#include "zoo/error.h"
#include "zoo/task.h"

/* The stream salt ("mqar-v1"): fixed forever, or every MQAR dataset changes. */
#define SALT 0x6d7161722d763100ull

static const zoo_hparam knobs[] = {
    {"kv_pairs", ZOO_HP_INT, "4", "key-value pairs K per example, each queried once (2K(num_passes+1) <= L)"},
    MQAR_QUERY_KNOBS,
    {"num_passes", ZOO_HP_INT, "1", "times the block of pairs is repeated before the queries (JRT); 1 = plain MQAR"},
    {NULL, 0, NULL, NULL},
};

static int validate(const zoo_hvals *h, const zoo_task_set *set, char *msg, size_t n)
{
    int64_t V = set->vocab, L = set->seq_len, K = zoo_hvals_int(h, "kv_pairs"), P = zoo_hvals_int(h, "num_passes");
    if (mqar_check_common(V, L, zoo_hvals_float(h, "power_a"), 4, msg, n))
        return ZOO_ERR_INVALID;
    if (K < 1)
        snprintf(msg, n, "kv_pairs %lld must be >= 1", (long long)K);
    else if (P < 1)
        snprintf(msg, n, "num_passes %lld must be >= 1 (1 = plain MQAR)", (long long)P);
    else if (P > L / 2 - 1) /* even K = 1 needs 2(P+1) <= L; also keeps 2(P+1) from overflowing */
        snprintf(msg, n,
                 "num_passes %lld leaves no room for the queries at seq_len %lld (the pairs take "
                 "2*kv_pairs*num_passes tokens, the queries 2*kv_pairs); lower num_passes to <= %lld or raise seq_len",
                 (long long)P, (long long)L, (long long)(L / 2 - 1));
    else if (P == 1 && K > L / 4) /* plain MQAR: 4K <= L, the message of every earlier zoo */
        snprintf(msg, n,
                 "kv_pairs %lld needs seq_len >= 4*kv_pairs (2K context tokens + K query slots of 2); got seq_len "
                 "%lld: lower kv_pairs to <= %lld or raise seq_len",
                 (long long)K, (long long)L, (long long)(L / 4));
    else if (K > L / (2 * (P + 1))) /* 2K(P+1) <= L, written so a huge K cannot overflow */
        snprintf(msg, n,
                 "kv_pairs %lld with num_passes %lld needs seq_len >= 2*kv_pairs*(num_passes+1) (the pairs, "
                 "num_passes times, then kv_pairs query slots of 2); got seq_len %lld: lower kv_pairs to <= %lld, "
                 "lower num_passes, or raise seq_len",
                 (long long)K, (long long)P, (long long)L, (long long)(L / (2 * (P + 1))));
    else if (K > V / 2 - 1)
        snprintf(msg, n,
                 "kv_pairs %lld exceeds the %lld distinct keys of [1, vocab/2) for vocab %lld; raise vocab or lower "
                 "kv_pairs",
                 (long long)K, (long long)(V / 2 - 1), (long long)V);
    else if (K > V - V / 2)
        snprintf(msg, n,
                 "kv_pairs %lld exceeds the %lld distinct values of [vocab/2, vocab) for vocab %lld; raise vocab or "
                 "lower kv_pairs",
                 (long long)K, (long long)(V - V / 2), (long long)V);
    else
        return 0;
    return ZOO_ERR_INVALID;
}

static int generate(const zoo_hvals *h, const zoo_task_set *set, int64_t first, int64_t count, int32_t *xs,
                    int32_t *ys, int32_t *tags)
{
    (void)tags;
    const int64_t V = set->vocab, L = set->seq_len, K = zoo_hvals_int(h, "kv_pairs");
    const int64_t P = zoo_hvals_int(h, "num_passes"), C = 2 * K * P, S = (L - C) / 2, half = V / 2;
    const int noise = zoo_hvals_bool(h, "random_non_queries");
    unsigned char *seen = calloc((size_t)(V - half), 1);     /* (V - V/2) >= V/2 - 1 */
    mqar_slot_key *heap = malloc((size_t)K * sizeof *heap); /* (K) */
    int32_t *kv = malloc((size_t)(3 * K) * sizeof *kv);      /* keys (K), values (K), slots (K) */
    double *w = malloc((size_t)S * sizeof *w);               /* (S) slot weights */
    if (!seen || !heap || !kv || !w) {
        free(seen), free(heap), free(kv), free(w);
        return ZOO_ERR_NOMEM;
    }
    mqar_slot_weights(zoo_hvals_float(h, "power_a"), S, w);
    for (int64_t e = 0; e < count; e++) {
        int32_t *x = xs + e * L, *y = ys + e * L; /* (L) each */
        int32_t *keys = kv, *vals = kv + K, *g = kv + 2 * K;
        zoo_task_rng r;
        zoo_task_rng_init(&r, set->seed, SALT, first + e);
        mqar_draw_distinct(&r, 1, half - 1, K, seen, keys);
        mqar_draw_distinct(&r, half, V - half, K, seen, vals);
        mqar_draw_slots(&r, w, S, K, heap, g);
        for (int64_t t = 0; t < L; t++) {
            x[t] = 0;
            y[t] = ZOO_IGNORE_LABEL;
        }
        for (int64_t j = 0; j < K; j++) {
            for (int64_t p = 0; p < P; p++) {
                x[2 * K * p + 2 * j] = keys[j];
                x[2 * K * p + 2 * j + 1] = vals[j];
            }
            int64_t q = C + 2 * (int64_t)g[j];
            x[q] = keys[j];
            y[q] = vals[j];
        }
        if (noise)
            mqar_fill_blanks(&r, x, C, L, V);
    }
    free(seen), free(heap), free(kv), free(w);
    return 0;
}

ZOO_PLUGIN_EXPORT const zoo_task zoo_task_v1 = {
    .hdr = ZOO_TASK_HEADER,
    .name = "mqar",
    .family = "zoology",
    .summary = "multi-query associative recall: K key-value pairs (num_passes times), each key asked once later",
    .hparams = knobs,
    .validate = validate,
    .generate = generate,
};
