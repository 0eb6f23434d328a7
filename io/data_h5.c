/* data_h5.c: synthetic datasets <-> HDF5 (int32 `inputs`/`labels` (n, L), `tags` (n)
 * when the task tags examples, and what made them as attributes: the task, its knob
 * values, the seeds). Writes go through a temporary file; reads validate everything a
 * trainer relies on. Does not generate data (task plugins, core/src/task.c) or pick seeds. */
#define _POSIX_C_SOURCE 200809L
#include "zoo/data_h5.h"

#include <errno.h>
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zoo/error.h"
#include "zoo/h5util.h"
#include "zoo/plugin.h"
#include "zoo/run.h"

/* About 256 KiB of int32 per chunk: large enough for deflate, small enough to read a
 * few rows cheaply. */
#define CHUNK_ELEMS 65536

/* ---------------------------------------------------------------- writing */

/* Dataset `name`: (n, L) int32, or (n) when L is 0. */
static int put_dataset(hid_t f, const char *path, const char *name, int64_t n, int64_t L, const int32_t *x)
{
    const int rank = L > 0 ? 2 : 1;
    hsize_t dims[2] = {(hsize_t)n, (hsize_t)(L > 0 ? L : 1)};
    hsize_t rows = (hsize_t)(L >= CHUNK_ELEMS ? 1 : CHUNK_ELEMS / (L > 0 ? L : 1));
    hsize_t chunk[2] = {rows < dims[0] ? rows : dims[0], dims[1]};
    hid_t sp = H5Screate_simple(rank, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE), d = H5I_INVALID_HID;
    int rc = 0;
    if (sp < 0 || dcpl < 0 || H5Pset_obj_track_times(dcpl, 0) < 0 || H5Pset_chunk(dcpl, rank, chunk) < 0) {
        rc = ZOO_H5_FAIL(path, "setting up dataset layout");
        goto done;
    }
    /* Light compression only where the filter exists: files stay readable everywhere. */
    if (H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0 && (H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, 1) < 0)) {
        rc = ZOO_H5_FAIL(path, "setting up compression");
        goto done;
    }
    if ((d = H5Dcreate2(f, name, H5T_STD_I32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT)) < 0 ||
        H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) < 0) {
        char what[96];
        snprintf(what, sizeof what, "writing dataset '%s'", name);
        rc = ZOO_H5_FAIL(path, what);
    }
done:
    if (d >= 0)
        H5Dclose(d);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (sp >= 0)
        H5Sclose(sp);
    return rc;
}

/* The attributes that say what made the data (the callers' part of the file). */
typedef int (*put_origin_fn)(hid_t f, const char *path, const void *ud);

/* The file: datasets, the shape attributes, then put_origin's, through a temporary file. */
static int write_file(const char *path, const zoo_dataset *d, put_origin_fn put_origin, const void *ud)
{
    zoo_h5_quiet();
    char tmp[4096];
    zoo_h5_tmpname(path, tmp, sizeof tmp);
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE), f = H5I_INVALID_HID;
    int rc = 0;
    /* No timestamps on the root group either: same data, same bytes. */
    if (fcpl < 0 || H5Pset_obj_track_times(fcpl, 0) < 0) {
        rc = ZOO_H5_FAIL(path, "file creation properties");
        goto fail;
    }
    f = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    if (f < 0) {
        char what[4200];
        snprintf(what, sizeof what, "creating %s", tmp);
        rc = ZOO_H5_FAIL(path, what);
        goto fail;
    }
    if ((rc = put_dataset(f, path, "inputs", d->n, d->L, d->inputs)) ||
        (rc = put_dataset(f, path, "labels", d->n, d->L, d->labels)) ||
        (d->tags && (rc = put_dataset(f, path, "tags", d->n, 0, d->tags))))
        goto fail;
    if ((rc = put_origin(f, path, ud)) || (rc = zoo_h5_put_i64(f, path, "vocab", d->vocab)) ||
        (rc = zoo_h5_put_i64(f, path, "seq_len", d->L)) || (rc = zoo_h5_put_i64(f, path, "num_examples", d->n)) ||
        (rc = zoo_h5_put_str(f, path, "zoo_version", zoo_version())))
        goto fail;
    H5Pclose(fcpl);
    fcpl = H5I_INVALID_HID;
    rc = zoo_h5_close_file(f, path); /* writes out what HDF5 still holds: a full disk shows here */
    f = H5I_INVALID_HID;
    if (rc)
        goto fail;
    return zoo_h5_publish(tmp, path); /* removes tmp when it fails */
