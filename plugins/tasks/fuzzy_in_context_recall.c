/* fuzzy_in_context_recall.c: MAD's fuzzy in-context recall (docs/tasks.md, MAD
 * tasks): in-context recall where keys and values are motifs of several adjacent
 * tokens of variable length, so a key's boundaries must be inferred. MAD's benchmark
 * setting is the default: vocab 16, seq_len 128, motifs up to 3, multi_query.
 *
 * Vocabulary (V = vocab): V-1 is the copy prefix and V-2 the pad without multi_query,
 * V-1 the pad with it; the noise_vocab_size tokens below them are noise, and the n
 * below those (n = V - noise_vocab_size - 2, or - 1 with multi_query) are key tokens
 * [0, n/2) and value tokens [n/2, n). A key of size s is s distinct key tokens in
 * order (a uniform draw of MAD's shuffled permutation list), a value likewise. Key
 * sizes are 1..k_motif_size when training and k_motif_size at test; value sizes
 * 1..v_motif_size in both. Example e draws from its stream (seed, SALT, e), in order
 * (K = k_motif_size, W = v_motif_size, "size" = training ? 1 + below(K) : K):
 *   probe key size ks = size, probe value size vs = 1 + below(W)
 *   probe key: ks distinct tokens, each below(n/2) redrawn while already taken
 *   probe value: vs distinct tokens n/2 + below(n - n/2), the same way
 *   at = below(L - 2 (ks + vs))                where the probe pair goes
 *   while the sequence is shorter than L - (ks + vs) - (K + W):
 *     k = size, v = 1 + below(W)               (drawn even when the probe goes here)
 *     if the length >= at and the probe is not in yet: append the probe pair; next
 *     if frac_noise > 0: noise = uniform() < frac_noise
 *     noise: k + v tokens n + below(noise_vocab_size)
 *     else: a key of size k; the probe key takes the probe value (and counts as the
 *           probe being in), a key shown before its value, a new key a new value of
 *           size v; test target on the value when its key was shown before and
 *           multi_query
 *   append (without multi_query) the copy prefix, then the probe key and value (the
 *   value is always a test target); pad at the front with the pad token to L+1.
 * Inputs are the first L tokens, labels the next token (training: every next token,
 * MAD's is_training; test: the next token's target, -100 elsewhere). As in MAD, the
 * probe pair can miss the context when the loop ends before `at` (the last query is
 * then unanswerable). NumPy's bit stream is not reproduced, only the distribution. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mad_noise.h"
#include "zoo/error.h"
#include "zoo/task.h"

/* The stream salt ("madficr"): fixed forever, or every dataset of this task changes. */
#define SALT 0x6d61646669637200ull

static const zoo_hparam knobs[] = {
    {"k_motif_size", ZOO_HP_INT, "3", "largest key, in adjacent tokens (test keys have this size; MAD: 3)"},
    {"v_motif_size", ZOO_HP_INT, "3", "largest value, in adjacent tokens (MAD: 3)"},
    {"multi_query", ZOO_HP_BOOL, "true", "every repeated key's value is scored, not only the probe's (MAD: true)"},
    MAD_NOISE_KNOBS("0", "0"),
    {NULL, 0, NULL, NULL},
};

static int validate(const zoo_hvals *h, const zoo_task_set *set, char *msg, size_t n)
{
    int64_t L = set->seq_len, K = zoo_hvals_int(h, "k_motif_size"), W = zoo_hvals_int(h, "v_motif_size"), content;
    int mq = zoo_hvals_bool(h, "multi_query");
    if (K < 1)
        snprintf(msg, n, "k_motif_size %lld must be >= 1 (MAD: 3)", (long long)K);
    else if (W < 1)
        snprintf(msg, n, "v_motif_size %lld must be >= 1 (MAD: 3)", (long long)W);
    else if (K > L || W > L || L <= 2 * (K + W))
        snprintf(msg, n,
                 "seq_len %lld must be > 2*(k_motif_size + v_motif_size) = %lld (room for the probe pair twice); "
                 "raise seq_len or lower k_motif_size/v_motif_size",
                 (long long)L, (long long)(2 * (K + W)));
    else {
        char why[160];
        snprintf(why, sizeof why, "keys of k_motif_size %lld and values of v_motif_size %lld distinct tokens",
                 (long long)K, (long long)W);
        /* n/2 >= K key tokens and n - n/2 >= W value tokens */
        return mad_check_noise(h, set, mq ? 1 : 2, 2 * K > 2 * W - 1 ? 2 * K : 2 * W - 1, why, 0, &content, msg, n);
    }
    return ZOO_ERR_INVALID;
}

