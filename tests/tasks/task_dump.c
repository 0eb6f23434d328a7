/* task_dump.c: write a task's examples for the Python references to compare.
 * task_dump TASK VOCAB SEQ_LEN N SEED TASK_SEED SPLIT OUT [knob=value ...]
 * SPLIT is train or test. OUT gets, little-endian: int64 n, L, has_tags; then inputs
 * (n, L) int32, labels (n, L) int32, and tags (n) int32 when has_tags. The set is made
 * twice, on 1 thread and on all, and must be identical (determinism in the index). */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zoo/error.h"
#include "zoo/plugin.h"
#include "zoo/task.h"

static int same(const zoo_dataset *a, const zoo_dataset *b)
{
    size_t nl = (size_t)(a->n * a->L) * sizeof(int32_t);
    return a->n == b->n && a->L == b->L && !memcmp(a->inputs, b->inputs, nl) && !memcmp(a->labels, b->labels, nl) &&
           (!a->tags) == (!b->tags) && (!a->tags || !memcmp(a->tags, b->tags, (size_t)a->n * sizeof(int32_t)));
}

int main(int argc, char **argv)
{
    if (argc < 9) {
        fprintf(stderr, "usage: task_dump TASK VOCAB SEQ_LEN N SEED TASK_SEED train|test OUT [knob=value ...]\n");
        return 2;
    }
    zoo_plugin *p = NULL;
    zoo_hvals *h = NULL;
    if (zoo_task_find(argv[1], &p) || zoo_hvals_new_task(p->task, &h)) {
        fprintf(stderr, "task_dump: %s\n", zoo_error_last()->msg);
        zoo_plugin_close(p);
        return 1;
    }
    int rc = 0;
    for (int i = 9; i < argc && !rc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) {
            fprintf(stderr, "task_dump: '%s' is not knob=value\n", argv[i]);
            rc = 2;
            break;
        }
        *eq = 0;
        if (zoo_hvals_set(h, argv[i], eq + 1)) {
            fprintf(stderr, "task_dump: %s\n", zoo_error_last()->msg);
            rc = 2;
        }
    }
    if (rc) { /* freed, so a sanitizer build reports no leak and keeps the exit code */
        zoo_hvals_free(h);
        zoo_plugin_close(p);
        return rc;
    }
    zoo_task_set set = {.vocab = atoll(argv[2]),
                        .seq_len = atoll(argv[3]),
                        .seed = strtoull(argv[5], NULL, 10),
                        .task_seed = strtoull(argv[6], NULL, 10),
                        .split = strcmp(argv[7], "test") ? ZOO_SPLIT_TRAIN : ZOO_SPLIT_TEST};
    int64_t n = atoll(argv[4]);
    zoo_dataset a, b;
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    if (zoo_task_generate(p->task, h, &set, n, &a)) {
        fprintf(stderr, "task_dump: %s\n", zoo_error_last()->msg);
        zoo_hvals_free(h);
        zoo_plugin_close(p);
        return 3; /* refused: the references test refusals through this code */
    }
    omp_set_num_threads(threads > 1 ? threads : 2);
    if (zoo_task_generate(p->task, h, &set, n, &b) || !same(&a, &b)) {
        fprintf(stderr, "task_dump: %s differs between 1 and %d threads\n", argv[1], threads);
        return 1;
    }
    FILE *f = fopen(argv[8], "wb");
    int64_t head[3] = {a.n, a.L, a.tags != NULL};
    size_t nl = (size_t)(a.n * a.L);
    int ok = f && fwrite(head, sizeof head, 1, f) == 1 && fwrite(a.inputs, sizeof(int32_t), nl, f) == nl &&
             fwrite(a.labels, sizeof(int32_t), nl, f) == nl &&
             (!a.tags || fwrite(a.tags, sizeof(int32_t), (size_t)a.n, f) == (size_t)a.n);
    if (!f || fclose(f) || !ok) {
        fprintf(stderr, "task_dump: cannot write %s\n", argv[8]);
        return 1;
    }
    zoo_dataset_free(&a);
    zoo_dataset_free(&b);
    zoo_hvals_free(h);
    zoo_plugin_close(p);
    return 0;
}
