/* checkpoint_state.c: a run's training state (zoo_run_snapshot) to and from HDF5, for
 * mid-run checkpoints (layout in zoo/checkpoint.h). Written atomically; read strictly:
 * a file that is not whole, not this layout, not this run's or not self-consistent is
 * refused rather than resumed from. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint_internal.h"
#include "zoo/checkpoint.h"
#include "zoo/error.h"
#include "zoo/h5util.h"

#define GROUP "state"

/* The curves and flat buffers in file order: dataset name, pointer in the snapshot, and
 * whether its length is n_flat, step or epoch. */
enum { LEN_FLAT, LEN_STEP, LEN_EPOCH };
typedef struct array_ref {
    const char *name;
    float **p;
    int len;
} array_ref;

static int arrays(zoo_run_snapshot *s, array_ref *a)
{
    const array_ref t[] = {
        {"params", &s->params, LEN_FLAT},
        {"adam_m", &s->adam_m, LEN_FLAT},
        {"adam_v", &s->adam_v, LEN_FLAT},
        {"step_loss", &s->step_loss, LEN_STEP},
        {"epoch_train_loss", &s->epoch_train_loss, LEN_EPOCH},
        {"epoch_test_loss", &s->epoch_test_loss, LEN_EPOCH},
        {"epoch_test_acc", &s->epoch_test_acc, LEN_EPOCH},
        {"epoch_lr", &s->epoch_lr, LEN_EPOCH},
    };
    memcpy(a, t, sizeof t);
    return (int)(sizeof t / sizeof *t);
}

static int64_t length(const zoo_run_snapshot *s, int len)
{
    return len == LEN_FLAT ? s->n_flat : len == LEN_STEP ? s->step : s->epoch;
}

