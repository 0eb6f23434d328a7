/* results_merge.c: `zoo merge`: join results files into one (docs/results.md). Rows are
 * matched by spec hash and ordered as in the sweep file; run groups are copied object
 * for object (zoo_results_copy_run), so curves and attributes stay exactly as the inputs
 * had them.
 * The new file is written under a temporary name and renamed over the output. */
#define _GNU_SOURCE
#include "zoo/results_merge.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zoo/config.h"
#include "zoo/error.h"
#include "zoo/h5util.h"
#include "zoo/plugin.h"
#include "zoo/results.h"

typedef struct input {
    const char *path;
    zoo_results *res;
    const zoo_results_row *rows;
    int64_t n;
    const char *text;     /* the sweep text stored last */
    char *name, *spath;   /* root attributes sweep_name, sweep_path */
    int sweep;            /* index of its parsed sweep in m->sweeps, -1 if unreadable */
} input;

/* One row of the merged file. */
typedef struct slot {
    char hash[17];
    const zoo_run_spec *spec; /* from a parsed sweep file; NULL for rows known only from a file */
    int src;                  /* input holding the chosen row; -1: no input has it (new pending row) */
    int64_t row;              /* its row in that input */
    int in_first;             /* a run of the first input's sweep file */
} slot;

typedef struct merge {
    input *in;
    int n_in;
    zoo_sweep *sweeps;
    int n_sweeps;
    slot *slots;
    int64_t n_slots, cap_slots;
    int64_t *table; /* open addressing: hash -> slot index, -1 empty */
    int64_t table_n;
} merge;

/* ---- small helpers ------------------------------------------------------------------ */

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int64_t *table_find(merge *m, const char *hash)
{
    uint64_t k = fnv(hash) & (uint64_t)(m->table_n - 1);
    for (;;) {
        int64_t *e = &m->table[k];
        if (*e < 0 || !strcmp(m->slots[*e].hash, hash))
            return e;
        k = (k + 1) & (uint64_t)(m->table_n - 1);
    }
}

/* The slot of `hash`, added (src -1) when new. Index, or -1 on out of memory. */
static int64_t slot_of(merge *m, const char *hash, const zoo_run_spec *spec)
{
    int64_t *e = table_find(m, hash);
    if (*e >= 0)
        return *e;
    if (m->n_slots == m->cap_slots) {
        int64_t nc = m->cap_slots ? 2 * m->cap_slots : 256;
        slot *ns = realloc(m->slots, (size_t)nc * sizeof *ns);
        if (!ns)
            return -1;
        m->slots = ns;
        m->cap_slots = nc;
    }
    slot *s = &m->slots[m->n_slots];
    memcpy(s->hash, hash, 17);
    s->spec = spec;
    s->src = -1;
    s->row = -1;
    s->in_first = 0;
    *e = m->n_slots;
    return m->n_slots++;
}

