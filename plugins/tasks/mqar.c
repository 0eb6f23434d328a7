/* mqar.c: multi-query associative recall, the Zoology paper's task (docs/task.md):
 * K key-value pairs, then each key asked once at a random distance; the label sits on
 * the repeated key. Implements the distribution, not NumPy's bit stream: example e
 * draws from its own stream keyed by (seed, e). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zoo/error.h"
#include "zoo/task.h"

/* The stream salt ("mqar-v1"): fixed forever, or every MQAR dataset changes. */
#define SALT 0x6d7161722d763100ull

static const zoo_hparam knobs[] = {
    {"kv_pairs", ZOO_HP_INT, "4", "key-value pairs K per example, each queried once (4K <= L)"},
    {"power_a", ZOO_HP_FLOAT, "0.01", "query distances: slot i weighs a(i+1)^(a-1); small a asks soon, 1 is uniform"},
    {"random_non_queries", ZOO_HP_BOOL, "false", "fill the blanks between queries with random tokens"},
    {NULL, 0, NULL, NULL},
};

static int validate(const zoo_hvals *h, const zoo_task_set *set, char *msg, size_t n)
{
    int64_t V = set->vocab, L = set->seq_len, K = zoo_hvals_int(h, "kv_pairs");
    double a = zoo_hvals_float(h, "power_a");
    if (L < 4 || L % 2 != 0)
        snprintf(msg, n,
                 "seq_len %lld must be even and >= 4 (key-value block then query slots); use an even length such "
                 "as %lld",
                 (long long)L, (long long)(L < 4 ? 4 : L == INT64_MAX ? L - 1 : L + 1));
    else if (K < 1)
        snprintf(msg, n, "kv_pairs %lld must be >= 1", (long long)K);
    else if (K > L / 4) /* 4K <= L, written so a huge K cannot overflow */
        snprintf(msg, n,
                 "kv_pairs %lld needs seq_len >= 4*kv_pairs (2K context tokens + K query slots of 2); got seq_len "
                 "%lld: lower kv_pairs to <= %lld or raise seq_len",
                 (long long)K, (long long)L, (long long)(L / 4));
    else if (V <= L)
        snprintf(msg, n, "vocab %lld must be > seq_len %lld; raise vocab (paper: 8192)", (long long)V, (long long)L);
    else if (V > INT32_MAX)
        snprintf(msg, n, "vocab %lld does not fit int32 tokens; use vocab <= %lld", (long long)V,
                 (long long)INT32_MAX);
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
    else if (!(a > 0) || !isfinite(a))
        snprintf(msg, n, "power_a %g must be a finite number > 0 (paper: 0.01; 1 gives uniform slots)", a);
    else
        return 0;
    return ZOO_ERR_INVALID;
}

/* K distinct tokens from [lo, lo + n), in draw order (a uniformly random ordered subset).
 * seen: (n) zeroed flags, returned zeroed. Rejection is cheap: validate keeps K <= n/2. */
static void draw_distinct(zoo_task_rng *r, int64_t lo, int64_t n, int64_t K, unsigned char *seen, int32_t *out)
{
    for (int64_t j = 0; j < K;) {
        int64_t t = zoo_task_rng_below(r, n);
        if (!seen[t]) {
            seen[t] = 1;
            out[j++] = (int32_t)(lo + t);
        }
    }
    for (int64_t j = 0; j < K; j++)
        seen[out[j] - lo] = 0;
}

typedef struct {
    double key;
    int32_t slot;
} slot_key;

static int key_less(const slot_key *a, const slot_key *b)
{
    return a->key < b->key || (a->key == b->key && a->slot < b->slot);
}

/* Max-heap on key (the root is the largest of the kept K). */
static void sift_down(slot_key *h, int64_t n, int64_t i)
{
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && key_less(&h[m], &h[l]))
            m = l;
        if (r < n && key_less(&h[m], &h[r]))
            m = r;
        if (m == i)
            return;
        slot_key t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static int cmp_key(const void *a, const void *b)
{
    const slot_key *x = a, *y = b;
    return key_less(x, y) ? -1 : key_less(y, x) ? 1 : 0;
}