/* FNV-1a over 64-bit words (then the tail bytes): quick enough to run over every float
 * of a large model on each save and load, and any flipped bit changes it. */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
    }
    for (; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t checksum(zoo_run_snapshot *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    int64_t iv[6] = {(int64_t)s->layout, s->n_flat, s->epoch, s->epoch_step, s->step, s->tokens};
    double dv[4] = {s->epoch_loss_sum, s->best_acc, s->final_acc, s->final_loss};
    h = hash_bytes(h, iv, sizeof iv);
    h = hash_bytes(h, dv, sizeof dv);
    h = hash_bytes(h, &s->epochs_run, sizeof s->epochs_run);
    array_ref a[8];
    int n = arrays(s, a);
    for (int i = 0; i < n; i++)
        if (*a[i].p)
            h = hash_bytes(h, *a[i].p, (size_t)length(s, a[i].len) * sizeof(float));
    return h;
}

/* ---- writing ---------------------------------------------------------------------- */

static int put_floats(hid_t g, const char *path, const char *name, const float *x, int64_t n)
{
    hsize_t dims[1] = {(hsize_t)n};
    hid_t sp = H5Screate_simple(1, dims, NULL), d = H5I_INVALID_HID;
    int rc = 0;
    if (sp < 0 || (d = H5Dcreate2(g, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        (n > 0 && H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) < 0)) {
        char what[200];
        snprintf(what, sizeof what, "writing dataset '" GROUP "/%s'", name);
        rc = ZOO_H5_FAIL(path, what);
    }
    if (d >= 0)
        H5Dclose(d);
    if (sp >= 0)
        H5Sclose(sp);
    return rc;
}

static int put_state(hid_t f, const char *path, const zoo_run_snapshot *cs)
{
    zoo_run_snapshot s = *cs; /* arrays() hands out pointers to members; nothing is written through them */
    hid_t g = H5Gcreate2(f, GROUP, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return ZOO_H5_FAIL(path, "creating the group '" GROUP "'");
    int rc;
    if ((rc = zoo_h5_put_u64(g, path, "layout", s.layout)) || (rc = zoo_h5_put_i64(g, path, "n_flat", s.n_flat)) ||
        (rc = zoo_h5_put_i64(g, path, "epoch", s.epoch)) || (rc = zoo_h5_put_i64(g, path, "epoch_step", s.epoch_step)) ||
        (rc = zoo_h5_put_i64(g, path, "step", s.step)) || (rc = zoo_h5_put_f64(g, path, "epoch_loss_sum", s.epoch_loss_sum)) ||
        (rc = zoo_h5_put_i64(g, path, "tokens", s.tokens)) || (rc = zoo_h5_put_f64(g, path, "train_s", s.train_s)) ||
        (rc = zoo_h5_put_f64(g, path, "wall_s", s.wall_s)) || (rc = zoo_h5_put_i64(g, path, "epochs_run", s.epochs_run)) ||
        (rc = zoo_h5_put_f64(g, path, "best_acc", s.best_acc)) || (rc = zoo_h5_put_f64(g, path, "final_acc", s.final_acc)) ||
        (rc = zoo_h5_put_f64(g, path, "final_loss", s.final_loss)) || (rc = zoo_h5_put_u64(g, path, "checksum", checksum(&s))))
        goto done;
    array_ref a[8];
    int n = arrays(&s, a);
    for (int i = 0; i < n && !rc; i++)
        rc = put_floats(g, path, a[i].name, *a[i].p, length(&s, a[i].len));
done:
    H5Gclose(g);
    return rc;
}

int zoo_checkpoint_save_state(const zoo_run_snapshot *s, const zoo_run_spec *spec, const char *path)
{
    if (!s || !spec || !path || !*path || !s->params || !s->adam_m || !s->adam_v || s->step < 0 || s->epoch < 0 ||
        (s->step && !s->step_loss) ||
        (s->epoch && (!s->epoch_train_loss || !s->epoch_test_loss || !s->epoch_test_acc || !s->epoch_lr)))
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_checkpoint_save_state: a whole snapshot, a spec and a path are required");
    char tmp[4096];
    hid_t f;
    int rc = zoo_ckpt_create(path, tmp, sizeof tmp, &f);
    if (rc)
        return rc;
    if (!(rc = zoo_ckpt_put_spec(f, path, spec, ZOO_STATE_FORMAT, ZOO_STATE_VERSION)))
        rc = put_state(f, path, s);
    return zoo_ckpt_finish(f, path, tmp, rc);
}

/* ---- reading ---------------------------------------------------------------------- */


static int get_floats(hid_t g, const char *path, const char *name, int64_t want, float **out)
{
    *out = NULL;
    if (H5Lexists(g, name, H5P_DEFAULT) <= 0)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: the dataset '" GROUP "/%s' is missing; the checkpoint is damaged", path, name);
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT), sp = d < 0 ? H5I_INVALID_HID : H5Dget_space(d);
    hsize_t n = 0;
    int rc = 0;
    if (d < 0 || sp < 0 || zoo_h5_len1(sp, &n) < 0) {
        rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s: '" GROUP "/%s' is not a 1-D dataset; the checkpoint is damaged", path, name);
    } else if ((int64_t)n != want) {
        rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s: '" GROUP "/%s' has %llu values where its header says %lld; the checkpoint is damaged",
                    path, name, (unsigned long long)n, (long long)want);
    } else if (!(*out = malloc((size_t)(n ? n : 1) * sizeof(float)))) {
        rc = ZOO_FAIL(ZOO_ERR_NOMEM, "%s: out of memory reading '%s' (%llu floats)", path, name, (unsigned long long)n);
    } else if (n && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0) {
        char what[200];
        snprintf(what, sizeof what, "reading '" GROUP "/%s'", name);
        rc = ZOO_H5_FAIL(path, what);
    }
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    return rc;
}

/* One attribute of the state group that must be there. */
static int need(int got, const char *path, const char *name)
{
    if (got < 0)
        return got;
    return got ? 0
               : ZOO_FAIL(ZOO_ERR_INVALID, "%s: the attribute '" GROUP "/%s' is missing; the checkpoint is damaged", path, name);
}

static int get_i64(hid_t g, const char *path, const char *name, int64_t *v)
{
    return need(zoo_h5_get_i64(g, path, name, v), path, name);
}

static int get_f64(hid_t g, const char *path, const char *name, double *v)
{
    return need(zoo_h5_get_f64(g, path, name, v), path, name);
}

/* The root: a training-state file of this layout, for this run. */
static int check_root(hid_t f, const char *path, const zoo_run_spec *spec)
{
    char *s = NULL;
    int rc = zoo_h5_get_str(f, path, "format", &s);
    if (rc < 0)
        return rc;
    if (!s || strcmp(s, ZOO_STATE_FORMAT)) {
        rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s: not a zoo training checkpoint (format '%s', want '" ZOO_STATE_FORMAT "')", path,
                    s ? s : "none");
        free(s);
        return rc;
    }
    free(s);
    int64_t ver = -1;
    if ((rc = zoo_h5_get_i64(f, path, "format_version", &ver)) < 0)
        return rc;
    if (ver != ZOO_STATE_VERSION)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: written in another zoo version's layout (format_version %lld; this zoo reads %d)", path,
                      (long long)ver, ZOO_STATE_VERSION);
    char want[17];
    zoo_run_spec_hash(spec, want);
    if ((rc = zoo_h5_get_str(f, path, "spec_hash", &s)) < 0)
        return rc;
    if (!s || strcmp(s, want))
        rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s: the checkpoint of another run (spec hash %s; this run's is %s)", path, s ? s : "none", want);
    else
        rc = 0;
    free(s);
    return rc;
}

