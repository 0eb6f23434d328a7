/* bench_train.c: training-step throughput (forward + backward + AdamW) of one model
 * configuration, in tokens/s, printed as one JSON line. bench/run.py runs it next to
 * the PyTorch reference. Not a test: it prints numbers and never judges them.
 *
 * usage: zoo_bench_train [--steps N] [--min-time S] [--warmup N] [--phases 1|2]
 *                        [--<spec key> VALUE ...]   e.g. --d_model 128 --seq_len 256
 * --steps 0 builds and plans the model only: the planned bytes per kind, no step.
 * --phases 1 times forward, backward and AdamW apart; 2 also each op's kernels, summed by
 * op name ("ops": {name: [forward s, backward s] per step}; the waits add a little).
 * Defaults: the run spec's (attention, 2 layers, learned positions, dropout 0.1, as in
 * docs/model.md), batch 64, 2 threads, K by L as in Zoology's Figure 2. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zoo/plugin.h"
#include "zoo/run.h"
#include "zoo/task.h"

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double now(void) { return clock_s(CLOCK_MONOTONIC); }

static int fail(const char *what)
{
    fprintf(stderr, "zoo_bench_train: %s: %s\n", what, zoo_error_last()->msg);
    return 1;
}

/* Zoology Figure 2 pairs (L, K): (64, 4), (128, 8), (256, 16), (512, 64). */
static int64_t default_kv_pairs(int64_t L)
{
    return L >= 512 ? L / 8 : (L / 16 > 1 ? L / 16 : 1);
}

/* The planned activation memory per kind, as JSON fields (MiB). */
static void print_plan(const zoo_graph *g)
{
    zoo_mem_plan mp;
    if (zoo_graph_mem_plan(g, &mp))
        return;
    printf(", \"activations_mib\": %.1f, \"act_grads_mib\": %.1f, \"workspace_mib\": %.1f", mp.activations / 1048576.0,
           mp.act_grads / 1048576.0, mp.workspace / 1048576.0);
}

/* Per-op kernel seconds per step, summed over the nodes of each op, in first-use order. */
static void print_op_times(const zoo_graph *g, int steps)
{
    enum { MAX_OPS = 64 };
    const char *names[MAX_OPS];
    double fw[MAX_OPS] = {0}, bw[MAX_OPS] = {0};
    int n = 0;
    const char *op;
    double f, b;
    for (int i = 0; zoo_graph_profile_get(g, i, &op, &f, &b); i++) {
        if (!op)
            continue;
        int j = 0;
        while (j < n && strcmp(names[j], op))
            j++;
        if (j == n && n < MAX_OPS)
            names[n++] = op;
        if (j < n) {
            fw[j] += f;
            bw[j] += b;
        }
    }
    printf(", \"ops\": {");
    for (int j = 0; j < n; j++)
        printf("%s\"%s\": [%.5f, %.5f]", j ? ", " : "", names[j], fw[j] / steps, bw[j] / steps);
    printf("}");
}

