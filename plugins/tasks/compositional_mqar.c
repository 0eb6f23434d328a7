/* compositional_mqar.c: MQAR with compound keys (Zoology's compositional_mqar). The K
 * pairs are the cells of a g x g grid, g = sqrt(K): g first-key tokens K1 times g
 * second-key tokens K2, each cell with its own value, so neither part alone gives the
 * value. The context is K triplets (K1, K2, value); each pair is then asked once as
 * (K1, K2) at slot g_j of S = (L - 3K)/3 query slots of 3 tokens, placed by the power
 * law of mqar; the label sits on K2. Vocabulary in thirds, t = V/3: K1 of [1, t), K2
 * of [t, 2t), values of [2t, V); token 0 is the blank.
 *
 * Draw order of example e (its own stream keyed by (seed, e)): g distinct K1 then g
 * distinct K2 (below(n) until g different came); the order of the K grid cells in the
 * context, a Fisher-Yates shuffle of 0..K-1 (for i = K-1 down to 1 swap i with
 * below(i+1)); K distinct values; one uniform per query slot for the slot clocks
 * (mqar_draws.h); with random_non_queries, below(V) per blank of the query region in
 * position order. Implements Zoology's distribution, not NumPy's bit stream. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mqar_draws.h"
#include "zoo/error.h"
#include "zoo/task.h"

/* The stream salt ("cmqar-v1"): fixed forever, or every dataset of this task changes. */
#define SALT 0x636d7161722d7631ull

static const zoo_hparam knobs[] = {
    {"kv_pairs", ZOO_HP_INT, "4",
     "compound pairs K, a perfect square (4, 9, 16, ...): a sqrt(K) x sqrt(K) grid (6K <= L)"},
    MQAR_QUERY_KNOBS,
    {NULL, 0, NULL, NULL},
};

/* floor(sqrt(K)) for K >= 0, exact for any int64 (no floating-point rounding). */
static int64_t isqrt(int64_t K)
{
    int64_t g = 0;
    for (int64_t b = (int64_t)1 << 31; b; b >>= 1)
        if ((g + b) <= K / (g + b))
            g += b;
    return g;
}

static int validate(const zoo_hvals *h, const zoo_task_set *set, char *msg, size_t n)
{
    int64_t V = set->vocab, L = set->seq_len, K = zoo_hvals_int(h, "kv_pairs");
    if (mqar_check_common(V, L, zoo_hvals_float(h, "power_a"), 6, msg, n))
        return ZOO_ERR_INVALID;
    int64_t g = K > 0 ? isqrt(K) : 0;
    if (K < 1)
        snprintf(msg, n, "kv_pairs %lld must be >= 1 (a perfect square: 4, 9, 16, ...)", (long long)K);
    else if (K > L / 6) /* 6K <= L; V > L then leaves > 2K tokens in each third, so the draws end */
        snprintf(msg, n,
                 "kv_pairs %lld needs seq_len >= 6*kv_pairs (3K context tokens + K query slots of 3); got seq_len "
                 "%lld: lower kv_pairs to <= %lld or raise seq_len",
                 (long long)K, (long long)L, (long long)(L / 6));
    else if (g * g != K) /* K <= L/6 < 2^61 here, so (g+1)^2 fits */
        snprintf(msg, n,
                 "kv_pairs %lld must be a perfect square (the pairs are a sqrt(K) x sqrt(K) grid of first and second "
                 "keys); use %lld or %lld",
                 (long long)K, (long long)(g * g), (long long)((g + 1) * (g + 1)));
    else
        return 0;
    return ZOO_ERR_INVALID;
}

static int generate(const zoo_hvals *h, const zoo_task_set *set, int64_t first, int64_t count, int32_t *xs,
                    int32_t *ys, int32_t *tags)
{
    (void)tags;
    const int64_t V = set->vocab, L = set->seq_len, K = zoo_hvals_int(h, "kv_pairs"), g = isqrt(K);
    const int64_t third = V / 3, C = 3 * K, S = (L - C) / 3;
    const int noise = zoo_hvals_bool(h, "random_non_queries");
    unsigned char *seen = calloc((size_t)(V - 2 * third), 1); /* the largest pool: values */
    mqar_slot_key *heap = malloc((size_t)K * sizeof *heap);  /* (K) */
    int32_t *buf = malloc((size_t)(2 * g + 3 * K) * sizeof *buf);
    double *w = malloc((size_t)S * sizeof *w); /* (S) slot weights */
    if (!seen || !heap || !buf || !w) {
        free(seen), free(heap), free(buf), free(w);
        return ZOO_ERR_NOMEM;
    }
    mqar_slot_weights(zoo_hvals_float(h, "power_a"), S, w);
    int32_t *k1 = buf, *k2 = buf + g, *cell = buf + 2 * g, *vals = cell + K, *slot = vals + K;
    for (int64_t e = 0; e < count; e++) {
        int32_t *x = xs + e * L, *y = ys + e * L; /* (L) each */
        zoo_task_rng r;
        zoo_task_rng_init(&r, set->seed, SALT, first + e);
        mqar_draw_distinct(&r, 1, third - 1, g, seen, k1);
        mqar_draw_distinct(&r, third, third, g, seen, k2);
        for (int64_t i = 0; i < K; i++)
            cell[i] = (int32_t)i;
        for (int64_t i = K - 1; i > 0; i--) {
            int64_t j = zoo_task_rng_below(&r, i + 1);
            int32_t t = cell[i];
            cell[i] = cell[j];
            cell[j] = t;
        }
        mqar_draw_distinct(&r, 2 * third, V - 2 * third, K, seen, vals);
        mqar_draw_slots(&r, w, S, K, heap, slot);
        for (int64_t t = 0; t < L; t++) {
            x[t] = 0;
            y[t] = ZOO_IGNORE_LABEL;
        }
        for (int64_t j = 0; j < K; j++) {
            int32_t a = k1[cell[j] / g], b = k2[cell[j] % g]; /* cell c = (row c/g, column c%g) */
            x[3 * j] = a;
            x[3 * j + 1] = b;
            x[3 * j + 2] = vals[j];
            int64_t q = C + 3 * (int64_t)slot[j];
            x[q] = a;
            x[q + 1] = b;
            y[q + 1] = vals[j];
        }
        if (noise)
            mqar_fill_blanks(&r, x, C, L, V);
    }
    free(seen), free(heap), free(buf), free(w);
    return 0;
}

ZOO_PLUGIN_EXPORT const zoo_task zoo_task_v1 = {
    .hdr = ZOO_TASK_HEADER,
    .name = "compositional_mqar",
    .family = "zoology",
    .summary = "MQAR with compound keys: a grid of (K1, K2) -> value, each pair asked once as K1 K2",
    .hparams = knobs,
    .validate = validate,
    .generate = generate,
};
