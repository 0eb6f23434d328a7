/* results.c: the sweep's HDF5 results file (docs/results.md). Every change is one
 * transaction: copy the file to "<path>.tmp.<pid>", change the copy, close it, fsync,
 * rename over the file, fsync the folder. A kill at any moment leaves either the
 * previous file or the new one, both closed and whole. Not thread-safe; one writer. */
#define _GNU_SOURCE
#include "zoo/results.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "zoo/error.h"
#include "zoo/h5util.h"

struct zoo_results {
    char *path;
    zoo_results_row *rows;
    int64_t n, cap;
    char *sweep_text;
    zoo_results_session session;
    int64_t session_index; /* row of this process's session in /sessions; -1 none */
    int64_t version;       /* the file's schema version; older ones are upgraded by the next change */
};

/* ---- small helpers ------------------------------------------------------------------ */

void zoo_results_now(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

const char *zoo_status_word(int code)
{
    switch (code) {
    case ZOO_OK:
        return ZOO_STATUS_OK;
    case ZOO_ERR_NUMERIC:
        return ZOO_STATUS_DIVERGED;
    case ZOO_ERR_UNSUPPORTED:
        return ZOO_STATUS_UNSUPPORTED;
    case ZOO_ERR_NOMEM:
        return ZOO_STATUS_OOM;
    case ZOO_ERR_INTERRUPTED:
        return ZOO_STATUS_INTERRUPTED;
    default:
        return ZOO_STATUS_FAILED;
    }
}

static void copy_str(char *dst, size_t n, const char *src) { snprintf(dst, n, "%s", src ? src : ""); }

static hid_t str_type(size_t n)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, n);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    return t;
}

/* The /summary row of schema `version` (the members a file of it holds). */
static hid_t row_type_v(int64_t version)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(zoo_results_row));
    hid_t s17 = str_type(17), s16 = str_type(16), s128 = str_type(128), s32 = str_type(32), s256 = str_type(256),
          s64 = str_type(64);
#define M(name, type) H5Tinsert(t, #name, HOFFSET(zoo_results_row, name), type)
    M(id, H5T_NATIVE_INT64);
    M(hash, s17);
    M(status, s16);
    M(mixer, s128);
    M(family, s32);
    M(layer_mixers, s256);
    M(d_model, H5T_NATIVE_INT64);
    M(n_layers, H5T_NATIVE_INT32);
    M(seq_len, H5T_NATIVE_INT64);
    M(kv_pairs, H5T_NATIVE_INT64);
    M(vocab, H5T_NATIVE_INT64);
    M(batch_size, H5T_NATIVE_INT64);
    M(train_examples, H5T_NATIVE_INT64);
    M(lr, H5T_NATIVE_DOUBLE);
    M(seed, H5T_NATIVE_UINT64);
    M(data_seed, H5T_NATIVE_UINT64);
    M(epochs, H5T_NATIVE_INT32);
    M(params, H5T_NATIVE_INT64);
    M(state_size, H5T_NATIVE_DOUBLE);
    M(flops_per_step, H5T_NATIVE_DOUBLE);
    M(final_acc, H5T_NATIVE_DOUBLE);
    M(best_acc, H5T_NATIVE_DOUBLE);
    M(final_loss, H5T_NATIVE_DOUBLE);
    M(epochs_run, H5T_NATIVE_INT32);
    M(steps_run, H5T_NATIVE_INT64);
    M(tokens_per_s, H5T_NATIVE_DOUBLE);
    M(wall_s, H5T_NATIVE_DOUBLE);
    M(peak_bytes, H5T_NATIVE_INT64);
    M(mem_params_bytes, H5T_NATIVE_INT64);
    M(mem_grads_bytes, H5T_NATIVE_INT64);
    M(mem_optimizer_bytes, H5T_NATIVE_INT64);
    M(mem_activations_bytes, H5T_NATIVE_INT64);
    M(mem_act_grads_bytes, H5T_NATIVE_INT64);
    M(mem_workspace_bytes, H5T_NATIVE_INT64);
    M(rank, H5T_NATIVE_INT32);
    M(host, s64);
    M(crashes, H5T_NATIVE_INT32);
    M(finished_unix, H5T_NATIVE_DOUBLE);
    M(message, s256);
    if (version >= 2) {
        M(backend, s16);
        M(device, s256);
        M(tf32, H5T_NATIVE_INT32);
    }
#undef M
    H5Tclose(s17), H5Tclose(s16), H5Tclose(s128), H5Tclose(s32), H5Tclose(s256), H5Tclose(s64);
    return t;
}

static hid_t row_type(void) { return row_type_v(ZOO_RESULTS_SCHEMA_VERSION); }

