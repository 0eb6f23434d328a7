/* cmd_eval.c: `zoo eval ckpt.h5`: evaluate a checkpoint on a dataset file or on the
 * spec's own test set, print loss and accuracy, optionally write the logits at the
 * supervised positions to HDF5. Wiring only; the evaluation is zoo_model_evaluate. */
#define _POSIX_C_SOURCE 200809L
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "zoo/checkpoint.h"
#include "zoo/data_h5.h"
#include "zoo/error.h"
#include "zoo/h5util.h"
#include "zoo/outpath.h"
#include "zoo/run.h"
#include "zoo/task.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: zoo eval ckpt.h5 [--data data.h5] [--logits out.h5 [--force]] [--threads N] [--backend B]\n"
               "\n"
               "Evaluate a checkpoint (zoo train --save) and print test loss and per-token accuracy.\n"
               "  --data FILE     dataset written by zoo data (default: regenerate the spec's test set,\n"
               "                  seed data_seed + 10, test_examples examples)\n"
               "  --logits FILE   write HDF5: logits (m, V) float32 at the supervised positions, labels (m)\n"
               "                  int32 and positions (m, 2) int32 = (example, t), in dataset order; an\n"
               "                  existing logits file is replaced, the checkpoint, the --data file and any\n"
               "                  other existing file (a checkpoint, results, data, not zoo's) are refused\n"
               "  --force         let --logits replace an existing file of another kind (never an input)\n"
               "  --threads N     threads for the evaluation (default: OMP_NUM_THREADS / all)\n"
               "  --backend B     cpu, cuda or auto (the GPU when it can run the model here, else the\n"
               "                  CPU, saying why); default: the checkpoint's own backend\n"
               "\n"
               "exit codes: 0 done, 1 evaluation failed, 2 bad input (files, shapes, a backend that\n"
               "cannot run here, a --logits path refused), 3 out of memory or the logits file could not\n"
               "be written (disk full: the message names the file and the reason)\n");
}

/* Streams each batch's supervised logits into the output file. The callback gets them
 * in dataset order (batches in order, supervised positions row-major within a batch),
 * which `pos` reproduces; every label is checked against it. */
typedef struct logit_sink {
    const char *path;
    hid_t f, dlog, dlab, dpos;
    int64_t total, done, V;
    const int32_t *pos; /* pos: (total, 2) (example, t) */
    const int32_t *lab; /* lab: (total) */
    int rc;
} logit_sink;

/* Rows [first, first + rows) of dataset d (cols 0: 1-D) from buf; 0, or the failure
 * recorded before any other HDF5 call clears the reason from the error stack. */
static int write_rows(const logit_sink *s, hid_t d, int64_t first, int64_t rows, int64_t cols, hid_t mtype,
                      const void *buf)
{
    hid_t fs = H5Dget_space(d);
    hsize_t start[2] = {(hsize_t)first, 0}, count[2] = {(hsize_t)rows, (hsize_t)cols};
    int nd = cols > 0 ? 2 : 1, rc = 0;
    hid_t ms = H5Screate_simple(nd, count, NULL);
    if (fs < 0 || ms < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        H5Dwrite(d, mtype, ms, fs, H5P_DEFAULT, buf) < 0)
        rc = ZOO_H5_FAIL(s->path, "writing logits");
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    return rc;
}

static void on_logits(const float *logits, int64_t m, int64_t V, const int32_t *labels, void *ud)
{
    logit_sink *s = ud;
    if (s->rc || m <= 0)
        return;
    if (V != s->V || s->done + m > s->total) {
        s->rc = ZOO_FAIL(ZOO_ERR_STATE, "%s: evaluation produced %lld x %lld logits after %lld of %lld rows", s->path,
                         (long long)m, (long long)V, (long long)s->done, (long long)s->total);
        return;
    }
    for (int64_t i = 0; i < m; i++)
        if (labels[i] != s->lab[s->done + i]) {
            s->rc = ZOO_FAIL(ZOO_ERR_STATE,
                             "%s: logits row %lld has label %d, the dataset's supervised position (%d, %d) has %d: "
                             "evaluation order differs from dataset order",
                             s->path, (long long)(s->done + i), labels[i], s->pos[2 * (s->done + i)],
                             s->pos[2 * (s->done + i) + 1], s->lab[s->done + i]);
            return;
        }
    if ((s->rc = write_rows(s, s->dlog, s->done, m, V, H5T_NATIVE_FLOAT, logits)) ||
        (s->rc = write_rows(s, s->dlab, s->done, m, 0, H5T_NATIVE_INT32, labels)) ||
        (s->rc = write_rows(s, s->dpos, s->done, m, 2, H5T_NATIVE_INT32, s->pos + 2 * s->done)))
        return;
    s->done += m;
}

