/* bench_train.c: training-step throughput (forward + backward + AdamW) of one model
 * configuration, in tokens/s. Used by bench/run.py next to the PyTorch reference.
 * Not a test: it prints a number and never judges it. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zoo/run.h"
#include "zoo/task.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    zoo_run_spec s;
    zoo_run_spec_default(&s);
    int steps = 20, warmup = 3;
    s.batch_size = 64;
    s.threads = 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--steps"))
            steps = atoi(argv[i + 1]);
        else if (zoo_run_spec_set(&s, argv[i] + (argv[i][0] == '-' && argv[i][1] == '-' ? 2 : 0), argv[i + 1])) {
            fprintf(stderr, "bench_train: %s\n", zoo_error_last()->msg);
            return 2;
        }
    }
    zoo_set_threads(s.threads);
    zoo_mqar_spec ms = {s.vocab, s.seq_len, s.kv_pairs, s.batch_size * 4, s.power_a, 0, 1};
    zoo_dataset d = {0};
    zoo_model *m = NULL;
    if (zoo_mqar_generate(&ms, &d) || zoo_model_build(&s, s.batch_size, s.batch_size * s.kv_pairs, &m)) {
        fprintf(stderr, "bench_train: %s\n", zoo_error_last()->msg);
        return 1;
    }
    double t0 = 0;
    for (int it = 0; it < warmup + steps; it++) {
        if (it == warmup)
            t0 = now();
        zoo_model_load_batch(m, &d, NULL, (it % 4) * s.batch_size, s.batch_size);
        zoo_graph_set_training(m->g, 1, (uint64_t)it);
        if (zoo_graph_forward(m->g) || zoo_graph_backward(m->g, m->loss)) {
            fprintf(stderr, "bench_train: %s\n", zoo_error_last()->msg);
            return 1;
        }
        zoo_adamw_step(m->g, 1e-3, 0.9, 0.999, 1e-8, 0.1, it + 1);
    }
    double dt = now() - t0;
    printf("{\"impl\": \"zoo\", \"d_model\": %lld, \"seq_len\": %lld, \"batch\": %lld, \"steps\": %d, "
           "\"tokens_per_s\": %.1f, \"loss\": %.4f}\n",
           (long long)s.d_model, (long long)s.seq_len, (long long)s.batch_size, steps,
           (double)steps * s.batch_size * s.seq_len / dt, zoo_tensor_data(m->loss)[0]);
    zoo_model_free(m);
    zoo_dataset_free(&d);
    return 0;
}