fail:
    zoo_h5_abandon(f);
    if (fcpl >= 0)
        H5Pclose(fcpl);
    unlink(tmp);
    return rc;
}

static int check_dataset(const char *path, const zoo_dataset *d)
{
    if (!path || !path[0])
        return ZOO_FAIL(ZOO_ERR_INVALID, "data file: no output path given");
    if (!d || d->n < 1 || d->L < 1 || d->vocab < 1 || !d->inputs || !d->labels)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: nothing to write (empty or unallocated dataset)", path);
    return 0;
}

static int put_mqar_origin(hid_t f, const char *path, const void *ud)
{
    const zoo_mqar_spec *spec = ud;
    int rc;
    if (!spec)
        return 0;
    if ((rc = zoo_h5_put_str(f, path, "task", "mqar")) || (rc = zoo_h5_put_i64(f, path, "kv_pairs", spec->kv_pairs)) ||
        (rc = zoo_h5_put_f64(f, path, "power_a", spec->power_a)) ||
        (rc = zoo_h5_put_i64(f, path, "random_non_queries", spec->random_non_queries ? 1 : 0)) ||
        (rc = zoo_h5_put_u64(f, path, "seed", spec->seed)))
        return rc;
    return 0;
}

int zoo_data_h5_write(const char *path, const zoo_dataset *d, const zoo_mqar_spec *spec)
{
    int rc = check_dataset(path, d);
    if (rc)
        return rc;
    if (spec && (spec->num_examples != d->n || spec->seq_len != d->L || spec->vocab != d->vocab))
        return ZOO_FAIL(ZOO_ERR_INVALID,
                        "%s: spec (%lld x %lld, vocab %lld) does not describe the dataset (%lld x %lld, vocab %lld)",
                        path, (long long)spec->num_examples, (long long)spec->seq_len, (long long)spec->vocab,
                        (long long)d->n, (long long)d->L, (long long)d->vocab);
    return write_file(path, d, put_mqar_origin, spec);
}

/* Root attributes every data file has or may have: no task knob may take these names. */
static const char *const fixed_attrs[] = {"task", "vocab", "seq_len", "num_examples", "seed", "task_seed",
                                          "split", "knobs", "tag_names", "zoo_version"};

typedef struct {
    const zoo_task *t;
    const zoo_hvals *h;
    const zoo_task_set *set;
} task_origin;

static int put_task_origin(hid_t f, const char *path, const void *ud)
{
    const task_origin *o = ud;
    char knobs[2048];
    int rc;
    if ((rc = zoo_hvals_format(o->h, knobs, sizeof knobs)))
        return rc;
    if ((rc = zoo_h5_put_str(f, path, "task", o->t->name)) || (rc = zoo_h5_put_u64(f, path, "seed", o->set->seed)) ||
        (rc = zoo_h5_put_u64(f, path, "task_seed", o->set->task_seed)) ||
        (rc = zoo_h5_put_str(f, path, "split", o->set->split == ZOO_SPLIT_TEST ? "test" : "train")) ||
        (rc = zoo_h5_put_str(f, path, "knobs", knobs)))
        return rc;
    /* Each knob also as its own typed attribute (the mqar ones as zoo has always written them). */
    for (const zoo_hparam *k = o->t->hparams; k && k->name; k++) {
        const int64_t *list;
        int n;
        switch (k->type) {
        case ZOO_HP_INT: rc = zoo_h5_put_i64(f, path, k->name, zoo_hvals_int(o->h, k->name)); break;
        case ZOO_HP_FLOAT: rc = zoo_h5_put_f64(f, path, k->name, zoo_hvals_float(o->h, k->name)); break;
        case ZOO_HP_BOOL: rc = zoo_h5_put_i64(f, path, k->name, zoo_hvals_bool(o->h, k->name) ? 1 : 0); break;
        case ZOO_HP_STRING: rc = zoo_h5_put_str(f, path, k->name, zoo_hvals_str(o->h, k->name)); break;
        case ZOO_HP_INT_LIST:
            n = zoo_hvals_list(o->h, k->name, &list);
            rc = zoo_h5_put_i64s(f, path, k->name, n, list);
            break;
        }
        if (rc)
            return rc;
    }
    if (o->t->tags) {
        long n = 0;
        while (o->t->tags[n])
            n++;
        if ((rc = zoo_h5_put_strs(f, path, "tag_names", n, (const char *const *)o->t->tags)))
            return rc;
    }
    return 0;
}

