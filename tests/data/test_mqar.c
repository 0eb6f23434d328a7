/* test_mqar.c: the MQAR generator's format (docs/task.md) for several seeds and
 * (L, K), determinism for a seed across calls and thread counts, the random filler and
 * the hard checks. The slot law is tested statistically in mqar_stats.py. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "zoo/error.h"
#include "zoo/task.h"

static int fails;

#define CHECK(cond, ...)                                                                                          \
    do {                                                                                                          \
        if (!(cond)) {                                                                                            \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                                   \
            fprintf(stderr, __VA_ARGS__);                                                                         \
            fprintf(stderr, "\n");                                                                                \
            fails++;                                                                                              \
        }                                                                                                         \
    } while (0)

static zoo_mqar_spec spec_of(int64_t V, int64_t L, int64_t K, int64_t n, uint64_t seed)
{
    zoo_mqar_spec s = {.vocab = V, .seq_len = L, .kv_pairs = K, .num_examples = n, .power_a = 0.01,
                       .random_non_queries = 0, .seed = seed};
    return s;
}

/* Every format property on every row: keys in [1, V/2) and values in [V/2, V), all
 * distinct; no label in the kv block; K labels at even offsets of the query region, each
 * on a repeat of its key, with its value, each key once; blanks elsewhere. Returns the
 * number of bad rows (first few printed). */
static int check_format(const zoo_mqar_spec *s, const zoo_dataset *d)
{
    const int64_t V = s->vocab, L = s->seq_len, K = s->kv_pairs, C = 2 * K, half = V / 2;
    int bad_rows = 0;
    unsigned char *seen = calloc((size_t)V, 1);
    int *queried = calloc((size_t)K, sizeof *queried);
    if (!seen || !queried) {
        fprintf(stderr, "FAIL: out of memory\n");
        exit(1);
    }
    for (int64_t e = 0; e < d->n; e++) {
        const int32_t *x = d->inputs + e * L, *y = d->labels + e * L;
        char why[256] = "";
        memset(queried, 0, (size_t)K * sizeof *queried);
        for (int64_t j = 0; j < K && !why[0]; j++) {
            int32_t k = x[2 * j], v = x[2 * j + 1];
            if (k < 1 || k >= half)
                snprintf(why, sizeof why, "key %d at %lld outside [1, %lld)", k, (long long)(2 * j), (long long)half);
            else if (v < half || v >= V)
                snprintf(why, sizeof why, "value %d at %lld outside [%lld, %lld)", v, (long long)(2 * j + 1),
                         (long long)half, (long long)V);
            else if (seen[k] || seen[v])
                snprintf(why, sizeof why, "repeated token %d in the kv block", seen[k] ? k : v);
            else
                seen[k] = seen[v] = 1;
        }
        for (int64_t j = 0; j < K; j++) /* reset (only the block's tokens were set) */
            seen[x[2 * j]] = seen[x[2 * j + 1]] = 0;
        for (int64_t t = 0; t < C && !why[0]; t++)
            if (y[t] != ZOO_IGNORE_LABEL)
                snprintf(why, sizeof why, "label %d inside the kv block at %lld", y[t], (long long)t);
        int64_t nlab = 0;
        for (int64_t t = C; t < L && !why[0]; t++) {
            if (y[t] == ZOO_IGNORE_LABEL) {
                if (!s->random_non_queries && x[t] != 0)
                    snprintf(why, sizeof why, "non-blank input %d at unsupervised query-region position %lld", x[t],
                             (long long)t);
                continue;
            }
            nlab++;
            if ((t - C) % 2 != 0) {
                snprintf(why, sizeof why, "label at odd offset %lld of the query region", (long long)(t - C));
                break;
            }
            int64_t j = 0;
            while (j < K && x[2 * j] != x[t])
                j++;
            if (j == K)
                snprintf(why, sizeof why, "input %d at label position %lld is not a key", x[t], (long long)t);
            else if (y[t] != x[2 * j + 1])
                snprintf(why, sizeof why, "label %d at %lld but key %d maps to %d", y[t], (long long)t, x[t],
                         x[2 * j + 1]);
            else if (queried[j]++)
                snprintf(why, sizeof why, "key %d queried twice", x[t]);
        }
        if (!why[0] && nlab != K)
            snprintf(why, sizeof why, "%lld labels, expected K = %lld", (long long)nlab, (long long)K);
        if (why[0] && bad_rows++ < 5)
            fprintf(stderr, "FAIL format V=%lld L=%lld K=%lld seed=%llu row %lld: %s\n", (long long)V, (long long)L,
                    (long long)K, (unsigned long long)s->seed, (long long)e, why);
    }
    free(seen);
    free(queried);
    return bad_rows;
}

