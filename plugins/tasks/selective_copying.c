/* selective_copying.c: MAD's selective copying (docs/tasks.md, MAD tasks): tokens
 * scattered among blanks, then a copy token; the model must write the tokens out, in
 * order, over the blanks that follow. MAD's benchmark setting is the default: vocab 16,
 * seq_len 256, num_tokens_to_copy 16.
 *
 * Vocabulary (V = vocab): V-1 is the copy token, V-2 the blank, [0, V-2) the tokens.
 * Example e draws from its stream (seed, SALT, e), in order (N = num_tokens_to_copy,
 * B = L - 2N - 1 blanks in the first part):
 *   the N tokens to copy: below(V-2) each
 *   B blanks: each below(N), the token it goes in front of (so the last token always
 *   sits right before the copy token, as in MAD)
 * Layout: the tokens with each one's blanks before it (N + B), the copy token, N
 * blanks. Labels: the N tokens on the last N positions (the first on the blank after
 * the copy token), -100 elsewhere; the same in training and test (MAD's copying has no
 * is_training switch). NumPy's bit stream is not reproduced, only the distribution (MAD
 * draws the blank places from NumPy's global generator, not the task's). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "zoo/error.h"
#include "zoo/task.h"

/* The stream salt ("madselc"): fixed forever, or every dataset of this task changes. */
#define SALT 0x6d616473656c6300ull

static const zoo_hparam knobs[] = {
    {"num_tokens_to_copy", ZOO_HP_INT, "16", "tokens N to copy; seq_len > 2N + 1 (MAD: 16)"},
    {NULL, 0, NULL, NULL},
};

static int validate(const zoo_hvals *h, const zoo_task_set *set, char *msg, size_t n)
{
    int64_t V = set->vocab, L = set->seq_len, N = zoo_hvals_int(h, "num_tokens_to_copy");
    if (N < 1)
        snprintf(msg, n, "num_tokens_to_copy %lld must be >= 1 (MAD: 16)", (long long)N);
    else if (N >= L / 2) /* L > 2N + 1, written so a huge N cannot overflow */
        snprintf(msg, n,
                 "num_tokens_to_copy %lld needs seq_len > 2*num_tokens_to_copy + 1 = %lld (tokens, a blank, the copy "
                 "token, the copies); got seq_len %lld: lower num_tokens_to_copy to <= %lld or raise seq_len",
                 (long long)N, (long long)(N < L ? 2 * N + 1 : L), (long long)L, (long long)((L - 2) / 2));
    else if (V < 3)
        snprintf(msg, n, "vocab %lld must be >= 3 (a token, the blank V-2, the copy token V-1); raise vocab (MAD: 16)",
                 (long long)V);
    else if (V > INT32_MAX)
        snprintf(msg, n, "vocab %lld does not fit int32 tokens; use vocab <= %lld", (long long)V, (long long)INT32_MAX);
    else
        return 0;
    return ZOO_ERR_INVALID;
}

static int generate(const zoo_hvals *h, const zoo_task_set *set, int64_t first, int64_t count, int32_t *xs,
                    int32_t *ys, int32_t *tags)
{
    (void)tags;
    const int64_t V = set->vocab, L = set->seq_len, N = zoo_hvals_int(h, "num_tokens_to_copy"), B = L - 2 * N - 1;
    const int32_t blank = (int32_t)(V - 2), copy = (int32_t)(V - 1);
    int32_t *buf = malloc((size_t)(2 * N) * sizeof *buf); /* the tokens (N), blanks before each (N) */
    if (!buf)
        return ZOO_ERR_NOMEM;
    int32_t *tok = buf, *before = buf + N;
    for (int64_t e = 0; e < count; e++) {
        zoo_task_rng r;
        zoo_task_rng_init(&r, set->seed, SALT, first + e);
        for (int64_t i = 0; i < N; i++) {
            tok[i] = (int32_t)zoo_task_rng_below(&r, V - 2);
            before[i] = 0;
        }
        for (int64_t b = 0; b < B; b++)
            before[zoo_task_rng_below(&r, N)]++;
        int32_t *x = xs + e * L, *y = ys + e * L;
        int64_t t = 0;
        for (int64_t i = 0; i < N; i++) {
            for (int32_t b = 0; b < before[i]; b++)
                x[t++] = blank;
            x[t++] = tok[i];
        }
        x[t++] = copy;
        for (int64_t j = 0; j < t; j++)
            y[j] = ZOO_IGNORE_LABEL;
        for (int64_t i = 0; i < N; i++, t++) {
            x[t] = blank;
            y[t] = tok[i];
        }
    }
    free(buf);
    return 0;
}

ZOO_PLUGIN_EXPORT const zoo_task zoo_task_v1 = {
    .hdr = ZOO_TASK_HEADER,
    .name = "selective_copying",
    .family = "mad",
    .summary = "MAD selective copying: copy N tokens scattered among blanks, after a copy token",
    .hparams = knobs,
    .validate = validate,
    .generate = generate,
};