static int read_state(hid_t g, const char *path, zoo_run_snapshot *s)
{
    int64_t epoch = 0, epochs_run = 0;
    uint64_t sum = 0;
    int rc;
    if ((rc = need(zoo_h5_get_u64(g, path, "layout", &s->layout), path, "layout")) ||
        (rc = get_i64(g, path, "n_flat", &s->n_flat)) || (rc = get_i64(g, path, "epoch", &epoch)) ||
        (rc = get_i64(g, path, "epoch_step", &s->epoch_step)) || (rc = get_i64(g, path, "step", &s->step)) ||
        (rc = get_f64(g, path, "epoch_loss_sum", &s->epoch_loss_sum)) || (rc = get_i64(g, path, "tokens", &s->tokens)) ||
        (rc = get_f64(g, path, "train_s", &s->train_s)) || (rc = get_f64(g, path, "wall_s", &s->wall_s)) ||
        (rc = get_i64(g, path, "epochs_run", &epochs_run)) || (rc = get_f64(g, path, "best_acc", &s->best_acc)) ||
        (rc = get_f64(g, path, "final_acc", &s->final_acc)) || (rc = get_f64(g, path, "final_loss", &s->final_loss)) ||
        (rc = need(zoo_h5_get_u64(g, path, "checksum", &sum), path, "checksum")))
        return rc;
    if (s->n_flat < 1 || s->step < 0 || epoch < 0 || epoch > (1 << 30) || epochs_run != epoch || s->epoch_step < 0 ||
        s->epoch_step > s->step)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: its header is not consistent (n_flat %lld, epoch %lld, epochs_run %lld, step %lld, "
                      "epoch_step %lld); the checkpoint is damaged", path, (long long)s->n_flat, (long long)epoch,
                      (long long)epochs_run, (long long)s->step, (long long)s->epoch_step);
    s->epoch = (int)epoch;
    s->epochs_run = (int)epochs_run;
    array_ref a[8];
    int n = arrays(s, a);
    for (int i = 0; i < n; i++)
        if ((rc = get_floats(g, path, a[i].name, length(s, a[i].len), a[i].p)))
            return rc;
    uint64_t got = checksum(s);
    if (got != sum)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: its checksum does not match its contents (%016llx, stored %016llx); the checkpoint is "
                      "damaged", path, (unsigned long long)got, (unsigned long long)sum);
    return 0;
}

int zoo_checkpoint_load_state(const char *path, const zoo_run_spec *spec, zoo_run_snapshot *out)
{
    memset(out, 0, sizeof *out);
    if (!path || !spec)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_checkpoint_load_state: a path and a spec are required");
    hid_t f;
    int rc = zoo_h5_open_read(path, "training checkpoint", "delete it; the run starts from step 0", &f);
    if (rc)
        return rc;
    rc = check_root(f, path, spec);
    if (!rc) {
        hid_t g = H5Lexists(f, GROUP, H5P_DEFAULT) > 0 ? H5Gopen2(f, GROUP, H5P_DEFAULT) : H5I_INVALID_HID;
        if (g < 0) {
            H5Eclear2(H5E_DEFAULT);
            rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s: the group '" GROUP "' is missing; the checkpoint is damaged", path);
        } else {
            rc = read_state(g, path, out);
            H5Gclose(g);
        }
    }
    H5Fclose(f);
    if (rc) {
        zoo_run_snapshot_free(out);
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->origin = path;
    return 0;
}