int zoo_data_h5_write_task(const char *path, const zoo_dataset *d, const zoo_task *t, const zoo_hvals *h,
                           const zoo_task_set *set)
{
    int rc = check_dataset(path, d);
    if (rc)
        return rc;
    if (!t || !h || !set)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: no task, knob values or set given", path);
    if (set->seq_len != d->L || set->vocab != d->vocab)
        return ZOO_FAIL(ZOO_ERR_INVALID,
                        "%s: the set (seq_len %lld, vocab %lld) does not describe the dataset (%lld x %lld, vocab %lld)",
                        path, (long long)set->seq_len, (long long)set->vocab, (long long)d->n, (long long)d->L,
                        (long long)d->vocab);
    for (const zoo_hparam *k = t->hparams; k && k->name; k++)
        for (size_t i = 0; i < sizeof fixed_attrs / sizeof *fixed_attrs; i++)
            if (!strcmp(k->name, fixed_attrs[i]))
                return ZOO_FAIL(ZOO_ERR_INVALID,
                                "%s: task '%s' has a knob named '%s', which a data file uses for itself; rename "
                                "the knob in the task plugin",
                                path, t->name, k->name);
    task_origin o = {t, h, set};
    return write_file(path, d, put_task_origin, &o);
}

/* ---------------------------------------------------------------- reading */

static hid_t open_file(const char *path)
{
    hid_t f;
    zoo_h5_open_read(path, "data file", "make one with `zoo data mqar ... -o FILE`", &f);
    return f;
}

/* The optional `tags` dataset: (n) integers >= 0, one per example. 0 and *out NULL when
 * the file has none; 0 and *out malloc'd (n) when it has them. */
static int read_tags(hid_t f, const char *path, int64_t n, int32_t **out)
{
    *out = NULL;
    htri_t ex = H5Lexists(f, "tags", H5P_DEFAULT);
    if (ex < 0)
        return ZOO_H5_FAIL(path, "looking for dataset 'tags'");
    if (ex == 0)
        return 0;
    hid_t d = H5Dopen2(f, "tags", H5P_DEFAULT), t = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    int32_t *tags = NULL;
    hsize_t len = 0;
    int rc = 0;
    if (d < 0 || (t = H5Dget_type(d)) < 0 || (sp = H5Dget_space(d)) < 0) {
        rc = ZOO_H5_FAIL(path, "tags");
        goto done;
    }
    if (H5Tget_class(t) != H5T_INTEGER || zoo_h5_len1(sp, &len) || len != (hsize_t)n) {
        rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s: dataset 'tags' must be integers of shape (%lld,), one per example", path,
                      (long long)n);
        goto done;
    }
    if (!(tags = malloc((size_t)n * sizeof *tags))) { /* (n) */
        rc = ZOO_FAIL(ZOO_ERR_NOMEM, "%s: cannot allocate %lld tags", path, (long long)n);
        goto done;
    }
    if (H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, tags) < 0) {
        rc = ZOO_H5_FAIL(path, "reading 'tags'");
        goto done;
    }
    for (int64_t i = 0; i < n; i++)
        if (tags[i] < 0) {
            rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s: tags[%lld] = %d is negative; tags index tag_names", path,
                          (long long)i, tags[i]);
            goto done;
        }
done:
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    if (d >= 0)
        H5Dclose(d);
    if (rc)
        free(tags);
    else
        *out = tags;
    return rc;
}