static int same_num(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

static int rows_agree(const zoo_results_row *a, const zoo_results_row *b)
{
    return !strcmp(a->status, b->status) && same_num(a->final_acc, b->final_acc) &&
           same_num(a->best_acc, b->best_acc) && same_num(a->final_loss, b->final_loss) &&
           a->epochs_run == b->epochs_run && a->steps_run == b->steps_run && a->params == b->params;
}

static int is_final(const zoo_results_row *r) { return strcmp(r->status, ZOO_STATUS_PENDING) != 0; }

/* The plugin family of a new pending row ("hybrid" when the pattern mixes families). */
static void family_of(const zoo_run_spec *s, char *out, size_t n)
{
    out[0] = 0;
    for (int i = 0; i < s->n_mixers; i++) {
        zoo_plugin *p = NULL;
        const char *f = "?";
        if (!zoo_plugin_find(s->mixers[i].name, &p) && p->mixer->family)
            f = p->mixer->family;
        else
            zoo_error_clear();
        if (!out[0])
            snprintf(out, n, "%s", f);
        else if (strcmp(out, f))
            snprintf(out, n, "hybrid");
        zoo_plugin_close(p);
    }
}

static void merge_free(merge *m)
{
    for (int i = 0; i < m->n_in; i++) {
        zoo_results_close(m->in[i].res);
        free(m->in[i].name);
        free(m->in[i].spath);
    }
    for (int i = 0; i < m->n_sweeps; i++)
        zoo_sweep_free(&m->sweeps[i]);
    free(m->in), free(m->sweeps), free(m->slots), free(m->table);
}

/* ---- reading the inputs -------------------------------------------------------------- */

static int open_inputs(merge *m, const char *const *paths, int n)
{
    m->in = calloc((size_t)n, sizeof *m->in);
    m->sweeps = calloc((size_t)n, sizeof *m->sweeps);
    if (!m->in || !m->sweeps)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    char **real = calloc((size_t)n, sizeof *real);
    if (!real)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        /* The same file named twice is read once. */
        real[i] = realpath(paths[i], NULL);
        int dup = 0;
        for (int j = 0; j < i && !dup; j++)
            dup = real[i] && real[j] && !strcmp(real[i], real[j]);
        if (dup)
            continue;
        input *x = &m->in[m->n_in];
        x->path = paths[i];
        x->sweep = -1;
        if ((rc = zoo_results_open(paths[i], &x->res))) {
            if (rc == ZOO_ERR_INVALID) {
                /* The reader's advice is about -o of zoo sweep; say what applies here. */
                char why[1024];
                snprintf(why, sizeof why, "%s", zoo_error_last()->msg);
                char *cut = strstr(why, "; give another -o path");
                if (cut)
                    *cut = 0;
                ZOO_FAIL(ZOO_ERR_INVALID, "cannot merge %s: %s; only the results files of zoo sweep can be merged",
                         paths[i], why);
            }
            break;
        }
        m->n_in++;
        x->rows = zoo_results_rows(x->res, &x->n);
        x->text = zoo_results_sweep_text(x->res);
        hid_t f = H5Fopen(paths[i], H5F_ACC_RDONLY, H5P_DEFAULT);
        if (f < 0) {
            rc = ZOO_H5_FAIL(paths[i], "opening the results file");
            break;
        }
        /* Absent attributes read as "". */
        if (zoo_h5_get_str(f, paths[i], "sweep_name", &x->name) < 0 ||
            zoo_h5_get_str(f, paths[i], "sweep_path", &x->spath) < 0)
            rc = zoo_error_last()->code;
        H5Fclose(f);
        if (!rc && ((!x->name && !(x->name = strdup(""))) || (!x->spath && !(x->spath = strdup("")))))
            rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++)
        free(real[i]);
    free(real);
    return rc;
}

/* Inputs must name one sweep file unless allowed; each distinct text is parsed once. */
static int read_sweeps(merge *m, const zoo_merge_opts *o, zoo_merge_report *rep)
{
    for (int i = 1; i < m->n_in; i++)
        if (strcmp(m->in[i].text, m->in[0].text) && !o->allow_different)
            return ZOO_FAIL(ZOO_ERR_INVALID,
                            "%s and %s hold results of different sweep files (sweep '%s' from %s, sweep '%s' from %s); "
                            "merge them anyway with --allow-different (the result holds the runs of both)",
                            m->in[0].path, m->in[i].path, m->in[0].name, m->in[0].spath[0] ? m->in[0].spath : "?",
                            m->in[i].name, m->in[i].spath[0] ? m->in[i].spath : "?");
    rep->ordered = 1;
    for (int i = 0; i < m->n_in; i++) {
        input *x = &m->in[i];
        for (int j = 0; j < i && x->sweep < 0; j++)
            if (!strcmp(m->in[j].text, x->text))
                x->sweep = m->in[j].sweep;
        if (x->sweep >= 0 || !x->text[0])
            continue;
        char name[4200];
        snprintf(name, sizeof name, "%s", x->spath[0] ? x->spath : x->path);
        if (zoo_sweep_parse(x->text, name, &m->sweeps[m->n_sweeps])) {
            if (rep->ordered)
                snprintf(rep->order_note, sizeof rep->order_note, "the sweep text stored in %s could not be read (%s)",
                         x->path, zoo_error_last()->msg);
            rep->ordered = 0;
            zoo_error_clear();
            continue;
        }
        x->sweep = m->n_sweeps++;
    }
    return 0;
}

/* The merged rows: the runs of each sweep file in file order, then rows of the inputs
 * that no sweep file names (runs dropped from a sweep file before a --resume). Each
 * takes the first final row any input has, else its pending row with the most crashes. */