int main(int argc, char **argv)
{
    zoo_prefer_passive_wait(argv);
    zoo_run_spec s;
    zoo_run_spec_default(&s);
    int steps = 10, warmup = 2, phases = 0, kv_set = 0;
    double min_time = 0.0;
    s.batch_size = 64;
    s.threads = 2;
    for (int i = 1; i < argc; i += 2) {
        const char *key = argv[i];
        if (key[0] == '-' && key[1] == '-')
            key += 2;
        if (i + 1 >= argc) {
            fprintf(stderr, "zoo_bench_train: '%s' needs a value\n", argv[i]);
            return 2;
        }
        const char *val = argv[i + 1];
        if (!strcmp(key, "steps"))
            steps = atoi(val);
        else if (!strcmp(key, "warmup"))
            warmup = atoi(val);
        else if (!strcmp(key, "min-time"))
            min_time = atof(val);
        else if (!strcmp(key, "phases"))
            phases = atoi(val);
        else if (zoo_run_spec_set(&s, key, val)) {
            fprintf(stderr, "zoo_bench_train: %s\n", zoo_error_last()->msg);
            return 2;
        } else if (!strcmp(key, "kv_pairs") || !strcmp(key, "kv-pairs"))
            kv_set = 1;
    }
    if (steps < 0 || warmup < 0) {
        fprintf(stderr, "zoo_bench_train: --steps and --warmup must be >= 0\n");
        return 2;
    }
    if (!kv_set)
        s.kv_pairs = default_kv_pairs(s.seq_len);
    if (zoo_run_spec_check(&s))
        return fail("spec");
    zoo_set_threads(s.threads);
    const int64_t B = s.batch_size, L = s.seq_len;
    zoo_mqar_spec ms = {s.vocab, L, s.kv_pairs, B * 4, s.power_a, s.random_non_queries, s.data_seed};
    zoo_dataset d = {0};
    zoo_model *m = NULL;
    if (zoo_mqar_generate(&ms, &d))
        return fail("data");
    /* M = K*B supervised slots, as zoo_run builds it */
    if (zoo_model_build(&s, B, B * s.kv_pairs, &m))
        return fail("model");
    if (!steps) { /* the plan only */
        printf("{\"impl\": \"zoo\", \"backend\": \"%s\", \"mixer\": \"%s\", \"d_model\": %lld, \"seq_len\": %lld, "
               "\"batch\": %lld, \"arena_mib\": %.1f",
               zoo_backend_name(s.backend), s.mixers[0].name, (long long)s.d_model, (long long)L, (long long)B,
               (double)zoo_graph_arena_bytes(m->g) / 1048576.0);
        print_plan(m->g);
        printf("}\n");
        zoo_model_free(m);
        zoo_dataset_free(&d);
        return 0;
    }
    double t0 = 0, c0 = 0, tf = 0, tb = 0, ta = 0;
    int done = 0;
    for (int it = 0;; it++) {
        if (it == warmup) {
            if (phases > 1 && zoo_graph_profile(m->g, 1))
                return fail("profile");
            t0 = now();
            c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        }
        if (it >= warmup) {
            done = it - warmup;
            if (done >= steps && now() - t0 >= min_time)
                break;
        }
        if (zoo_model_load_batch(m, &d, NULL, (it % 4) * B, B))
            return fail("batch");
        if (!phases) { /* the training loop's step: on a GPU queued, or one graph replay */
            if (zoo_model_train_step(m, &s, 1e-3, it, 0))
                return fail("step");
            continue;
        }
        /* phases: each part on its own, waited for, so its time is its own */
        double a = now();
        if (zoo_graph_set_training(m->g, 1, (uint64_t)it) || zoo_graph_forward(m->g) || zoo_graph_synchronize(m->g))
            return fail("forward");
        double b = now();
        if (zoo_graph_backward(m->g, m->loss) || zoo_graph_synchronize(m->g))
            return fail("backward");
        double c = now();
        if (zoo_adamw_step(m->g, 1e-3, 0.9, 0.999, 1e-8, 0.1, it + 1) || zoo_graph_synchronize(m->g))
            return fail("AdamW");
        if (it >= warmup) {
            tf += b - a;
            tb += c - b;
            ta += now() - c;
        }
    }
    if (zoo_graph_synchronize(m->g)) /* a GPU's queued steps count in full */
        return fail("synchronize");
    double dt = now() - t0, cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    float loss = 0;
    if (zoo_tensor_get(m->loss, &loss, 0, 1))
        return fail("loss");
    const char *cg = getenv("ZOO_CUDA_GRAPH");
    printf("{\"impl\": \"zoo\", \"backend\": \"%s\", \"graph\": %d, \"mixer\": \"%s\", \"d_model\": %lld, \"seq_len\": %lld, \"batch\": %lld, "
           "\"kv_pairs\": %lld, \"threads\": %d, \"params\": %lld, \"steps\": %d, \"seconds\": %.4f, "
           "\"tokens_per_s\": %.1f, \"cpu_s\": %.4f, \"tokens_per_cpu_s\": %.1f, \"arena_mib\": %.1f, \"loss\": %.4f",
           zoo_backend_name(s.backend), s.backend == ZOO_BACKEND_CUDA && !phases && !(cg && !strcmp(cg, "0")),
           s.mixers[0].name, (long long)s.d_model, (long long)L, (long long)B, (long long)s.kv_pairs, s.threads,
           (long long)zoo_graph_count_trainable(m->g), done, dt, (double)done * B * L / dt, cpu,
           (double)done * B * L / cpu, (double)zoo_graph_arena_bytes(m->g) / 1048576.0, (double)loss);
    print_plan(m->g);
    /* The pattern with every knob resolved and the block each mixer sits in, so that
     * run.py builds the same model in PyTorch (the plugins' defaults, not a copy of them). */
    printf(", \"n_layers\": %d, \"pattern\": [", s.n_layers);
    for (int i = 0; i < m->n_plugins; i++) {
        char kn[1024];
        zoo_hvals_format(m->hvals[i], kn, sizeof kn);
        const zoo_mixer *mx = m->plugins[i]->mixer;
        printf("%s{\"name\": \"%s\", \"family\": \"%s\", \"block\": \"%s\", \"knobs\": \"%s\"}", i ? ", " : "",
               mx->name, mx->family, mx->block == ZOO_BLOCK_MAMBA ? "mamba" : "transformer", kn);
    }
    printf("]");
    if (phases)
        printf(", \"forward_s\": %.4f, \"backward_s\": %.4f, \"adamw_s\": %.4f", tf / done, tb / done, ta / done);
    if (phases > 1)
        print_op_times(m->g, done);
    printf("}\n");
    zoo_model_free(m);
    zoo_dataset_free(&d);
    return 0;
}
