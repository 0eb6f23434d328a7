/* checkpoint.c: model parameters and the run spec to and from HDF5 (layout in
 * zoo/checkpoint.h). Strict on load: every tensor present, every shape exact, nothing
 * extra. It does not save optimizer moments or training progress. */
#define _POSIX_C_SOURCE 200809L
#include "zoo/checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint_internal.h"
#include "zoo/error.h"
#include "zoo/h5util.h"

#define HEAD_NAME "lm_head.weight"

/* Root attributes that are not spec keys. */
static const char *const reserved_attrs[] = {"format", "format_version", "zoo_version", "zoo_git_rev", "spec_hash", NULL};

static int is_reserved(const char *name)
{
    for (int i = 0; reserved_attrs[i]; i++)
        if (!strcmp(name, reserved_attrs[i]))
            return 1;
    return 0;
}

static void shape_str(char *buf, size_t n, int ndim, const hsize_t *dims)
{
    size_t k = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%llu", i ? ", " : "", (unsigned long long)dims[i]);
    if (ndim == 1 && k < n)
        k += (size_t)snprintf(buf + k, n - k, ",");
    if (k < n)
        snprintf(buf + k, n - k, ")");
}

static int tensor_dims(const zoo_tensor *t, hsize_t *dims)
{
    int nd = zoo_tensor_ndim(t);
    for (int i = 0; i < nd; i++)
        dims[i] = (hsize_t)zoo_tensor_dim(t, i);
    return nd;
}

/* ---- writing ---------------------------------------------------------------------- */

/* The spec as "key=value" lines; malloc'd. */
static char *format_spec(const zoo_run_spec *spec)
{
    size_t n = 1 << 14;
    for (;;) {
        char *buf = malloc(n);
        if (!buf)
            return NULL;
        int w = zoo_run_spec_format(spec, buf, n);
        if (w >= 0 && (size_t)w < n - 1 && strlen(buf) < n - 1)
            return buf;
        free(buf);
        if (w < 0 || n >= (1u << 24))
            return NULL;
        n *= 4;
    }
}

int zoo_ckpt_put_spec(hid_t f, const char *path, const zoo_run_spec *spec, const char *format, int version)
{
    char *text = format_spec(spec);
    if (!text)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "%s: cannot format the run spec", path);
    int rc = 0;
    for (char *line = text, *next; line && *line && !rc; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (!*line)
            continue;
        char *eq = strchr(line, '=');
        if (!eq) {
            rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s: run spec line '%s' has no '='", path, line);
            break;
        }
        *eq = '\0';
        if (is_reserved(line)) {
            rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s: run spec key '%s' clashes with a checkpoint attribute", path, line);
            break;
        }
        rc = zoo_h5_put_str(f, path, line, eq + 1);
    }
    free(text);
    if (rc)
        return rc;
    char hash[17];
    zoo_run_spec_hash(spec, hash);
    if ((rc = zoo_h5_put_str(f, path, "format", format)) || (rc = zoo_h5_put_i32(f, path, "format_version", version)) ||
        (rc = zoo_h5_put_str(f, path, "zoo_version", zoo_version())) ||
        (rc = zoo_h5_put_str(f, path, "zoo_git_rev", zoo_git_rev())) || (rc = zoo_h5_put_str(f, path, "spec_hash", hash)))
        return rc;
    return 0;
}

static int write_tensor(hid_t f, const char *path, zoo_tensor *t)
{
    const char *name = zoo_tensor_name(t);
    if (!name || !*name || strchr(name, '/'))
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: parameter name '%s' cannot be a dataset name", path, name ? name : "");
    int64_t n = zoo_tensor_numel(t);
    float *x = malloc((size_t)(n ? n : 1) * sizeof *x); /* host copy, the tensor's shape, row-major */
    if (!x)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "%s: out of memory copying parameter '%s'", path, name);
    if (zoo_tensor_get(t, x, 0, n)) {
        free(x);
        zoo_error_prefix("%s: parameter '%s': ", path, name);
        return zoo_error_last()->code;
    }
    hsize_t dims[ZOO_MAX_DIMS];
    int nd = tensor_dims(t, dims);
    int rc = 0;
    hid_t sp = nd ? H5Screate_simple(nd, dims, NULL) : H5Screate(H5S_SCALAR), d = H5I_INVALID_HID;
    if (sp < 0 || (d = H5Dcreate2(f, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) < 0) {
        char what[400];
        snprintf(what, sizeof what, "writing dataset '%s'", name);
        rc = ZOO_H5_FAIL(path, what);
    }
    if (d >= 0)
        H5Dclose(d);
    if (sp >= 0)
        H5Sclose(sp);
    free(x);
    return rc;
}