/* Chunked dataset `name` of file f (`path` to the user), the failure recorded. */
static hid_t make_dataset(hid_t f, const char *path, const char *name, hid_t type, int nd, int64_t rows, int64_t cols,
                          int64_t chunk_rows)
{
    hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols}, chunk[2] = {(hsize_t)chunk_rows, (hsize_t)cols};
    hid_t sp = H5Screate_simple(nd, dims, NULL), pl = H5Pcreate(H5P_DATASET_CREATE), d = H5I_INVALID_HID;
    if (sp >= 0 && pl >= 0 && (rows == 0 || H5Pset_chunk(pl, nd, chunk) >= 0))
        d = H5Dcreate2(f, name, type, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
    if (d < 0) {
        char what[64];
        snprintf(what, sizeof what, "creating dataset '%s'", name);
        ZOO_H5_FAIL(path, what);
    }
    if (pl >= 0)
        H5Pclose(pl);
    if (sp >= 0)
        H5Sclose(sp);
    return d;
}

static int sink_open(logit_sink *s, const char *tmp, int64_t V)
{
    zoo_h5_quiet();
    s->f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (s->f < 0) {
        char what[4200];
        snprintf(what, sizeof what, "creating %s", tmp);
        return ZOO_H5_FAIL(s->path, what);
    }
    s->V = V;
    int64_t chunk = s->total < 64 ? (s->total > 0 ? s->total : 1) : 64;
    if ((s->dlog = make_dataset(s->f, s->path, "logits", H5T_IEEE_F32LE, 2, s->total, V, chunk)) < 0 ||
        (s->dlab = make_dataset(s->f, s->path, "labels", H5T_STD_I32LE, 1, s->total, 0, chunk)) < 0 ||
        (s->dpos = make_dataset(s->f, s->path, "positions", H5T_STD_I32LE, 2, s->total, 2, chunk)) < 0)
        return zoo_error_last()->code;
    return 0;
}

/* Close the datasets and the file (each id once, whatever happens); 0, or the first failure. */
static int sink_close(logit_sink *s)
{
    int rc = 0;
    hid_t *d[3] = {&s->dlog, &s->dlab, &s->dpos};
    for (int i = 0; i < 3; i++) {
        if (*d[i] >= 0 && H5Dclose(*d[i]) < 0 && !rc)
            rc = ZOO_H5_FAIL(s->path, "writing out the logits");
        *d[i] = H5I_INVALID_HID;
    }
    if (rc)
        zoo_h5_abandon(s->f);
    else
        rc = zoo_h5_close_file(s->f, s->path);
    s->f = H5I_INVALID_HID;
    return rc;
}

/* What the command line asks for. */
typedef struct eval_args {
    const char *ckpt, *data_path, *logits_path;
    int threads; /* -1: the default */
    int force;   /* --logits may replace a file of another kind */
    const char *backend; /* NULL: the checkpoint's */
} eval_args;

/* The command line into *a. -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, eval_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(s, "--force")) {
            a->force = 1;
            continue;
        }
        const char **dst = !strcmp(s, "--data")      ? &a->data_path
                           : !strcmp(s, "--logits")  ? &a->logits_path
                           : !strcmp(s, "--backend") ? &a->backend
                                                     : NULL;
        if (dst || !strcmp(s, "--threads")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "zoo eval: %s needs a value\n", s);
                return 2;
            }
            if (dst) {
                *dst = argv[++i];
            } else {
                char *end;
                long t = strtol(argv[++i], &end, 10);
                if (*end || t < 1 || t > 65536) {
                    fprintf(stderr, "zoo eval: --threads '%s': give a whole number >= 1\n", argv[i]);
                    return 2;
                }
                a->threads = (int)t;
            }
        } else if (s[0] == '-') {
            fprintf(stderr, "zoo eval: unknown option '%s' (see zoo eval --help)\n", s);
            return 2;
        } else if (!a->ckpt) {
            a->ckpt = s;
        } else {
            fprintf(stderr, "zoo eval: one checkpoint at a time ('%s' and '%s' given)\n", a->ckpt, s);
            return 2;
        }
    }
    if (!a->ckpt) {
        usage(stderr);
        return 2;
    }
    zoo_run_spec probe;
    zoo_run_spec_default(&probe);
    if (a->backend && zoo_run_spec_set(&probe, "backend", a->backend) != 0) {
        zoo_error_prefix("--backend: ");
        zoo_cli_report("eval");
        return 2;
    }
    return -1;
}

/* What an evaluation holds; eval_free releases it on every path. */
typedef struct eval_job {
    zoo_run_spec spec;
    zoo_dataset d;
    zoo_model *m;
    int32_t *pos, *lab;  /* the sink's positions and labels */
    logit_sink sink;
    char tmp[4096];      /* the logits file until committed; "" when nothing to remove */
    char where[4200];    /* the data, for messages */
    int64_t total, per_row; /* supervised positions: in all, most in one example */
} eval_job;