static int plan_rows(merge *m, zoo_merge_report *rep)
{
    int64_t total = 0;
    for (int i = 0; i < m->n_sweeps; i++)
        total += m->sweeps[i].n_runs;
    for (int i = 0; i < m->n_in; i++)
        total += m->in[i].n;
    m->table_n = 1024;
    while (m->table_n < 2 * total + 2)
        m->table_n *= 2;
    m->table = malloc((size_t)m->table_n * sizeof *m->table);
    if (!m->table)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory for %lld rows", (long long)total);
    memset(m->table, 0xff, (size_t)m->table_n * sizeof *m->table); /* all -1 */
    for (int s = 0; s < m->n_sweeps; s++) {
        for (int64_t r = 0; r < m->sweeps[s].n_runs; r++) {
            char h[17];
            zoo_run_spec_hash(&m->sweeps[s].runs[r], h);
            int64_t k = slot_of(m, h, &m->sweeps[s].runs[r]);
            if (k < 0)
                return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
            m->slots[k].in_first |= s == m->in[0].sweep;
        }
    }
    for (int i = 0; i < m->n_in; i++) {
        const input *x = &m->in[i];
        for (int64_t r = 0; r < x->n; r++) {
            int64_t k = slot_of(m, x->rows[r].hash, NULL);
            if (k < 0)
                return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
            /* Without its sweep text, the first input's own rows define "its sweep". */
            m->slots[k].in_first |= i == 0 && x->sweep < 0;
            slot *s = &m->slots[k];
            const zoo_results_row *cand = &x->rows[r];
            if (s->src < 0) {
                s->src = i, s->row = r;
                continue;
            }
            const zoo_results_row *cur = &m->in[s->src].rows[s->row];
            if (is_final(cand) && is_final(cur)) {
                rep->duplicates++;
                if (!rows_agree(cand, cur) && !rep->disagree++)
                    memcpy(rep->disagree_hash, cand->hash, 17);
            } else if (is_final(cand) || (!is_final(cur) && cand->crashes > cur->crashes)) {
                s->src = i, s->row = r;
            }
        }
    }
    for (int64_t k = 0; k < m->n_slots; k++)
        rep->extra += !m->slots[k].in_first;
    return 0;
}

/* ---- writing ------------------------------------------------------------------------- */

/* Copy the chosen run groups of every input, renamed to their merged ids. Each comes
 * from wherever its input holds it (main file or journal: zoo_results_copy_run). */
static int copy_groups(const merge *m, hid_t dst, const char *tmp)
{
    for (int64_t k = 0; k < m->n_slots; k++) {
        const slot *s = &m->slots[k];
        if (s->src < 0 || !is_final(&m->in[s->src].rows[s->row]))
            continue;
        char to[64];
        snprintf(to, sizeof to, "/runs/%06lld", (long long)k);
        int c = zoo_results_copy_run(m->in[s->src].res, s->row, dst, to);
        if (c < 0)
            return c;
        if (!c)
            continue; /* a final row without a group: the row alone says what happened */
        hid_t g = H5Gopen2(dst, to, H5P_DEFAULT);
        int rc = g < 0 ? ZOO_H5_FAIL(tmp, "renumbering a copied run group") : zoo_h5_put_i64(g, tmp, "id", k);
        if (g >= 0)
            H5Gclose(g);
        if (rc)
            return rc;
    }
    return 0;
}

static hsize_t dset_len(hid_t d)
{
    hid_t sp = H5Dget_space(d);
    hsize_t n = 0; /* a table that is not 1-D counts as empty (inputs were checked when opened) */
    if (zoo_h5_len1(sp, &n) < 0)
        n = 0;
    if (sp >= 0)
        H5Sclose(sp);
    return n;
}

/* /sessions and /sweep_texts: every input's rows (in input order), then the merge's own
 * (the one row zoo_results_create wrote). Read and written with the new file's own types,
 * so the layout is known only to results.c. */