int zoo_ckpt_create(const char *path, char *tmp, size_t n, hid_t *f)
{
    zoo_h5_quiet();
    zoo_h5_tmpname(path, tmp, n);
    *f = H5I_INVALID_HID;
    /* Creation order: spec attributes are replayed in the order they were written
     * ("mixer" before its knobs), and h5dump lists tensors in model order. */
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    if (fcpl < 0 || H5Pset_attr_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0 ||
        H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0) {
        if (fcpl >= 0)
            H5Pclose(fcpl);
        return ZOO_H5_FAIL(path, "creating file properties");
    }
    *f = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    int rc = 0;
    if (*f < 0) { /* read HDF5's error stack (errno) before any other call clears it */
        char what[4200];
        snprintf(what, sizeof what, "creating %s", tmp);
        rc = ZOO_H5_FAIL(path, what);
        unlink(tmp);
    }
    H5Pclose(fcpl);
    return rc;
}

int zoo_ckpt_finish(hid_t f, const char *path, const char *tmp, int rc)
{
    if (!rc) {
        rc = zoo_h5_close_file(f, path); /* writes out what HDF5 still holds: a full disk shows here */
        return rc ? (unlink(tmp), rc) : zoo_h5_publish(tmp, path); /* fsync, rename, fsync of the folder */
    }
    zoo_h5_abandon(f);
    unlink(tmp);
    return rc;
}

int zoo_checkpoint_save(const zoo_model *m, const zoo_run_spec *spec, const char *path)
{
    if (!m || !m->g || !spec || !path || !*path)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_checkpoint_save: model, spec and path are required");
    char tmp[4096];
    hid_t f;
    int rc = zoo_ckpt_create(path, tmp, sizeof tmp, &f);
    if (rc)
        return rc;
    zoo_graph *g = m->g;
    int has_head = 0;
    for (int i = 0; i < zoo_graph_nparams(g) && !rc; i++) {
        zoo_tensor *t = zoo_graph_param(g, i);
        if (!strcmp(zoo_tensor_name(t), HEAD_NAME))
            has_head = 1;
        rc = write_tensor(f, path, t);
    }
    if (!rc && !has_head) { /* tied head: the same data under its state_dict name */
        if (!m->embed)
            rc = ZOO_FAIL(ZOO_ERR_STATE, "%s: model has no word embedding to tie '%s' to", path, HEAD_NAME);
        else if (H5Lcreate_hard(f, zoo_tensor_name(m->embed), f, HEAD_NAME, H5P_DEFAULT, H5P_DEFAULT) < 0)
            rc = ZOO_H5_FAIL(path, "linking " HEAD_NAME " to the word embedding");
    }
    if (!rc)
        rc = zoo_ckpt_put_spec(f, path, spec, ZOO_CHECKPOINT_FORMAT, ZOO_CHECKPOINT_VERSION);
    return zoo_ckpt_finish(f, path, tmp, rc);
}

/* ---- reading ---------------------------------------------------------------------- */

static int open_checkpoint(const char *path, hid_t *out)
{
    return zoo_h5_open_read(path, "checkpoint", "write it again with zoo train --save", out);
}

