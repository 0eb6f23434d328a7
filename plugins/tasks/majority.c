/* majority.c: Zoology's majority circuit. Example layout (L tokens): L-1 random bits
 * (tokens 0 and 1), then the end token 2; the only label is on the end token: 1 if
 * strictly more than half of the bits are 1, else 0 (a tie, possible when L-1 is
 * even, answers 0, as Zoology's `ratio > 0.5`). No knobs.
 *
 * Draw order of example e (its own stream keyed by (seed, e)): one below(2) per bit,
 * in position order. Zoology draws the same law with NumPy's global generator; zoo
 * does not reproduce NumPy's bit stream. */
#include <stdint.h>
#include <stdio.h>

#include "circuits.h"
#include "zoo/error.h"
#include "zoo/task.h"

/* The stream salt ("major-v1"): fixed forever, or every majority dataset changes. */
#define SALT 0x6d616a6f722d7631ull

static int validate(const zoo_hvals *h, const zoo_task_set *set, char *msg, size_t n)
{
    (void)h;
    return circuits_check(set, CIRCUITS_END, msg, n);
}

static int generate(const zoo_hvals *h, const zoo_task_set *set, int64_t first, int64_t count, int32_t *xs,
                    int32_t *ys, int32_t *tags)
{
    (void)h, (void)tags;
    const int64_t L = set->seq_len;
    for (int64_t e = 0; e < count; e++) {
        int32_t *x = xs + e * L, *y = ys + e * L; /* (L) each */
        zoo_task_rng r;
        zoo_task_rng_init(&r, set->seed, SALT, first + e);
        circuits_bits(&r, x, L - 1);
        int64_t ones = 0;
        for (int64_t t = 0; t < L - 1; t++) {
            ones += x[t];
            y[t] = ZOO_IGNORE_LABEL;
        }
        x[L - 1] = CIRCUITS_END;
        y[L - 1] = 2 * ones > L - 1;
    }
    return 0;
}

ZOO_PLUGIN_EXPORT const zoo_task zoo_task_v1 = {
    .hdr = ZOO_TASK_HEADER,
    .name = "majority",
    .family = "circuits",
    .summary = "are most of L-1 random bits 1? answered on the end token (a tie is 0)",
    .hparams = NULL,
    .validate = validate,
    .generate = generate,
};
