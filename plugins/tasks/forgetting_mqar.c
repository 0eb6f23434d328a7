/* forgetting_mqar.c: MQAR where some keys are re-assigned (Zoology's forgetting_mqar):
 * the K pairs, then num_updates U of the keys again with new values, then each of the K
 * keys asked once; the label is the key's latest value. Context C = 2(K + U) tokens:
 * (key_j, value_j) for j < K, then (key of update j, new value j) for j < U; the queries
 * sit at C + 2 g_j of S = (L - C)/2 slots placed by the power law of mqar, the label on
 * the repeated key. Keys of [1, V/2), values of [V/2, V); token 0 is the blank.
 *
 * Draw order of example e (its own stream keyed by (seed, e)): K distinct keys, K
 * distinct values (below(n) until K different came); the keys updated, an ordered
 * subset of U of the K pairs by partial Fisher-Yates (for j < U swap j with
 * j + below(K - j)); per update in order, its new value: below(V - V/2 - 1) over the
 * values other than that key's current one; one uniform per query slot for the slot
 * clocks (mqar_draws.h); with random_non_queries, below(V) per blank of the query
 * region in position order. Implements Zoology's distribution, not NumPy's bit stream,
 * with one fix: Zoology's code excludes the original value of pair j, not of the key
 * update j re-assigns, so an update can repeat the old value; here it never does, as
 * the task's own description says (docs/tasks.md). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mqar_draws.h"
#include "zoo/error.h"
#include "zoo/task.h"

/* The stream salt ("fmqar-v1"): fixed forever, or every dataset of this task changes. */
#define SALT 0x666d7161722d7631ull

static const zoo_hparam knobs[] = {
    {"kv_pairs", ZOO_HP_INT, "8", "distinct keys K, each queried once (2(K + num_updates) + 2K <= L)"},
    {"num_updates", ZOO_HP_INT, "4", "keys re-assigned a new value after the pairs, 0..kv_pairs; the latest counts"},
    MQAR_QUERY_KNOBS,
    {NULL, 0, NULL, NULL},
};

static int validate(const zoo_hvals *h, const zoo_task_set *set, char *msg, size_t n)
{
    int64_t V = set->vocab, L = set->seq_len, K = zoo_hvals_int(h, "kv_pairs"), U = zoo_hvals_int(h, "num_updates");
    if (mqar_check_common(V, L, zoo_hvals_float(h, "power_a"), 4, msg, n))
        return ZOO_ERR_INVALID;
    if (K < 1)
        snprintf(msg, n, "kv_pairs %lld must be >= 1", (long long)K);
    else if (U < 0 || U > K)
        snprintf(msg, n, "num_updates %lld must be in [0, kv_pairs %lld]: each update re-assigns a different key",
                 (long long)U, (long long)K);
    else if (K > L / 4) /* 4K <= L first, so the next line cannot overflow */
        snprintf(msg, n,
                 "kv_pairs %lld needs seq_len >= 4*kv_pairs + 2*num_updates (the pairs, the updates, K query slots "
                 "of 2); got seq_len %lld: lower kv_pairs to <= %lld or raise seq_len",
                 (long long)K, (long long)L, (long long)(L / 4));
    else if (U > (L - 4 * K) / 2) /* V > L >= 4K + 2U leaves >= 2K keys and values, so the draws end */
        snprintf(msg, n,
                 "num_updates %lld with kv_pairs %lld needs seq_len >= 4*kv_pairs + 2*num_updates = %lld; got seq_len "
                 "%lld: lower num_updates to <= %lld, lower kv_pairs, or raise seq_len",
                 (long long)U, (long long)K, (long long)(4 * K + 2 * U), (long long)L, (long long)((L - 4 * K) / 2));
    else
        return 0;
    return ZOO_ERR_INVALID;
}

static int generate(const zoo_hvals *h, const zoo_task_set *set, int64_t first, int64_t count, int32_t *xs,
                    int32_t *ys, int32_t *tags)
{
    (void)tags;
    const int64_t V = set->vocab, L = set->seq_len, K = zoo_hvals_int(h, "kv_pairs");
    const int64_t U = zoo_hvals_int(h, "num_updates"), half = V / 2, C = 2 * (K + U), S = (L - C) / 2;
    const int noise = zoo_hvals_bool(h, "random_non_queries");
    unsigned char *seen = calloc((size_t)(V - half), 1);     /* (V - V/2) >= V/2 - 1 */
    mqar_slot_key *heap = malloc((size_t)K * sizeof *heap); /* (K) */
    int32_t *buf = malloc((size_t)(4 * K) * sizeof *buf);   /* keys, values (latest), pair order, slots */
    double *w = malloc((size_t)S * sizeof *w);               /* (S) slot weights */
    if (!seen || !heap || !buf || !w) {
        free(seen), free(heap), free(buf), free(w);
        return ZOO_ERR_NOMEM;
    }
    mqar_slot_weights(zoo_hvals_float(h, "power_a"), S, w);
    int32_t *keys = buf, *vals = buf + K, *order = buf + 2 * K, *slot = buf + 3 * K;
    for (int64_t e = 0; e < count; e++) {
        int32_t *x = xs + e * L, *y = ys + e * L; /* (L) each */
        zoo_task_rng r;
        zoo_task_rng_init(&r, set->seed, SALT, first + e);
        mqar_draw_distinct(&r, 1, half - 1, K, seen, keys);
        mqar_draw_distinct(&r, half, V - half, K, seen, vals);
        for (int64_t t = 0; t < L; t++) {
            x[t] = 0;
            y[t] = ZOO_IGNORE_LABEL;
        }
        for (int64_t j = 0; j < K; j++) { /* the original pairs, before vals[] becomes the latest */
            x[2 * j] = keys[j];
            x[2 * j + 1] = vals[j];
            order[j] = (int32_t)j;
        }
        for (int64_t j = 0; j < U; j++) {
            int64_t t = j + zoo_task_rng_below(&r, K - j);
            int32_t o = order[j];
            order[j] = order[t];
            order[t] = o;
        }
        for (int64_t j = 0; j < U; j++) {
            int32_t old = vals[order[j]];
            int32_t v = (int32_t)(half + zoo_task_rng_below(&r, V - half - 1)); /* skip the old value */
            vals[order[j]] = v >= old ? v + 1 : v;
            x[2 * K + 2 * j] = keys[order[j]];
            x[2 * K + 2 * j + 1] = vals[order[j]];
        }
        mqar_draw_slots(&r, w, S, K, heap, slot);
        for (int64_t j = 0; j < K; j++) {
            int64_t q = C + 2 * (int64_t)slot[j];
            x[q] = keys[j];
            y[q] = vals[j];
        }
        if (noise)
            mqar_fill_blanks(&r, x, C, L, V);
    }
    free(seen), free(heap), free(buf), free(w);
    return 0;
}

ZOO_PLUGIN_EXPORT const zoo_task zoo_task_v1 = {
    .hdr = ZOO_TASK_HEADER,
    .name = "forgetting_mqar",
    .family = "zoology",
    .summary = "MQAR where num_updates keys get a new value after the pairs; the latest value is the answer",
    .hparams = knobs,
    .validate = validate,
    .generate = generate,
};
