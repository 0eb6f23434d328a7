/* test_profile.c: the op profile of a planned graph (zoo_graph_profile): refused before
 * planning, zero until steps run, each op's kernels timed forward and backward apart,
 * inputs and parameters carry no op, and off means nothing to read. */
#include <stdio.h>
#include <string.h>

#include "zoo/run.h"

#define CHECK(c, ...)                                                                      \
    do {                                                                                   \
        if (!(c)) {                                                                        \
            fprintf(stderr, "FAIL line %d: ", __LINE__);                                  \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fprintf(stderr, "\n");                                                         \
            bad = 1;                                                                       \
        }                                                                                  \
    } while (0)

int main(void)
{
    int bad = 0;
    zoo_run_spec s;
    zoo_run_spec_default(&s);
    const char *kv[][2] = {{"vocab", "64"}, {"seq_len", "16"}, {"kv_pairs", "2"}, {"d_model", "16"},
                           {"threads", "1"}, {"batch_size", "4"}};
    for (size_t i = 0; i < sizeof kv / sizeof *kv; i++)
        if (zoo_run_spec_set(&s, kv[i][0], kv[i][1]))
            return fprintf(stderr, "FAIL spec: %s\n", zoo_error_last()->msg), 1;
    zoo_mqar_spec ms = {s.vocab, s.seq_len, s.kv_pairs, 8, s.power_a, s.random_non_queries, s.data_seed};
    zoo_dataset d = {0};
    zoo_model *m = NULL;
    if (zoo_mqar_generate(&ms, &d) || zoo_model_build(&s, 4, 8, &m))
        return fprintf(stderr, "FAIL set-up: %s\n", zoo_error_last()->msg), 1;
    CHECK(zoo_graph_profile(NULL, 1) != 0, "profiling no graph was accepted");
    const char *op;
    double f, b;
    CHECK(!zoo_graph_profile_get(m->g, 0, &op, &f, &b), "a profile was readable before it was started");
    CHECK(!zoo_graph_profile(m->g, 1), "profile: %s", zoo_error_last()->msg);
    int n = 0, ops = 0;
    for (; zoo_graph_profile_get(m->g, n, &op, &f, &b); n++)
        CHECK(f == 0 && b == 0, "node %d has time %g %g before any step", n, f, b);
    CHECK(n > 0, "no node to read");
    for (int it = 0; it < 2; it++)
        if (zoo_model_load_batch(m, &d, NULL, 0, 4) || zoo_graph_set_training(m->g, 1, (uint64_t)it) ||
            zoo_graph_forward(m->g) || zoo_graph_backward(m->g, m->loss))
            return fprintf(stderr, "FAIL step: %s\n", zoo_error_last()->msg), 1;
    int timed_f = 0, timed_b = 0, has_attention = 0;
    for (int i = 0; zoo_graph_profile_get(m->g, i, &op, &f, &b); i++) {
        if (!op) {
            CHECK(f == 0 && b == 0, "node %d without an op has time %g %g", i, f, b);
            continue;
        }
        ops++;
        CHECK(f >= 0 && b >= 0, "node %d (%s): negative time", i, op);
        timed_f += f > 0;
        timed_b += b > 0;
        has_attention |= !strcmp(op, "attention") && f > 0 && b > 0;
    }
    CHECK(ops > 0 && timed_f == ops, "%d of %d op nodes have a forward time", timed_f, ops);
    CHECK(timed_b > 0 && timed_b <= ops, "%d op nodes have a backward time", timed_b);
    CHECK(has_attention, "the attention op was not timed both ways");
    CHECK(!zoo_graph_profile(m->g, 0), "profile off: %s", zoo_error_last()->msg);
    CHECK(!zoo_graph_profile_get(m->g, 0, &op, &f, &b), "a profile was readable after it was stopped");
    zoo_model_free(m);
    zoo_dataset_free(&d);
    printf("profile: %s (%d op nodes)\n", bad ? "FAIL" : "ok", ops);
    return bad;
}
