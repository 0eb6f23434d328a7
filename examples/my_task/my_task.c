/* my_task.c: the smallest useful task plugin, as a template for your own: recall the
 * token after a marker. Each example is uniform noise from [1, V) with one marked pair
 * (0, v) and, at least min_gap positions later, the marker 0 again: the model must
 * answer v there. One query per example, so it is MQAR with K = 1 and a marker in
 * place of the key; it shows the SDK, not a new benchmark.
 *
 * Definition (draw order is part of it: the same knobs, V, L, seed and index give the
 * same example on any machine, thread or rank). Example e of a set draws from the stream
 * zoo_task_rng_init(seed, SALT, e), in this order:
 *   1. x[t] = 1 + below(V - 1) for t = 0..L-1        (noise; labels -100 everywhere)
 *   2. p = below(L - 2 - min_gap)                     (the pair sits at p, p + 1)
 *   3. q = p + 2 + min_gap + below(L - 2 - min_gap - p)   (the query: q - p - 2 >= min_gap
 *                                                        tokens lie between pair and query)
 *   then x[p] = 0, x[q] = 0, y[q] = x[p + 1];
 *   tag "near" (0) when q - p - 2 < L / 2, else "far" (1).
 *
 * Build it with CMake (CMakeLists.txt here: find_package(zoo) + zoo_add_task) or with
 *   cc -shared -fPIC $(pkg-config --cflags zoo) my_task.c -o my_task.so $(pkg-config --libs zoo)
 * then `ZOO_PLUGIN_PATH=$PWD zoo plugins my_task` shows it, `zoo data my_task ...` makes
 * its data and a run or sweep file names it: task: {name: my_task, min_gap: 8}. */
#include <stdio.h>

#include "zoo/error.h"
#include "zoo/task.h"

/* This task's stream salt: fixed forever, or every my_task dataset changes. Pick your
 * own 64-bit constant, so two tasks on one seed draw unrelated numbers. */
#define SALT 0x6d792d7461736b31ull /* "my-task1" */

/* Knobs: name, type, default (as a sweep file writes it), one line of help. Read them
 * with zoo_hvals_int/float/bool/str; the run's vocab and seq_len come in the set. */
static const zoo_hparam knobs[] = {
    {"min_gap", ZOO_HP_INT, "4", "tokens at least between the marked pair and the query"},
    {NULL, 0, NULL, NULL},
};

/* Tag names: tags[e] indexes them; zoo reports accuracy per tag as well. */
static const char *const tags[] = {"near", "far", NULL};

/* Refuse what generate cannot make, naming the knob or field and the fix. */
static int validate(const zoo_hvals *h, const zoo_task_set *set, char *msg, size_t n)
{
    int64_t gap = zoo_hvals_int(h, "min_gap"), L = set->seq_len;
    if (gap < 0)
        snprintf(msg, n, "min_gap %lld must be >= 0", (long long)gap);
    else if (gap > L - 3) /* pair (2) + gap + query (1) must fit */
        snprintf(msg, n, "min_gap %lld needs seq_len >= min_gap + 3, got seq_len %lld; lower min_gap or raise seq_len",
                 (long long)gap, (long long)L);
    else if (set->vocab < 3)
        snprintf(msg, n, "vocab %lld must be >= 3 (the marker 0 and two noise tokens)", (long long)set->vocab);
    else
        return 0;
    return ZOO_ERR_INVALID;
}

/* Examples [first, first + count): x, y (count, L); tags (count). Any chunk, any thread:
 * example e depends only on the knobs, the set and e. */
static int generate(const zoo_hvals *h, const zoo_task_set *set, int64_t first, int64_t count, int32_t *xs,
                    int32_t *ys, int32_t *tg)
{
    const int64_t V = set->vocab, L = set->seq_len, gap = zoo_hvals_int(h, "min_gap");
    for (int64_t e = 0; e < count; e++) {
        int32_t *x = xs + e * L, *y = ys + e * L; /* (L) each */
        zoo_task_rng r;
        zoo_task_rng_init(&r, set->seed, SALT, first + e);
        for (int64_t t = 0; t < L; t++) {
            x[t] = (int32_t)(1 + zoo_task_rng_below(&r, V - 1));
            y[t] = ZOO_IGNORE_LABEL;
        }
        int64_t p = zoo_task_rng_below(&r, L - 2 - gap);
        int64_t q = p + 2 + gap + zoo_task_rng_below(&r, L - 2 - gap - p);
        x[p] = 0;
        x[q] = 0;
        y[q] = x[p + 1];
        tg[e] = q - p - 2 < L / 2 ? 0 : 1;
    }
    return 0;
}

/* The one exported symbol. Its name must match the file: my_task.so. */
ZOO_PLUGIN_EXPORT const zoo_task zoo_task_v1 = {
    .hdr = ZOO_TASK_HEADER,
    .name = "my_task",
    .family = "example",
    .summary = "example: recall the token after a marker, min_gap or more tokens later",
    .hparams = knobs,
    .validate = validate,
    .generate = generate,
    .tags = tags,
};
