/* results.c: the sweep's HDF5 results file (docs/results.md, "Durability"). The main
 * file is never changed in place. A commit writes its batch of finished runs (their
 * summary rows and run groups, laid out as in the main file) to one small new file of
 * the journal "<path>.d/commit-<seq>.h5", written under a temporary name, fsynced and
 * renamed: its cost is the size of the runs, not of the file. Readers take the main
 * file and lay the journal's files over it in sequence order. Now and then (when the
 * journal has grown as large as the main file, and at the end of a session) the
 * journal is folded: the main file is copied to "<path>.tmp.<pid>", the journal's rows
 * and groups are written into the copy, which is fsynced and renamed over the file;
 * then the folded journal files are deleted. The main file records the last sequence
 * folded into it (`journal_folded`), so journal files that survive a kill after a fold
 * are skipped. A kill at any moment leaves a main file that opens and a journal of
 * whole files. Not thread-safe; one writer (zoo_results_lock). */
#define _GNU_SOURCE
#include "zoo/results.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <libgen.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "zoo/error.h"
#include "zoo/h5util.h"

/* Root attribute `schema` of a journal file. */
#define JOURNAL_SCHEMA "zoo-sweep-results-commit"
/* The journal is folded once its files hold this many times the main file's bytes:
 * the main file then grows geometrically (x3 a fold), so the copies made by folds add
 * up to about 1.5 final files (docs/results.md has the measured totals). */
#define FOLD_RATIO 2.0
/* Sweep texts longer than this are kept in /sweep_texts only: HDF5's earliest format
 * holds an attribute in the object header, whose messages stop at 64 KiB. */
#define TEXT_ATTR_MAX 32768

/* One file of the journal. */
typedef struct side {
    int64_t seq, bytes;
    char *path;
} side;

