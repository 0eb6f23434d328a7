/* memorization.c: MAD's memorization (docs/tasks.md, MAD tasks): one fixed key-value
 * map, the same for every example of a run (train and test), learnt into the weights:
 * each key is followed by an insert token, where the model must output its value.
 * MAD's benchmark setting is the default: vocab 256, seq_len 32.
 *
 * Vocabulary (V = vocab): V-1 is the insert token; the noise_vocab_size tokens below it
 * are noise, the m = V - 1 - noise_vocab_size below those keys [0, m/2) and values
 * [m/2, m). The map: from the run's stream (task_seed, MAP_SALT, 0), a shuffle of the
 * values: for key i = 0 .. m/2 - 1 in turn, swap value slot i with slot
 * i + below(m - m/2 - i); key i maps to slot i (a uniform one-to-one map, as MAD's
 * zip of two shuffled lists). Example e draws from its stream (seed, SALT, e), in
 * order (P = L/2):
 *   keep = below(P)                         the pair that is never noise
 *   for pair i = 0 .. P-1:
 *     if frac_noise > 0 and i != keep: noise = uniform() < frac_noise
 *     noise: two tokens m + below(noise_vocab_size)
 *     else: key = below(m/2)
 * Layout: per pair, the key and the insert token (or the two noise tokens). Labels:
 * the key's value on the insert token, -100 elsewhere; the same in training and test
 * (MAD's memorization has no is_training switch). NumPy's bit stream is not reproduced,
 * only the distribution. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mad_noise.h"
#include "zoo/error.h"
#include "zoo/task.h"

/* The stream salts ("madmemo", "madmmap"): fixed forever, or every dataset changes. */
#define SALT 0x6d61646d656d6f00ull
#define MAP_SALT 0x6d61646d6d617000ull

static const zoo_hparam knobs[] = {
    MAD_NOISE_KNOBS("0", "0"),
    {NULL, 0, NULL, NULL},
};

static int validate(const zoo_hvals *h, const zoo_task_set *set, char *msg, size_t n)
{
    int64_t L = set->seq_len, content;
    if (L < 2 || L % 2)
        snprintf(msg, n, "seq_len %lld must be even and >= 2 (pairs of a key and the insert token); use %lld",
                 (long long)L, (long long)(L < 2 ? 2 : L + 1));
    else /* MAD accepts frac_noise 1: the kept pair still holds a key */
        return mad_check_noise(h, set, 1, 2, "one key and one value", 1, &content, msg, n);
    return ZOO_ERR_INVALID;
}

static int generate(const zoo_hvals *h, const zoo_task_set *set, int64_t first, int64_t count, int32_t *xs,
                    int32_t *ys, int32_t *tags)
{
    (void)tags;
    const int64_t V = set->vocab, L = set->seq_len, P = L / 2, nv = zoo_hvals_int(h, "noise_vocab_size");
    const int64_t m = V - 1 - nv, hk = m / 2;
    const double f = zoo_hvals_float(h, "frac_noise");
    int32_t *val = malloc((size_t)(m - hk) * sizeof *val); /* (m - hk): slot i is key i's value, i < hk */
    if (!val)
        return ZOO_ERR_NOMEM;
    /* The map, from the run's data seed alone: the same for every chunk and both sets. */
    zoo_task_rng r;
    zoo_task_rng_init(&r, set->task_seed, MAP_SALT, 0);
    for (int64_t i = 0; i < m - hk; i++)
        val[i] = (int32_t)(hk + i);
    for (int64_t i = 0; i < hk; i++) {
        int64_t j = i + zoo_task_rng_below(&r, m - hk - i);
        int32_t t = val[i];
        val[i] = val[j];
        val[j] = t;
    }
    for (int64_t e = 0; e < count; e++) {
        zoo_task_rng_init(&r, set->seed, SALT, first + e);
        int32_t *x = xs + e * L, *y = ys + e * L;
        int64_t keep = zoo_task_rng_below(&r, P);
        for (int64_t i = 0; i < P; i++) {
            if (f > 0 && i != keep && zoo_task_rng_uniform(&r) < f) {
                x[2 * i] = (int32_t)(m + zoo_task_rng_below(&r, nv));
                x[2 * i + 1] = (int32_t)(m + zoo_task_rng_below(&r, nv));
                y[2 * i] = y[2 * i + 1] = ZOO_IGNORE_LABEL;
                continue;
            }
            int64_t k = zoo_task_rng_below(&r, hk);
            x[2 * i] = (int32_t)k;
            x[2 * i + 1] = (int32_t)(V - 1);
            y[2 * i] = ZOO_IGNORE_LABEL;
            y[2 * i + 1] = val[k];
        }
    }
    free(val);
    return 0;
}

ZOO_PLUGIN_EXPORT const zoo_task zoo_task_v1 = {
    .hdr = ZOO_TASK_HEADER,
    .name = "memorization",
    .family = "mad",
    .summary = "MAD memorization: one fixed key-value map for the whole run, each key asked after an insert token",
    .hparams = knobs,
    .validate = validate,
    .generate = generate,
};