static hid_t session_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(zoo_results_session));
    hid_t s32 = str_type(32), s512 = str_type(512);
    H5Tinsert(t, "started", HOFFSET(zoo_results_session, started), s32);
    H5Tinsert(t, "finished", HOFFSET(zoo_results_session, finished), s32);
    H5Tinsert(t, "ranks", HOFFSET(zoo_results_session, ranks), H5T_NATIVE_INT32);
    H5Tinsert(t, "hosts", HOFFSET(zoo_results_session, hosts), s512);
    H5Tinsert(t, "command", HOFFSET(zoo_results_session, command), s512);
    H5Tinsert(t, "exit_code", HOFFSET(zoo_results_session, exit_code), H5T_NATIVE_INT32);
    H5Tinsert(t, "runs_recorded", HOFFSET(zoo_results_session, runs_recorded), H5T_NATIVE_INT64);
    H5Tclose(s32), H5Tclose(s512);
    return t;
}

/* Each step of a write runs only while all before it succeeded, so the error recorded
 * is the first one (naming its file and object), not a later one it caused. */
#define STEP(rc, call) ((rc) = (rc) ? (rc) : (call))

static int obj_fail(const char *path, const char *verb, const char *name)
{
    char what[300];
    snprintf(what, sizeof what, "%s %s", verb, name);
    return ZOO_H5_FAIL(path, what);
}

/* Object creation without timestamps, so files differ only where data differ. */
static hid_t no_times(hid_t cls)
{
    hid_t p = H5Pcreate(cls);
    H5Pset_obj_track_times(p, 0);
    return p;
}

/* 1-D chunked, extendible dataset of `type` holding n elements of `data`. */
static int write_table(hid_t f, const char *path, const char *name, hid_t type, const void *data, hsize_t n,
                       hsize_t chunk)
{
    hsize_t dims = n, maxd = H5S_UNLIMITED, ch = chunk;
    hid_t sp = H5Screate_simple(1, &dims, &maxd), dcpl = no_times(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &ch);
    hid_t d = H5Dcreate2(f, name, type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    herr_t e = d < 0 ? -1 : (n ? H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : 0);
    int rc = e < 0 ? obj_fail(path, "writing", name) : 0;
    if (d >= 0)
        H5Dclose(d);
    H5Pclose(dcpl), H5Sclose(sp);
    return rc;
}

/* Write elements [first, first+n) of a 1-D dataset, growing it when needed. */
static int write_rows(hid_t f, const char *path, const char *name, hid_t type, const void *data, hsize_t first,
                      hsize_t n)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0)
        return obj_fail(path, "opening", name);
    hid_t fs = H5Dget_space(d), ms = H5I_INVALID_HID;
    hsize_t cur = 0, end = first + n;
    int bad = fs < 0 || H5Sget_simple_extent_dims(fs, &cur, NULL) < 0;
    if (!bad && end > cur) {
        H5Sclose(fs);
        bad = H5Dset_extent(d, &end) < 0 || (fs = H5Dget_space(d)) < 0;
    }
    bad = bad || (ms = H5Screate_simple(1, &n, NULL)) < 0 ||
          H5Sselect_hyperslab(fs, H5S_SELECT_SET, &first, NULL, &n, NULL) < 0 ||
          H5Dwrite(d, type, ms, fs, H5P_DEFAULT, data) < 0;
    int rc = bad ? obj_fail(path, "writing", name) : 0; /* before the closes clear HDF5's stack */
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    H5Dclose(d);
    return rc;
}

/* Number of elements of 1-D dataset `name`, or the error code. */
static int64_t table_len(hid_t f, const char *path, const char *name)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT), fs = d < 0 ? H5I_INVALID_HID : H5Dget_space(d);
    hsize_t cur = 0;
    int64_t n = fs < 0 || H5Sget_simple_extent_dims(fs, &cur, NULL) < 0 ? obj_fail(path, "reading", name) : (int64_t)cur;
    if (fs >= 0)
        H5Sclose(fs);
    if (d >= 0)
        H5Dclose(d);
    return n;
}

/* Append one variable-length string to a 1-D dataset of them (or create it). */
static int append_text(hid_t f, const char *path, const char *name, const char *text, int create)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    int rc;
    if (create) {
        rc = write_table(f, path, name, t, &text, 1, 16);
    } else {
        int64_t cur = table_len(f, path, name);
        rc = cur < 0 ? (int)cur : write_rows(f, path, name, t, &text, (hsize_t)cur, 1);
    }
    H5Tclose(t);
    return rc;
}

/* ---- files: copy, sync, rename ----------------------------------------------------- */