struct zoo_results {
    char *path;
    zoo_results_row *rows;
    int32_t *src;          /* per row: the side file (index in sides) with its newest run group; -1 the main file */
    int64_t n, cap;
    char *sweep_text;
    zoo_results_session session;
    int64_t session_index; /* row of this process's session in /sessions; -1 none */
    int64_t version;       /* the main file's schema version; older ones are upgraded by the next fold */
    side *sides;           /* the journal files not folded yet, in sequence order */
    int n_sides, cap_sides;
    int64_t folded;        /* the main file's journal_folded: journal files up to it are in it */
    int64_t next_seq;      /* of the next commit */
    int64_t main_bytes, side_bytes;
    int64_t dirty_lo, dirty_hi; /* rows [lo, hi) may differ from the main file's */
    int wrote;             /* this handle wrote journal files that are not folded yet */
    int lock_fd;           /* lock on the main file this handle published last; -1 none */
    hid_t copy_f;          /* the file zoo_results_copy_run read last, open */
    int copy_from;         /* ... as a src value; -2 none */
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
    if (version >= 3) {
        M(ranks, H5T_NATIVE_INT32);
        M(hosts, s256);
    }
    if (version >= 4) {
        M(task, s32);
        M(task_knobs, s256);
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
    int bad = fs < 0 || zoo_h5_len1(fs, &cur) < 0;
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
    int64_t n = fs < 0 || zoo_h5_len1(fs, &cur) < 0 ? obj_fail(path, "reading", name) : (int64_t)cur;
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

/* Metrics a row lacks: NaN for numbers, -1 for counts (what zoo_results_row_init sets). */
static void row_defaults(zoo_results_row *r)
{
    r->params = -1;
    r->state_size = r->flops_per_step = NAN;
    r->final_acc = r->best_acc = r->final_loss = NAN;
    r->epochs_run = -1;
    r->steps_run = -1;
    r->tokens_per_s = r->wall_s = NAN;
    r->peak_bytes = -1;
    r->mem_params_bytes = r->mem_grads_bytes = r->mem_optimizer_bytes = -1;
    r->mem_activations_bytes = r->mem_act_grads_bytes = r->mem_workspace_bytes = -1;
    r->rank = -1;
    r->ranks = -1;
    r->finished_unix = NAN;
}

/* A run trained by one rank (rank set, ranks not): ranks 1 on its host. Rows of files
 * before version 3, and rows of a coordinator that does not fill the columns. */
static void one_rank_columns(zoo_results_row *r)
{
    if (r->rank >= 0 && r->ranks < 1) {
        r->ranks = 1;
        copy_str(r->hosts, sizeof r->hosts, r->host);
    }
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
    copy_str(r->task, sizeof r->task, s->task);
    /* sorted by name, as the spec's text form has them (the order they were set in is not kept) */
    int order[ZOO_MAX_KNOBS], nk = s->n_task_knobs < 0 ? 0 : s->n_task_knobs > ZOO_MAX_KNOBS ? ZOO_MAX_KNOBS : s->n_task_knobs;
    for (int i = 0; i < nk; i++) {
        int j = i;
        for (; j > 0 && strcmp(s->task_knobs[order[j - 1]].name, s->task_knobs[i].name) > 0; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    size_t kt = 0;
    for (int i = 0; i < nk && kt < sizeof r->task_knobs; i++)
        kt += (size_t)snprintf(r->task_knobs + kt, sizeof r->task_knobs - kt, "%s%s=%s", i ? " " : "",
                               s->task_knobs[order[i]].name, s->task_knobs[order[i]].value);
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
    r->train_examples = zoo_run_spec_examples(s, ZOO_SPLIT_TRAIN); /* with segments, all of theirs */
    r->lr = s->lr;
    r->seed = s->seed;
    r->data_seed = s->data_seed;
    r->epochs = s->epochs;
    row_defaults(r);
    r->flops_per_step = zoo_run_spec_flops_per_step(s);
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

/* One slicing of the test set (its segments, or its tags): the last evaluation's
 * accuracy, loss and supervised positions per slice as <what>_test_acc/_loss/_count,
 * and the slices' names, "; " between them, as the group's attribute `names_attr`. */
static int slice_figures(hid_t g, const char *path, const char *gname, const char *what, int n, const double *acc,
                         const double *loss, const int64_t *count, const char *names_attr, const char *names)
{
    if (n <= 0)
        return 0;
    float a[ZOO_MAX_TAGS > ZOO_MAX_SEGMENTS ? ZOO_MAX_TAGS : ZOO_MAX_SEGMENTS], l[sizeof a / sizeof a[0]],
        c[sizeof a / sizeof a[0]]; /* counts below 2^24 are exact */
    for (int i = 0; i < n; i++)
        a[i] = (float)acc[i], l[i] = (float)loss[i], c[i] = (float)count[i];
    char dn[3][64], desc[3][200];
    snprintf(dn[0], sizeof dn[0], "%s_test_acc", what);
    snprintf(dn[1], sizeof dn[1], "%s_test_loss", what);
    snprintf(dn[2], sizeof dn[2], "%s_test_count", what);
    snprintf(desc[0], sizeof desc[0], "test accuracy of each test %s after the last epoch (0..1; names: the group's %s)",
             what, names_attr);
    snprintf(desc[1], sizeof desc[1], "test loss of each test %s after the last epoch (nats)", what);
    snprintf(desc[2], sizeof desc[2], "supervised test positions of each test %s", what);
    int rc = curve(g, path, gname, dn[0], a, n, desc[0]);
    if (!rc)
        rc = curve(g, path, gname, dn[1], l, n, desc[1]);
    if (!rc)
        rc = curve(g, path, gname, dn[2], c, n, desc[2]);
    if (!rc)
        rc = zoo_h5_put_fixed_str(g, path, names_attr, names);
    return rc;
}

/* A run with test segments or a tagged task: the figures per test segment (the spec's
 * test segments, in order) and per tag. Other runs write nothing here. */
static int segment_figures(hid_t g, const char *path, const char *gname, const zoo_run_spec *spec,
                           const zoo_run_result *r)
{
    int ns = r->n_segments > 0 && r->n_segments <= ZOO_MAX_SEGMENTS ? r->n_segments : 0;
    int nt = r->n_tags > 0 && r->n_tags <= ZOO_MAX_TAGS ? r->n_tags : 0;
    char names[ZOO_MAX_SEGMENTS * 160] = "";
    size_t k = 0;
    for (int i = 0, t = 0; spec && i < spec->n_segments && k < sizeof names; i++) {
        if (spec->segments[i].split != ZOO_SPLIT_TEST)
            continue;
        char one[1024];
        zoo_segment_format(&spec->segments[i], one, sizeof one);
        k += (size_t)snprintf(names + k, sizeof names - k, "%s%s", t++ ? "; " : "", one);
    }
    int rc = slice_figures(g, path, gname, "segment", spec ? ns : 0, r->segment_test_acc, r->segment_test_loss,
                           r->segment_test_count, "test_segments", names);
    k = 0;
    names[0] = 0;
    for (int i = 0; i < nt && k < sizeof names; i++)
        k += (size_t)snprintf(names + k, sizeof names - k, "%s%s", i ? "; " : "", r->tag_names[i]);
    if (!rc)
        rc = slice_figures(g, path, gname, "tag", nt, r->tag_test_acc, r->tag_test_loss, r->tag_test_count,
                           "test_tags", names);
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
    /* `ranks` is already the spec's (1, N or auto): the count used is ranks_used. */
    STEP(rc, zoo_h5_put_i64(g, path, "ranks_used", row->ranks));
    STEP(rc, zoo_h5_put_fixed_str(g, path, "hosts", row->hosts));
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
        STEP(rc, segment_figures(g, path, name, u->spec, r));
    }
    H5Gclose(g);
    return rc;
}

/* ---- the journal ------------------------------------------------------------------------ */

/* A test hook: ZOO_RESULTS_TEST_KILL=POINT:N raises SIGKILL the Nth time this process
 * reaches POINT: "commit" (a journal file just renamed into place), "fold" (a new main
 * file complete and locked, not yet renamed), "folded" (renamed, journal not yet
 * deleted), "cleaning" (the first folded journal file deleted). tests/sweep kills the
 * writer exactly at these boundaries. Unset, it costs a getenv per commit. */
static void kill_point(const char *point)
{
    static long reached;
    const char *spec = getenv("ZOO_RESULTS_TEST_KILL");
    size_t k = strlen(point);
    if (!spec || strncmp(spec, point, k) || spec[k] != ':')
        return;
    if (++reached >= atol(spec + k + 1))
        raise(SIGKILL);
}

void zoo_results_journal_dir(const char *path, char *out, size_t n) { snprintf(out, n, "%s.d", path); }

/* The sequence number of a journal file's name "commit-<seq>.h5"; -1 for any other name
 * (temporaries "commit-<seq>.h5.tmp.<pid>" included). */
static int64_t side_seq(const char *name)
{
    if (strncmp(name, "commit-", 7) || name[7] < '0' || name[7] > '9')
        return -1;
    char *end;
    long long s = strtoll(name + 7, &end, 10);
    return strcmp(end, ".h5") || s <= 0 ? -1 : (int64_t)s;
}

static int by_seq(const void *a, const void *b)
{
    int64_t x = ((const side *)a)->seq, y = ((const side *)b)->seq;
    return (x > y) - (x < y);
}

static void free_sides(side *s, int n)
{
    for (int i = 0; i < n; i++)
        free(s[i].path);
    free(s);
}

/* Room for one more journal file in r->sides. */
static int grow_sides(zoo_results *r)
{
    if (r->n_sides < r->cap_sides)
        return 0;
    int nc = r->cap_sides ? 2 * r->cap_sides : 16;
    side *ns = realloc(r->sides, (size_t)nc * sizeof *ns);
    if (!ns)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory for the results journal");
    r->sides = ns;
    r->cap_sides = nc;
    return 0;
}

/* The journal files of `path` with a sequence above `after`, in order, into r->sides. */
static int list_journal(zoo_results *r, int64_t after)
{
    char jdir[4200];
    zoo_results_journal_dir(r->path, jdir, sizeof jdir);
    DIR *d = opendir(jdir);
    if (!d)
        return errno == ENOENT ? 0 : ZOO_FAIL(ZOO_ERR_IO, "%s: cannot list the results journal: %s", jdir, strerror(errno));
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        int64_t seq = side_seq(e->d_name);
        if (seq <= after)
            continue;
        char full[4500];
        snprintf(full, sizeof full, "%s/%s", jdir, e->d_name);
        struct stat st;
        if (stat(full, &st))
            continue; /* folded and deleted since it was listed */
        if ((rc = grow_sides(r)))
            break;
        side *s = &r->sides[r->n_sides];
        if (!(s->path = strdup(full))) {
            rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
            break;
        }
        s->seq = seq;
        s->bytes = (int64_t)st.st_size;
        r->n_sides++;
    }
    closedir(d);
    if (!rc && r->n_sides > 1)
        qsort(r->sides, (size_t)r->n_sides, sizeof *r->sides, by_seq);
    return rc;
}

/* The highest sequence of any journal file of `path` (0 when none). */
static int64_t journal_last(const char *path)
{
    char jdir[4200];
    zoo_results_journal_dir(path, jdir, sizeof jdir);
    DIR *d = opendir(jdir);
    int64_t last = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int64_t s = side_seq(e->d_name);
        if (s > last)
            last = s;
    }
    if (d)
        closedir(d);
    return last;
}

/* Delete the journal files folded into the main file (sequence <= upto), and with
 * `rmdir_too` the folder when nothing else is left in it. What a kill leaves here is
 * skipped by readers (below the main file's journal_folded) and deleted by the next fold. */
static void drop_journal(const char *path, int64_t upto, int rmdir_too)
{
    char jdir[4200];
    zoo_results_journal_dir(path, jdir, sizeof jdir);
    DIR *d = opendir(jdir);
    if (!d)
        return;
    int first = 1;
    struct dirent *e;
    while ((e = readdir(d))) {
        int64_t s = side_seq(e->d_name);
        if (s < 0 || s > upto)
            continue;
        char full[4500];
        snprintf(full, sizeof full, "%s/%s", jdir, e->d_name);
        if (!unlink(full) && first) {
            first = 0;
            kill_point("cleaning");
        }
    }
    closedir(d);
    if (rmdir_too)
        rmdir(jdir);
}

/* Durably put the closed file `tmp` at `path`, locking it first, so the writer's lock
 * passes to the new file with no gap: *lock_fd then holds the new file's lock and the
 * old descriptor (the replaced file's) is closed. */
static int publish_locked(const char *tmp, const char *path, int *lock_fd)
{
    int fd = open(tmp, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        unlink(tmp);
        return ZOO_FAIL(ZOO_ERR_IO, "%s: cannot open the new results file to lock it: %s", tmp, strerror(e));
    }
    int held = zoo_results_lock_fd(fd);
    if (held) {
        close(fd);
        unlink(tmp);
        return ZOO_FAIL(ZOO_ERR_IO, "%s: cannot lock the new results file: %s", tmp,
                        held > 0 ? "another process holds it" : strerror(-held));
    }
    kill_point("fold");
    int rc = zoo_h5_publish(tmp, path);
    if (rc) {
        close(fd);
        return rc;
    }
    if (*lock_fd >= 0)
        close(*lock_fd);
    *lock_fd = fd;
    kill_point("folded");
    return 0;
}

/* ---- reading -------------------------------------------------------------------------- */

/* Append "what" to the list of missing items in buf. */
static void add_missing(char *buf, size_t n, int *count, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void add_missing(char *buf, size_t n, int *count, const char *fmt, ...)
{
    size_t k = strlen(buf);
    if (k + 8 >= n)
        return;
    if ((*count)++)
        k += (size_t)snprintf(buf + k, n - k, ", ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + k, n - k, fmt, ap);
    va_end(ap);
}

/* A table `name` whose compound type has every member of `want`, each of its class. */
static void check_table(hid_t f, const char *name, hid_t want, char *miss, size_t n, int *count)
{
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0) {
        add_missing(miss, n, count, "%s", name);
        return;
    }
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT), t = d < 0 ? H5I_INVALID_HID : H5Dget_type(d);
    if (t < 0 || H5Tget_class(t) != H5T_COMPOUND) {
        add_missing(miss, n, count, "%s (not a table)", name);
    } else {
        int nm = H5Tget_nmembers(want);
        for (int i = 0; i < nm; i++) {
            char *m = H5Tget_member_name(want, (unsigned)i);
            int at = m ? H5Tget_member_index(t, m) : -1;
            if (at < 0)
                add_missing(miss, n, count, "%s column '%s'", name, m ? m : "?");
            else if (H5Tget_member_class(t, (unsigned)at) != H5Tget_member_class(want, (unsigned)i))
                add_missing(miss, n, count, "%s column '%s' of its type", name, m);
            if (m)
                H5free_memory(m);
        }
    }
    if (t >= 0)
        H5Tclose(t);
    if (d >= 0)
        H5Dclose(d);
}

/* Everything schema version `ver` promises, checked before anything is read; one
 * message names all that is missing, so a damaged file is never resumed or merged as
 * if its gaps were data. */
static int check_layout(hid_t f, const char *path, int64_t ver)
{
    static const char *const attrs[] = {"zoo_version", "git_rev", "sweep_name", "sweep_path", "created", "updated"};
    char miss[700] = "";
    int count = 0;
    for (size_t i = 0; i < sizeof attrs / sizeof *attrs; i++)
        if (H5Aexists(f, attrs[i]) <= 0)
            add_missing(miss, sizeof miss, &count, "root attribute '%s'", attrs[i]);
    hid_t rt = row_type_v(ver), st = session_type();
    check_table(f, "/summary", rt, miss, sizeof miss, &count);
    check_table(f, "/sessions", st, miss, sizeof miss, &count);
    H5Tclose(rt), H5Tclose(st);
    hid_t d = H5Lexists(f, "/sweep_texts", H5P_DEFAULT) > 0 ? H5Dopen2(f, "/sweep_texts", H5P_DEFAULT) : H5I_INVALID_HID;
    if (d < 0)
        add_missing(miss, sizeof miss, &count, "/sweep_texts");
    else
        H5Dclose(d);
    hid_t g = H5Lexists(f, "/runs", H5P_DEFAULT) > 0 ? H5Gopen2(f, "/runs", H5P_DEFAULT) : H5I_INVALID_HID;
    if (g < 0)
        add_missing(miss, sizeof miss, &count, "the /runs group");
    else
        H5Gclose(g);
    H5Eclear2(H5E_DEFAULT);
    if (!count)
        return 0;
    return ZOO_FAIL(ZOO_ERR_INVALID,
                    "%s is not a complete zoo sweep results file (schema version %lld): it lacks %s; it was damaged or "
                    "not written by zoo, so it is neither resumed nor merged; give another -o path",
                    path, (long long)ver, miss);
}

/* n rows of table `d` in the layout of schema `ver` into rows[] (defaults first, so
 * a column the file lacks reads as missing, not as 0). */
static int read_rows(hid_t d, const char *path, int64_t ver, zoo_results_row *rows, hsize_t n)
{
    for (hsize_t i = 0; i < n; i++) {
        memset(&rows[i], 0, sizeof rows[i]);
        row_defaults(&rows[i]);
    }
    hid_t rt = row_type_v(ver); /* an older file lacks the newer columns: they stay as set */
    int rc = n && H5Dread(d, rt, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0 ? ZOO_H5_FAIL(path, "reading /summary") : 0;
    H5Tclose(rt);
    for (hsize_t i = 0; i < n; i++) {
        zoo_results_row *x = &rows[i];
        x->hash[16] = x->status[15] = x->host[63] = x->message[255] = 0;
        x->mixer[sizeof x->mixer - 1] = x->family[sizeof x->family - 1] = 0;
        x->layer_mixers[sizeof x->layer_mixers - 1] = 0;
        x->backend[sizeof x->backend - 1] = x->device[sizeof x->device - 1] = 0;
        x->hosts[sizeof x->hosts - 1] = 0;
        x->task[sizeof x->task - 1] = x->task_knobs[sizeof x->task_knobs - 1] = 0;
        if (ver < 3)
            one_rank_columns(x);
        if (ver < 4) /* before tasks were plugins every run was MQAR, its knobs run fields */
            copy_str(x->task, sizeof x->task, "mqar");
    }
    return rc;
}

/* The last entry of /sweep_texts (malloc'd; NULL when the table is empty or not of
 * variable-length strings). */
static int last_text(hid_t f, const char *path, char **out)
{
    *out = NULL;
    hid_t d = H5Dopen2(f, "/sweep_texts", H5P_DEFAULT), ft = d < 0 ? H5I_INVALID_HID : H5Dget_type(d);
    hid_t fs = d < 0 ? H5I_INVALID_HID : H5Dget_space(d), ms = H5I_INVALID_HID, mt = H5I_INVALID_HID;
    hsize_t n = 0, one = 1;
    int rc = 0;
    if (d < 0 || ft < 0 || fs < 0 || zoo_h5_len1(fs, &n) < 0) {
        rc = ZOO_H5_FAIL(path, "reading /sweep_texts");
    } else if (n && H5Tis_variable_str(ft) > 0) {
        hsize_t last = n - 1;
        char *s = NULL;
        mt = H5Tcopy(H5T_C_S1);
        ms = H5Screate_simple(1, &one, NULL);
        /* The memory type takes the file's character set: HDF5 does not convert them. */
        if (H5Tset_size(mt, H5T_VARIABLE) < 0 || H5Tset_cset(mt, H5Tget_cset(ft)) < 0 ||
            H5Sselect_hyperslab(fs, H5S_SELECT_SET, &last, NULL, &one, NULL) < 0 ||
            H5Dread(d, mt, ms, fs, H5P_DEFAULT, &s) < 0)
            rc = ZOO_H5_FAIL(path, "reading /sweep_texts");
        else if (!(*out = strdup(s ? s : "")))
            rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory for the sweep text");
        if (s)
            H5free_memory(s);
    }
    if (ms >= 0)
        H5Sclose(ms);
    if (mt >= 0)
        H5Tclose(mt);
    if (fs >= 0)
        H5Sclose(fs);
    if (ft >= 0)
        H5Tclose(ft);
    if (d >= 0)
        H5Dclose(d);
    return rc;
}

/* The version 2 columns of a version 1 row: before `backend: auto` every run that
 * trained did so on its spec's backend (its group's `backend` attribute); tf32 did not
 * exist (0); the device was not recorded (""). */
static void v1_columns(hid_t f, const char *path, zoo_results_row *x)
{
    x->tf32 = 0;
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

/* Make room for n rows (keeping the first r->n), then copy `rows` in unless NULL. New
 * rows' run groups are in the main file. */
static int set_rows(zoo_results *r, const zoo_results_row *rows, int64_t n)
{
    if (n > r->cap) {
        zoo_results_row *nr = realloc(r->rows, (size_t)n * sizeof *nr);
        if (nr)
            r->rows = nr;
        int32_t *ns = nr ? realloc(r->src, (size_t)n * sizeof *ns) : NULL;
        if (!nr || !ns)
            return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory for %lld result rows", (long long)n);
        r->src = ns;
        r->cap = n;
    }
    for (int64_t i = r->n; i < n; i++)
        r->src[i] = -1;
    if (rows && n > 0) /* an empty slice has no rows, and may pass NULL */
        memcpy(r->rows, rows, (size_t)n * sizeof *rows);
    r->n = n;
    return 0;
}

static void mark_dirty(zoo_results *r, int64_t id)
{
    if (r->dirty_hi <= r->dirty_lo) {
        r->dirty_lo = id;
        r->dirty_hi = id + 1;
    } else {
        r->dirty_lo = id < r->dirty_lo ? id : r->dirty_lo;
        r->dirty_hi = id + 1 > r->dirty_hi ? id + 1 : r->dirty_hi;
    }
}

/* The main file: layout checked, rows, sweep text, journal mark. */
static int read_main(zoo_results *r)
{
    const char *path = r->path;
    if (H5Fis_hdf5(path) <= 0)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s is not an HDF5 file; give another -o path (or move it away)", path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return ZOO_H5_FAIL(path, "opening the results file");
    int rc = 0;
    char *schema = NULL;
    int64_t ver = 0;
    hid_t d = H5I_INVALID_HID;
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
    if ((rc = check_layout(f, path, ver)))
        goto done;
    /* The text is the last of /sweep_texts; files that have none keep it in the attribute. */
    if ((rc = last_text(f, path, &r->sweep_text)))
        goto done;
    if (!r->sweep_text && (rc = zoo_h5_get_str(f, path, "sweep_text", &r->sweep_text)) < 0)
        goto done;
    rc = 0;
    if (!r->sweep_text && !(r->sweep_text = strdup(""))) {
        rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = zoo_h5_get_i64(f, path, "journal_folded", &r->folded)) < 0)
        goto done;
    rc = 0;
    d = H5Dopen2(f, "/summary", H5P_DEFAULT);
    if (d < 0) {
        rc = ZOO_H5_FAIL(path, "opening /summary");
        goto done;
    }
    hid_t fs = H5Dget_space(d);
    hsize_t n = 0;
    /* One dimension only: a rank-2 table would write two sizes into n and be read
     * into a buffer sized for its first. */
    int rank = fs < 0 ? -1 : H5Sget_simple_extent_ndims(fs);
    int bad = zoo_h5_len1(fs, &n) < 0;
    if (fs >= 0)
        H5Sclose(fs);
    if (bad) {
        rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s: /summary has %d dimensions, not 1 (one row per run); the file is damaged",
                      path, rank);
        goto done;
    }
    if ((rc = set_rows(r, NULL, (int64_t)n)) || (rc = read_rows(d, path, ver, r->rows, n)))
        goto done;
    r->version = ver;
    for (int64_t i = 0; i < r->n; i++) {
        zoo_results_row *x = &r->rows[i];
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
    if (d >= 0)
        H5Dclose(d);
    H5Fclose(f);
    return rc;
}

/* Lay journal file k over the rows: 0, 1 when it has gone (folded meanwhile: read
 * again), or the error. */
static int read_side(zoo_results *r, int k)
{
    const char *sp = r->sides[k].path;
    if (access(sp, F_OK))
        return 1;
    hid_t f = H5Fopen(sp, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        if (access(sp, F_OK))
            return 1;
        int rc = ZOO_H5_FAIL(sp, "opening a journal file of the results");
        zoo_error_prefix("%s: a complete journal file cannot be read (damaged after zoo wrote it?); move it away to "
                         "open %s without its runs: ",
                         sp, r->path);
        return rc == ZOO_ERR_HDF5 ? ZOO_ERR_INVALID : rc;
    }
    char *schema = NULL;
    int64_t ver = 0;
    hid_t d = H5I_INVALID_HID;
    zoo_results_row *rows = NULL;
    int rc = 0;
    if (zoo_h5_get_str(f, sp, "schema", &schema) <= 0 || strcmp(schema, JOURNAL_SCHEMA) ||
        zoo_h5_get_i64(f, sp, "schema_version", &ver) <= 0 || ver < 2 || ver > ZOO_RESULTS_SCHEMA_VERSION ||
        (d = H5Dopen2(f, "/summary", H5P_DEFAULT)) < 0) {
        rc = ZOO_FAIL(ZOO_ERR_INVALID,
                      "%s is not a journal file of %s this zoo can read (schema '%s' version %lld); move it away to "
                      "open the results without it",
                      sp, r->path, schema ? schema : "none", (long long)ver);
        goto done;
    }
    hid_t fs = H5Dget_space(d);
    hsize_t n = 0;
    int bad = zoo_h5_len1(fs, &n) < 0;
    if (fs >= 0)
        H5Sclose(fs);
    if (bad) {
        rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s: /summary is not a table of one dimension; the journal file is damaged: "
                      "move it away", sp);
        goto done;
    }
    rows = calloc(n ? n : 1, sizeof *rows);
    if (!rows) {
        rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = read_rows(d, sp, ver, rows, n)))
        goto done;
    for (hsize_t i = 0; i < n; i++) {
        int64_t id = rows[i].id;
        if (id < 0 || id >= r->n) {
            rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s: row id %lld, but %s has %lld rows; the journal does not belong to it",
                          sp, (long long)id, r->path, (long long)r->n);
            goto done;
        }
        r->rows[id] = rows[i];
        char name[64];
        snprintf(name, sizeof name, "/runs/%06lld", (long long)id);
        if (H5Lexists(f, "/runs", H5P_DEFAULT) > 0 && H5Lexists(f, name, H5P_DEFAULT) > 0)
            r->src[id] = k;
        mark_dirty(r, id);
    }
done:
    free(rows);
    free(schema);
    if (d >= 0)
        H5Dclose(d);
    H5Fclose(f);
    return rc;
}