static int copy_sessions(const merge *m, hid_t dst, const char *tmp)
{
    hid_t ds = H5Dopen2(dst, "/sessions", H5P_DEFAULT), dt = H5Dopen2(dst, "/sweep_texts", H5P_DEFAULT);
    hid_t st = ds < 0 ? -1 : H5Dget_type(ds), mt = st < 0 ? -1 : H5Tget_native_type(st, H5T_DIR_ASCEND);
    hid_t vt = H5Tcopy(H5T_C_S1);
    H5Tset_size(vt, H5T_VARIABLE);
    H5Tset_cset(vt, H5T_CSET_UTF8);
    size_t rs = mt < 0 ? 0 : H5Tget_size(mt);
    char *rows = NULL, **texts = NULL;
    hsize_t n = 0, cap = 0;
    int rc = 0;
    if (ds < 0 || dt < 0 || mt < 0 || !rs) {
        rc = ZOO_H5_FAIL(tmp, "opening /sessions and /sweep_texts of the new file");
        goto done;
    }
    for (int i = 0; i <= m->n_in && !rc; i++) {
        hid_t f = i < m->n_in ? H5Fopen(m->in[i].path, H5F_ACC_RDONLY, H5P_DEFAULT) : dst;
        const char *path = i < m->n_in ? m->in[i].path : tmp;
        hid_t s = f < 0 ? -1 : H5Dopen2(f, "/sessions", H5P_DEFAULT);
        hid_t t = f < 0 || H5Lexists(f, "/sweep_texts", H5P_DEFAULT) <= 0 ? -1 : H5Dopen2(f, "/sweep_texts", H5P_DEFAULT);
        hsize_t k = s < 0 ? 0 : dset_len(s), kt = t < 0 ? 0 : dset_len(t);
        if (s < 0) {
            rc = ZOO_H5_FAIL(path, "reading /sessions");
        } else if (k) {
            if (n + k > cap) {
                cap = 2 * (n + k);
                char *nr = realloc(rows, cap * rs);
                char **nt = realloc(texts, cap * sizeof *nt);
                rows = nr ? nr : rows;
                texts = nt ? nt : texts;
                if (!nr || !nt)
                    rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory for the sessions table");
            }
            if (!rc && H5Dread(s, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows + n * rs) < 0)
                rc = ZOO_H5_FAIL(path, "reading /sessions");
            char **tx = rc || !kt ? NULL : calloc(kt, sizeof *tx);
            if (tx && H5Dread(t, vt, H5S_ALL, H5S_ALL, H5P_DEFAULT, tx) < 0) {
                free(tx);
                tx = NULL;
            }
            /* One text per session (the schema's promise); a short table is padded with
             * the text stored last. */
            for (hsize_t j = 0; j < k && !rc; j++) {
                const char *x = tx && j < kt && tx[j] ? tx[j] : i < m->n_in ? m->in[i].text : "";
                if (!(texts[n + j] = strdup(x)))
                    rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
            }
            if (tx) {
                for (hsize_t j = 0; j < kt; j++)
                    free(tx[j]); /* HDF5 allocated them with malloc (default vlen allocator) */
                free(tx);
            }
            if (!rc)
                n += k;
        }
        if (t >= 0)
            H5Dclose(t);
        if (s >= 0)
            H5Dclose(s);
        if (f >= 0 && f != dst)
            H5Fclose(f);
    }
    if (!rc && (H5Dset_extent(ds, &n) < 0 || H5Dwrite(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0 ||
                H5Dset_extent(dt, &n) < 0 || H5Dwrite(dt, vt, H5S_ALL, H5S_ALL, H5P_DEFAULT, texts) < 0))
        rc = ZOO_H5_FAIL(tmp, "writing the merged sessions");
done:
    if (texts)
        for (hsize_t j = 0; j < n; j++)
            free(texts[j]);
    free(texts), free(rows);
    H5Tclose(vt);
    if (mt >= 0)
        H5Tclose(mt);
    if (st >= 0)
        H5Tclose(st);
    if (dt >= 0)
        H5Dclose(dt);
    if (ds >= 0)
        H5Dclose(ds);
    return rc;
}

static int is_input(const merge *m, const char *out)
{
    char *ro = realpath(out, NULL);
    int hit = 0;
    for (int i = 0; i < m->n_in && ro && !hit; i++) {
        char *ri = realpath(m->in[i].path, NULL);
        hit = ri && !strcmp(ri, ro);
        free(ri);
    }
    free(ro);
    return hit;
}

static int write_merged(merge *m, const char *out, const zoo_merge_opts *o, zoo_merge_report *rep, int *lock)
{
    zoo_results_row *rows = calloc((size_t)(m->n_slots ? m->n_slots : 1), sizeof *rows);
    if (!rows)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory for %lld rows", (long long)m->n_slots);
    for (int64_t k = 0; k < m->n_slots; k++) {
        const slot *s = &m->slots[k];
        if (s->src >= 0) {
            rows[k] = m->in[s->src].rows[s->row];
        } else {
            char fam[32];
            family_of(s->spec, fam, sizeof fam);
            zoo_results_row_init(&rows[k], k, s->spec, fam);
        }
        rows[k].id = k;
        rep->final_runs += is_final(&rows[k]);
        rep->ok_runs += !strcmp(rows[k].status, ZOO_STATUS_OK);
    }
    rep->runs = m->n_slots;
    rep->pending = rep->runs - rep->final_runs;

    zoo_results_session ss;
    memset(&ss, 0, sizeof ss);
    zoo_results_now(ss.started);
    memcpy(ss.finished, ss.started, sizeof ss.finished);
    /* The merge trains nothing: no ranks, no runs of its own, so the runs_recorded of
     * all sessions still add up to the runs trained (each once, unless duplicated). */
    ss.ranks = 0;
    gethostname(ss.hosts, sizeof ss.hosts - 1);
    snprintf(ss.command, sizeof ss.command, "%s", o->command ? o->command : "zoo merge");
    ss.exit_code = 0;
    ss.runs_recorded = 0;

    const input *first = &m->in[0];
    zoo_sweep like;
    memset(&like, 0, sizeof like);
    like.path = first->spath;
    like.text = (char *)first->text;
    snprintf(like.name, sizeof like.name, "%s", first->name);
    like.n_runs = m->n_slots;

    char tmp[4200];
    zoo_h5_tmpname(out, tmp, sizeof tmp);
    unlink(tmp);
    zoo_results *r = NULL;
    int rc = zoo_results_create(tmp, &like, rows, &ss, &r);
    free(rows);
    zoo_results_close(r);
    if (rc)
        return rc;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_LATEST);
    hid_t f = H5Fopen(tmp, H5F_ACC_RDWR, fapl);
    if (f < 0)
        rc = ZOO_H5_FAIL(tmp, "opening the new merged file"); /* before H5Pclose clears HDF5's error stack */
    H5Pclose(fapl);
    if (!rc)
        rc = copy_groups(m, f, tmp);
    if (!rc)
        rc = copy_sessions(m, f, tmp);
    /* A file whose close failed must not be closed again: HDF5 1.10 would crash. */
    if (rc)
        zoo_h5_abandon(f);
    else
        rc = zoo_h5_close_file(f, tmp);
    struct stat st;
    if (!rc && o->force && !stat(out, &st) && st.st_size > 0 && !is_input(m, out))
        rc = zoo_results_backup(out, rep->backup, sizeof rep->backup);
    if (!rc)
        return zoo_results_replace(tmp, out, lock);
    unlink(tmp);
    return rc;
}

