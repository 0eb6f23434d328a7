/* cumulative_parity.c: Zoology's cumulative parity circuit. Example layout: L random
 * bits (tokens 0 and 1) and a label on every position, the parity of the bits so far:
 * y[t] = x[0] xor ... xor x[t]. No end token, no knobs. Zoology's examples are
 * input_seq_len - 1 long; zoo fills the run's L positions, so seq_len L here matches
 * Zoology's input_seq_len L + 1.
 *
 * Draw order of example e (its own stream keyed by (seed, e)): one below(2) per bit,
 * in position order. Zoology draws the same law with NumPy's global generator; zoo
 * does not reproduce NumPy's bit stream. */
#include <stdint.h>
#include <stdio.h>

#include "circuits.h"
#include "zoo/error.h"
#include "zoo/task.h"

/* The stream salt ("cupar-v1"): fixed forever, or every dataset of this task changes. */
#define SALT 0x63757061722d7631ull

static int validate(const zoo_hvals *h, const zoo_task_set *set, char *msg, size_t n)
{
    (void)h;
    return circuits_check(set, 0, msg, n);
}

static int generate(const zoo_hvals *h, const zoo_task_set *set, int64_t first, int64_t count, int32_t *xs,
                    int32_t *ys, int32_t *tags)
{
    (void)h, (void)tags;
    return circuits_generate(SALT, CIRCUITS_PARITY, 1, 0, set, first, count, xs, ys);
}

ZOO_PLUGIN_EXPORT const zoo_task zoo_task_v1 = {
    .hdr = ZOO_TASK_HEADER,
    .name = "cumulative_parity",
    .family = "circuits",
    .summary = "running parity of L random bits, a label on every position",
    .hparams = NULL,
    .validate = validate,
    .generate = generate,
};
