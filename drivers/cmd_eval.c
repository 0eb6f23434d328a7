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
#include "zoo/run.h"
#include "zoo/task.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: zoo eval ckpt.h5 [--data data.h5] [--logits out.h5] [--threads N]\n"
               "\n"
               "Evaluate a checkpoint (zoo train --save) and print test loss and per-token accuracy.\n"
               "  --data FILE     dataset written by zoo data (default: regenerate the spec's test set,\n"
               "                  seed data_seed + 10, test_examples examples)\n"
               "  --logits FILE   write HDF5: logits (m, V) float32 at the supervised positions, labels (m)\n"
               "                  int32 and positions (m, 2) int32 = (example, t), in dataset order\n"
               "  --threads N     threads for the evaluation (default: OMP_NUM_THREADS / all)\n"
               "\n"
               "exit codes: 0 done, 1 evaluation failed, 2 bad input (files, shapes)\n");
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

static int write_rows(hid_t d, int64_t first, int64_t rows, int64_t cols, hid_t mtype, const void *buf)
{
    hid_t fs = H5Dget_space(d);
    hsize_t start[2] = {(hsize_t)first, 0}, count[2] = {(hsize_t)rows, (hsize_t)cols};
    int nd = cols > 0 ? 2 : 1;
    hid_t ms = H5Screate_simple(nd, count, NULL);
    herr_t e = -1;
    if (fs >= 0 && ms >= 0 && H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0)
        e = H5Dwrite(d, mtype, ms, fs, H5P_DEFAULT, buf);
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    return e < 0 ? -1 : 0;
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
    if (write_rows(s->dlog, s->done, m, V, H5T_NATIVE_FLOAT, logits) || write_rows(s->dlab, s->done, m, 0, H5T_NATIVE_INT32, labels) ||
        write_rows(s->dpos, s->done, m, 2, H5T_NATIVE_INT32, s->pos + 2 * s->done)) {
        s->rc = ZOO_H5_FAIL(s->path, "writing logits");
        return;
    }
    s->done += m;
}

static hid_t make_dataset(hid_t f, const char *name, hid_t type, int nd, int64_t rows, int64_t cols, int64_t chunk_rows)
{
    hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols}, chunk[2] = {(hsize_t)chunk_rows, (hsize_t)cols};
    hid_t sp = H5Screate_simple(nd, dims, NULL), pl = H5Pcreate(H5P_DATASET_CREATE), d = H5I_INVALID_HID;
    if (sp >= 0 && pl >= 0 && (rows == 0 || H5Pset_chunk(pl, nd, chunk) >= 0))
        d = H5Dcreate2(f, name, type, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
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
    if (s->f < 0)
        return ZOO_H5_FAIL(s->path, "creating the logits file (is the folder writable?)");
    s->V = V;
    int64_t chunk = s->total < 64 ? (s->total > 0 ? s->total : 1) : 64;
    s->dlog = make_dataset(s->f, "logits", H5T_IEEE_F32LE, 2, s->total, V, chunk);
    s->dlab = make_dataset(s->f, "labels", H5T_STD_I32LE, 1, s->total, 0, chunk);
    s->dpos = make_dataset(s->f, "positions", H5T_STD_I32LE, 2, s->total, 2, chunk);
    if (s->dlog < 0 || s->dlab < 0 || s->dpos < 0)
        return ZOO_H5_FAIL(s->path, "creating the logits datasets");
    return 0;
}

static int sink_close(logit_sink *s)
{
    int bad = 0;
    if (s->dlog >= 0)
        bad |= H5Dclose(s->dlog) < 0;
    if (s->dlab >= 0)
        bad |= H5Dclose(s->dlab) < 0;
    if (s->dpos >= 0)
        bad |= H5Dclose(s->dpos) < 0;
    if (s->f >= 0)
        bad |= H5Fclose(s->f) < 0;
    s->f = s->dlog = s->dlab = s->dpos = H5I_INVALID_HID;
    return bad ? ZOO_H5_FAIL(s->path, "closing the logits file (disk full?)") : 0;
}