static int copy_file(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;
    if (in < 0)
        return ZOO_FAIL(ZOO_ERR_IO, "%s: cannot open to copy: %s", src, strerror(errno));
    out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (out < 0) {
        rc = ZOO_FAIL(ZOO_ERR_IO, "%s: cannot create: %s; check the folder is writable", dst, strerror(errno));
        goto done;
    }
    struct stat st;
    if (fstat(in, &st)) {
        rc = ZOO_FAIL(ZOO_ERR_IO, "%s: cannot stat: %s", src, strerror(errno));
        goto done;
    }
    off_t left = st.st_size;
    int fallback = 0;
    while (left > 0 && !fallback) {
        ssize_t k = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
        if (k < 0 && (errno == ENOSYS || errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP)) {
            fallback = 1;
            break;
        }
        if (k <= 0) {
            rc = ZOO_FAIL(ZOO_ERR_IO, "%s: copy to %s failed: %s (disk full?)", src, dst, k < 0 ? strerror(errno) : "short");
            goto done;
        }
        left -= k;
    }
    if (fallback) {
        char buf[1 << 16];
        off_t pos = st.st_size - left;
        if (lseek(in, pos, SEEK_SET) < 0 || lseek(out, pos, SEEK_SET) < 0) {
            rc = ZOO_FAIL(ZOO_ERR_IO, "%s: seek failed: %s", src, strerror(errno));
            goto done;
        }
        ssize_t k;
        while ((k = read(in, buf, sizeof buf)) > 0)
            for (ssize_t w = 0; w < k;) {
                ssize_t x = write(out, buf + w, (size_t)(k - w));
                if (x <= 0) {
                    rc = ZOO_FAIL(ZOO_ERR_IO, "%s: write failed: %s (disk full?)", dst, strerror(errno));
                    goto done;
                }
                w += x;
            }
        if (k < 0)
            rc = ZOO_FAIL(ZOO_ERR_IO, "%s: read failed: %s", src, strerror(errno));
    }
done:
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) && !rc)
        rc = ZOO_FAIL(ZOO_ERR_IO, "%s: close failed: %s", dst, strerror(errno));
    if (rc)
        unlink(dst);
    return rc;
}

static hid_t create_fapl(void)
{
    hid_t p = H5Pcreate(H5P_FILE_ACCESS);
    /* Earliest format: readable by every HDF5 1.8+ tool (h5dump, h5py, pandas). */
    H5Pset_libver_bounds(p, H5F_LIBVER_EARLIEST, H5F_LIBVER_LATEST);
    H5Pset_fclose_degree(p, H5F_CLOSE_STRONG);
    return p;
}

/* ---- rows ------------------------------------------------------------------------- */

