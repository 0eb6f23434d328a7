/* mqar.c: the MQAR generator of docs/task.md (paper-era semantics, one KV pass).
 * Implements the distribution, not NumPy's bit stream: each example draws from its own
 * counter-based stream keyed by (seed, index), so the output ignores the thread count.
 * Writing files and choosing train/test seeds (s, s+10) belong to the callers. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../internal.h"
#include "zoo/error.h"
#include "zoo/task.h"

/* Largest vocab whose tokens fit in the int32 datasets. */
#define VOCAB_MAX INT32_MAX

int zoo_mqar_check(const zoo_mqar_spec *s)
{
    if (!s)
        return ZOO_FAIL(ZOO_ERR_INVALID, "mqar: no spec given");
    int64_t V = s->vocab, L = s->seq_len, K = s->kv_pairs;
    if (L < 4 || L % 2 != 0)
        return ZOO_FAIL(ZOO_ERR_INVALID,
                        "mqar: seq_len %lld must be even and >= 4 (key-value block then query slots); "
                        "use an even length such as %lld",
                        (long long)L, (long long)(L < 4 ? 4 : L == INT64_MAX ? L - 1 : L + 1));
    if (K < 1)
        return ZOO_FAIL(ZOO_ERR_INVALID, "mqar: kv_pairs %lld must be >= 1", (long long)K);
    if (K > L / 4) /* 4K <= L, written so a huge K cannot overflow */
        return ZOO_FAIL(ZOO_ERR_INVALID,
                        "mqar: kv_pairs %lld needs seq_len >= 4*kv_pairs (2K context tokens + K query slots "
                        "of 2); got seq_len %lld: lower kv_pairs to <= %lld or raise seq_len",
                        (long long)K, (long long)L, (long long)(L / 4));
    if (V <= L)
        return ZOO_FAIL(ZOO_ERR_INVALID, "mqar: vocab %lld must be > seq_len %lld; raise vocab (paper: 8192)",
                        (long long)V, (long long)L);
    if (V > VOCAB_MAX)
        return ZOO_FAIL(ZOO_ERR_INVALID, "mqar: vocab %lld does not fit int32 tokens; use vocab <= %lld",
                        (long long)V, (long long)VOCAB_MAX);
    if (K > V / 2 - 1)
        return ZOO_FAIL(ZOO_ERR_INVALID,
                        "mqar: kv_pairs %lld exceeds the %lld distinct keys of [1, vocab/2) for vocab %lld; "
                        "raise vocab or lower kv_pairs",
                        (long long)K, (long long)(V / 2 - 1), (long long)V);
    if (K > V - V / 2)
        return ZOO_FAIL(ZOO_ERR_INVALID,
                        "mqar: kv_pairs %lld exceeds the %lld distinct values of [vocab/2, vocab) for vocab "
                        "%lld; raise vocab or lower kv_pairs",
                        (long long)K, (long long)(V - V / 2), (long long)V);
    if (s->num_examples < 1)
        return ZOO_FAIL(ZOO_ERR_INVALID, "mqar: num_examples %lld must be >= 1", (long long)s->num_examples);
    if (!(s->power_a > 0) || !isfinite(s->power_a))
        return ZOO_FAIL(ZOO_ERR_INVALID,
                        "mqar: power_a %g must be a finite number > 0 (paper: 0.01; 1 gives uniform slots)",
                        s->power_a);
    if ((uint64_t)s->num_examples > (uint64_t)(SIZE_MAX / 2 / sizeof(int32_t)) / (uint64_t)L)
        return ZOO_FAIL(ZOO_ERR_INVALID, "mqar: %lld examples of length %lld do not fit in memory; use fewer",
                        (long long)s->num_examples, (long long)L);
    return 0;
}

