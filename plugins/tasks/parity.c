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
    const int64_t L = set->seq_len;
    for (int64_t e = 0; e < count; e++) {
        int32_t *x = xs + e * L, *y = ys + e * L; /* (L) each */
        zoo_task_rng r;
        zoo_task_rng_init(&r, set->seed, SALT, first + e);
        circuits_bits(&r, x, L - 1);
        int32_t odd = 0;
        for (int64_t t = 0; t < L - 1; t++) {
            odd ^= x[t];
            y[t] = ZOO_IGNORE_LABEL;
        }
        x[L - 1] = CIRCUITS_END;
        y[L - 1] = odd;
    }
    return 0;
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