static int check_format(hid_t f, const char *path)
{
    char *fmt = NULL;
    int rc = zoo_h5_get_str(f, path, "format", &fmt);
    if (rc <= 0)
        return rc ? rc
                  : ZOO_FAIL(ZOO_ERR_INVALID,
                             "%s: not a zoo checkpoint (no 'format' attribute; write one with zoo train --save)", path);
    if (strcmp(fmt, ZOO_CHECKPOINT_FORMAT) != 0) {
        rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s: format is '%s', not '%s'; this is not a zoo checkpoint", path, fmt,
                      ZOO_CHECKPOINT_FORMAT);
        free(fmt);
        return rc;
    }
    free(fmt);
    int64_t ver = -1;
    if (zoo_h5_get_i64(f, path, "format_version", &ver) <= 0 || ver < 1)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: missing or unreadable 'format_version'", path);
    if (ver > ZOO_CHECKPOINT_VERSION)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: checkpoint format_version %lld is newer than this zoo reads (%d); upgrade zoo",
                        path, (long long)ver, ZOO_CHECKPOINT_VERSION);
    return 0;
}

typedef struct spec_ctx {
    const char *path;
    zoo_run_spec *spec;
    int rc;
} spec_ctx;

static herr_t spec_attr_cb(hid_t loc, const char *name, const H5A_info_t *info, void *ud)
{
    (void)info;
    spec_ctx *c = ud;
    if (is_reserved(name))
        return 0;
    char *val = NULL;
    int got = zoo_h5_get_str(loc, c->path, name, &val);
    if (got <= 0) { /* absent cannot happen while iterating over what is there */
        c->rc = got ? got : ZOO_H5_FAIL(c->path, "reading a spec attribute");
        return -1;
    }
    c->rc = zoo_run_spec_set(c->spec, name, val);
    if (c->rc) {
        zoo_error_prefix("%s: spec attribute '%s' = '%s': ", c->path, name, val);
        c->rc = ZOO_ERR_INVALID;
    }
    free(val);
    return c->rc ? -1 : 0;
}

/* Spec keys that decide the model's tensors: a checkpoint without one would load into a
 * default-sized model and fail with a misleading shape message. Keys added to the spec
 * later stay optional (their defaults), so older checkpoints still load. */
static const char *const required_attrs[] = {"vocab", "seq_len", "d_model", "n_layers", "mixer", NULL};

static int read_spec_open(hid_t f, const char *path, zoo_run_spec *spec)
{
    int rc = check_format(f, path);
    if (rc)
        return rc;
    for (int i = 0; required_attrs[i]; i++) {
        htri_t ex = H5Aexists(f, required_attrs[i]);
        if (ex < 0)
            return ZOO_H5_FAIL(path, "reading the spec attributes");
        if (!ex)
            return ZOO_FAIL(ZOO_ERR_INVALID,
                            "%s: the checkpoint has no '%s' attribute (part of the run spec it was trained with); "
                            "it is damaged or was not written by zoo train --save: write it again",
                            path, required_attrs[i]);
    }
    zoo_run_spec_default(spec);
    spec_ctx c = {path, spec, 0};
    hsize_t idx = 0;
    herr_t e = H5Aiterate2(f, H5_INDEX_CRT_ORDER, H5_ITER_INC, &idx, spec_attr_cb, &c);
    if (e < 0 && !c.rc) {
        /* written without creation order (another tool): fall back to name order */
        H5Eclear2(H5E_DEFAULT);
        zoo_run_spec_default(spec);
        idx = 0;
        e = H5Aiterate2(f, H5_INDEX_NAME, H5_ITER_INC, &idx, spec_attr_cb, &c);
    }
    if (c.rc)
        return c.rc;
    if (e < 0)
        return ZOO_H5_FAIL(path, "reading the spec attributes");
    return 0;
}

int zoo_checkpoint_read_spec(const char *path, zoo_run_spec *spec)
{
    hid_t f;
    int rc = open_checkpoint(path, &f);
    if (rc)
        return rc;
    rc = read_spec_open(f, path, spec);
    H5Fclose(f);
    return rc;
}

