/* zoo/task.h: the task SDK. A task plugin is one C file that exports one constant
 * descriptor, `zoo_task_v1`, declaring its knobs and a generator of examples. The
 * loader checks it like a mixer (magic, ABI, size, name == file name, slots, knob
 * table). Generation is deterministic in (knobs, V, L, seed, example index) whatever
 * the thread or rank count: the core asks for chunks of examples of any size from any
 * thread (docs/tasks.md). MQAR (docs/task.md) is the task plugin mqar.so; the zoo_mqar_*
 * functions below are a typed front to it. */
#ifndef ZOO_TASK_H
#define ZOO_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "zoo/api.h"
#include "zoo/mixer.h"

#ifdef __cplusplus
extern "C" {
#endif
ZOO_API_BEGIN

#define ZOO_IGNORE_LABEL (-100)

#define ZOO_TASK_MAGIC 0x4b534154u /* "TASK" little-endian */
#define ZOO_TASK_ABI_MAJOR 1u      /* bumped on any incompatible change */
#define ZOO_TASK_ABI_MINOR 0u      /* bumped when fields are appended */
#define ZOO_TASK_SYMBOL "zoo_task_v1"

typedef enum zoo_split { ZOO_SPLIT_TRAIN = 0, ZOO_SPLIT_TEST = 1 } zoo_split;

/* One set of examples the core asks a task for. */
typedef struct zoo_task_set {
    int64_t vocab;      /* V: inputs and labels are tokens of [0, V) (labels also -100) */
    int64_t seq_len;    /* L */
    uint64_t seed;      /* this set's seed: the train and test sets of a run differ */
    uint64_t task_seed; /* the run's data seed, the same for all its sets (a fixed map shared by train and test) */
    zoo_split split;    /* train or test: a task may supervise more positions when training */
} zoo_task_set;

typedef struct zoo_task {
    zoo_abi_header hdr;  /* ZOO_TASK_HEADER */
    const char *name;    /* what a run names; must equal the file name (name.so) */
    const char *family;  /* "zoology" | "mad" | "circuits" | ... */
    const char *summary; /* one line for `zoo plugins` */
    const zoo_hparam *hparams; /* knobs (zoo/mixer.h); may be NULL */
    /* Optional: reject knob values and impossible (V, L, knobs) combinations before any
     * data is made. Write one line to msg naming the knob or field and the fix; return
     * ZOO_ERR_INVALID. */
    int (*validate)(const zoo_hvals *h, const zoo_task_set *set, char *msg, size_t msglen);
    /* Required: examples [first, first + count) of `set`: x and y (count, L) int32, y =
     * ZOO_IGNORE_LABEL where unsupervised (the label at position t is what the model
     * should predict from inputs 0..t); tags (count) gets each example's tag when the
     * task declares `tags`, else it is NULL. Example e must depend only on the knobs,
     * `set` and e (draw from zoo_task_rng_init(.., set->seed, salt, e)). Called after
     * validate accepted; return 0, or ZOO_ERR_NOMEM (and write nothing else). */
    int (*generate)(const zoo_hvals *h, const zoo_task_set *set, int64_t first, int64_t count, int32_t *x,
                    int32_t *y, int32_t *tags);
    /* Optional: names of the tags (index = tag value), NULL-terminated, at most
     * ZOO_MAX_TAGS; test accuracy and loss are also reported per tag. NULL: the task does
     * not tag examples. */
    const char *const *tags;
} zoo_task;

#define ZOO_MAX_TAGS 16

#define ZOO_TASK_HEADER {ZOO_TASK_MAGIC, ZOO_TASK_ABI_MAJOR, ZOO_TASK_ABI_MINOR, (uint32_t)sizeof(zoo_task)}

/* ---- helpers for task authors (implemented in libzoo) ------------------------------- */
/* A counter-based stream: the same draws for the same key on any thread. */
typedef struct zoo_task_rng {
    uint64_t key, ctr;
} zoo_task_rng;
/* The stream of example `index` of the set seeded `seed`; `salt` is the task's own
 * constant, so two tasks on one seed draw unrelated streams. */
void zoo_task_rng_init(zoo_task_rng *r, uint64_t seed, uint64_t salt, int64_t index);
double zoo_task_rng_uniform(zoo_task_rng *r);           /* [0, 1), 53 bits */
int64_t zoo_task_rng_below(zoo_task_rng *r, int64_t n); /* uniform in [0, n), n >= 1 */

/* ---- data sets ---------------------------------------------------------------------- */
/* A dataset of n examples of length L: inputs and labels (n, L) int32, labels -100
 * where unsupervised; tags (n) int32 or NULL. */
typedef struct zoo_dataset {
    int64_t n, L, vocab;
    int32_t *inputs;
    int32_t *labels;
    int32_t *tags;
    /* With tags: how many the task declares and their names (the task's own strings: task
     * plugins stay loaded), tags[e] in [0, n_tags). 0 and NULL without. */
    int n_tags;
    const char *const *tag_names;
    /* A set made of segments: segment i is rows [seg_start[i], seg_start[i+1]);
     * n_segments 0 and seg_start NULL for a set of one piece. */
    int n_segments;
    int64_t *seg_start;
} zoo_dataset;
void zoo_dataset_free(zoo_dataset *d); /* accepts NULL and zeroed structs */

/* The set a run with data seed `data_seed` makes for `split`: the training set is drawn
 * with seed data_seed, the test set with data_seed + 10 (as the Zoology code), both with
 * task_seed data_seed. The one place of that convention (runs and `zoo data`). */
zoo_task_set zoo_task_run_set(int64_t vocab, int64_t seq_len, uint64_t data_seed, zoo_split split);
/* n examples of `set` from task t with knob values h (zoo_hvals_new_task, then
 * zoo_hvals_set): validate, then generate in parallel chunks. */
int zoo_task_generate(const zoo_task *t, const zoo_hvals *h, const zoo_task_set *set, int64_t n, zoo_dataset *out);
/* validate alone (no data): 0 or ZOO_ERR_INVALID with "task '<name>': <its message>". */
int zoo_task_validate(const zoo_task *t, const zoo_hvals *h, const zoo_task_set *set);

/* ---- MQAR through its plugin -------------------------------------------------------- */
typedef struct zoo_mqar_spec {
    int64_t vocab;          /* V (paper 8192) */
    int64_t seq_len;        /* L, even */
    int64_t kv_pairs;       /* K */
    int64_t num_examples;
    double power_a;         /* 0.01 */
    int random_non_queries; /* 0 (paper); 1 fills blanks with uniform tokens of [0, V) */
    uint64_t seed;
} zoo_mqar_spec;

/* Check the hard constraints (L even, V > L, 4K <= L, K <= V/2-1, ...): 0 or
 * ZOO_ERR_INVALID with a message naming the value and the fix. */
int zoo_mqar_check(const zoo_mqar_spec *s);
/* Generate; on success *out owns its arrays (free with zoo_dataset_free). */
int zoo_mqar_generate(const zoo_mqar_spec *s, zoo_dataset *out);

ZOO_API_END
#ifdef __cplusplus
}
#endif
#endif
