/* cumulative_majority.c: Zoology's cumulative majority circuit. Example layout: L random
 * bits (tokens 0 and 1) and a label on every position: y[t] = 1 if the 1s among
 * x[0..t] are at least as many as the 0s, else 0. Ties answer 1 here (Zoology's
 * `cumsum(2x - 1) >= 0`), unlike majority, whose ties answer 0. No end token, no knobs.
 *
 * Draw order of example e (its own stream keyed by (seed, e)): one below(2) per bit,
 * in position order. Zoology draws the same law with NumPy's global generator; zoo
 * does not reproduce NumPy's bit stream. */
#include <stdint.h>
#include <stdio.h>

#include "circuits.h"
#include "zoo/error.h"
#include "zoo/task.h"

/* The stream salt ("cumaj-v1"): fixed forever, or every dataset of this task changes. */
#define SALT 0x63756d616a2d7631ull

static int validate(const zoo_hvals *h, const zoo_task_set *set, char *msg, size_t n)
{
    (void)h;
    return circuits_check(set, 0, msg, n);
}

static int generate(const zoo_hvals *h, const zoo_task_set *set, int64_t first, int64_t count, int32_t *xs,
                    int32_t *ys, int32_t *tags)
{
    (void)h, (void)tags;
    return circuits_generate(SALT, CIRCUITS_MAJORITY, 1, 1, set, first, count, xs, ys);
}

ZOO_PLUGIN_EXPORT const zoo_task zoo_task_v1 = {
    .hdr = ZOO_TASK_HEADER,
    .name = "cumulative_majority",
    .family = "circuits",
    .summary = "running majority of L random bits (a tie is 1), a label on every position",
    .hparams = NULL,
    .validate = validate,
    .generate = generate,
};