/* The dataset file checked against the checkpoint's spec, or the spec's own test set. */
static int load_data(const eval_args *a, eval_job *j)
{
    const zoo_run_spec *spec = &j->spec;
    int rc;
    if (a->data_path) {
        if ((rc = zoo_data_h5_read(a->data_path, &j->d)) != 0)
            return rc;
        snprintf(j->where, sizeof j->where, "%s", a->data_path);
        if (j->d.L != spec->seq_len)
            return ZOO_FAIL(ZOO_ERR_INVALID, "%s: sequences have length %lld but the model in %s was built for seq_len %lld",
                            a->data_path, (long long)j->d.L, a->ckpt, (long long)spec->seq_len);
        if (j->d.vocab > spec->vocab)
            return ZOO_FAIL(ZOO_ERR_INVALID, "%s: vocab %lld is larger than the model's (%lld in %s)", a->data_path,
                            (long long)j->d.vocab, (long long)spec->vocab, a->ckpt);
    } else {
        if ((rc = zoo_run_spec_data(spec, ZOO_SPLIT_TEST, &j->d)) != 0)
            return rc;
        snprintf(j->where, sizeof j->where, "the test set (%s, %lld examples, seed %llu)", spec->task,
                 (long long)j->d.n, (unsigned long long)(spec->data_seed + 10));
    }
    if (j->d.n < 1)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: no examples to evaluate", j->where);
    return 0;
}

/* The supervised positions, in all and the most in one example; there must be some. */
static int count_supervised(eval_job *j)
{
    const zoo_dataset *d = &j->d;
    j->total = j->per_row = 0;
    for (int64_t e = 0; e < d->n; e++) {
        int64_t c = 0;
        for (int64_t t = 0; t < d->L; t++)
            c += d->labels[e * d->L + t] != ZOO_IGNORE_LABEL;
        j->total += c;
        j->per_row = c > j->per_row ? c : j->per_row;
    }
    if (j->total == 0)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: no supervised positions (every label is -100)", j->where);
    return 0;
}

/* The backend to evaluate on (--backend, else the checkpoint's), decided here: into
 * j->spec.backend, the device said on stdout (or on stderr why auto stays on the CPU).
 * Before any data is made or read. */
static int pick_backend(const eval_args *a, eval_job *j)
{
    if (a->backend)
        zoo_run_spec_set(&j->spec, "backend", a->backend); /* checked by parse_args */
    zoo_backend asked = j->spec.backend, used = ZOO_BACKEND_CPU;
    char dev[256], why[1024];
    int rc = zoo_run_spec_backend(&j->spec, &used, dev, sizeof dev, why, sizeof why);
    if (rc)
        return rc;
    j->spec.backend = used;
    if (why[0])
        fprintf(stderr, "zoo eval: backend auto: evaluating on the CPU: %s\n", why);
    else if (asked != ZOO_BACKEND_CPU)
        printf("backend %s: %s\n", asked == ZOO_BACKEND_AUTO ? "auto" : zoo_backend_name(used), dev);
    fflush(stdout);
    return 0;
}

/* The model of the checkpoint's spec on the chosen backend, at the evaluation batch and
 * enough supervised slots, filled from the checkpoint. */
static int load_model(const eval_args *a, eval_job *j)
{
    const zoo_run_spec *spec = &j->spec;
    int64_t B = spec->eval_batch_size > 0 ? spec->eval_batch_size : spec->batch_size > 0 ? spec->batch_size : 256;
    if (B > j->d.n)
        B = j->d.n;
    if (a->threads > 0)
        zoo_set_threads(a->threads);
    int rc = zoo_model_build(spec, B, B * j->per_row, &j->m);
    if (rc) {
        zoo_error_prefix("%s: building its model: ", a->ckpt);
        j->m = NULL;
        return rc;
    }
    return zoo_checkpoint_load_into(a->ckpt, j->m);
}

/* Supervised positions in dataset order (the rows the logits come back in), then the temporary logits file;
 * 0, else the exit code. */
