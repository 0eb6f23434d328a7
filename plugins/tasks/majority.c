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
    return circuits_generate(SALT, CIRCUITS_MAJORITY, 0, 0, set, first, count, xs, ys);
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