static int is_int_text(const char *s)
{
    if (*s == '-')
        s++;
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

void zoo_results_row_init(zoo_results_row *r, int64_t id, const zoo_run_spec *s, const char *family)
{
    memset(r, 0, sizeof *r);
    r->id = id;
    zoo_run_spec_hash(s, r->hash);
    copy_str(r->status, sizeof r->status, ZOO_STATUS_PENDING);
    size_t k = 0, kl = 0;
    for (int i = 0; i < s->n_mixers && k < sizeof r->mixer; i++)
        k += (size_t)snprintf(r->mixer + k, sizeof r->mixer - k, "%s%s", i ? "+" : "", s->mixers[i].name);
    copy_str(r->family, sizeof r->family, family);
    for (int l = 0; l < s->n_layers && kl < sizeof r->layer_mixers; l++) {
        const zoo_mixer_ref *m = &s->mixers[l % (s->n_mixers > 0 ? s->n_mixers : 1)];
        kl += (size_t)snprintf(r->layer_mixers + kl, sizeof r->layer_mixers - kl, "%s%s", l ? ", " : "", m->name);
        for (int j = 0; j < m->n_knobs && kl < sizeof r->layer_mixers; j++)
            kl += (size_t)snprintf(r->layer_mixers + kl, sizeof r->layer_mixers - kl, "%s%s=%s%s", j ? ", " : "(",
                                   m->knobs[j].name, m->knobs[j].value, j + 1 == m->n_knobs ? ")" : "");
    }
    r->d_model = s->d_model;
    r->n_layers = s->n_layers;
    r->seq_len = s->seq_len;
    r->kv_pairs = s->kv_pairs;
    r->vocab = s->vocab;
    /* The resolved batch (0 means "by L"): read back from the spec's text form. */
    char text[16384];
    r->batch_size = s->batch_size;
    if (!zoo_run_spec_format(s, text, sizeof text)) {
        const char *p = strstr(text, "\nbatch_size=");
        if (p)
            r->batch_size = strtoll(p + 12, NULL, 10);
    }
    r->train_examples = s->train_examples;
    r->lr = s->lr;
    r->seed = s->seed;
    r->data_seed = s->data_seed;
    r->epochs = s->epochs;
    r->params = -1;
    r->state_size = NAN;
    r->flops_per_step = zoo_run_spec_flops_per_step(s);
    r->final_acc = r->best_acc = r->final_loss = NAN;
    r->epochs_run = -1;
    r->steps_run = -1;
    r->tokens_per_s = r->wall_s = NAN;
    r->peak_bytes = -1;
    r->mem_params_bytes = r->mem_grads_bytes = r->mem_optimizer_bytes = -1;
    r->mem_activations_bytes = r->mem_act_grads_bytes = r->mem_workspace_bytes = -1;
    r->rank = -1;
    r->finished_unix = NAN;
    r->tf32 = s->tf32;
}

static const char units[] =
    "wall_s: seconds; tokens_per_s: training tokens per second; peak_bytes: bytes (peak resident set of the process "
    "that trained the run); mem_*_bytes: bytes planned per buffer kind on the run's backend; state_size: floats at seq_len summed over layers; flops_per_step: estimated floating point "
    "operations of one training step (forward+backward); finished_unix: seconds since 1970-01-01 UTC; accuracies: "
    "fraction of supervised test tokens predicted exactly (0..1); losses: mean cross-entropy in nats";

/* ---- run groups --------------------------------------------------------------------- */

static int curve(hid_t g, const char *path, const char *gname, const char *name, const float *x, int64_t n,
                 const char *desc)
{
    if (!x || n <= 0)
        return 0;
    char where[96];
    snprintf(where, sizeof where, "%s/%s", gname, name);
    hsize_t dims = (hsize_t)n;
    hid_t sp = H5Screate_simple(1, &dims, NULL), dcpl = no_times(H5P_DATASET_CREATE);
    hid_t d = H5Dcreate2(g, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    int rc = d < 0 || H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) < 0
                 ? obj_fail(path, "writing", where)
                 : zoo_h5_put_fixed_str(d, path, "description", desc);
    if (d >= 0)
        H5Dclose(d);
    H5Pclose(dcpl), H5Sclose(sp);
    return rc;
}

static int run_group(hid_t f, const char *path, const zoo_results_update *u)
{
    const zoo_results_row *row = u->row;
    char name[64];
    snprintf(name, sizeof name, "/runs/%06lld", (long long)row->id);
    if (H5Lexists(f, name, H5P_DEFAULT) > 0 && H5Ldelete(f, name, H5P_DEFAULT) < 0)
        return obj_fail(path, "replacing", name);
    hid_t gcpl = no_times(H5P_GROUP_CREATE);
    hid_t g = H5Gcreate2(f, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    int rc = g < 0 ? obj_fail(path, "creating", name) : 0;
    H5Pclose(gcpl);
    if (rc)
        return rc;
    /* The full spec, as text and as one typed attribute per key. */
    static char text[ZOO_MAX_PATTERN * ZOO_MAX_KNOBS * 220 + 4096];
    if (u->spec && !zoo_run_spec_format(u->spec, text, sizeof text)) {
        STEP(rc, zoo_h5_put_fixed_str(g, path, "spec", text));
        for (char *line = text, *nl; *line && !rc; line = nl + 1) {
            nl = strchr(line, '\n');
            if (!nl)
                break;
            *nl = 0;
            char *eq = strchr(line, '=');
            if (!eq)
                continue;
            *eq = 0;
            const char *key = line, *val = eq + 1;
            char *end;
            double d = strtod(val, &end);
            if (is_int_text(val))
                rc = zoo_h5_put_i64(g, path, key, strtoll(val, NULL, 10));
            else if (*val && !*end)
                rc = zoo_h5_put_f64(g, path, key, d);
            else
                rc = zoo_h5_put_fixed_str(g, path, key, val);
        }
    }
    STEP(rc, zoo_h5_put_i64(g, path, "id", row->id));
    STEP(rc, zoo_h5_put_fixed_str(g, path, "hash", row->hash));
    STEP(rc, zoo_h5_put_fixed_str(g, path, "status", row->status));
    STEP(rc, zoo_h5_put_fixed_str(g, path, "message", row->message));
    STEP(rc, zoo_h5_put_fixed_str(g, path, "mixer_names", row->mixer));
    STEP(rc, zoo_h5_put_fixed_str(g, path, "family", row->family));
    STEP(rc, zoo_h5_put_fixed_str(g, path, "layer_mixers", row->layer_mixers));
    STEP(rc, zoo_h5_put_i64(g, path, "params", row->params));
    STEP(rc, zoo_h5_put_f64(g, path, "state_size", row->state_size));
    STEP(rc, zoo_h5_put_f64(g, path, "flops_per_step", row->flops_per_step));
    STEP(rc, zoo_h5_put_f64(g, path, "final_acc", row->final_acc));
    STEP(rc, zoo_h5_put_f64(g, path, "best_acc", row->best_acc));
    STEP(rc, zoo_h5_put_f64(g, path, "final_loss", row->final_loss));
    STEP(rc, zoo_h5_put_i64(g, path, "epochs_run", row->epochs_run));
    STEP(rc, zoo_h5_put_i64(g, path, "steps_run", row->steps_run));
    STEP(rc, zoo_h5_put_f64(g, path, "tokens_per_s", row->tokens_per_s));
    STEP(rc, zoo_h5_put_f64(g, path, "wall_s", row->wall_s));
    STEP(rc, zoo_h5_put_i64(g, path, "peak_bytes", row->peak_bytes));
    STEP(rc, zoo_h5_put_i64(g, path, "mem_params_bytes", row->mem_params_bytes));
    STEP(rc, zoo_h5_put_i64(g, path, "mem_grads_bytes", row->mem_grads_bytes));
    STEP(rc, zoo_h5_put_i64(g, path, "mem_optimizer_bytes", row->mem_optimizer_bytes));
    STEP(rc, zoo_h5_put_i64(g, path, "mem_activations_bytes", row->mem_activations_bytes));
    STEP(rc, zoo_h5_put_i64(g, path, "mem_act_grads_bytes", row->mem_act_grads_bytes));
    STEP(rc, zoo_h5_put_i64(g, path, "mem_workspace_bytes", row->mem_workspace_bytes));
    STEP(rc, zoo_h5_put_i64(g, path, "rank", row->rank));
    STEP(rc, zoo_h5_put_fixed_str(g, path, "host", row->host));
    STEP(rc, zoo_h5_put_i64(g, path, "crashes", row->crashes));
    STEP(rc, zoo_h5_put_f64(g, path, "finished_unix", row->finished_unix));
    /* `backend` is already the spec's (cpu, cuda or auto): the one used is backend_used. */
    STEP(rc, zoo_h5_put_fixed_str(g, path, "backend_used", row->backend));
    STEP(rc, zoo_h5_put_fixed_str(g, path, "device", row->device));
    const zoo_run_result *r = u->result;
    if (r) {
        STEP(rc, curve(g, path, name, "step_loss", r->step_loss, r->n_steps,
                       "training loss of each optimizer step (nats)"));
        STEP(rc, curve(g, path, name, "epoch_train_loss", r->epoch_train_loss, r->n_epochs,
                       "mean training loss of each epoch (nats)"));
        STEP(rc, curve(g, path, name, "epoch_test_loss", r->epoch_test_loss, r->n_epochs,
                       "test loss after each epoch (nats)"));
        STEP(rc, curve(g, path, name, "epoch_test_acc", r->epoch_test_acc, r->n_epochs,
                       "test accuracy after each epoch (0..1)"));
        STEP(rc, curve(g, path, name, "epoch_lr", r->epoch_lr, r->n_epochs, "learning rate used in each epoch"));
    }
    H5Gclose(g);
    return rc;
}

/* ---- transactions ---------------------------------------------------------------------- */

/* A file of an older schema, in the copy `f`: /summary rewritten with today's row (the
 * rows as read, new columns filled by zoo_results_open), and the version raised. */
static int upgrade(zoo_results *r, hid_t f)
{
    if (r->version >= ZOO_RESULTS_SCHEMA_VERSION)
        return 0;
    int rc = 0;
    if (H5Ldelete(f, "/summary", H5P_DEFAULT) < 0)
        rc = obj_fail(r->path, "replacing", "/summary");
    hid_t rt = row_type();
    STEP(rc, write_table(f, r->path, "/summary", rt, r->rows, (hsize_t)r->n, 64));
    H5Tclose(rt);
    STEP(rc, zoo_h5_put_i64(f, r->path, "schema_version", ZOO_RESULTS_SCHEMA_VERSION));
    if (rc)
        zoo_error_prefix("upgrading results schema version %lld to %d: ", (long long)r->version,
                         ZOO_RESULTS_SCHEMA_VERSION);
    return rc;
}

static int txn_open(zoo_results *r, char *tmp, size_t n, hid_t *f)
{
    zoo_h5_quiet();
    zoo_h5_tmpname(r->path, tmp, n);
    int rc = copy_file(r->path, tmp);
    if (rc)
        return rc;
    hid_t fapl = create_fapl();
    *f = H5Fopen(tmp, H5F_ACC_RDWR, fapl);
    if (*f < 0) {
        rc = ZOO_H5_FAIL(tmp, "opening the copy of the results file");
        unlink(tmp);
    } else if ((rc = upgrade(r, *f))) {
        H5Fclose(*f);
        unlink(tmp);
    }
    H5Pclose(fapl);
    return rc;
}

/* Finish a transaction that so far returned rc (0 or the first error, recorded). */
static int txn_close(zoo_results *r, const char *tmp, hid_t f, int rc, const char *what)
{
    char now[32];
    zoo_results_now(now);
    STEP(rc, zoo_h5_put_fixed_str(f, r->path, "updated", now));
    if (H5Fclose(f) < 0 && !rc)
        rc = ZOO_H5_FAIL(r->path, "closing the new copy");
    if (rc) {
        zoo_error_prefix("%s: ", what);
        unlink(tmp);
        return rc;
    }
    if ((rc = zoo_h5_publish(tmp, r->path)))
        return rc;
    r->version = ZOO_RESULTS_SCHEMA_VERSION; /* upgraded by txn_open, if it was older */
    return 0;
}

static int write_session(zoo_results *r, hid_t f, const char *path, int create)
{
    hid_t st = session_type();
    int rc = create ? write_table(f, path, "/sessions", st, &r->session, 1, 16)
                    : write_rows(f, path, "/sessions", st, &r->session, (hsize_t)r->session_index, 1);
    H5Tclose(st);
    return rc;
}

/* ---- public ------------------------------------------------------------------------ */

static zoo_results *alloc_results(const char *path)
{
    zoo_results *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->path = strdup(path);
    r->session_index = -1;
    if (!r->path) {
        free(r);
        return NULL;
    }
    return r;
}

/* Make room for n rows (keeping the first r->n), then copy `rows` in unless NULL. */
static int set_rows(zoo_results *r, const zoo_results_row *rows, int64_t n)
{
    if (n > r->cap) {
        zoo_results_row *nr = realloc(r->rows, (size_t)n * sizeof *nr);
        if (!nr)
            return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory for %lld result rows", (long long)n);
        r->rows = nr;
        r->cap = n;
    }
    if (rows && n > 0) /* an empty slice has no rows, and may pass NULL */
        memcpy(r->rows, rows, (size_t)n * sizeof *rows);
    r->n = n;
    return 0;
}

int zoo_results_create(const char *path, const zoo_sweep *sw, const zoo_results_row *rows,
                       const zoo_results_session *session, zoo_results **out)
{
    *out = NULL;
    zoo_h5_quiet();
    if (access(path, F_OK) == 0)
        return ZOO_FAIL(ZOO_ERR_IO, "%s already exists; refusing to overwrite it", path);
    zoo_results *r = alloc_results(path);
    int rc = 0;
    if (!r || !(r->sweep_text = strdup(sw->text ? sw->text : "")))
        rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    if (!rc)
        rc = set_rows(r, rows, sw->n_runs);
    if (rc) {
        zoo_results_close(r);
        return rc;
    }
    r->session = *session;
    r->session_index = 0;
    r->version = ZOO_RESULTS_SCHEMA_VERSION;
    char tmp[4200];
    zoo_h5_tmpname(path, tmp, sizeof tmp);
    hid_t fapl = create_fapl(), fcpl = H5Pcreate(H5P_FILE_CREATE);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, fapl);
    if (f < 0)
        rc = ZOO_H5_FAIL(tmp, "creating the results file (is the folder writable?)");
    H5Pclose(fapl), H5Pclose(fcpl);
    if (rc) {
        zoo_results_close(r);
        return rc;
    }
    char now[32];
    zoo_results_now(now);
    STEP(rc, zoo_h5_put_fixed_str(f, path, "schema", ZOO_RESULTS_SCHEMA));
    STEP(rc, zoo_h5_put_i64(f, path, "schema_version", ZOO_RESULTS_SCHEMA_VERSION));
    STEP(rc, zoo_h5_put_fixed_str(f, path, "zoo_version", zoo_version()));
    STEP(rc, zoo_h5_put_fixed_str(f, path, "git_rev", zoo_git_rev()));
    STEP(rc, zoo_h5_put_fixed_str(f, path, "sweep_name", sw->name));
    STEP(rc, zoo_h5_put_fixed_str(f, path, "sweep_path", sw->path ? sw->path : ""));
    STEP(rc, zoo_h5_put_fixed_str(f, path, "sweep_text", r->sweep_text));
    STEP(rc, zoo_h5_put_fixed_str(f, path, "created", now));
    STEP(rc, zoo_h5_put_fixed_str(f, path, "units", units));
    hid_t rt = row_type();
    STEP(rc, write_table(f, path, "/summary", rt, r->rows, (hsize_t)r->n, 64));
    H5Tclose(rt);
    STEP(rc, write_session(r, f, path, 1));
    STEP(rc, append_text(f, path, "/sweep_texts", r->sweep_text, 1));
    if (!rc) {
        hid_t gcpl = no_times(H5P_GROUP_CREATE);
        hid_t g = H5Gcreate2(f, "/runs", H5P_DEFAULT, gcpl, H5P_DEFAULT);
        if (g < 0)
            rc = obj_fail(path, "creating", "/runs");
        else
            H5Gclose(g);
        H5Pclose(gcpl);
    }
    STEP(rc, zoo_h5_put_fixed_str(f, path, "updated", now));
    if (H5Fclose(f) < 0 && !rc)
        rc = ZOO_H5_FAIL(tmp, "closing the new results file");
    if (!rc)
        rc = zoo_h5_publish(tmp, path);
    else
        unlink(tmp);
    if (rc) {
        zoo_results_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* The version 2 columns of a version 1 row: before `backend: auto` every run that
 * trained did so on its spec's backend (its group's `backend` attribute); tf32 did not
 * exist (0, zero already); the device was not recorded (""). */
static void v1_columns(hid_t f, const char *path, zoo_results_row *x)
{
    if (!strcmp(x->status, ZOO_STATUS_PENDING) || !strcmp(x->status, ZOO_STATUS_UNSUPPORTED) ||
        !strcmp(x->status, ZOO_STATUS_CRASHED))
        return;
    char name[64];
    snprintf(name, sizeof name, "/runs/%06lld", (long long)x->id);
    if (H5Lexists(f, "/runs", H5P_DEFAULT) <= 0 || H5Lexists(f, name, H5P_DEFAULT) <= 0)
        return;
    hid_t g = H5Gopen2(f, name, H5P_DEFAULT);
    char *b = NULL;
    if (g >= 0 && zoo_h5_get_str(g, path, "backend", &b) > 0 && b)
        copy_str(x->backend, sizeof x->backend, b);
    free(b);
    if (g >= 0)
        H5Gclose(g);
    zoo_error_clear();
}

int zoo_results_open(const char *path, zoo_results **out)
{
    *out = NULL;
    zoo_h5_quiet();
    if (access(path, F_OK))
        return ZOO_FAIL(ZOO_ERR_IO, "%s: no such file", path);
    if (H5Fis_hdf5(path) <= 0)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s is not an HDF5 file; give another -o path (or move it away)", path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return ZOO_H5_FAIL(path, "opening the results file");
    int rc = 0;
    zoo_results *r = alloc_results(path);
    char *schema = NULL;
    int64_t ver = 0;
    hid_t d = H5I_INVALID_HID, rt = H5I_INVALID_HID;
    if (!r) {
        rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* Anything short of both attributes, readable, means "not ours". */
    if (zoo_h5_get_str(f, path, "schema", &schema) <= 0 || strcmp(schema, ZOO_RESULTS_SCHEMA) ||
        zoo_h5_get_i64(f, path, "schema_version", &ver) <= 0) {
        rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s is not a zoo sweep results file (no schema attribute '%s'); give another -o path",
                      path, ZOO_RESULTS_SCHEMA);
        goto done;
    }
    if (ver > ZOO_RESULTS_SCHEMA_VERSION || ver < 1) {
        rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s has results schema version %lld; this zoo reads version %d: use a matching zoo",
                      path, (long long)ver, ZOO_RESULTS_SCHEMA_VERSION);
        goto done;
    }
    if ((rc = zoo_h5_get_str(f, path, "sweep_text", &r->sweep_text)) < 0)
        goto done;
    rc = 0;
    if (!r->sweep_text && !(r->sweep_text = strdup(""))) {
        rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
        goto done;
    }
    d = H5Dopen2(f, "/summary", H5P_DEFAULT);
    if (d < 0) {
        rc = ZOO_H5_FAIL(path, "opening /summary");
        goto done;
    }
    hid_t fs = H5Dget_space(d);
    hsize_t n = 0;
    H5Sget_simple_extent_dims(fs, &n, NULL);
    H5Sclose(fs);
    if (n) {
        r->rows = calloc((size_t)n, sizeof *r->rows);
        if (!r->rows) {
            rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory for %llu rows", (unsigned long long)n);
            goto done;
        }
        r->cap = r->n = (int64_t)n;
        rt = row_type_v(ver); /* an older file lacks the newer columns: they stay zero here */
        if (H5Dread(d, rt, H5S_ALL, H5S_ALL, H5P_DEFAULT, r->rows) < 0) {
            rc = ZOO_H5_FAIL(path, "reading /summary");
            goto done;
        }
    }
    r->version = ver;
    for (int64_t i = 0; i < r->n; i++) {
        zoo_results_row *x = &r->rows[i];
        x->hash[16] = x->status[15] = x->host[63] = x->message[255] = 0;
        x->backend[sizeof x->backend - 1] = x->device[sizeof x->device - 1] = 0;
        if (x->id != i) {
            rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s: /summary row %lld has id %lld; the file is damaged", path, (long long)i,
                          (long long)x->id);
            goto done;
        }
        if (ver < 2)
            v1_columns(f, path, x);
    }
done:
    free(schema);
    if (rt >= 0)
        H5Tclose(rt);
    if (d >= 0)
        H5Dclose(d);
    H5Fclose(f);
    if (rc) {
        zoo_results_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

void zoo_results_close(zoo_results *r)
{
    if (!r)
        return;
    free(r->path);
    free(r->rows);
    free(r->sweep_text);
    free(r);
}

const zoo_results_row *zoo_results_rows(const zoo_results *r, int64_t *n)
{
    *n = r->n;
    return r->rows;
}

const char *zoo_results_sweep_text(const zoo_results *r) { return r->sweep_text ? r->sweep_text : ""; }

int zoo_results_begin(zoo_results *r, const zoo_sweep *sw, const zoo_results_row *new_rows, int64_t n_new,
                      const zoo_results_session *session)
{
    for (int64_t i = 0; i < n_new; i++)
        if (new_rows[i].id != r->n + i)
            return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_results_begin: new row %lld has id %lld, expected %lld", (long long)i,
                            (long long)new_rows[i].id, (long long)(r->n + i));
    char tmp[4200];
    hid_t f;
    int rc = txn_open(r, tmp, sizeof tmp, &f);
    if (rc)
        return rc;
    const char *path = r->path;
    hid_t rt = row_type();
    if (n_new)
        rc = write_rows(f, path, "/summary", rt, new_rows, (hsize_t)r->n, (hsize_t)n_new);
    H5Tclose(rt);
    /* This session's row goes after the existing ones. */
    int64_t ns = rc ? 0 : table_len(f, path, "/sessions");
    if (ns < 0)
        rc = (int)ns;
    zoo_results_session saved = r->session;
    int64_t saved_index = r->session_index;
    r->session = *session;
    r->session_index = ns;
    STEP(rc, write_session(r, f, path, 0));
    const char *text = sw->text ? sw->text : "";
    STEP(rc, append_text(f, path, "/sweep_texts", text, 0));
    STEP(rc, zoo_h5_put_fixed_str(f, path, "sweep_text", text));
    STEP(rc, zoo_h5_put_fixed_str(f, path, "sweep_name", sw->name));
    STEP(rc, zoo_h5_put_fixed_str(f, path, "sweep_path", sw->path ? sw->path : ""));
    if ((rc = txn_close(r, tmp, f, rc, "starting a session in the results file"))) {
        r->session = saved;
        r->session_index = saved_index;
        return rc;
    }
    char *nt = strdup(text);
    if (nt) {
        free(r->sweep_text);
        r->sweep_text = nt;
    }
    int64_t old = r->n;
    if ((rc = set_rows(r, NULL, old + n_new)))
        return rc;
    if (n_new > 0)
        memcpy(r->rows + old, new_rows, (size_t)n_new * sizeof *new_rows);
    return 0;
}

int zoo_results_commit(zoo_results *r, const zoo_results_update *u, int n)
{
    for (int i = 0; i < n; i++)
        if (u[i].row->id < 0 || u[i].row->id >= r->n)
            return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_results_commit: row id %lld outside 0..%lld", (long long)u[i].row->id,
                            (long long)r->n - 1);
    char tmp[4200];
    hid_t f;
    int rc = txn_open(r, tmp, sizeof tmp, &f);
    if (rc)
        return rc;
    int final_runs = 0;
    hid_t rt = row_type();
    for (int i = 0; i < n && !rc; i++) {
        rc = write_rows(f, r->path, "/summary", rt, u[i].row, (hsize_t)u[i].row->id, 1);
        if (strcmp(u[i].row->status, ZOO_STATUS_PENDING)) {
            STEP(rc, run_group(f, r->path, &u[i]));
            final_runs++;
        }
    }
    H5Tclose(rt);
    zoo_results_session saved = r->session;
    if (r->session_index >= 0) {
        r->session.runs_recorded += final_runs;
        zoo_results_now(r->session.finished);
        STEP(rc, write_session(r, f, r->path, 0));
    }
    if ((rc = txn_close(r, tmp, f, rc, "recording finished runs"))) {
        r->session = saved;
        return rc;
    }
    for (int i = 0; i < n; i++)
        r->rows[u[i].row->id] = *u[i].row;
    return 0;
}