static int open_logits(const eval_args *a, eval_job *j)
{
    const zoo_dataset *d = &j->d;
    j->pos = malloc((size_t)j->total * 2 * sizeof *j->pos);
    j->lab = malloc((size_t)j->total * sizeof *j->lab);
    if (!j->pos || !j->lab) {
        ZOO_FAIL(ZOO_ERR_NOMEM, "%s: no memory for %lld positions", a->logits_path, (long long)j->total);
        return ZOO_EXIT_SYSTEM;
    }
    int64_t k = 0;
    for (int64_t e = 0; e < d->n; e++)
        for (int64_t t = 0; t < d->L; t++)
            if (d->labels[e * d->L + t] != ZOO_IGNORE_LABEL) {
                j->pos[2 * k] = (int32_t)e;
                j->pos[2 * k + 1] = (int32_t)t;
                j->lab[k++] = d->labels[e * d->L + t];
            }
    j->sink.total = j->total;
    j->sink.pos = j->pos;
    j->sink.lab = j->lab;
    zoo_h5_tmpname(a->logits_path, j->tmp, sizeof j->tmp);
    int rc = sink_open(&j->sink, j->tmp, j->spec.vocab);
    return rc ? zoo_cli_exit_for(rc, 1) : 0;
}

/* Check every row came, add the run's attributes, put the logits file in place; 0, else
 * the exit code (the temporary file is removed by eval_free or zoo_h5_publish). */
static int close_logits(const eval_args *a, eval_job *j, double loss, double acc)
{
    logit_sink *s = &j->sink;
    const char *path = a->logits_path;
    if (!s->rc && s->done != j->total)
        s->rc = ZOO_FAIL(ZOO_ERR_STATE, "%s: evaluation produced %lld logits rows, expected %lld", path,
                         (long long)s->done, (long long)j->total);
    int rc = s->rc;
    if (!rc && ((rc = zoo_h5_put_str(s->f, path, "checkpoint", a->ckpt)) ||
                (rc = zoo_h5_put_str(s->f, path, "data", j->where)) || (rc = zoo_h5_put_f64(s->f, path, "loss", loss)) ||
                (rc = zoo_h5_put_f64(s->f, path, "accuracy", acc)) ||
                (rc = zoo_h5_put_str(s->f, path, "zoo_version", zoo_version()))))
        rc = zoo_error_last()->code;
    if (!rc)
        rc = sink_close(s);
    if (rc)
        return zoo_cli_exit_for(rc, 1);
    rc = zoo_h5_publish(j->tmp, path);
    j->tmp[0] = '\0'; /* published, or removed by the failed publish */
    return rc ? zoo_cli_exit_for(rc, 1) : 0;
}

/* Close and remove an uncommitted logits file; free the buffers, model and data. */
static void eval_free(eval_job *j)
{
    if (j->sink.f >= 0) {
        zoo_error keep = *zoo_error_last(); /* reported already; closing a half-written file fails too */
        sink_close(&j->sink);
        zoo_error_set(keep.code, keep.file, keep.line, "%s", keep.msg);
    }
    if (j->tmp[0])
        unlink(j->tmp);
    free(j->pos);
    free(j->lab);
    zoo_model_free(j->m);
    zoo_dataset_free(&j->d);
}

int zoo_cmd_eval(int argc, char **argv)
{
    eval_args a = {NULL, NULL, NULL, -1, 0, NULL};
    int code = parse_args(argc, argv, &a);
    if (code >= 0)
        return code;

    code = 2;
    eval_job j;
    memset(&j, 0, sizeof j);
    j.sink = (logit_sink){a.logits_path, H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID, 0, 0, 0,
                          NULL, NULL, 0};
    double loss = 0, acc = 0;
    const char *inputs[2] = {a.ckpt, a.data_path};
    if (a.logits_path && zoo_out_check(a.logits_path, "--logits", ZOO_FILE_LOGITS, inputs, 2, a.force) != 0)
        goto report;
    if (zoo_checkpoint_read_spec(a.ckpt, &j.spec) != 0 || pick_backend(&a, &j) != 0 || load_data(&a, &j) != 0 ||
        count_supervised(&j) != 0 || load_model(&a, &j) != 0) {
        code = zoo_cli_exit_for(zoo_error_last()->code, 0);
        goto report;
    }
    if (a.logits_path && (code = open_logits(&a, &j)) != 0)
        goto report;
    if (zoo_model_evaluate(j.m, &j.d, &loss, &acc, a.logits_path ? on_logits : NULL, &j.sink) != 0) {
        code = zoo_cli_exit_for(zoo_error_last()->code, 0) == ZOO_EXIT_SYSTEM ? ZOO_EXIT_SYSTEM : ZOO_EXIT_FAILED;
        goto report;
    }
    if (a.logits_path && (code = close_logits(&a, &j, loss, acc)) != 0)
        goto report;
    printf("%s on %s: loss %.6f  acc %.6f  (%lld supervised tokens, %lld examples)\n", a.ckpt, j.where, loss, acc,
           (long long)j.total, (long long)j.d.n);
    if (a.logits_path)
        printf("wrote %s (%lld x %lld logits)\n", a.logits_path, (long long)j.total, (long long)j.spec.vocab);
    eval_free(&j);
    return 0;

report:
    zoo_cli_report("eval");
    eval_free(&j);
    return code;
}