static void test_format(void)
{
    static const int64_t cfg[][3] = {
        /* V, L, K: the paper's shapes, K = S (every slot used), and the tightest vocabularies */
        {8192, 64, 4}, {8192, 128, 8}, {8192, 256, 16}, {8192, 64, 16}, {8192, 512, 64},
        {65, 64, 16},  {66, 64, 16},   {10, 8, 2},      {6, 4, 1},
    };
    static const uint64_t seeds[] = {0, 1, 10, 12345, 0x8000000000000005ull};
    for (size_t c = 0; c < sizeof cfg / sizeof *cfg; c++)
        for (size_t k = 0; k < sizeof seeds / sizeof *seeds; k++) {
            zoo_mqar_spec s = spec_of(cfg[c][0], cfg[c][1], cfg[c][2], 300, seeds[k]);
            zoo_dataset d = {0};
            int rc = zoo_mqar_generate(&s, &d);
            CHECK(rc == 0, "generate V=%lld L=%lld K=%lld: %s", (long long)s.vocab, (long long)s.seq_len,
                  (long long)s.kv_pairs, zoo_error_last()->msg);
            if (rc)
                continue;
            CHECK(d.n == s.num_examples && d.L == s.seq_len && d.vocab == s.vocab, "dataset dims");
            int bad = check_format(&s, &d);
            CHECK(bad == 0, "%d bad rows (V=%lld L=%lld K=%lld)", bad, (long long)s.vocab, (long long)s.seq_len,
                  (long long)s.kv_pairs);
            /* K = S: every slot must be a query. */
            if (4 * s.kv_pairs == s.seq_len)
                for (int64_t e = 0; e < d.n; e++)
                    for (int64_t t = 2 * s.kv_pairs; t < s.seq_len; t += 2)
                        if (d.labels[e * d.L + t] == ZOO_IGNORE_LABEL) {
                            CHECK(0, "K = S but slot at %lld of row %lld is empty", (long long)t, (long long)e);
                            e = d.n;
                            break;
                        }
            zoo_dataset_free(&d);
        }
    /* Near the docstring example (K=2, L=16; its V=12 breaks V > L): every key 1..7 and
     * value 8..16 is drawn, token 0 never. */
    zoo_mqar_spec s = spec_of(17, 16, 2, 2000, 3);
    zoo_dataset d = {0};
    if (zoo_mqar_generate(&s, &d) == 0) {
        int used[17] = {0};
        for (int64_t e = 0; e < d.n; e++)
            for (int t = 0; t < 4; t++)
                used[d.inputs[e * 16 + t]]++;
        CHECK(used[0] == 0, "token 0 used in a kv block");
        for (int t = 1; t < 17; t++)
            CHECK(used[t] > 0, "token %d never drawn in 2000 examples (keys 1..7, values 8..16)", t);
        CHECK(check_format(&s, &d) == 0, "docstring-shaped case");
    } else {
        CHECK(0, "generate V=17 L=16 K=2: %s", zoo_error_last()->msg);
    }
    zoo_dataset_free(&d);
}