/* Open dataset `name`, check it is a 2-D integer array, return its dims. */
static hid_t open_tokens(hid_t f, const char *path, const char *name, hsize_t dims[2])
{
    htri_t ex = H5Lexists(f, name, H5P_DEFAULT);
    if (ex <= 0) {
        H5Eclear2(H5E_DEFAULT);
        ZOO_FAIL(ZOO_ERR_INVALID, "%s: no dataset '%s' (a data file holds int32 'inputs' and 'labels', (n, L))",
                 path, name);
        return H5I_INVALID_HID;
    }
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT), t = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    if (d < 0) {
        ZOO_H5_FAIL(path, name);
        return H5I_INVALID_HID;
    }
    int ok = 0;
    if ((t = H5Dget_type(d)) < 0 || (sp = H5Dget_space(d)) < 0) {
        ZOO_H5_FAIL(path, name);
        goto done;
    }
    if (H5Tget_class(t) != H5T_INTEGER || H5Tget_size(t) > 8) {
        ZOO_FAIL(ZOO_ERR_INVALID, "%s: dataset '%s' is not integer-typed; store tokens as int32", path, name);
        goto done;
    }
    int rank = H5Sget_simple_extent_ndims(sp);
    if (rank != 2) {
        ZOO_FAIL(ZOO_ERR_INVALID, "%s: dataset '%s' has rank %d; expected 2 (num_examples, seq_len)", path, name,
                 rank);
        goto done;
    }
    H5Sget_simple_extent_dims(sp, dims, NULL);
    if (dims[0] < 1 || dims[1] < 1) {
        ZOO_FAIL(ZOO_ERR_INVALID, "%s: dataset '%s' is empty (%llu, %llu)", path, name,
                 (unsigned long long)dims[0], (unsigned long long)dims[1]);
        goto done;
    }
    ok = 1;
done:
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    if (!ok) {
        H5Dclose(d);
        return H5I_INVALID_HID;
    }
    return d;
}

int zoo_data_h5_read(const char *path, zoo_dataset *out)
{
    if (!out)
        return ZOO_FAIL(ZOO_ERR_INVALID, "data file: no output dataset given");
    memset(out, 0, sizeof *out);
    hid_t f = open_file(path), di = H5I_INVALID_HID, dl = H5I_INVALID_HID;
    if (f < 0)
        return zoo_error_last()->code;
    int rc = 0;
    int32_t *x = NULL, *y = NULL;
    hsize_t di_dims[2], dl_dims[2];
    if ((di = open_tokens(f, path, "inputs", di_dims)) < 0 || (dl = open_tokens(f, path, "labels", dl_dims)) < 0) {
        rc = zoo_error_last()->code;
        goto fail;
    }
    if (di_dims[0] != dl_dims[0] || di_dims[1] != dl_dims[1]) {
        rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s: 'inputs' is (%llu, %llu) but 'labels' is (%llu, %llu); they must match",
                      path, (unsigned long long)di_dims[0], (unsigned long long)di_dims[1],
                      (unsigned long long)dl_dims[0], (unsigned long long)dl_dims[1]);
        goto fail;
    }
    int64_t n = (int64_t)di_dims[0], L = (int64_t)di_dims[1], V = 0, a = 0;
    int got = zoo_h5_get_i64(f, path, "vocab", &V);
    if (got < 0) {
        rc = got;
        goto fail;
    }
    if (got == 0 || V < 1 || V > INT32_MAX) {
        rc = got == 0 ? ZOO_FAIL(ZOO_ERR_INVALID, "%s: no 'vocab' attribute; add it (the vocab size) to the file root",
                                 path)
                      : ZOO_FAIL(ZOO_ERR_INVALID, "%s: attribute vocab = %lld is out of range [1, 2^31)", path,
                                 (long long)V);
        goto fail;
    }
    static const char *const dim_attr[2] = {"num_examples", "seq_len"};
    for (int k = 0; k < 2; k++) {
        int64_t want = k == 0 ? n : L;
        if ((got = zoo_h5_get_i64(f, path, dim_attr[k], &a)) < 0) {
            rc = got;
            goto fail;
        }
        if (got && a != want) {
            rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s: attribute %s = %lld but the datasets are (%lld, %lld)", path,
                          dim_attr[k], (long long)a, (long long)n, (long long)L);
            goto fail;
        }
    }
    if ((uint64_t)n > (uint64_t)(SIZE_MAX / sizeof(int32_t)) / (uint64_t)L) {
        rc = ZOO_FAIL(ZOO_ERR_NOMEM, "%s: (%lld, %lld) does not fit in memory", path, (long long)n, (long long)L);
        goto fail;
    }
    x = malloc((size_t)(n * L) * sizeof *x); /* (n, L) */
    y = malloc((size_t)(n * L) * sizeof *y); /* (n, L) */
    if (!x || !y) {
        rc = ZOO_FAIL(ZOO_ERR_NOMEM, "%s: cannot allocate (%lld, %lld) tokens", path, (long long)n, (long long)L);
        goto fail;
    }
    if (H5Dread(di, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) < 0) {
        rc = ZOO_H5_FAIL(path, "reading 'inputs'");
        goto fail;
    }
    if (H5Dread(dl, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, y) < 0) {
        rc = ZOO_H5_FAIL(path, "reading 'labels'");
        goto fail;
    }
    /* Wider integers are clipped to int32 on read, which lands outside the range too. */
    for (int64_t i = 0; i < n * L; i++) {
        if (x[i] < 0 || x[i] >= V) {
            rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s: inputs[%lld, %lld] = %d is outside [0, vocab=%lld)", path,
                          (long long)(i / L), (long long)(i % L), x[i], (long long)V);
            goto fail;
        }
        if (y[i] != ZOO_IGNORE_LABEL && (y[i] < 0 || y[i] >= V)) {
            rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s: labels[%lld, %lld] = %d is neither %d nor in [0, vocab=%lld)", path,
                          (long long)(i / L), (long long)(i % L), y[i], ZOO_IGNORE_LABEL, (long long)V);
            goto fail;
        }
    }
    if ((rc = read_tags(f, path, n, &out->tags)))
        goto fail;
    H5Dclose(di);
    H5Dclose(dl);
    H5Fclose(f);
    out->n = n;
    out->L = L;
    out->vocab = V;
    out->inputs = x;
    out->labels = y;
    return 0;