/* s distinct tokens lo + below(m), in draw order (a redraw for each repeat). */
static void draw_motif(zoo_task_rng *r, int64_t lo, int64_t m, int64_t s, int32_t *out)
{
    for (int64_t j = 0; j < s;) {
        int32_t t = (int32_t)(lo + zoo_task_rng_below(r, m));
        int64_t i = 0;
        while (i < j && out[i] != t)
            i++;
        if (i == j)
            out[j++] = t;
    }
}

static int same(const int32_t *a, int64_t na, const int32_t *b, int64_t nb)
{
    return na == nb && !memcmp(a, b, (size_t)na * sizeof *a);
}

static int generate(const zoo_hvals *h, const zoo_task_set *set, int64_t first, int64_t count, int32_t *xs,
                    int32_t *ys, int32_t *tags)
{
    (void)tags;
    const int64_t V = set->vocab, L = set->seq_len, nv = zoo_hvals_int(h, "noise_vocab_size");
    const int64_t K = zoo_hvals_int(h, "k_motif_size"), W = zoo_hvals_int(h, "v_motif_size");
    const int mq = zoo_hvals_bool(h, "multi_query"), train = set->split == ZOO_SPLIT_TRAIN;
    const double f = zoo_hvals_float(h, "frac_noise");
    const int64_t nsv = V - (mq ? 1 : 2) - nv, hk = nsv / 2, pad = mq ? V - 1 : V - 2;
    const int64_t cap = L / 2 + 1; /* keys shown: every pair takes >= 2 tokens */
    /* seq (L+1), tgt (L+1), shown keys (cap, K) and values (cap, W), sizes (cap, 2),
     * the probe key (K) and value (W), the current key (K) */
    int32_t *buf = malloc((size_t)(2 * (L + 1) + cap * (K + W + 2) + 2 * K + W) * sizeof *buf);
    if (!buf)
        return ZOO_ERR_NOMEM;
    int32_t *seq = buf, *tgt = seq + L + 1, *sk = tgt + L + 1, *sv = sk + cap * K, *sz = sv + cap * W;
    int32_t *kp = sz + 2 * cap, *vp = kp + K, *k = vp + W;
    for (int64_t e = 0; e < count; e++) {
        zoo_task_rng r;
        zoo_task_rng_init(&r, set->seed, SALT, first + e);
        int64_t ks = train ? 1 + zoo_task_rng_below(&r, K) : K, vs = 1 + zoo_task_rng_below(&r, W);
        draw_motif(&r, 0, hk, ks, kp);
        draw_motif(&r, hk, nsv - hk, vs, vp);
        int64_t at = zoo_task_rng_below(&r, L - 2 * (ks + vs)), len = 0, shown = 0;
        int in = 0;
        while (len < L - (ks + vs) - (K + W)) {
            int64_t kn = train ? 1 + zoo_task_rng_below(&r, K) : K, vn = 1 + zoo_task_rng_below(&r, W);
            const int32_t *v;
            int64_t vlen, found = -1;
            if (len >= at && !in) {
                memcpy(seq + len, kp, (size_t)ks * sizeof *kp);
                memcpy(seq + len + ks, vp, (size_t)vs * sizeof *vp);
                for (int64_t j = 0; j < ks + vs; j++)
                    tgt[len + j] = ZOO_IGNORE_LABEL;
                len += ks + vs;
                for (int64_t i = 0; i < shown && found < 0; i++)
                    if (same(sk + i * K, sz[2 * i], kp, ks))
                        found = i;
                if (found < 0) {
                    memcpy(sk + shown * K, kp, (size_t)ks * sizeof *kp);
                    memcpy(sv + shown * W, vp, (size_t)vs * sizeof *vp);
                    sz[2 * shown] = (int32_t)ks, sz[2 * shown + 1] = (int32_t)vs;
                    shown++;
                }
                in = 1;
                continue;
            }
            if (f > 0 && zoo_task_rng_uniform(&r) < f) {
                for (int64_t j = 0; j < kn + vn; j++) {
                    seq[len + j] = (int32_t)(nsv + zoo_task_rng_below(&r, nv));
                    tgt[len + j] = ZOO_IGNORE_LABEL;
                }
                len += kn + vn;
                continue;
            }
            draw_motif(&r, 0, hk, kn, k);
            for (int64_t i = 0; i < shown && found < 0; i++)
                if (same(sk + i * K, sz[2 * i], k, kn))
                    found = i;
            if (same(k, kn, kp, ks)) {
                v = vp, vlen = vs;
                in = 1;
            } else if (found >= 0) {
                v = sv + found * W, vlen = sz[2 * found + 1];
            } else { /* a new value, drawn into its table row */
                draw_motif(&r, hk, nsv - hk, vn, sv + shown * W);
                v = sv + shown * W, vlen = vn;
            }
            memcpy(seq + len, k, (size_t)kn * sizeof *k);
            memcpy(seq + len + kn, v, (size_t)vlen * sizeof *v);
            for (int64_t j = 0; j < kn; j++)
                tgt[len + j] = ZOO_IGNORE_LABEL;
            for (int64_t j = 0; j < vlen; j++)
                tgt[len + kn + j] = found >= 0 && mq ? v[j] : ZOO_IGNORE_LABEL;
            len += kn + vlen;
            if (found < 0) {
                memcpy(sk + shown * K, k, (size_t)kn * sizeof *k);
                if (v != sv + shown * W)
                    memcpy(sv + shown * W, v, (size_t)vlen * sizeof *v);
                sz[2 * shown] = (int32_t)kn, sz[2 * shown + 1] = (int32_t)vlen;
                shown++;
            }
        }
        if (!mq) {
            seq[len] = (int32_t)(V - 1); /* copy prefix */
            tgt[len++] = ZOO_IGNORE_LABEL;
        }
        for (int64_t j = 0; j < ks; j++, len++)
            seq[len] = kp[j], tgt[len] = ZOO_IGNORE_LABEL;
        for (int64_t j = 0; j < vs; j++, len++)
            seq[len] = tgt[len] = vp[j];
        /* Pad at the front to L+1 (len <= L: the loop stops short by the probe and a
         * pair), then shift: input j predicts token j+1. */
        int64_t np = L + 1 - len;
        int32_t *x = xs + e * L, *y = ys + e * L;
        for (int64_t j = 0; j < L; j++) {
            x[j] = j < np ? (int32_t)pad : seq[j - np];
            int64_t q = j + 1 - np; /* the next token's place in seq, < 0 in the padding */
            y[j] = q < 0 ? (train ? (int32_t)pad : ZOO_IGNORE_LABEL) : train ? seq[q] : tgt[q];
        }
    }
    free(buf);
    return 0;
}

ZOO_PLUGIN_EXPORT const zoo_task zoo_task_v1 = {
    .hdr = ZOO_TASK_HEADER,
    .name = "fuzzy_in_context_recall",
    .family = "mad",
    .summary = "MAD fuzzy in-context recall: keys and values are motifs of 1..k/1..v adjacent tokens",
    .hparams = knobs,
    .validate = validate,
    .generate = generate,
};
