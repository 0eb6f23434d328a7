/* zoo/run.h: one run (task + model + training recipe) as a flat, hashable spec, the
 * model it builds and the training loop (docs/training.md). Used by `zoo train` and
 * by the sweep driver alike. */
#ifndef ZOO_RUN_H
#define ZOO_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "zoo/graph.h"
#include "zoo/plugin.h"
#include "zoo/task.h"
#include "zoo/api.h"

#ifdef __cplusplus
extern "C" {
#endif
ZOO_API_BEGIN

#define ZOO_MAX_PATTERN 8 /* mixers in a per-layer pattern (layer l uses entry l mod n) */
#define ZOO_MAX_KNOBS 16

typedef struct zoo_knob {
    char name[64];
    char value[128]; /* as written in the sweep/run file */
} zoo_knob;

typedef struct zoo_mixer_ref {
    char name[64];
    int n_knobs;
    zoo_knob knobs[ZOO_MAX_KNOBS];
} zoo_mixer_ref;

typedef enum zoo_state_mixer { ZOO_STATE_IDENTITY = 0, ZOO_STATE_MLP = 1 } zoo_state_mixer;

/* A data segment (docs/tasks.md, segments): a set of examples of one task at one length.
 * A run with train segments trains on all of them (batches never mix segments); with
 * test segments it tests on each, recording each one's accuracy and loss beside the
 * overall figures. Without any of a split, that split is the run's own set. */
#define ZOO_MAX_SEGMENTS 12
#define ZOO_SEGMENT_KNOBS 4
typedef struct zoo_segment {
    int split;        /* zoo_split: ZOO_SPLIT_TRAIN or ZOO_SPLIT_TEST */
    char task[32];    /* "" = the run's task */
    int64_t seq_len;  /* 0 = the run's seq_len; never more (shorter examples are padded) */
    int64_t examples; /* 0 = the run's train_examples / test_examples */
    int n_knobs;      /* task knobs over the run's (kv_pairs=8, num_passes=2) */
    zoo_knob knobs[ZOO_SEGMENT_KNOBS];
} zoo_segment;

/* Adding a field: the member here and one line in the field table (core/src/run_spec.c);
 * flags, YAML, defaults, checks, the text form, the hash and --help follow from it. */
typedef struct zoo_run_spec {
    /* task (a task plugin, docs/tasks.md; MQAR: docs/task.md) */
    char task[32];            /* "mqar": the task plugin's name */
    int64_t vocab, seq_len, kv_pairs;
    int64_t train_examples, test_examples;
    double power_a;
    int random_non_queries;
    uint64_t data_seed;       /* train set seed; the test set uses data_seed + 10 */
    /* model (docs/model.md) */
    int64_t d_model;
    int n_layers;
    int n_mixers;             /* pattern length */
    zoo_mixer_ref mixers[ZOO_MAX_PATTERN];
    zoo_state_mixer state_mixer;
    int pos_emb;              /* -1: auto (learned positions only when a layer is attention), 0 off, 1 on */
    float embed_dropout;      /* 0.1 */
    /* training (docs/training.md) */
    double lr, weight_decay, beta1, beta2, adam_eps;
    int epochs;
    int64_t batch_size, eval_batch_size;
    double early_stop;        /* stop when test accuracy > this (0.99); > 1 disables */
    uint64_t seed;            /* model init, dropout, shuffling (123) */
    int threads;              /* 0: OMP_NUM_THREADS / SLURM_CPUS_PER_TASK / all */
    zoo_backend backend;      /* cpu, cuda, or ZOO_BACKEND_AUTO until zoo_run_spec_backend resolves it */
    int tf32;                 /* 1: CUDA GEMMs may use TF32 tensor cores (no effect on the CPU) */
    int ranks;                /* processes training it data-parallel (1); 0: auto, the sweep picks by cost */
    /* the task's knobs, keys "task.<knob>" (kv_pairs, power_a and random_non_queries are
     * fields above, passed to tasks that declare knobs of those names) */
    int n_task_knobs;
    zoo_knob task_knobs[ZOO_MAX_KNOBS];
    /* data segments (text form "train seq_len=64 examples=1000 kv_pairs=4; test ..."); 0: none */
    int n_segments;
    zoo_segment segments[ZOO_MAX_SEGMENTS];
} zoo_run_spec;

/* The paper's Figure 2 setting at L = 64 (docs/training.md): attention, D = 64, 2 layers,
 * ...: every field's default from the field table. */
void zoo_run_spec_default(zoo_run_spec *s);
/* Everything checkable without building: each field's range or names, the mixer
 * pattern, then the task: its plugin is loaded (and stays loaded) and checks its knobs
 * and (vocab, seq_len) for the train and test sets. 0 or ZOO_ERR_INVALID with a
 * one-line message naming the field, its value and the fix, or the loader's code
 * (ZOO_ERR_PLUGIN_*) when the task plugin cannot be found or loaded. (Mixer knobs are
 * checked at build.) */
int zoo_run_spec_check(const zoo_run_spec *s);
/* The run's training or test set: its task's (test seed data_seed + 10), or, when the
 * spec has segments of that split, every such segment one after another, each padded to
 * the run's seq_len (token 0, label -100) and its rows marked in out->seg_start. */
int zoo_run_spec_data(const zoo_run_spec *s, zoo_split split, zoo_dataset *out);
/* Examples in the run's train or test set: the segments' of that split, or the run's
 * train_examples / test_examples when it has none. */
int64_t zoo_run_spec_examples(const zoo_run_spec *s, zoo_split split);
/* Training steps per epoch at batch B (zoo_epoch_steps of the set the spec makes). */
int64_t zoo_run_spec_steps_per_epoch(const zoo_run_spec *s, int64_t B);
/* One segment as the text form writes it: "test seq_len=256 examples=1000 kv_pairs=16". */
void zoo_segment_format(const zoo_segment *g, char *buf, size_t n);
/* Stable 16-hex-digit hash of every field that changes results (threads excluded): FNV-1a
 * 64 of the text form without the unhashed fields. Results files find runs by it. */
void zoo_run_spec_hash(const zoo_run_spec *s, char out[17]);
/* "key=value" lines, one per field in table order, the mixer's knobs after "mixer" and
 * the task's after "task" (for HDF5 attributes and logs). */
int zoo_run_spec_format(const zoo_run_spec *s, char *buf, size_t n);
/* Set one field from "key" and "value" text (the same keys zoo_run_spec_format writes,
 * plus "mixer" = "attention" or "[base_conv, based]" and "mixer.<i>.<knob>" / "<mixer>.<knob>",
 * and "task.<knob>" for the task's knobs).
 * A value outside the field's range or names is refused and leaves the spec as it was. */
int zoo_run_spec_set(zoo_run_spec *s, const char *key, const char *value);

/* The backend `s` runs on, decided here, in the process that will run it (it may
 * initialise the CUDA driver: a sweep's coordinator, which forks the processes that
 * train, never calls it; they do). cpu: the CPU. cuda: the GPU when the CUDA backend is
 * usable here and has a kernel for every op of the model (no plugin opting out), else
 * ZOO_ERR_UNSUPPORTED naming why, before anything is allocated. auto: the GPU on those
 * same terms, else the CPU. *used gets the backend; device[nd] (may be NULL) the device
 * in words ("cpu", "cuda:0 of 4 (NVIDIA H100 80GB HBM3, sm_90, 79.1 GiB)"); why[nw]
 * (may be NULL), for auto on the CPU, why not the GPU ("" otherwise). Other errors:
 * the model's (unknown mixer, a knob its plugin rejects). zoo_run and zoo_model_build
 * need a resolved backend: set spec->backend = *used first (a graph given
 * ZOO_BACKEND_AUTO is made on the CPU, without a word). */
int zoo_run_spec_backend(const zoo_run_spec *s, zoo_backend *used, char *device, size_t nd, char *why, size_t nw);

/* ---- the field table: one entry per key of the text form --------------------------- */
typedef enum zoo_run_field_type {
    ZOO_FIELD_INT,    /* int or int64_t member in [lo, hi] */
    ZOO_FIELD_UINT,   /* uint64_t member (seeds): 0 .. 2^64-1 */
    ZOO_FIELD_FLOAT,  /* double or float member: finite, in [lo, hi] */
    ZOO_FIELD_BOOL,   /* int member, 0 or 1: written 0/1, read as true/false, yes/no, on/off, 1/0 */
    ZOO_FIELD_CHOICE, /* int or enum member holding the value of one of `choices` */
    ZOO_FIELD_NAME,   /* char array member holding one of `choices` by name (choices NULL: any plain name) */
    ZOO_FIELD_MIXER,  /* the mixer pattern (n_mixers, mixers[]) with its knobs */
    ZOO_FIELD_SEGMENTS, /* the data segments (n_segments, segments[]) */
} zoo_run_field_type;

enum {
    ZOO_FIELD_LO_OPEN = 1u << 0,  /* the value must be > lo, not >= lo */
    ZOO_FIELD_HI_OPEN = 1u << 1,  /* the value must be < hi, not <= hi */
    ZOO_FIELD_UNHASHED = 1u << 2, /* left out of the hash: results do not depend on it (threads) */
    /* Hashed only when it differs from its default: for a field added after results
     * exist, so every spec made before keeps its hash. */
    ZOO_FIELD_HASH_IF_SET = 1u << 3,
    /* INT: the word "auto" stands for 0 and 0 is written "auto". */
    ZOO_FIELD_AUTO0 = 1u << 4,
};

/* A name a CHOICE or NAME field takes. The first entry with a value is the one written;
 * later ones with the same value are accepted spellings. */
typedef struct zoo_run_choice {
    const char *name;
    int value;
} zoo_run_choice;

typedef struct zoo_run_field {
    const char *name;        /* key: --name on the command line ('-' for '_'), zoo_run_spec_set, text form */
    const char *section;     /* YAML section it is written under: "task", "model" or "train" */
    zoo_run_field_type type;
    size_t offset, size;     /* the member of zoo_run_spec */
    const char *def;         /* default, as zoo_run_spec_set reads it */
    double lo, hi;           /* INT and FLOAT: allowed range (+-HUGE_VAL: unbounded) */
    unsigned flags;          /* ZOO_FIELD_* */
    const zoo_run_choice *choices; /* CHOICE and NAME: the names, ended by {NULL, 0} */
    const char *unit;        /* of the value ("tokens", "examples"); "" when it has none */
    const char *help;        /* one line: what it is, and what 0 or auto means */
    const char *yaml;        /* its name under the YAML section when that is not `name`, else NULL */
    /* INT: the value the text form writes when the stored one stands for another
     * (0 = auto batch); NULL: the stored value. */
    int64_t (*resolve)(const zoo_run_spec *s);
} zoo_run_field;

/* The table, in text-form order: fields 0 .. zoo_run_spec_nfields()-1; NULL out of range. */
int zoo_run_spec_nfields(void);
const zoo_run_field *zoo_run_spec_field(int i);
/* The field of a key, or NULL (knob keys "<mixer>.<knob>" are no field). */
const zoo_run_field *zoo_run_spec_find(const char *name);
/* One field's value as the text form writes it (MIXER: the pattern, without knobs). */
int zoo_run_field_format(const zoo_run_spec *s, const zoo_run_field *f, char *buf, size_t n);
/* What the field accepts, for help and messages: ">= 1", "> 0", "in [0, 1)",
 * "identity or mlp", "any non-negative integer". */
void zoo_run_field_allowed(const zoo_run_field *f, char *buf, size_t n);

/* ---- the model ------------------------------------------------------------------- */
typedef struct zoo_model {
    zoo_graph *g;
    zoo_tensor *tokens;  /* (B, L) int32 */
    zoo_tensor *sup_pos; /* (M) int32 rows b*L+t of supervised positions */
    zoo_tensor *sup_lab; /* (M) int32 labels, -100 padding at the end */
    zoo_tensor *loss;    /* scalar */
    zoo_tensor *embed;   /* backbone.embeddings.word_embeddings.weight (tied head) */
    int64_t B, L, M;
    zoo_plugin *plugins[ZOO_MAX_PATTERN];
    zoo_hvals *hvals[ZOO_MAX_PATTERN];
    int n_plugins;
    double state_size;   /* floats, summed over layers at L */
    int32_t *h_batch;    /* host staging of one batch: tokens (B*L), positions (M), labels (M) */
} zoo_model;

/* Build the model of docs/model.md for `spec` with batch B and at most M supervised
 * positions per batch, plan it and initialise it (docs/model.md, initialisation) from
 * spec->seed. */
int zoo_model_build(const zoo_run_spec *spec, int64_t B, int64_t M, zoo_model **out);
void zoo_model_free(zoo_model *m); /* accepts NULL */
/* The backends that can run `spec`'s model: bit ZOO_BACKEND_BIT(b) set when backend b
 * has a kernel for every op the model's graph uses (and no plugin opts out of it).
 * Builds the graph without allocating anything; `why` gets, per other backend, what
 * it lacks. */
int zoo_model_backends(const zoo_run_spec *spec, uint32_t *mask, char *why, size_t n);

/* Load batch rows [first, first+count) of `d` (count <= B; the rest is padded with
 * ignored rows, which changes neither loss nor gradients) in the order `order` gives
 * (NULL = identity). */
int zoo_model_load_batch(zoo_model *m, const zoo_dataset *d, const int64_t *order, int64_t first, int64_t count);

/* ---- training ---------------------------------------------------------------------- */
/* Steps whose losses can wait on the backend between two reads (zoo_model_read_losses). */
#define ZOO_LOSS_SLOTS 64

/* One training step of m on the batch loaded last: forward, backward from the loss and
 * an AdamW step at lr with spec's betas, eps and weight decay. `step` is the global
 * step counting from 0 (it keys the dropout masks and AdamW's bias correction). The
 * loss is not read back: it stays on the backend in slot `slot` (0 <= slot <
 * ZOO_LOSS_SLOTS) until zoo_model_read_losses, so a GPU step needs no host wait. On a
 * backend that can, the whole step is captured after the first and replayed
 * (docs/backends.md, ZOO_CUDA_GRAPH). */
int zoo_model_train_step(zoo_model *m, const zoo_run_spec *spec, double lr, int64_t step, int slot);
/* The losses of slots [0, n) (waits for the steps that wrote them). */
int zoo_model_read_losses(zoo_model *m, float *out, int n);

typedef struct zoo_epoch_stats {
    int epoch, epochs;
    double train_loss;  /* mean over the epoch's steps */
    double test_loss, test_acc, lr;
    double tokens_per_s, elapsed_s, eta_s;
} zoo_epoch_stats;

/* The processes training one run data-parallel (docs/training.md): each takes a fixed
 * share of every global batch, and `allreduce` sums a float buffer over them in place.
 * It must give every process the same bits (a fixed reduction order), so a run on N
 * processes repeats bit for bit. 0, or a ZOO_ERR_* code with the error set. */
typedef struct zoo_reducer {
    int rank, size;
    int (*allreduce)(float *buf, int64_t n, void *ud);
    void *ud;
} zoo_reducer;

/* The whole training state of a run between two steps (docs/training.md, checkpoints):
 * enough to go on bitwise as if it had never stopped. The shuffle is keyed by (seed,
 * epoch) and dropout by (seed, step, node), so the flat buffers, the position and the
 * curves are all there is. Arrays are host memory; a snapshot handed to the save hook
 * is a read-only view owned by zoo_run, one made by a reader is freed with
 * zoo_run_snapshot_free. */
typedef struct zoo_run_snapshot {
    uint64_t layout;        /* zoo_run_snapshot_layout of the model it was taken from */
    int64_t n_flat;         /* floats in each flat buffer */
    float *params, *adam_m, *adam_v; /* ZOO_FLAT_PARAMS, _ADAM_M, _ADAM_V */
    int epoch;              /* the epoch to go on with: epochs before it are complete */
    int64_t epoch_step;     /* steps of that epoch done (0: it has not started) */
    int64_t step;           /* global steps done: epoch * steps_per_epoch + epoch_step */
    double epoch_loss_sum;  /* sum of the step losses of the epoch so far */
    int64_t tokens;         /* tokens trained on so far */
    double train_s, wall_s; /* seconds spent training / in the run, all sessions */
    int epochs_run;         /* completed epochs (== epoch) */
    double best_acc, final_acc, final_loss;
    float *step_loss;       /* `step` values */
    float *epoch_test_loss, *epoch_test_acc, *epoch_lr, *epoch_train_loss; /* `epoch` values each */
    const char *origin;     /* where it was read from, for messages (NULL: not a file) */
} zoo_run_snapshot;

/* Fingerprint of a model's flat layout: every parameter and buffer's name, shape and
 * kind in flat order. A snapshot is applied only to a model with the same one. */
uint64_t zoo_run_snapshot_layout(const zoo_model *m);
/* Frees the arrays of a snapshot a reader made (not the struct); accepts NULL. */
void zoo_run_snapshot_free(zoo_run_snapshot *s);

typedef struct zoo_run_hooks {
    void (*on_epoch)(const zoo_epoch_stats *st, void *ud);
    int (*should_stop)(void *ud); /* polled between steps; nonzero: save (when `save` is set), then stop
                                   * with ZOO_ERR_INTERRUPTED */
    void *ud;
    /* Checkpoints (all optional). checkpoint_due is polled between steps and after each
     * epoch's evaluation; nonzero asks for `save`, which gets the state as it is then.
     * save returns 0, or an error code that ends the run with it (a driver that wants to
     * train on after a failed write returns 0). In a data-parallel run every rank gets
     * the same calls: the driver decides which one writes. */
    int (*checkpoint_due)(void *ud);
    int (*save)(const zoo_run_snapshot *s, void *ud);
    /* Go on from this state instead of step 0. It is checked against the built model and
     * the spec first (layout, sizes, position); one that does not fit is refused as a
     * whole, on_resume says why, and the run starts from step 0. */
    const zoo_run_snapshot *resume;
    /* After the resume was applied (refused == 0) or refused (its code; `why` names the
     * origin and the reason). */
    void (*on_resume)(const zoo_run_snapshot *s, int refused, const char *why, void *ud);
    /* NULL: one process; else the processes of a data-parallel run, as many as the spec's
     * ranks. should_stop and checkpoint_due then take effect after the step in which any
     * process asked, on every process alike. */
    const zoo_reducer *reducer;
} zoo_run_hooks;

typedef struct zoo_run_result {
    int status;              /* 0 ok, else a ZOO_ERR_* code */
    char message[1024];
    int64_t params;          /* trainable */
    double state_size;       /* floats at L, summed over layers */
    double flops_per_step;   /* estimate: forward+backward */
    int epochs_run;
    double final_acc, best_acc, final_loss;
    double tokens_per_s, wall_s;
    double train_s;          /* seconds in training steps (evaluation not counted) */
    double comm_s;           /* of those, seconds summing gradients over the run's processes */
    size_t peak_bytes;
    zoo_mem_plan mem;    /* planned bytes per buffer kind (training and evaluation models) */
    /* curves, malloc'd: n_steps per-step training losses, n_epochs per-epoch values */
    int64_t n_steps;
    float *step_loss;
    int n_epochs;
    float *epoch_test_loss, *epoch_test_acc, *epoch_lr, *epoch_train_loss;
    /* a run with test segments: the last evaluation's loss and accuracy on each, in the
     * spec's order of its test segments (final_loss/final_acc are over all of them) */
    int n_segments;
    double segment_test_loss[ZOO_MAX_SEGMENTS], segment_test_acc[ZOO_MAX_SEGMENTS];
    int64_t segment_test_count[ZOO_MAX_SEGMENTS]; /* supervised test positions of each */
    /* a task that tags its examples: the same per tag (names: the task's, cut to 31 chars) */
    int n_tags;
    double tag_test_loss[ZOO_MAX_TAGS], tag_test_acc[ZOO_MAX_TAGS];
    int64_t tag_test_count[ZOO_MAX_TAGS];
    char tag_names[ZOO_MAX_TAGS][32];
} zoo_run_result;

/* Generate the data, build the model, train with AdamW + cosine per epoch, evaluate
 * each epoch, early-stop. If `model_out` is not NULL the trained model is handed back
 * (for checkpoints). Fills `res` even on failure (status, message). */
int zoo_run(const zoo_run_spec *spec, const zoo_run_hooks *hooks, zoo_run_result *res, zoo_model **model_out);
void zoo_run_result_free(zoo_run_result *r); /* frees the curves; accepts NULL */

/* The training steps of one epoch over d at batch B: ceil(n / B), or for a segmented
 * set the sum of each segment's ceil(n_i / B). */
int64_t zoo_epoch_steps(const zoo_dataset *d, int64_t B);
/* Epoch `epoch`'s order of training rows (a permutation of 0..n-1 into order[n]) and its
 * batches: step s trains on rows order[bfirst[s] .. bfirst[s] + bcount[s]) (arrays of
 * zoo_epoch_steps). Keyed by (seed, epoch) alone. One set: one shuffle, cut in order. A
 * segmented set: each segment shuffled within itself and cut into batches of B (its
 * last one short), then the batches shuffled: a batch never mixes segments. */
int zoo_epoch_batches(const zoo_dataset *d, int64_t B, uint64_t seed, int epoch, int64_t *order, int64_t *bfirst,
                      int64_t *bcount);

/* Evaluate a model on a dataset: per-token accuracy over the whole set (docs/task.md) and mean
 * batch loss. If logits_cb is given it receives each batch's supervised logits. */
int zoo_model_evaluate(zoo_model *m, const zoo_dataset *d, double *loss, double *acc,
                       void (*logits_cb)(const float *logits, int64_t m, int64_t V, const int32_t *labels, void *ud),
                       void *ud);

/* One AdamW step over the flat buffers (decay on all trainable params, PyTorch order),
 * run by the graph's backend. 0 or an error naming the backend. */
int zoo_adamw_step(zoo_graph *g, double lr, double beta1, double beta2, double eps, double wd, int64_t t);

/* Estimated training FLOPs per step of a spec (for cost ordering and reports). */
double zoo_run_spec_flops_per_step(const zoo_run_spec *s);

/* Library version and git revision strings. */
const char *zoo_version(void);
const char *zoo_git_rev(void);

/* Call first thing in main() of a program that trains or evaluates. When neither
 * OMP_WAIT_POLICY nor GOMP_SPINCOUNT is set, it sets OMP_WAIT_POLICY=passive and
 * re-executes the program once with the same arguments (the OpenMP runtime reads the
 * policy only when it starts). Spinning OpenMP threads starve each other on a busy or
 * oversubscribed machine: 2 threads on 2 loaded cores ran 8x slower than with passive
 * waiting (bench/README.md). Set OMP_WAIT_POLICY=active to keep spinning. Returns
 * without re-executing when the policy is already set or exec fails. */
void zoo_prefer_passive_wait(char **argv);

ZOO_API_END
#ifdef __cplusplus
}
#endif
#endif