fail:
    free(x);
    free(y);
    if (di >= 0)
        H5Dclose(di);
    if (dl >= 0)
        H5Dclose(dl);
    H5Fclose(f);
    return rc ? rc : ZOO_ERR_HDF5;
}

int zoo_data_h5_read_spec(const char *path, zoo_mqar_spec *spec)
{
    if (!spec)
        return ZOO_FAIL(ZOO_ERR_INVALID, "data file: no spec given");
    memset(spec, 0, sizeof *spec);
    spec->power_a = 0.01;
    hid_t f = open_file(path);
    if (f < 0)
        return zoo_error_last()->code;
    char *task = NULL;
    int64_t v = 0;
    int rc = zoo_h5_get_str(f, path, "task", &task);
    if (rc < 0)
        goto done;
    if (rc == 0 || strcmp(task, "mqar") != 0) {
        rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s: attribute task = '%.64s'; expected 'mqar'", path, rc ? task : "(absent)");
        goto done;
    }
    static const char *const need[3] = {"vocab", "seq_len", "kv_pairs"};
    int64_t *dst[3] = {&spec->vocab, &spec->seq_len, &spec->kv_pairs};
    for (int k = 0; k < 3; k++) {
        if ((rc = zoo_h5_get_i64(f, path, need[k], dst[k])) < 0)
            goto done;
        if (rc == 0) {
            rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s: no '%s' attribute; the file was not written by `zoo data`", path,
                          need[k]);
            goto done;
        }
    }
    if ((rc = zoo_h5_get_i64(f, path, "num_examples", &spec->num_examples)) < 0 ||
        (rc = zoo_h5_get_f64(f, path, "power_a", &spec->power_a)) < 0 ||
        (rc = zoo_h5_get_i64(f, path, "random_non_queries", &v)) < 0)
        goto done;
    spec->random_non_queries = v != 0;
    if ((rc = zoo_h5_get_u64(f, path, "seed", &spec->seed)) < 0)
        goto done;
    rc = 0;
done:
    free(task);
    H5Fclose(f);
    return rc;
}