int zoo_cmd_eval(int argc, char **argv)
{
    const char *ckpt = NULL, *data_path = NULL, *logits_path = NULL;
    int threads = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        const char **dst = !strcmp(a, "--data") ? &data_path : !strcmp(a, "--logits") ? &logits_path : NULL;
        if (dst || !strcmp(a, "--threads")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "zoo eval: %s needs a value\n", a);
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
                threads = (int)t;
            }
        } else if (a[0] == '-') {
            fprintf(stderr, "zoo eval: unknown option '%s' (see zoo eval --help)\n", a);
            return 2;
        } else if (!ckpt) {
            ckpt = a;
        } else {
            fprintf(stderr, "zoo eval: one checkpoint at a time ('%s' and '%s' given)\n", ckpt, a);
            return 2;
        }
    }
    if (!ckpt) {
        usage(stderr);
        return 2;
    }

    int code = 2;
    zoo_run_spec spec;
    zoo_dataset d;
    memset(&d, 0, sizeof d);
    zoo_model *m = NULL;
    int32_t *pos = NULL, *lab = NULL;
    logit_sink sink = {logits_path, H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID, 0, 0, 0,
                       NULL, NULL, 0};
    char tmp[4096] = "";
    char where[4200];

    if (zoo_checkpoint_read_spec(ckpt, &spec) != 0)
        goto report;
    if (data_path) {
        if (zoo_data_h5_read(data_path, &d) != 0)
            goto report;
        snprintf(where, sizeof where, "%s", data_path);
        if (d.L != spec.seq_len) {
            ZOO_FAIL(ZOO_ERR_INVALID, "%s: sequences have length %lld but the model in %s was built for seq_len %lld",
                     data_path, (long long)d.L, ckpt, (long long)spec.seq_len);
            goto report;
        }
        if (d.vocab > spec.vocab) {
            ZOO_FAIL(ZOO_ERR_INVALID, "%s: vocab %lld is larger than the model's (%lld in %s)", data_path,
                     (long long)d.vocab, (long long)spec.vocab, ckpt);
            goto report;
        }
    } else {
        zoo_mqar_spec ms = {spec.vocab,   spec.seq_len,           spec.kv_pairs,       spec.test_examples,
                            spec.power_a, spec.random_non_queries, spec.data_seed + 10};
        if (zoo_mqar_generate(&ms, &d) != 0)
            goto report;
        snprintf(where, sizeof where, "the test set (%lld examples, seed %llu)", (long long)d.n,
                 (unsigned long long)ms.seed);
    }
    if (d.n < 1) {
        ZOO_FAIL(ZOO_ERR_INVALID, "%s: no examples to evaluate", where);
        goto report;
    }

    /* Supervised positions in dataset order: the rows the logits come back in. */
    int64_t total = 0, per_row = 0;
    for (int64_t e = 0; e < d.n; e++) {
        int64_t c = 0;
        for (int64_t t = 0; t < d.L; t++)
            c += d.labels[e * d.L + t] != ZOO_IGNORE_LABEL;
        total += c;
        per_row = c > per_row ? c : per_row;
    }
    if (total == 0) {
        ZOO_FAIL(ZOO_ERR_INVALID, "%s: no supervised positions (every label is -100)", where);
        goto report;
    }
    int64_t B = spec.eval_batch_size > 0 ? spec.eval_batch_size : spec.batch_size > 0 ? spec.batch_size : 256;
    if (B > d.n)
        B = d.n;
    if (threads > 0)
        zoo_set_threads(threads);
    if (zoo_checkpoint_load(ckpt, B, B * per_row, &spec, &m) != 0)
        goto report;

    if (logits_path) {
        pos = malloc((size_t)total * 2 * sizeof *pos);
        lab = malloc((size_t)total * sizeof *lab);
        if (!pos || !lab) {
            ZOO_FAIL(ZOO_ERR_NOMEM, "%s: no memory for %lld positions", logits_path, (long long)total);
            code = 1;
            goto report;
        }
        int64_t k = 0;
        for (int64_t e = 0; e < d.n; e++)
            for (int64_t t = 0; t < d.L; t++)
                if (d.labels[e * d.L + t] != ZOO_IGNORE_LABEL) {
                    pos[2 * k] = (int32_t)e;
                    pos[2 * k + 1] = (int32_t)t;
                    lab[k++] = d.labels[e * d.L + t];
                }
        sink.total = total;
        sink.pos = pos;
        sink.lab = lab;
        zoo_h5_tmpname(logits_path, tmp, sizeof tmp);
        if (sink_open(&sink, tmp, spec.vocab) != 0)
            goto report;
    }

    double loss = 0, acc = 0;
    if (zoo_model_evaluate(m, &d, &loss, &acc, logits_path ? on_logits : NULL, &sink) != 0) {
        code = 1;
        goto report;
    }
    if (logits_path) {
        if (!sink.rc && sink.done != total)
            sink.rc = ZOO_FAIL(ZOO_ERR_STATE, "%s: evaluation produced %lld logits rows, expected %lld", logits_path,
                               (long long)sink.done, (long long)total);
        if (sink.rc) {
            code = 1;
            goto report;
        }
        if (zoo_h5_put_str(sink.f, logits_path, "checkpoint", ckpt) || zoo_h5_put_str(sink.f, logits_path, "data", where) ||
            zoo_h5_put_f64(sink.f, logits_path, "loss", loss) || zoo_h5_put_f64(sink.f, logits_path, "accuracy", acc) ||
            zoo_h5_put_str(sink.f, logits_path, "zoo_version", zoo_version()))
            goto report;
        if (sink_close(&sink) != 0 || zoo_h5_commit(tmp, logits_path) != 0) {
            tmp[0] = '\0';
            goto report;
        }
        tmp[0] = '\0';
    }
    printf("%s on %s: loss %.6f  acc %.6f  (%lld supervised tokens, %lld examples)\n", ckpt, where, loss, acc,
           (long long)total, (long long)d.n);
    if (logits_path)
        printf("wrote %s (%lld x %lld logits)\n", logits_path, (long long)total, (long long)spec.vocab);
    code = 0;
    goto done;

report:
    zoo_cli_report("eval");
done:
    if (sink.f >= 0) {
        sink_close(&sink);
    }
    if (tmp[0])
        unlink(tmp);
    free(pos);
    free(lab);
    zoo_model_free(m);
    zoo_dataset_free(&d);
    return code;
}
