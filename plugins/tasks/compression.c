/* compression.c: MAD's compression (docs/tasks.md, MAD tasks), recast for a
 * decoder-only model. MAD encodes n tokens ending in a compression token, keeps only
 * the last position's state, and decodes every token back from it plus a position
 * embedding (an encoder-decoder, its AutoEncoder backbone). zoo trains one causal
 * model, so the decoding happens in the same sequence: after the n tokens come n - 1
 * more compression tokens as blank inputs, and the outputs from the first compression
 * token on must spell the n tokens again, in order. zoo's seq_len is 2n (MAD's seq_len
 * is n): MAD's benchmark setting, n = 32 over vocab 16, is seq_len 64 here.
 * Unlike MAD's decoder, zoo's can look back at the tokens (attention, convolutions):
 * the recall is not forced through one state vector (docs/tasks.md says where this
 * matters).
 *
 * Vocabulary (V = vocab): V-1 is the compression token; the noise_vocab_size tokens
 * below it are noise, the m = V - 1 - noise_vocab_size below those the tokens.
 * Example e draws from its stream (seed, SALT, e), in order:
 *   n - 1 tokens: below(m) each
 *   if frac_noise > 0, for each of them in order: if uniform() < frac_noise it becomes
 *   noise, m + below(noise_vocab_size)
 * Layout (L = 2n): inputs: the n - 1 tokens, then n + 1 compression tokens. Labels:
 * the n - 1 tokens and the compression token, on positions n-1 .. 2n-2; -100 on the
 * first n - 1 and the last position. Noise tokens are labels too: MAD's generator
 * returns the noisy inputs as its targets. The same in training and test (MAD's
 * compression has no is_training switch). NumPy's bit stream is not reproduced, only
 * the distribution. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mad_noise.h"
#include "zoo/error.h"
#include "zoo/task.h"

/* The stream salt ("madcomp"): fixed forever, or every dataset of this task changes. */
#define SALT 0x6d6164636f6d7000ull

static const zoo_hparam knobs[] = {
    MAD_NOISE_KNOBS("0", "0"),
    {NULL, 0, NULL, NULL},
};

static int validate(const zoo_hvals *h, const zoo_task_set *set, char *msg, size_t n)
{
    int64_t L = set->seq_len, content;
    if (L < 4 || L % 2)
        snprintf(msg, n,
                 "seq_len %lld must be even and >= 4: twice MAD's length n (n tokens, then n outputs; MAD's "
                 "seq_len 32 is 64 here); use %lld",
                 (long long)L, (long long)(L < 4 ? 4 : L + 1));
    else
        return mad_check_noise(h, set, 1, 1, "one token", 0, &content, msg, n);
    return ZOO_ERR_INVALID;
}

static int generate(const zoo_hvals *h, const zoo_task_set *set, int64_t first, int64_t count, int32_t *xs,
                    int32_t *ys, int32_t *tags)
{
    (void)tags;
    const int64_t V = set->vocab, L = set->seq_len, n = L / 2, nv = zoo_hvals_int(h, "noise_vocab_size");
    const int64_t m = V - 1 - nv;
    const double f = zoo_hvals_float(h, "frac_noise");
    const int32_t comp = (int32_t)(V - 1);
    for (int64_t e = 0; e < count; e++) {
        zoo_task_rng r;
        zoo_task_rng_init(&r, set->seed, SALT, first + e);
        int32_t *x = xs + e * L, *y = ys + e * L;
        for (int64_t i = 0; i < n - 1; i++)
            x[i] = (int32_t)zoo_task_rng_below(&r, m);
        if (f > 0)
            for (int64_t i = 0; i < n - 1; i++)
                if (zoo_task_rng_uniform(&r) < f)
                    x[i] = (int32_t)(m + zoo_task_rng_below(&r, nv));
        for (int64_t i = n - 1; i < L; i++)
            x[i] = comp;
        for (int64_t i = 0; i < L; i++) /* output n-1+j spells token j */
            y[i] = i >= n - 1 && i < L - 1 ? x[i - (n - 1)] : ZOO_IGNORE_LABEL;
    }
    return 0;
}

ZOO_PLUGIN_EXPORT const zoo_task zoo_task_v1 = {
    .hdr = ZOO_TASK_HEADER,
    .name = "compression",
    .family = "mad",
    .summary = "MAD compression: n tokens, then spell them all back after the compression token",
    .hparams = knobs,
    .validate = validate,
    .generate = generate,
};