int zoo_results_merge(const char *out, const char *const *in, int n_in, const zoo_merge_opts *opts,
                      zoo_merge_report *rep)
{
    zoo_merge_report local;
    zoo_merge_opts no_opts = {0, 0, NULL};
    if (!rep)
        rep = &local;
    if (!opts)
        opts = &no_opts;
    memset(rep, 0, sizeof *rep);
    if (n_in < 1)
        return ZOO_FAIL(ZOO_ERR_INVALID, "nothing to merge: give one or more results files");
    zoo_h5_quiet();
    merge m;
    memset(&m, 0, sizeof m);
    int lock = -1;
    int rc = open_inputs(&m, in, n_in);
    if (!rc)
        rc = read_sweeps(&m, opts, rep);
    if (!rc)
        rc = plan_rows(&m, rep);
    struct stat st;
    if (!rc && !stat(out, &st) && st.st_size > 0 && !opts->force && !is_input(&m, out))
        rc = ZOO_FAIL(ZOO_ERR_INVALID,
                      "%s exists and is not one of the inputs; name it as an input to merge into it, choose another "
                      "-o, or use --force to replace it (the old file is kept as %s.bak)",
                      out, out);
    if (!rc)
        rc = zoo_results_lock(out, &lock);
    if (!rc) {
        zoo_results_clean_temps(out);
        rep->inputs = m.n_in;
        rc = write_merged(&m, out, opts, rep, &lock);
    }
    merge_free(&m);
    zoo_results_unlock(out, lock); /* a placeholder of a merge that failed goes too */
    return rc;
}