static zoo_results *alloc_results(const char *path)
{
    zoo_results *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->path = strdup(path);
    r->session_index = -1;
    r->lock_fd = -1;
    r->copy_f = H5I_INVALID_HID;
    r->copy_from = -2;
    r->next_seq = 1;
    if (!r->path) {
        free(r);
        return NULL;
    }
    return r;
}

int zoo_results_open(const char *path, zoo_results **out)
{
    *out = NULL;
    zoo_h5_quiet();
    /* A writer may fold meanwhile (new main file, journal files deleted): read the main
     * file, then the journal; if a listed journal file went, or the path now names
     * another file, read again. */
    for (int attempt = 0; attempt < 100; attempt++) {
        struct stat a, b;
        if (stat(path, &a))
            return ZOO_FAIL(ZOO_ERR_IO, "%s: no such file", path);
        zoo_results *r = alloc_results(path);
        if (!r)
            return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
        int rc = read_main(r), moved = 0;
        if (!rc)
            rc = list_journal(r, r->folded);
        for (int k = 0; !rc && !moved && k < r->n_sides; k++) {
            int v = read_side(r, k);
            moved = v == 1;
            rc = v == 1 ? 0 : v;
        }
        if (!rc && !moved)
            moved = stat(path, &b) || a.st_dev != b.st_dev || a.st_ino != b.st_ino;
        if (rc || !moved) {
            if (rc) {
                zoo_results_close(r);
                return rc;
            }
            r->main_bytes = (int64_t)a.st_size;
            r->next_seq = r->folded + 1;
            for (int k = 0; k < r->n_sides; k++) {
                r->side_bytes += r->sides[k].bytes;
                if (r->sides[k].seq >= r->next_seq)
                    r->next_seq = r->sides[k].seq + 1;
            }
            *out = r;
            return 0;
        }
        zoo_results_close(r);
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    return ZOO_FAIL(ZOO_ERR_IO, "%s: the results file kept changing while it was read; try again", path);
}

/* ---- writing ----------------------------------------------------------------------------- */

/* A file of an older schema, in the copy `f`: /summary rewritten with today's row (the
 * rows as read, new columns filled by zoo_results_open), and the version raised. */
static int upgrade(zoo_results *r, hid_t f, const char *tmp)
{
    if (r->version >= ZOO_RESULTS_SCHEMA_VERSION)
        return 0;
    int rc = 0;
    if (H5Ldelete(f, "/summary", H5P_DEFAULT) < 0)
        rc = obj_fail(tmp, "replacing", "/summary");
    hid_t rt = row_type();
    STEP(rc, write_table(f, tmp, "/summary", rt, r->rows, (hsize_t)r->n, 64));
    H5Tclose(rt);
    STEP(rc, zoo_h5_put_i64(f, tmp, "schema_version", ZOO_RESULTS_SCHEMA_VERSION));
    if (rc)
        zoo_error_prefix("upgrading results schema version %lld to %d: ", (long long)r->version,
                         ZOO_RESULTS_SCHEMA_VERSION);
    return rc;
}

static int write_session(zoo_results *r, hid_t f, const char *path, int create)
{
    hid_t st = session_type();
    int rc = create ? write_table(f, path, "/sessions", st, &r->session, 1, 16)
                    : write_rows(f, path, "/sessions", st, &r->session, (hsize_t)r->session_index, 1);
    H5Tclose(st);
    return rc;
}

/* The root attribute sweep_text: the text when it fits an attribute, else a note. */
static int put_sweep_text(hid_t f, const char *path, const char *text)
{
    size_t len = strlen(text);
    if (len <= TEXT_ATTR_MAX)
        return zoo_h5_put_fixed_str(f, path, "sweep_text", text);
    char note[160];
    snprintf(note, sizeof note, "(%zu bytes, too long for an attribute: the text is the last entry of /sweep_texts)",
             len);
    return zoo_h5_put_fixed_str(f, path, "sweep_text", note);
}

/* Run groups are copied by plain reads and writes, not H5Ocopy: HDF5 1.10.8's H5Ocopy
 * crashes (SIGSEGV) when a write fails during the copy (a full disk), and copying into an
 * in-memory file instead would hold the whole main file in memory at every fold. The
 * types, shapes, creation properties and values are the source's, so the copy holds
 * exactly what the source did. */
typedef struct tree_copy {
    hid_t to, attr_to;     /* the group members go to; the object attributes go to */
    const char *src, *dst; /* file names, for messages */
    char where[256];       /* the object being copied */
    int rc;
} tree_copy;

/* Buffer of n elements of type t read by `get`, handed to `put`; variable-length parts freed. */
static int move_data(hid_t t, hid_t sp, int (*get)(hid_t, hid_t, void *), int (*put)(hid_t, hid_t, void *),
                     hid_t from, hid_t to, tree_copy *c)
{
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    size_t size = H5Tget_size(t);
    if (n < 0 || !size)
        return obj_fail(c->src, "reading", c->where);
    if (!n)
        return 0;
    void *buf = calloc((size_t)n, size);
    if (!buf)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory copying %s of %s", c->where, c->src);
    int rc = 0;
    if (get(from, t, buf) < 0)
        rc = obj_fail(c->src, "reading", c->where);
    else if (put(to, t, buf) < 0)
        rc = obj_fail(c->dst, "writing", c->where);
    if (H5Tdetect_class(t, H5T_VLEN) > 0 || H5Tdetect_class(t, H5T_STRING) > 0)
        H5Dvlen_reclaim(t, sp, H5P_DEFAULT, buf);
    free(buf);
    return rc;
}

static int attr_get(hid_t a, hid_t t, void *buf) { return H5Aread(a, t, buf); }
static int attr_put(hid_t a, hid_t t, void *buf) { return H5Awrite(a, t, buf); }
static int dset_get(hid_t d, hid_t t, void *buf) { return H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf); }
static int dset_put(hid_t d, hid_t t, void *buf) { return H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf); }