static int same(const zoo_dataset *a, const zoo_dataset *b)
{
    return a->n == b->n && a->L == b->L && !memcmp(a->inputs, b->inputs, (size_t)(a->n * a->L) * 4) &&
           !memcmp(a->labels, b->labels, (size_t)(a->n * a->L) * 4);
}

static void test_determinism(void)
{
    zoo_mqar_spec s = spec_of(8192, 128, 8, 3001, 42);
    zoo_dataset a = {0}, b = {0}, c = {0};
    CHECK(zoo_mqar_generate(&s, &a) == 0 && zoo_mqar_generate(&s, &b) == 0, "generate");
    CHECK(same(&a, &b), "same seed, two calls: datasets differ");
#ifdef _OPENMP
    static const int threads[] = {1, 2, 3, 7};
    for (size_t i = 0; i < sizeof threads / sizeof *threads; i++) {
        omp_set_num_threads(threads[i]);
        zoo_dataset t = {0};
        CHECK(zoo_mqar_generate(&s, &t) == 0, "generate");
        CHECK(same(&a, &t), "%d threads give a different dataset", threads[i]);
        zoo_dataset_free(&t);
    }
#else
    fprintf(stderr, "note: built without OpenMP; thread-count invariance not exercised\n");
#endif
    s.seed = 52; /* the test-set seed of seed 42 */
    CHECK(zoo_mqar_generate(&s, &c) == 0, "generate");
    int64_t equal_rows = 0;
    for (int64_t e = 0; e < a.n; e++)
        equal_rows += !memcmp(a.inputs + e * a.L, c.inputs + e * a.L, (size_t)a.L * 4);
    CHECK(equal_rows == 0, "seeds 42 and 52 share %lld identical rows", (long long)equal_rows);
    /* A prefix is the same dataset: example e depends only on (seed, e). */
    zoo_mqar_spec p = spec_of(8192, 128, 8, 100, 42);
    zoo_dataset pd = {0};
    CHECK(zoo_mqar_generate(&p, &pd) == 0, "generate");
    CHECK(pd.inputs && !memcmp(pd.inputs, a.inputs, 100 * 128 * 4), "first 100 rows depend on n");
    zoo_dataset_free(&pd);
    zoo_dataset_free(&a);
    zoo_dataset_free(&b);
    zoo_dataset_free(&c);
}

static void test_random_non_queries(void)
{
    zoo_mqar_spec s = spec_of(8192, 256, 16, 400, 9);
    zoo_dataset off = {0}, on = {0};
    CHECK(zoo_mqar_generate(&s, &off) == 0, "generate");
    s.random_non_queries = 1;
    CHECK(zoo_mqar_generate(&s, &on) == 0, "generate");
    if (!off.inputs || !on.inputs)
        return;
    CHECK(check_format(&s, &on) == 0, "format with random_non_queries");
    CHECK(!memcmp(off.labels, on.labels, (size_t)(off.n * off.L) * 4), "labels changed by random_non_queries");
    int64_t filled = 0, zeros = 0, changed_nonblank = 0, in_keys = 0, in_vals = 0;
    double sum = 0;
    for (int64_t i = 0; i < off.n * off.L; i++) {
        if (off.inputs[i] != 0) {
            changed_nonblank += on.inputs[i] != off.inputs[i];
            continue;
        }
        int32_t v = on.inputs[i];
        CHECK(v >= 0 && v < 8192, "filler %d outside [0, V)", v);
        filled++;
        zeros += v == 0;
        sum += v;
        in_keys += v >= 1 && v < 4096;
        in_vals += v >= 4096;
    }
    CHECK(changed_nonblank == 0, "%lld non-blank inputs changed", (long long)changed_nonblank);
    /* (256-32) query positions - 16 queries = 208 blanks per row. */
    CHECK(filled == off.n * 208, "%lld blanks, expected %lld", (long long)filled, (long long)(off.n * 208));
    double mean = sum / (double)filled, sd = 8192 / sqrt(12.0) / sqrt((double)filled);
    CHECK(fabs(mean - 4095.5) < 5 * sd, "filler mean %.1f, uniform [0, 8192) gives 4095.5 +- %.1f", mean, sd);
    CHECK(zeros < filled / 500, "%lld of %lld fillers are still 0", (long long)zeros, (long long)filled);
    CHECK(in_keys > filled / 3 && in_vals > filled / 3, "filler not spread over keys (%lld) and values (%lld)",
          (long long)in_keys, (long long)in_vals);
    zoo_dataset_free(&off);
    zoo_dataset_free(&on);
}

