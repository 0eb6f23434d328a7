/* parity.c: Zoology's parity circuit. Example layout (L tokens): L-1 random bits (tokens
 * 0 and 1), then the end token 2; the only label is on the end token, the parity of
 * the bits (1 if the count of 1s is odd, else 0). No knobs.
 *
 * Draw order of example e (its own stream keyed by (seed, e)): one below(2) per bit,
 * in position order. Zoology draws the same law with NumPy's global generator; zoo
 * does not reproduce NumPy's bit stream. */
#include <stdint.h>
#include <stdio.h>

#include "circuits.h"
#include "zoo/error.h"
#include "zoo/task.h"

/* The stream salt ("parity-1"): fixed forever, or every parity dataset changes. */
#define SALT 0x7061726974792d31ull

static int validate(const zoo_hvals *h, const zoo_task_set *set, char *msg, size_t n)
{
    (void)h;
    return circuits_check(set, CIRCUITS_END, msg, n);
}

static int generate(const zoo_hvals *h, const zoo_task_set *set, int64_t first, int64_t count, int32_t *xs,
                    int32_t *ys, int32_t *tags)
{
    (void)h, (void)tags;
    return circuits_generate(SALT, CIRCUITS_PARITY, 0, 0, set, first, count, xs, ys);
}

ZOO_PLUGIN_EXPORT const zoo_task zoo_task_v1 = {
    .hdr = ZOO_TASK_HEADER,
    .name = "parity",
    .family = "circuits",
    .summary = "parity of L-1 random bits, answered on the end token",
    .hparams = NULL,
    .validate = validate,
    .generate = generate,
};