void zoo_dataset_free(zoo_dataset *d)
{
    if (!d)
        return;
    free(d->inputs);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

/* Uniform integer in [0, n): 53 random bits, so the bias is below n * 2^-53. */
static int64_t draw_below(zoo_rng *r, int64_t n)
{
    int64_t x = (int64_t)(zoo_rng_uniform(r) * (double)n);
    return x < n ? x : n - 1;
}

/* K distinct tokens from [lo, lo + n), in draw order (a uniformly random ordered subset).
 * seen: (n) zeroed flags, returned zeroed. Rejection is cheap: the checks keep K <= n/2. */
static void draw_distinct(zoo_rng *r, int64_t lo, int64_t n, int64_t K, unsigned char *seen, int32_t *out)
{
    for (int64_t j = 0; j < K;) {
        int64_t t = draw_below(r, n);
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
static void draw_slots(zoo_rng *r, const double *w, int64_t S, int64_t K, slot_key *heap, int32_t *g)
{
    int64_t n = 0;
    for (int64_t i = 0; i < S; i++) {
        double e = -log(1.0 - zoo_rng_uniform(r)); /* 1-u is in (0, 1] */
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

/* Stream key of example e: the seed goes through the mixer first so seeds s and s+10
 * (train/test) give unrelated streams, not shifted copies. */
static uint64_t example_key(uint64_t seed, int64_t e)
{
    return zoo_mix64(seed ^ 0x6d7161722d763100ull) + (uint64_t)e;
}

int zoo_mqar_generate(const zoo_mqar_spec *s, zoo_dataset *out)
{
    if (!out)
        return ZOO_FAIL(ZOO_ERR_INVALID, "mqar: no output dataset given");
    memset(out, 0, sizeof *out);
    int rc = zoo_mqar_check(s);
    if (rc)
        return rc;
    const int64_t V = s->vocab, L = s->seq_len, K = s->kv_pairs, n = s->num_examples;
    const int64_t C = 2 * K, S = (L - C) / 2, half = V / 2;
    const double a = s->power_a;

    int32_t *inputs = malloc((size_t)(n * L) * sizeof *inputs); /* (n, L) */
    int32_t *labels = malloc((size_t)(n * L) * sizeof *labels); /* (n, L) */
    double *w = malloc((size_t)S * sizeof *w);                  /* (S) slot weights p_{j+1} */
    if (!inputs || !labels || !w) {
        free(inputs);
        free(labels);
        free(w);
        return ZOO_FAIL(ZOO_ERR_NOMEM, "mqar: cannot allocate %lld x %lld examples", (long long)n, (long long)L);
    }
    /* w_i = a * i^(a-1), i = 1..S; unnormalised (the clocks need no normalisation). */
    for (int64_t i = 0; i < S; i++)
        w[i] = a * pow((double)(i + 1), a - 1.0);

    int failed = 0;
#pragma omp parallel
    {
        unsigned char *seen = calloc((size_t)(V - half), 1); /* (V - V/2) >= V/2 - 1 */
        slot_key *heap = malloc((size_t)K * sizeof *heap);   /* (K) */
        int32_t *kv = malloc((size_t)(3 * K) * sizeof *kv);  /* keys (K), values (K), slots (K) */
        if (!seen || !heap || !kv) {
#pragma omp atomic write
            failed = 1;
        }
        int ok = seen && heap && kv;
#pragma omp for schedule(static)
        for (int64_t e = 0; e < n; e++) {
            if (!ok)
                continue;
            int32_t *x = inputs + e * L, *y = labels + e * L; /* (L) each */
            int32_t *keys = kv, *vals = kv + K, *g = kv + 2 * K;
            zoo_rng r;
            zoo_rng_init(&r, example_key(s->seed, e));
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
            if (s->random_non_queries)
                for (int64_t t = C; t < L; t++)
                    if (x[t] == 0)
                        x[t] = (int32_t)draw_below(&r, V);
        }
        free(seen);
        free(heap);
        free(kv);
    }
    free(w);
    if (failed) {
        free(inputs);
        free(labels);
        return ZOO_FAIL(ZOO_ERR_NOMEM, "mqar: cannot allocate per-thread scratch (vocab %lld)", (long long)V);
    }
    out->n = n;
    out->L = L;
    out->vocab = V;
    out->inputs = inputs;
    out->labels = labels;
    return 0;
}