int zoo_results_end(zoo_results *r, int exit_code)
{
    if (r->session_index < 0)
        return 0;
    char tmp[4200];
    hid_t f;
    int rc = txn_open(r, tmp, sizeof tmp, &f);
    if (rc)
        return rc;
    zoo_results_session saved = r->session;
    r->session.exit_code = exit_code;
    zoo_results_now(r->session.finished);
    rc = write_session(r, f, r->path, 0);
    if ((rc = txn_close(r, tmp, f, rc, "closing the session")))
        r->session = saved;
    return rc;
}

int zoo_results_backup(const char *path, char *backup, size_t n)
{
    for (int i = 0; i < 1000; i++) {
        if (i)
            snprintf(backup, n, "%s.bak.%d", path, i);
        else
            snprintf(backup, n, "%s.bak", path);
        if (access(backup, F_OK) == 0)
            continue;
        if (rename(path, backup))
            return ZOO_FAIL(ZOO_ERR_IO, "cannot move %s to %s: %s", path, backup, strerror(errno));
        return 0;
    }
    return ZOO_FAIL(ZOO_ERR_IO, "%s: 1000 backups exist already; remove some", path);
}

int zoo_results_clean_temps(const char *path)
{
    char *dcopy = strdup(path), *bcopy = strdup(path);
    if (!dcopy || !bcopy) {
        free(dcopy), free(bcopy);
        return 0;
    }
    const char *dir = dirname(dcopy), *base = basename(bcopy);
    char prefix[1200];
    snprintf(prefix, sizeof prefix, "%s.tmp.", base);
    int removed = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)))
            continue;
        char full[4400];
        snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
        if (!unlink(full))
            removed++;
    }
    if (d)
        closedir(d);
    free(dcopy), free(bcopy);
    return removed;
}