/* Shape of dataset `name` in f; *nd = -1 when it is not a dataset. */
static int dataset_shape(hid_t f, const char *path, const char *name, int *nd, hsize_t *dims)
{
    *nd = -1;
    hid_t o = H5Oopen(f, name, H5P_DEFAULT); /* any object kind, across HDF5 1.10-1.14 */
    if (o < 0) {
        char what[400];
        snprintf(what, sizeof what, "opening '%s'", name);
        return ZOO_H5_FAIL(path, what);
    }
    int is_dataset = H5Iget_type(o) == H5I_DATASET;
    H5Oclose(o);
    if (!is_dataset)
        return 0;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT), sp = d < 0 ? H5I_INVALID_HID : H5Dget_space(d);
    int n = sp < 0 ? -1 : H5Sget_simple_extent_ndims(sp);
    if (n > ZOO_MAX_DIMS) {
        hsize_t big[32];
        n = H5Sget_simple_extent_dims(sp, big, NULL);
        for (int i = 0; i < ZOO_MAX_DIMS; i++)
            dims[i] = big[i];
    } else if (n >= 0) {
        n = H5Sget_simple_extent_dims(sp, dims, NULL);
    }
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    if (n < 0) {
        char what[400];
        snprintf(what, sizeof what, "reading the shape of '%s'", name);
        return ZOO_H5_FAIL(path, what);
    }
    *nd = n;
    return 0;
}

static int same_shape(int nd, const hsize_t *a, int nd2, const hsize_t *b)
{
    if (nd != nd2)
        return 0;
    for (int i = 0; i < nd; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

static int mismatch(const char *path, const char *name, int end, const hsize_t *edims, int fnd, const hsize_t *fdims)
{
    char es[128], fs[128];
    shape_str(es, sizeof es, end, edims);
    if (fnd > ZOO_MAX_DIMS)
        snprintf(fs, sizeof fs, "rank %d", fnd);
    else
        shape_str(fs, sizeof fs, fnd, fdims);
    return ZOO_FAIL(ZOO_ERR_INVALID,
                    "%s: dataset '%s' has shape %s but this model expects %s; the checkpoint was written for a different "
                    "model (check d_model, vocab, seq_len, mixer knobs)",
                    path, name, fs, es);
}

static int load_tensor(hid_t f, const char *path, zoo_tensor *t)
{
    const char *name = zoo_tensor_name(t);
    hsize_t edims[ZOO_MAX_DIMS], fdims[ZOO_MAX_DIMS];
    int end = tensor_dims(t, edims);
    htri_t ex = H5Lexists(f, name, H5P_DEFAULT);
    if (ex <= 0) {
        char es[128];
        shape_str(es, sizeof es, end, edims);
        H5Eclear2(H5E_DEFAULT);
        return ZOO_FAIL(ZOO_ERR_INVALID,
                        "%s: dataset '%s' (expected shape %s) is missing, found nothing; the checkpoint was written for a "
                        "different model (mixer, n_layers, state_mixer, pos_emb)",
                        path, name, es);
    }
    int fnd, rc = dataset_shape(f, path, name, &fnd, fdims);
    if (rc)
        return rc;
    if (fnd < 0)
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: '%s' is not a dataset", path, name);
    if (!same_shape(end, edims, fnd, fdims))
        return mismatch(path, name, end, edims, fnd, fdims);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT), ty = d < 0 ? H5I_INVALID_HID : H5Dget_type(d);
    if (ty >= 0 && H5Tget_class(ty) != H5T_FLOAT) {
        H5Tclose(ty);
        H5Dclose(d);
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: dataset '%s' is not floating point", path, name);
    }
    int64_t n = zoo_tensor_numel(t);
    float *x = malloc((size_t)(n ? n : 1) * sizeof *x); /* host copy, the tensor's shape */
    if (d < 0 || ty < 0 || !x || H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) < 0) {
        char what[400];
        snprintf(what, sizeof what, "reading dataset '%s'", name);
        rc = x ? ZOO_H5_FAIL(path, what) : ZOO_FAIL(ZOO_ERR_NOMEM, "%s: out of memory reading '%s'", path, name);
    } else if ((rc = zoo_tensor_set(t, x, 0, n))) {
        zoo_error_prefix("%s: model tensor '%s': ", path, name);
    }
    free(x);
    if (ty >= 0)
        H5Tclose(ty);
    if (d >= 0)
        H5Dclose(d);
    return rc;
}