static void expect_invalid(zoo_mqar_spec s, const char *needle, const char *what)
{
    zoo_error_clear();
    int rc = zoo_mqar_check(&s);
    const char *msg = zoo_error_last()->msg;
    CHECK(rc == ZOO_ERR_INVALID, "%s: check returned %d, expected ZOO_ERR_INVALID", what, rc);
    CHECK(strstr(msg, needle) != NULL, "%s: message '%s' does not mention '%s'", what, msg, needle);
    zoo_dataset d = {0};
    rc = zoo_mqar_generate(&s, &d);
    CHECK(rc == ZOO_ERR_INVALID && d.inputs == NULL && d.labels == NULL, "%s: generate returned %d", what, rc);
}

static void test_checks(void)
{
    zoo_mqar_spec ok = spec_of(8192, 64, 4, 10, 0);
    CHECK(zoo_mqar_check(&ok) == 0, "paper spec rejected: %s", zoo_error_last()->msg);
    zoo_mqar_spec s = ok;
    s.seq_len = 63;
    expect_invalid(s, "seq_len 63", "odd L");
    s = ok;
    s.seq_len = 2;
    s.kv_pairs = 1;
    expect_invalid(s, "seq_len 2", "L too short");
    s = ok;
    s.vocab = 64;
    expect_invalid(s, "vocab 64", "V = L");
    s = ok;
    s.kv_pairs = 17;
    expect_invalid(s, "kv_pairs 17", "4K > L");
    s = ok;
    s.kv_pairs = (int64_t)1 << 62; /* must not overflow inside the check */
    expect_invalid(s, "kv_pairs 4611686018427387904", "huge K");
    s = ok;
    s.seq_len = INT64_MAX;
    expect_invalid(s, "seq_len 9223372036854775807", "huge odd L");
    s = ok;
    s.kv_pairs = 0;
    expect_invalid(s, "kv_pairs 0", "K = 0");
    s = ok;
    s.kv_pairs = -3;
    expect_invalid(s, "kv_pairs -3", "K < 0");
    s = ok;
    s.num_examples = 0;
    expect_invalid(s, "num_examples 0", "n = 0");
    s = ok;
    s.power_a = 0;
    expect_invalid(s, "power_a 0", "a = 0");
    s = ok;
    s.power_a = -0.5;
    expect_invalid(s, "power_a -0.5", "a < 0");
    s = ok;
    s.power_a = NAN;
    expect_invalid(s, "power_a", "a NaN");
    s = ok;
    s.vocab = (int64_t)1 << 32;
    expect_invalid(s, "vocab 4294967296", "V beyond int32");
    CHECK(zoo_mqar_check(NULL) == ZOO_ERR_INVALID, "NULL spec accepted");
    CHECK(zoo_mqar_generate(&ok, NULL) == ZOO_ERR_INVALID, "NULL output accepted");
    zoo_dataset z = {0};
    zoo_dataset_free(&z);
    zoo_dataset_free(NULL);
}

int main(void)
{
    test_checks();
    test_format();
    test_determinism();
    test_random_non_queries();
    if (fails) {
        fprintf(stderr, "test_mqar: %d failure(s)\n", fails);
        return 1;
    }
    printf("test_mqar: ok\n");
    return 0;
}
