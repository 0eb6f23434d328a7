/* mqar_draws.h: the draws and checks the MQAR-family task plugins (mqar,
 * compositional_mqar, forgetting_mqar) share, so each is written once. Header-only
 * (static inline) because every task source here becomes its own .so and sees only the
 * public headers; a .h here is not built as a plugin. Changing any draw here changes
 * the data of every task that includes it: the draw order is part of their definitions
 * (docs/tasks.md) and of the Python references in tests/tasks/. */
#ifndef ZOO_PLUGINS_MQAR_DRAWS_H
#define ZOO_PLUGINS_MQAR_DRAWS_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "zoo/error.h"
#include "zoo/task.h"

/* The knobs every MQAR task declares for its query distances and blanks. */
#define MQAR_QUERY_KNOBS                                                                                              \
    {"power_a", ZOO_HP_FLOAT, "0.01", "query distances: slot i weighs a(i+1)^(a-1); small a asks soon, 1 is uniform"}, \
        {"random_non_queries", ZOO_HP_BOOL, "false", "fill the blanks between queries with random tokens"}

/* K distinct tokens from [lo, lo + n), in draw order (a uniformly random ordered subset):
 * below(n) until K different ones came. seen: (n) zeroed flags, returned zeroed. The
 * callers' checks keep n well above K or K small, so rejection stays cheap. */
static inline void mqar_draw_distinct(zoo_task_rng *r, int64_t lo, int64_t n, int64_t K, unsigned char *seen,
                                      int32_t *out)
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

typedef struct mqar_slot_key {
    double key;
    int32_t slot;
} mqar_slot_key;

static inline int mqar_key_less(const mqar_slot_key *a, const mqar_slot_key *b)
{
    return a->key < b->key || (a->key == b->key && a->slot < b->slot);
}

/* Max-heap on key (the root is the largest of the kept K). */
static inline void mqar_sift_down(mqar_slot_key *h, int64_t n, int64_t i)
{
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && mqar_key_less(&h[m], &h[l]))
            m = l;
        if (r < n && mqar_key_less(&h[m], &h[r]))
            m = r;
        if (m == i)
            return;
        mqar_slot_key t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static inline int mqar_cmp_key(const void *a, const void *b)
{
    const mqar_slot_key *x = a, *y = b;
    return mqar_key_less(x, y) ? -1 : mqar_key_less(y, x) ? 1 : 0;
}

/* w_i = a * (i+1)^(a-1), i = 0..S-1: Zoology's power-law weights of the query slots,
 * unnormalised (the clocks below need no normalisation). */
static inline void mqar_slot_weights(double a, int64_t S, double *w)
{
    for (int64_t i = 0; i < S; i++)
        w[i] = a * pow((double)(i + 1), a - 1.0);
}

/* K distinct slots of 0..S-1 drawn without replacement with weights w (successive
 * sampling, as NumPy's weighted choice). Exponential clocks: slot i rings at E_i / w_i,
 * E_i = -log(1 - u_i) ~ Exp(1), one uniform per slot in slot order; the K earliest, in
 * ringing order, have exactly the law of K successive weighted draws in draw order.
 * heap: (K) scratch; g: (K) out. */
static inline void mqar_draw_slots(zoo_task_rng *r, const double *w, int64_t S, int64_t K, mqar_slot_key *heap,
                                   int32_t *g)
{
    int64_t n = 0;
    for (int64_t i = 0; i < S; i++) {
        double e = -log(1.0 - zoo_task_rng_uniform(r)); /* 1-u is in (0, 1] */
        mqar_slot_key k = {e / w[i], (int32_t)i};
        if (n < K) {
            heap[n++] = k;
            if (n == K)
                for (int64_t j = K / 2 - 1; j >= 0; j--)
                    mqar_sift_down(heap, K, j);
        } else if (mqar_key_less(&k, &heap[0])) {
            heap[0] = k;
            mqar_sift_down(heap, K, 0);
        }
    }
    qsort(heap, (size_t)K, sizeof *heap, mqar_cmp_key);
    for (int64_t j = 0; j < K; j++)
        g[j] = heap[j].slot;
}

/* random_non_queries: every blank (0) of x[from..L) becomes below(V), in position order.
 * Drawn last, so the pairs and slots do not depend on the switch. */
static inline void mqar_fill_blanks(zoo_task_rng *r, int32_t *x, int64_t from, int64_t L, int64_t V)
{
    for (int64_t t = from; t < L; t++)
        if (x[t] == 0)
            x[t] = (int32_t)zoo_task_rng_below(r, V);
}

/* The checks Zoology's MQAR generators assert on (L even, V > L) plus what zoo needs
 * (L >= min_L, the shortest example with one pair; int32 tokens; a usable power_a), in
 * that order; 0 or ZOO_ERR_INVALID with msg. min_L is even. */
static inline int mqar_check_common(int64_t V, int64_t L, double a, int64_t min_L, char *msg, size_t n)
{
    if (L < min_L || L % 2 != 0)
        snprintf(msg, n,
                 "seq_len %lld must be even and >= %lld (Zoology's MQAR generators need an even length); use %lld",
                 (long long)L, (long long)min_L, (long long)(L < min_L ? min_L : L == INT64_MAX ? L - 1 : L + 1));
    else if (V <= L)
        snprintf(msg, n, "vocab %lld must be > seq_len %lld; raise vocab (paper: 8192)", (long long)V, (long long)L);
    else if (V > INT32_MAX)
        snprintf(msg, n, "vocab %lld does not fit int32 tokens; use vocab <= %lld", (long long)V,
                 (long long)INT32_MAX);
    else if (!(a > 0) || !isfinite(a))
        snprintf(msg, n, "power_a %g must be a finite number > 0 (paper: 0.01; 1 gives uniform slots)", a);
    else
        return 0;
    return ZOO_ERR_INVALID;
}

#endif