typedef struct extra_ctx {
    const char *path;
    zoo_model *m;
    int rc;
} extra_ctx;

/* Every root entry must be a model tensor or the tied head. */
static int check_extra(hid_t f, const char *name, extra_ctx *c)
{
    if (zoo_graph_find_param(c->m->g, name))
        return 0;
    hsize_t fdims[ZOO_MAX_DIMS], edims[ZOO_MAX_DIMS];
    int fnd;
    if ((c->rc = dataset_shape(f, c->path, name, &fnd, fdims)))
        return -1;
    if (!strcmp(name, HEAD_NAME) && c->m->embed) {
        int end = tensor_dims(c->m->embed, edims);
        if (fnd >= 0 && same_shape(end, edims, fnd, fdims))
            return 0;
        c->rc = mismatch(c->path, name, end, edims, fnd, fdims);
        return -1;
    }
    char fs[128];
    if (fnd < 0)
        snprintf(fs, sizeof fs, "a group");
    else if (fnd > ZOO_MAX_DIMS)
        snprintf(fs, sizeof fs, "rank %d", fnd);
    else
        shape_str(fs, sizeof fs, fnd, fdims);
    c->rc = ZOO_FAIL(ZOO_ERR_INVALID,
                     "%s: unexpected dataset '%s' (found %s, expected none: this model has no such tensor); the checkpoint "
                     "was written for a different model",
                     c->path, name, fs);
    return -1;
}

static int load_into_open(hid_t f, const char *path, zoo_model *m)
{
    zoo_graph *g = m->g;
    /* Aliases first, so the values under the source's own name are the ones kept (files
     * from before aliases held the initial values under the alias names). */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < zoo_graph_nparams(g); i++) {
            zoo_tensor *t = zoo_graph_param(g, i);
            if (zoo_tensor_is_alias(t) != !pass)
                continue;
            int rc = load_tensor(f, path, t);
            if (rc)
                return rc;
        }
    extra_ctx c = {path, m, 0};
    H5G_info_t gi;
    if (H5Gget_info(f, &gi) < 0)
        return ZOO_H5_FAIL(path, "listing the checkpoint's datasets");
    for (hsize_t i = 0; i < gi.nlinks; i++) {
        char name[1024];
        ssize_t n = H5Lget_name_by_idx(f, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT);
        if (n < 0)
            return ZOO_H5_FAIL(path, "listing the checkpoint's datasets");
        if ((size_t)n >= sizeof name)
            return ZOO_FAIL(ZOO_ERR_INVALID, "%s: unexpected entry with a %zd-character name", path, n);
        if (check_extra(f, name, &c) < 0)
            return c.rc;
    }
    return 0;
}

int zoo_checkpoint_load_into(const char *path, zoo_model *m)
{
    if (!m || !m->g)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_checkpoint_load_into: no model");
    hid_t f;
    int rc = open_checkpoint(path, &f);
    if (rc)
        return rc;
    rc = check_format(f, path);
    if (!rc)
        rc = load_into_open(f, path, m);
    H5Fclose(f);
    return rc;
}

int zoo_checkpoint_load(const char *path, int64_t B, int64_t M, zoo_run_spec *spec_out, zoo_model **out)
{
    *out = NULL;
    zoo_run_spec spec;
    hid_t f;
    int rc = open_checkpoint(path, &f);
    if (rc)
        return rc;
    rc = read_spec_open(f, path, &spec);
    zoo_model *m = NULL;
    if (!rc) {
        rc = zoo_model_build(&spec, B, M, &m);
        if (rc) {
            zoo_error_prefix("%s: building its model: ", path);
            m = NULL;
        }
    }
    if (!rc)
        rc = load_into_open(f, path, m);
    H5Fclose(f);
    if (rc) {
        zoo_model_free(m);
        return rc;
    }
    if (spec_out)
        *spec_out = spec;
    *out = m;
    return 0;
}
