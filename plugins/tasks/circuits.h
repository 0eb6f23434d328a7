/* circuits.h: what the circuits task plugins (parity, majority, cumulative_parity,
 * cumulative_majority) share: Zoology's token layout (bits are tokens 0 and 1, the end
 * token of the one-answer tasks is 2), the bit draws and the size checks. Header-only
 * (static inline): each task source here becomes its own .so. */
#ifndef ZOO_PLUGINS_CIRCUITS_H
#define ZOO_PLUGINS_CIRCUITS_H

#include <stdint.h>
#include <stdio.h>

#include "zoo/error.h"
#include "zoo/task.h"

#define CIRCUITS_END 2 /* Zoology's end token: the answer is due on it */

/* n bits into x, one below(2) per position in order. Zoology draws them with
 * np.random.randint(0, 2); here each example draws from its own stream instead. */
static inline void circuits_bits(zoo_task_rng *r, int32_t *x, int64_t n)
{
    for (int64_t t = 0; t < n; t++)
        x[t] = (int32_t)zoo_task_rng_below(r, 2);
}

/* The one-answer tasks (end != 0: bits, the end token, the answer due on it) need
 * V >= 3 and L >= 2; the cumulative ones (end == 0: only bits) V >= 2 and L >= 1.
 * 0 or ZOO_ERR_INVALID with msg. */
static inline int circuits_check(const zoo_task_set *set, int end, char *msg, size_t n)
{
    int64_t V = set->vocab, L = set->seq_len, minV = end ? 3 : 2, minL = end ? 2 : 1;
    if (V < minV)
        snprintf(msg, n, "vocab %lld is too small: the tokens are %s; use vocab >= %lld", (long long)V,
                 end ? "the bits 0, 1 and the end token 2" : "the bits 0 and 1", (long long)minV);
    else if (L < minL)
        snprintf(msg, n, "seq_len %lld is too short: %s; use seq_len >= %lld", (long long)L,
                 end ? "at least one bit and the end token" : "at least one bit", (long long)minL);
    else
        return 0;
    return ZOO_ERR_INVALID;
}

/* What a circuit answers about the bits seen: their parity, or whether the 1s outnumber
 * the 0s (a tie answering `tie`: majority answers 0, cumulative majority 1, as Zoology). */
typedef enum { CIRCUITS_PARITY, CIRCUITS_MAJORITY } circuits_kind;

static inline int32_t circuits_answer(circuits_kind kind, int64_t ones, int64_t bits, int32_t tie)
{
    if (kind == CIRCUITS_PARITY)
        return (int32_t)(ones & 1);
    return 2 * ones > bits ? 1 : 2 * ones < bits ? 0 : tie;
}

/* Examples [first, first + count) of a circuit: with `cumulative`, L bits and the answer
 * about bits 0..t on every position t; otherwise L-1 bits, the end token, and the one
 * answer on it. Example e draws one below(2) per bit, in position order, from its own
 * stream keyed by (seed, salt, e). */
static inline int circuits_generate(uint64_t salt, circuits_kind kind, int cumulative, int32_t tie,
                                    const zoo_task_set *set, int64_t first, int64_t count, int32_t *xs, int32_t *ys)
{
    const int64_t L = set->seq_len, nbits = cumulative ? L : L - 1;
    for (int64_t e = 0; e < count; e++) {
        int32_t *x = xs + e * L, *y = ys + e * L; /* (L) each */
        zoo_task_rng r;
        zoo_task_rng_init(&r, set->seed, salt, first + e);
        circuits_bits(&r, x, nbits);
        int64_t ones = 0;
        for (int64_t t = 0; t < nbits; t++) {
            ones += x[t];
            y[t] = cumulative ? circuits_answer(kind, ones, t + 1, tie) : ZOO_IGNORE_LABEL;
        }
        if (!cumulative) {
            x[L - 1] = CIRCUITS_END;
            y[L - 1] = circuits_answer(kind, ones, nbits, tie);
        }
    }
    return 0;
}

#endif