static herr_t copy_attr(hid_t obj, const char *name, const H5A_info_t *info, void *ud)
{
    (void)info;
    tree_copy *c = ud;
    size_t k = strlen(c->where);
    snprintf(c->where + k, sizeof c->where - k, " attribute '%s'", name);
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t = a < 0 ? -1 : H5Aget_type(a), sp = a < 0 ? -1 : H5Aget_space(a);
    hid_t b = H5I_INVALID_HID;
    if (a < 0 || t < 0 || sp < 0)
        c->rc = obj_fail(c->src, "reading", c->where);
    else if ((b = H5Acreate2(c->attr_to, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        c->rc = obj_fail(c->dst, "writing", c->where);
    else
        c->rc = move_data(t, sp, attr_get, attr_put, a, b, c);
    if (b >= 0)
        H5Aclose(b);
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    c->where[k] = 0;
    return c->rc ? -1 : 0;
}

static int copy_attrs(hid_t from, hid_t to, tree_copy *c)
{
    c->attr_to = to;
    if (H5Aiterate2(from, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, copy_attr, c) < 0 && !c->rc)
        c->rc = obj_fail(c->src, "reading the attributes of", c->where);
    return c->rc;
}

static herr_t copy_link(hid_t g, const char *name, const H5L_info_t *info, void *ud);

/* Object `name` of `from` (a group or a dataset) to `to_name` in `to`, with its
 * attributes and, for a group, everything in it. */
static int copy_tree(hid_t from, const char *name, hid_t to, const char *to_name, tree_copy *c)
{
    size_t k = strlen(c->where);
    snprintf(c->where + k, sizeof c->where - k, "%s%s", k ? "/" : "", name);
    hid_t o = H5Oopen(from, name, H5P_DEFAULT), n = H5I_INVALID_HID, cpl = H5I_INVALID_HID;
    hid_t t = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    H5I_type_t kind = o < 0 ? H5I_BADID : H5Iget_type(o);
    if (kind == H5I_GROUP) {
        if ((cpl = H5Gget_create_plist(o)) < 0)
            c->rc = obj_fail(c->src, "reading", c->where);
        else if ((n = H5Gcreate2(to, to_name, H5P_DEFAULT, cpl, H5P_DEFAULT)) < 0)
            c->rc = obj_fail(c->dst, "creating", c->where);
        else if (!copy_attrs(o, n, c)) {
            hid_t parent = c->to;
            c->to = n; /* where copy_link puts the group's members */
            if (H5Literate(o, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, copy_link, c) < 0 && !c->rc)
                c->rc = obj_fail(c->src, "reading", c->where);
            c->to = parent;
        }
    } else if (kind == H5I_DATASET) {
        if ((cpl = H5Dget_create_plist(o)) < 0 || (t = H5Dget_type(o)) < 0 || (sp = H5Dget_space(o)) < 0)
            c->rc = obj_fail(c->src, "reading", c->where);
        else if ((n = H5Dcreate2(to, to_name, t, sp, H5P_DEFAULT, cpl, H5P_DEFAULT)) < 0)
            c->rc = obj_fail(c->dst, "creating", c->where);
        else if (!(c->rc = move_data(t, sp, dset_get, dset_put, o, n, c)))
            copy_attrs(o, n, c);
    } else {
        c->rc = o < 0 ? obj_fail(c->src, "opening", c->where)
                      : ZOO_FAIL(ZOO_ERR_INVALID, "%s: %s is neither a group nor a dataset; zoo does not write such "
                                                  "objects in run groups",
                                 c->src, c->where);
    }
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    if (cpl >= 0)
        H5Pclose(cpl);
    if (n >= 0)
        H5Oclose(n);
    if (o >= 0)
        H5Oclose(o);
    c->where[k] = 0;
    return c->rc;
}

static herr_t copy_link(hid_t g, const char *name, const H5L_info_t *info, void *ud)
{
    tree_copy *c = ud;
    if (info->type != H5L_TYPE_HARD) {
        c->rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s: %s/%s is a link, not an object; zoo does not write links in run groups",
                         c->src, c->where, name);
        return -1;
    }
    return copy_tree(g, name, c->to, name, c) ? -1 : 0;
}

int zoo_results_copy_run(zoo_results *r, int64_t id, hid_t dst, const char *dst_name)
{
    if (id < 0 || id >= r->n)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: no run %lld", r->path, (long long)id);
    int from = r->src[id];
    const char *fp = from >= 0 ? r->sides[from].path : r->path;
    if (r->copy_from != from) {
        if (r->copy_f >= 0)
            H5Fclose(r->copy_f);
        r->copy_from = -2;
        if ((r->copy_f = H5Fopen(fp, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
            return ZOO_H5_FAIL(fp, "opening the results file to copy a run group");
        r->copy_from = from;
    }
    char name[64];
    snprintf(name, sizeof name, "/runs/%06lld", (long long)id);
    if (H5Lexists(r->copy_f, "/runs", H5P_DEFAULT) <= 0 || H5Lexists(r->copy_f, name, H5P_DEFAULT) <= 0)
        return 0; /* a final row without a group: the row alone says what happened */
    char dp[4200] = "(the new file)";
    if (H5Fget_name(dst, dp, sizeof dp) < 0)
        H5Eclear2(H5E_DEFAULT);
    if (H5Lexists(dst, dst_name, H5P_DEFAULT) > 0 && H5Ldelete(dst, dst_name, H5P_DEFAULT) < 0)
        return obj_fail(dp, "replacing", dst_name);
    tree_copy c = {dst, dst, fp, dp, "", 0};
    if (copy_tree(r->copy_f, name, dst, dst_name, &c)) {
        zoo_error_prefix("copying run group %s of %s: ", name, fp);
        return c.rc;
    }
    return 1;
}

static void close_copy(zoo_results *r)
{
    if (r->copy_f >= 0)
        H5Fclose(r->copy_f);
    r->copy_f = H5I_INVALID_HID;
    r->copy_from = -2;
}

/* Write the batch u[0..n) to journal file `seq`: rows and run groups as the main file
 * has them, under a temporary name, fsynced, renamed. Its path and size to *s. */
static int write_side(zoo_results *r, const zoo_results_update *u, int n, int64_t seq, side *s)
{
    char jdir[4200], sp[4500], tmp[4600];
    zoo_results_journal_dir(r->path, jdir, sizeof jdir);
    int rc = 0;
    if (!mkdir(jdir, 0777)) {
        char *d = strdup(r->path); /* the new folder's entry must survive a crash too */
        rc = d ? zoo_h5_sync(dirname(d), 1) : 0;
        free(d);
    } else if (errno != EEXIST) {
        return ZOO_FAIL(ZOO_ERR_IO, "%s: cannot create the results journal: %s; check the folder is writable", jdir,
                        strerror(errno));
    }
    if (rc)
        return rc;
    snprintf(sp, sizeof sp, "%s/commit-%08lld.h5", jdir, (long long)seq);
    zoo_h5_tmpname(sp, tmp, sizeof tmp);
    zoo_results_row *rows = malloc((size_t)n * sizeof *rows);
    if (!rows)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        rows[i] = *u[i].row;
        one_rank_columns(&rows[i]);
    }
    hid_t fapl = create_fapl();
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (f < 0) /* recorded before H5Pclose clears HDF5's error stack */
        rc = ZOO_H5_FAIL(tmp, "creating a journal file of the results (is the folder writable?)");
    H5Pclose(fapl);
    if (f < 0) {
        free(rows);
        unlink(tmp); /* a create that failed writing may leave part of a file */
        return rc;
    }
    STEP(rc, zoo_h5_put_fixed_str(f, sp, "schema", JOURNAL_SCHEMA));
    STEP(rc, zoo_h5_put_i64(f, sp, "schema_version", ZOO_RESULTS_SCHEMA_VERSION));
    STEP(rc, zoo_h5_put_i64(f, sp, "seq", seq));
    hid_t rt = row_type();
    STEP(rc, write_table(f, sp, "/summary", rt, rows, (hsize_t)n, (hsize_t)n));
    H5Tclose(rt);
    if (!rc) {
        hid_t gcpl = no_times(H5P_GROUP_CREATE);
        hid_t g = H5Gcreate2(f, "/runs", H5P_DEFAULT, gcpl, H5P_DEFAULT);
        if (g < 0)
            rc = obj_fail(sp, "creating", "/runs");
        else
            H5Gclose(g);
        H5Pclose(gcpl);
    }
    for (int i = 0; i < n && !rc; i++)
        if (strcmp(u[i].row->status, ZOO_STATUS_PENDING))
            rc = run_group(f, sp, &(zoo_results_update){&rows[i], u[i].spec, u[i].result});
    free(rows);
    if (rc)
        zoo_h5_abandon(f);
    else
        rc = zoo_h5_close_file(f, tmp);
    struct stat st;
    if (!rc && stat(tmp, &st))
        rc = ZOO_FAIL(ZOO_ERR_IO, "%s: cannot stat: %s", tmp, strerror(errno));
    if (rc) {
        unlink(tmp);
        return rc;
    }
    if ((rc = zoo_h5_publish(tmp, sp)))
        return rc;
    kill_point("commit");
    if (!(s->path = strdup(sp)))
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    s->seq = seq;
    s->bytes = (int64_t)st.st_size;
    return 0;
}

/* What a fold writes besides the journal (a session's start or end), into the copy. */
typedef int (*fold_extra)(zoo_results *r, hid_t f, const char *tmp, void *arg);

/* Fold the journal into the main file: copy it, bring in the newest run group of each
 * row the journal holds and the changed rows, let `extra` add its part, write this
 * session's row, mark the journal folded, publish (the lock moves to the new file);
 * then delete the folded journal files. On failure nothing changes: the journal still
 * holds every committed run. */
static int fold(zoo_results *r, fold_extra extra, void *arg, const char *what)
{
    zoo_h5_quiet();
    char tmp[4200];
    zoo_h5_tmpname(r->path, tmp, sizeof tmp);
    int64_t upto = r->next_seq - 1 > r->folded ? r->next_seq - 1 : r->folded;
    zoo_results_session saved = r->session;
    int64_t saved_index = r->session_index;
    int rc = copy_file(r->path, tmp);
    hid_t f = H5I_INVALID_HID;
    if (!rc) {
        hid_t fapl = create_fapl();
        f = H5Fopen(tmp, H5F_ACC_RDWR, fapl);
        if (f < 0) { /* recorded before H5Pclose clears HDF5's error stack */
            rc = ZOO_H5_FAIL(tmp, "opening the copy of the results file");
            unlink(tmp);
        }
        H5Pclose(fapl);
    }
    if (!rc) {
        rc = upgrade(r, f, tmp);
        for (int64_t id = r->dirty_lo; id < r->dirty_hi && !rc; id++) {
            if (r->src[id] < 0)
                continue;
            char name[64];
            snprintf(name, sizeof name, "/runs/%06lld", (long long)id);
            int c = zoo_results_copy_run(r, id, f, name);
            rc = c < 0 ? c : 0;
        }
        close_copy(r);
        if (!rc && r->dirty_hi > r->dirty_lo) {
            hid_t rt = row_type();
            rc = write_rows(f, tmp, "/summary", rt, r->rows + r->dirty_lo, (hsize_t)r->dirty_lo,
                            (hsize_t)(r->dirty_hi - r->dirty_lo));
            H5Tclose(rt);
        }
        if (!rc && extra)
            rc = extra(r, f, tmp, arg);
        if (!rc && r->session_index >= 0)
            rc = write_session(r, f, tmp, 0);
        char now[32];
        zoo_results_now(now);
        STEP(rc, zoo_h5_put_i64(f, tmp, "journal_folded", upto));
        STEP(rc, zoo_h5_put_fixed_str(f, tmp, "updated", now));
        if (rc)
            zoo_h5_abandon(f);
        else
            rc = zoo_h5_close_file(f, tmp);
        if (rc)
            unlink(tmp);
    }
    if (!rc)
        rc = publish_locked(tmp, r->path, &r->lock_fd);
    if (rc) {
        zoo_error_prefix("%s: ", what);
        r->session = saved;
        r->session_index = saved_index;
        return rc;
    }
    struct stat st;
    r->main_bytes = stat(r->path, &st) ? r->main_bytes : (int64_t)st.st_size;
    r->version = ZOO_RESULTS_SCHEMA_VERSION; /* upgraded, if it was older */
    r->folded = upto;
    drop_journal(r->path, upto, 0);
    free_sides(r->sides, r->n_sides);
    r->sides = NULL;
    r->n_sides = r->cap_sides = 0;
    for (int64_t i = 0; i < r->n; i++)
        r->src[i] = -1;
    r->dirty_lo = r->dirty_hi = 0;
    r->side_bytes = 0;
    r->wrote = 0;
    return 0;
}

/* A commit's fold: the session's `finished` is its time. */
static int touch_session(zoo_results *r, hid_t f, const char *tmp, void *arg)
{
    (void)f, (void)tmp, (void)arg;
    if (r->session_index >= 0)
        zoo_results_now(r->session.finished);
    return 0;
}

/* ---- public ------------------------------------------------------------------------ */

int zoo_results_create(const char *path, const zoo_sweep *sw, const zoo_results_row *rows,
                       const zoo_results_session *session, zoo_results **out)
{
    *out = NULL;
    zoo_h5_quiet();
    /* An empty file is the placeholder zoo_results_lock leaves for a file to be made. */
    struct stat pst;
    if (stat(path, &pst) == 0 && pst.st_size > 0)
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
    /* A journal left by an earlier file of this name (moved or deleted since) must not
     * be laid over the new one. */
    r->folded = journal_last(path);
    r->next_seq = r->folded + 1;
    char tmp[4200];
    zoo_h5_tmpname(path, tmp, sizeof tmp);
    hid_t fapl = create_fapl(), fcpl = H5Pcreate(H5P_FILE_CREATE);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, fapl);
    if (f < 0)
        rc = ZOO_H5_FAIL(tmp, "creating the results file (is the folder writable?)");
    H5Pclose(fapl), H5Pclose(fcpl);
    if (rc) {
        unlink(tmp); /* a create that failed writing may leave part of a file */
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
    STEP(rc, put_sweep_text(f, path, r->sweep_text));
    STEP(rc, zoo_h5_put_fixed_str(f, path, "created", now));
    STEP(rc, zoo_h5_put_fixed_str(f, path, "units", units));
    STEP(rc, zoo_h5_put_i64(f, path, "journal_folded", r->folded));
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
    if (rc)
        zoo_h5_abandon(f);
    else
        rc = zoo_h5_close_file(f, tmp);
    if (!rc)
        rc = publish_locked(tmp, path, &r->lock_fd);
    else
        unlink(tmp);
    if (rc) {
        zoo_results_close(r);
        return rc;
    }
    drop_journal(path, r->folded, 1);
    struct stat st;
    r->main_bytes = stat(path, &st) ? 0 : (int64_t)st.st_size;
    *out = r;
    return 0;
}

void zoo_results_close(zoo_results *r)
{
    if (!r)
        return;
    if (r->wrote && r->n_sides) {
        /* A writer that never reached zoo_results_end: fold what it committed. Should
         * that fail the journal still holds every run (readers lay it over the file),
         * so the caller's own error, if any, is the one kept. */
        zoo_error e = *zoo_error_last();
        if (fold(r, touch_session, NULL, "folding the results journal at close") && e.code)
            zoo_error_set(e.code, e.file, e.line, "%s", e.msg);
    }
    close_copy(r);
    if (r->lock_fd >= 0)
        close(r->lock_fd);
    free_sides(r->sides, r->n_sides);
    free(r->path);
    free(r->rows);
    free(r->src);
    free(r->sweep_text);
    free(r);
}

const zoo_results_row *zoo_results_rows(const zoo_results *r, int64_t *n)
{
    *n = r->n;
    return r->rows;
}

const char *zoo_results_sweep_text(const zoo_results *r) { return r->sweep_text ? r->sweep_text : ""; }

typedef struct begin_arg {
    const zoo_sweep *sw;
    const zoo_results_row *rows;
    int64_t n;
    const zoo_results_session *session;
} begin_arg;

static int begin_extra(zoo_results *r, hid_t f, const char *tmp, void *arg)
{
    const begin_arg *b = arg;
    int rc = 0;
    if (b->n) {
        hid_t rt = row_type();
        rc = write_rows(f, tmp, "/summary", rt, b->rows, (hsize_t)r->n, (hsize_t)b->n);
        H5Tclose(rt);
    }
    /* This session's row goes after the existing ones (fold() writes it). */
    int64_t ns = rc ? 0 : table_len(f, tmp, "/sessions");
    if (ns < 0)
        rc = (int)ns;
    r->session = *b->session;
    r->session_index = ns;
    const char *text = b->sw->text ? b->sw->text : "";
    STEP(rc, append_text(f, tmp, "/sweep_texts", text, 0));
    STEP(rc, put_sweep_text(f, tmp, text));
    STEP(rc, zoo_h5_put_fixed_str(f, tmp, "sweep_name", b->sw->name));
    STEP(rc, zoo_h5_put_fixed_str(f, tmp, "sweep_path", b->sw->path ? b->sw->path : ""));
    return rc;
}

int zoo_results_begin(zoo_results *r, const zoo_sweep *sw, const zoo_results_row *new_rows, int64_t n_new,
                      const zoo_results_session *session)
{
    for (int64_t i = 0; i < n_new; i++)
        if (new_rows[i].id != r->n + i)
            return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_results_begin: new row %lld has id %lld, expected %lld", (long long)i,
                            (long long)new_rows[i].id, (long long)(r->n + i));
    /* Room first: after the fold nothing may fail. */
    int64_t old = r->n;
    int rc = set_rows(r, NULL, old + n_new);
    r->n = old;
    if (rc)
        return rc;
    char *nt = strdup(sw->text ? sw->text : "");
    if (!nt)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    begin_arg b = {sw, new_rows, n_new, session};
    if ((rc = fold(r, begin_extra, &b, "starting a session in the results file"))) {
        free(nt);
        return rc;
    }
    free(r->sweep_text);
    r->sweep_text = nt;
    set_rows(r, NULL, old + n_new); /* fits: no allocation */
    if (n_new > 0)
        memcpy(r->rows + old, new_rows, (size_t)n_new * sizeof *new_rows);
    return 0;
}

/* A fold is due when the journal holds FOLD_RATIO x the main file's bytes, unless the
 * runs still pending (at the mean bytes of a finished run) would end the session before
 * the journal grew to FOLD_RATIO x the folded file: the session's closing fold writes the
 * whole file anyway, so this one would be written for nothing. Without that, a fold just
 * before the end costs nearly one more final file (measured: 3.4x the final file in all
 * instead of 2.5x at 1,000 runs; bench/README.md). */
static int fold_due(const zoo_results *r)
{
    if ((double)r->side_bytes < FOLD_RATIO * (double)r->main_bytes)
        return 0;
    int64_t pending = 0;
    for (int64_t i = 0; i < r->n; i++)
        pending += !strcmp(r->rows[i].status, ZOO_STATUS_PENDING);
    int64_t done = r->n - pending;
    double total = (double)(r->main_bytes + r->side_bytes);
    double left = done > 0 ? (double)pending * total / (double)done : INFINITY;
    return left >= FOLD_RATIO * total;
}

int zoo_results_commit(zoo_results *r, const zoo_results_update *u, int n)
{
    for (int i = 0; i < n; i++)
        if (u[i].row->id < 0 || u[i].row->id >= r->n)
            return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_results_commit: row id %lld outside 0..%lld", (long long)u[i].row->id,
                            (long long)r->n - 1);
    if (n <= 0)
        return 0;
    zoo_h5_quiet();
    int rc = grow_sides(r);
    if (!rc)
        rc = write_side(r, u, n, r->next_seq, &r->sides[r->n_sides]);
    if (rc) {
        zoo_error_prefix("recording finished runs: ");
        return rc;
    }
    int k = r->n_sides++;
    r->next_seq++;
    r->side_bytes += r->sides[k].bytes;
    r->wrote = 1;
    for (int i = 0; i < n; i++) {
        int64_t id = u[i].row->id;
        r->rows[id] = *u[i].row;
        one_rank_columns(&r->rows[id]);
        mark_dirty(r, id);
        if (strcmp(u[i].row->status, ZOO_STATUS_PENDING)) {
            r->src[id] = k;
            r->session.runs_recorded++;
        }
    }
    /* Durable now; the fold only moves the journal into the main file. */
    if (fold_due(r))
        return fold(r, touch_session, NULL, "folding the results journal");
    return 0;
}

static int end_extra(zoo_results *r, hid_t f, const char *tmp, void *arg)
{
    (void)f, (void)tmp;
    r->session.exit_code = *(const int *)arg;
    zoo_results_now(r->session.finished);
    return 0;
}

int zoo_results_end(zoo_results *r, int exit_code)
{
    int rc = r->session_index >= 0 || r->n_sides ? fold(r, end_extra, &exit_code, "closing the session") : 0;
    if (rc)
        return rc;
    /* A finished session leaves one self-contained file: the journal folder goes too
     * (with temporaries of killed writers; this is the only writer). */
    char jdir[4200];
    zoo_results_journal_dir(r->path, jdir, sizeof jdir);
    zoo_results_clean_temps(r->path);
    rmdir(jdir);
    return 0;
}

int zoo_results_replace(const char *tmp, const char *path, int *lock_fd)
{
    zoo_h5_quiet();
    int64_t last = journal_last(path);
    hid_t fapl = create_fapl();
    hid_t f = H5Fopen(tmp, H5F_ACC_RDWR, fapl);
    /* recorded before H5Pclose clears HDF5's error stack */
    int rc = f < 0 ? ZOO_H5_FAIL(tmp, "opening the new results file") : zoo_h5_put_i64(f, tmp, "journal_folded", last);
    H5Pclose(fapl);
    if (rc)
        zoo_h5_abandon(f);
    else
        rc = zoo_h5_close_file(f, tmp);
    if (rc) {
        unlink(tmp);
        return rc;
    }
    if ((rc = publish_locked(tmp, path, lock_fd)))
        return rc;
    drop_journal(path, last, 1);
    return 0;
}

int zoo_results_backup(const char *path, char *backup, size_t n)
{
    for (int i = 0; i < 1000; i++) {
        if (i)
            snprintf(backup, n, "%s.bak.%d", path, i);
        else
            snprintf(backup, n, "%s.bak", path);
        char bj[4300];
        zoo_results_journal_dir(backup, bj, sizeof bj);
        if (access(backup, F_OK) == 0 || access(bj, F_OK) == 0)
            continue;
        if (rename(path, backup))
            return ZOO_FAIL(ZOO_ERR_IO, "cannot move %s to %s: %s", path, backup, strerror(errno));
        /* Its journal (runs not folded yet) goes with it. */
        char jdir[4200];
        zoo_results_journal_dir(path, jdir, sizeof jdir);
        if (rename(jdir, bj) && errno != ENOENT)
            return ZOO_FAIL(ZOO_ERR_IO, "cannot move %s to %s: %s", jdir, bj, strerror(errno));
        return 0;
    }
    return ZOO_FAIL(ZOO_ERR_IO, "%s: 1000 backups exist already; remove some", path);
}

/* Remove the entries of folder `dir` whose name starts with `prefix` and contains
 * `infix` (NULL: any). */
static int remove_matching(const char *dir, const char *prefix, const char *infix)
{
    int removed = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) || (infix && !strstr(e->d_name, infix)))
            continue;
        char full[4600];
        snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
        if (!unlink(full))
            removed++;
    }
    if (d)
        closedir(d);
    return removed;
}

int zoo_results_clean_temps(const char *path)
{
    char *dcopy = strdup(path), *bcopy = strdup(path);
    if (!dcopy || !bcopy) {
        free(dcopy), free(bcopy);
        return 0;
    }
    char prefix[1200], jdir[4200];
    snprintf(prefix, sizeof prefix, "%s.tmp.", basename(bcopy));
    zoo_results_journal_dir(path, jdir, sizeof jdir);
    int removed = remove_matching(dirname(dcopy), prefix, NULL) + remove_matching(jdir, "commit-", ".tmp.");
    free(dcopy), free(bcopy);
    return removed;
}