/* K distinct slots of 0..S-1 drawn without replacement with weights w (successive
 * sampling, as NumPy's weighted choice). Exponential clocks: slot i rings at E_i / w_i,
 * E_i ~ Exp(1); the K earliest, in ringing order, have exactly the law of K successive
 * weighted draws in draw order. heap: (K) scratch; g: (K) out. */
static void draw_slots(zoo_task_rng *r, const double *w, int64_t S, int64_t K, slot_key *heap, int32_t *g)
{
    int64_t n = 0;
    for (int64_t i = 0; i < S; i++) {
        double e = -log(1.0 - zoo_task_rng_uniform(r)); /* 1-u is in (0, 1] */
        slot_key k = {e / w[i], (int32_t)i};
        if (n < K) {
            heap[n++] = k;
            if (n == K)
                for (int64_t j = K / 2 - 1; j >= 0; j--)
                    sift_down(heap, K, j);
        } else if (key_less(&k, &heap[0])) {
            heap[0] = k;
            sift_down(heap, K, 0);
        }
    }
    qsort(heap, (size_t)K, sizeof *heap, cmp_key);
    for (int64_t j = 0; j < K; j++)
        g[j] = heap[j].slot;
}

static int generate(const zoo_hvals *h, const zoo_task_set *set, int64_t first, int64_t count, int32_t *xs,
                    int32_t *ys, int32_t *tags)
{
    (void)tags;
    const int64_t V = set->vocab, L = set->seq_len, K = zoo_hvals_int(h, "kv_pairs");
    const int64_t C = 2 * K, S = (L - C) / 2, half = V / 2;
    const double a = zoo_hvals_float(h, "power_a");
    const int noise = zoo_hvals_bool(h, "random_non_queries");
    unsigned char *seen = calloc((size_t)(V - half), 1); /* (V - V/2) >= V/2 - 1 */
    slot_key *heap = malloc((size_t)K * sizeof *heap);   /* (K) */
    int32_t *kv = malloc((size_t)(3 * K) * sizeof *kv);  /* keys (K), values (K), slots (K) */
    double *w = malloc((size_t)S * sizeof *w);           /* (S) slot weights */
    if (!seen || !heap || !kv || !w) {
        free(seen), free(heap), free(kv), free(w);
        return ZOO_ERR_NOMEM;
    }
    /* w_i = a * i^(a-1), i = 1..S; unnormalised (the clocks need no normalisation). */
    for (int64_t i = 0; i < S; i++)
        w[i] = a * pow((double)(i + 1), a - 1.0);
    for (int64_t e = 0; e < count; e++) {
        int32_t *x = xs + e * L, *y = ys + e * L; /* (L) each */
        int32_t *keys = kv, *vals = kv + K, *g = kv + 2 * K;
        zoo_task_rng r;
        zoo_task_rng_init(&r, set->seed, SALT, first + e);
        draw_distinct(&r, 1, half - 1, K, seen, keys);
        draw_distinct(&r, half, V - half, K, seen, vals);
        draw_slots(&r, w, S, K, heap, g);
        for (int64_t t = 0; t < L; t++) {
            x[t] = 0;
            y[t] = ZOO_IGNORE_LABEL;
        }
        for (int64_t j = 0; j < K; j++) {
            x[2 * j] = keys[j];
            x[2 * j + 1] = vals[j];
            int64_t q = C + 2 * (int64_t)g[j];
            x[q] = keys[j];
            y[q] = vals[j];
        }
        /* Noise last, so the pairs and slots do not depend on the switch. */
        if (noise)
            for (int64_t t = C; t < L; t++)
                if (x[t] == 0)
                    x[t] = (int32_t)zoo_task_rng_below(&r, V);
    }
    free(seen), free(heap), free(kv), free(w);
    return 0;
}

ZOO_PLUGIN_EXPORT const zoo_task zoo_task_v1 = {
    .hdr = ZOO_TASK_HEADER,
    .name = "mqar",
    .family = "zoology",
    .summary = "multi-query associative recall: K key-value pairs, each key asked once later",
    .hparams = knobs,
    .validate = validate,
    .generate = generate,
};
