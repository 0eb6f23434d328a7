/* mad_noise.h: the noise knobs of the MAD tasks (docs/tasks.md, MAD tasks):
 * noise_vocab_size tokens taken from just below the task's special tokens, and
 * frac_noise, the chance that a unit (a pair, a token) is noise instead. Shared by the
 * recall, memorization and compression plugins (static inline: each .so gets its own
 * copy, nothing exported). */
#ifndef ZOO_PLUGINS_MAD_NOISE_H
#define ZOO_PLUGINS_MAD_NOISE_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "zoo/error.h"
#include "zoo/task.h"

/* The knob table rows, with each task's defaults. */
#define MAD_NOISE_KNOBS(nv_default, frac_default)                                                         \
    {"noise_vocab_size", ZOO_HP_INT, nv_default, "noise tokens, taken from the vocabulary below the specials"}, \
        {"frac_noise", ZOO_HP_FLOAT, frac_default, "chance that a unit of the sequence is noise instead"}

/* Check the noise knobs and that `content` (what is left of the vocabulary for the
 * task's own tokens once its `specials` and the noise tokens are taken) is at least
 * `need` (`why` says what needs them, for the message). frac_max_incl: memorization
 * accepts frac_noise = 1 (MAD does), the others need < 1. 0, or ZOO_ERR_INVALID with
 * msg naming the knob and the fix. */
static inline int mad_check_noise(const zoo_hvals *h, const zoo_task_set *set, int64_t specials, int64_t need,
                                  const char *why, int frac_max_incl, int64_t *content, char *msg, size_t n)
{
    int64_t V = set->vocab, nv = zoo_hvals_int(h, "noise_vocab_size");
    double f = zoo_hvals_float(h, "frac_noise");
    if (V > INT32_MAX)
        snprintf(msg, n, "vocab %lld does not fit int32 tokens; use vocab <= %lld", (long long)V, (long long)INT32_MAX);
    else if (nv < 0 || nv > V)
        snprintf(msg, n, "noise_vocab_size %lld must be in [0, vocab %lld]", (long long)nv, (long long)V);
    else if (!isfinite(f) || f < 0 || (frac_max_incl ? f > 1 : f >= 1))
        snprintf(msg, n, "frac_noise %g must be in [0, 1%s (MAD: 0.2 for noisy recall, else 0)", f,
                 frac_max_incl ? "]" : ")");
    else if (f > 0 && nv == 0)
        snprintf(msg, n, "frac_noise %g needs noise tokens: set noise_vocab_size > 0 (MAD: 16) or frac_noise 0", f);
    else if (V - specials - nv < need)
        snprintf(msg, n,
                 "vocab %lld leaves %lld task tokens after %lld special and noise_vocab_size %lld noise tokens; "
                 "%s needs %lld: raise vocab to >= %lld or lower noise_vocab_size",
                 (long long)V, (long long)(V - specials - nv), (long long)specials, (long long)nv, why, (long long)need,
                 (long long)(need + specials + nv));
    else {
        *content = V - specials - nv;
        return 0;
    }
    return ZOO_ERR_INVALID;
}

#endif
