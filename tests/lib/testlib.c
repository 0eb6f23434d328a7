/* testlib.c: the shared C test helpers declared in testlib.h (comparisons, fills,
 * finite differences, guard words, dumps for zt.py, running PyTorch references).
 * Reads the engine's internal structs only for the guard words; never used by libzoo. */
#define _GNU_SOURCE
#include "testlib.h"

int zt_fails = 0;

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../core/src/internal.h"

/* ---- tolerance table ---------------------------------------------------------------- */
static const struct {
    const char *kind;
    double atol, rtol;
} tol_table[] = {
    {"exact", ZT_TOL_EXACT_ATOL, ZT_TOL_EXACT_RTOL},
    {"fwd", ZT_TOL_FWD_ATOL, ZT_TOL_FWD_RTOL},
    {"bwd", ZT_TOL_BWD_ATOL, ZT_TOL_BWD_RTOL},
    {"gradcheck", ZT_TOL_GRADCHECK_ATOL, ZT_TOL_GRADCHECK_RTOL},
    {"train", ZT_TOL_TRAIN_ATOL, ZT_TOL_TRAIN_RTOL},
};

zt_tolerance zt_tol(const char *kind)
{
    for (size_t i = 0; i < sizeof tol_table / sizeof tol_table[0]; i++)
        if (kind && !strcmp(kind, tol_table[i].kind))
            return (zt_tolerance){tol_table[i].atol, tol_table[i].rtol};
    fprintf(stderr, "zt_tol: unknown tolerance kind '%s' (known: exact, fwd, bwd, gradcheck, train)\n",
            kind ? kind : "(null)");
    return (zt_tolerance){0, 0};
}

/* ---- comparisons ------------------------------------------------------------------- */
int zt_check_finite(const char *what, const float *x, int64_t n)
{
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) {
            if (first < 0)
                first = i;
            bad++;
        }
    if (!bad)
        return 0;
    fprintf(stderr, "FAIL %s: %lld of %lld values are NaN/Inf; first at [%lld] = %g\n", what, (long long)bad,
            (long long)n, (long long)first, (double)x[first]);
    return 1;
}

/* got in f32, ref either f32 or f64 (one of the two pointers non-NULL). */
static int compare_impl(const char *what, const float *got, const float *reff, const double *refd, int64_t n,
                        double atol, double rtol)
{
    if (zt_check_finite(what, got, n))
        return 1;
    for (int64_t i = 0; i < n; i++) {
        double r = reff ? (double)reff[i] : refd[i];
        if (!isfinite(r)) {
            fprintf(stderr, "FAIL %s: reference is NaN/Inf at [%lld] = %g\n", what, (long long)i, r);
            return 1;
        }
    }
    int64_t bad = 0, worst = -1, shown = 0;
    double worst_excess = 0, se = 0, sr = 0;
    for (int64_t i = 0; i < n; i++) {
        double r = reff ? (double)reff[i] : refd[i], a = got[i], d = fabs(a - r);
        double lim = atol + rtol * fabs(r);
        se += (a - r) * (a - r);
        sr += r * r;
        if (d > lim) {
            bad++;
            /* "worst" is the largest multiple of its own tolerance, not the largest |d| */
            double ex = d / (lim > 0 ? lim : 1e-300);
            if (worst < 0 || ex > worst_excess) {
                worst_excess = ex;
                worst = i;
            }
        }
    }
    double nmse = se / (sr > 1e-30 ? sr : 1e-30);
    if (!bad)
        return 0;
    fprintf(stderr, "FAIL %s: %lld of %lld elements outside |got-ref| <= %g + %g*|ref| (normalised MSE %.3e)\n",
            what, (long long)bad, (long long)n, atol, rtol, nmse);
    double rw = reff ? (double)reff[worst] : refd[worst];
    fprintf(stderr, "  worst [%lld]: got %.8g ref %.8g diff %.3g (%.1fx its tolerance)\n", (long long)worst,
            (double)got[worst], rw, fabs((double)got[worst] - rw), worst_excess);
    for (int64_t i = 0; i < n && shown < 5; i++) {
        double r = reff ? (double)reff[i] : refd[i];
        if (fabs((double)got[i] - r) > atol + rtol * fabs(r)) {
            fprintf(stderr, "  [%lld]: got %.8g ref %.8g\n", (long long)i, (double)got[i], r);
            shown++;
        }
    }
    return 1;
}

int zt_compare(const char *what, const float *got, const float *ref, int64_t n, double atol, double rtol)
{
    return compare_impl(what, got, ref, NULL, n, atol, rtol);
}

int zt_compare_d(const char *what, const float *got, const double *ref, int64_t n, double atol, double rtol)
{
    return compare_impl(what, got, NULL, ref, n, atol, rtol);
}

int zt_compare_i32(const char *what, const int32_t *got, const int32_t *ref, int64_t n)
{
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < n; i++)
        if (got[i] != ref[i]) {
            if (first < 0)
                first = i;
            bad++;
        }
    if (!bad)
        return 0;
    fprintf(stderr, "FAIL %s: %lld of %lld integers differ; first [%lld]: got %d ref %d\n", what, (long long)bad,
            (long long)n, (long long)first, got[first], ref[first]);
    return 1;
}

/* ---- fills --------------------------------------------------------------------------- */
static double u01(uint64_t key, uint64_t i) { return zoo_hash_uniform(key, i); }

void zt_fill_normal(float *x, int64_t n, uint64_t seed, float std)
{
    uint64_t key = zoo_mix64(seed ^ 0x6e6f726d616cull);
    for (int64_t i = 0; i < n; i += 2) {
        double a = u01(key, (uint64_t)i), b = u01(key, (uint64_t)i + 1);
        double rad = sqrt(-2.0 * log(1.0 - a)), th = 6.283185307179586 * b; /* 1-a in (0,1] */
        x[i] = (float)(std * rad * cos(th));
        if (i + 1 < n)
            x[i + 1] = (float)(std * rad * sin(th));
    }
}

void zt_fill_uniform(float *x, int64_t n, uint64_t seed, float lo, float hi)
{
    uint64_t key = zoo_mix64(seed ^ 0x756e69666f726dull);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(lo + (hi - lo) * u01(key, (uint64_t)i));
}

void zt_fill_int(int32_t *x, int64_t n, uint64_t seed, int32_t lo, int32_t hi)
{
    uint64_t key = zoo_mix64(seed ^ 0x696e74ull);
    for (int64_t i = 0; i < n; i++) {
        int64_t v = lo + (int64_t)(u01(key, (uint64_t)i) * (double)(hi - lo));
        x[i] = (int32_t)(v < hi ? v : hi - 1);
    }
}

void zt_fill_params(zoo_graph *g, uint64_t seed, float std)
{
    for (int i = 0; i < zoo_graph_nparams(g); i++) {
        zoo_tensor *p = zoo_graph_param(g, i);
        if (zoo_tensor_is_trainable(p))
            zt_fill_normal(zoo_tensor_data(p), zoo_tensor_numel(p), zoo_mix64(seed + 7919u * (uint64_t)(i + 1)), std);
    }
}

void zt_draw_dout(float *R, int64_t n, uint64_t seed) { zt_fill_normal(R, n, zoo_mix64(seed ^ 0xd07ull), 1.0f); }

/* ---- finite differences ----------------------------------------------------------- */
static double loss_dot(const float *y, const float *R, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += (double)y[i] * (double)R[i];
    return s;
}

int zt_gradcheck(zoo_graph *g, zoo_tensor *out, uint64_t seed, int max_checks, double eps, double atol,
                 double rtol)
{
    if (eps <= 0)
        eps = ZT_GRADCHECK_EPS;
    if (atol <= 0 && rtol <= 0) {
        atol = ZT_TOL_GRADCHECK_ATOL;
        rtol = ZT_TOL_GRADCHECK_RTOL;
    }
    if (max_checks < 1)
        max_checks = 1;
    if (zt_check_graph(g, "gradcheck: graph"))
        return 2;
    int64_t n = zoo_tensor_numel(out);
    float *R = malloc((size_t)n * sizeof *R);
    if (!R)
        return 2;
    zt_draw_dout(R, n, seed);
    int rc = 2;
    float *ga = NULL;
    if (zt_check_rc(zoo_graph_forward(g), "gradcheck: forward"))
        goto done;
    if (zt_check_finite("gradcheck: forward output", zoo_tensor_data(out), n))
        goto done;
    if (zt_check_rc(zoo_graph_backward_seeded(g, out, R), "gradcheck: backward"))
        goto done;
    int64_t pn = 0;
    float *gflat = zoo_graph_grads_flat(g, &pn);
    /* keep the analytic gradients: the engine is free to reuse gradient memory */
    ga = malloc((size_t)(pn ? pn : 1) * sizeof *ga);
    if (!ga)
        goto done;
    memcpy(ga, gflat, (size_t)pn * sizeof *ga);
    float *pflat = zoo_graph_params_flat(g, NULL);
    int64_t checked = 0, failed = 0;
    double max_fd = 0, worst = -1; /* worst = largest |analytic - fd| / tolerance seen */
    const char *worst_name = "";
    int64_t worst_idx = -1;
    for (int i = 0; i < zoo_graph_nparams(g); i++) {
        zoo_tensor *p = zoo_graph_param(g, i);
        if (!zoo_tensor_is_trainable(p))
            continue;
        float *x = zoo_tensor_data(p);
        const float *gp = ga + (x - pflat);
        int64_t pnel = zoo_tensor_numel(p), m = pnel < max_checks ? pnel : max_checks, pfail = 0, last = -1;
        if (zt_check_finite(zoo_tensor_name(p), gp, pnel)) {
            failed++;
            continue;
        }
        for (int64_t k = 0; k < m; k++) {
            int64_t idx = m == 1 ? 0 : k * (pnel - 1) / (m - 1);
            if (idx == last)
                continue;
            last = idx;
            float orig = x[idx];
            x[idx] = (float)(orig + eps);
            double hp = x[idx];
            zoo_graph_forward(g);
            double lp = loss_dot(zoo_tensor_data(out), R, n);
            x[idx] = (float)(orig - eps);
            double hm = x[idx];
            zoo_graph_forward(g);
            double lm = loss_dot(zoo_tensor_data(out), R, n);
            x[idx] = orig;
            double fd = (lp - lm) / (hp - hm), an = gp[idx], d = fabs(an - fd);
            checked++;
            if (fabs(fd) > max_fd)
                max_fd = fabs(fd);
            if (d / (atol + rtol * fabs(fd)) > worst) {
                worst = d / (atol + rtol * fabs(fd));
                worst_name = zoo_tensor_name(p);
                worst_idx = idx;
            }
            if (!(d <= atol + rtol * fabs(fd))) {
                if (pfail < 5)
                    fprintf(stderr, "FAIL gradcheck %s[%lld]: analytic %.7g finite-difference %.7g (diff %.3g)\n",
                            zoo_tensor_name(p), (long long)idx, an, fd, d);
                pfail++;
            }
        }
        if (pfail)
            fprintf(stderr, "FAIL gradcheck %s: %lld of %lld checked elements outside %g + %g*|fd|\n",
                    zoo_tensor_name(p), (long long)pfail, (long long)m, atol, rtol);
        failed += pfail;
    }
    zoo_graph_forward(g); /* leave the outputs of the unperturbed parameters */
    if (!checked) {
        fprintf(stderr, "FAIL gradcheck: the graph has no trainable parameter to check\n");
        goto done;
    }
    if (max_fd == 0) {
        fprintf(stderr, "FAIL gradcheck: every finite difference is 0: the output does not depend on the "
                        "parameters (or eps %g is below f32 resolution)\n", eps);
        rc = 1;
        goto done;
    }
    /* the margin, so a tolerance that is too loose or too tight shows in the log */
    printf("gradcheck: %lld elements, worst %s[%lld] at %.2f of its tolerance\n", (long long)checked, worst_name,
           (long long)worst_idx, worst);
    rc = failed ? 1 : 0;
done:
    free(ga);
    free(R);
    return rc;
}

/* ---- guard words -------------------------------------------------------------------- */
#define GUARD_BITS 0x7fa5a5a5u /* a NaN no kernel produces by arithmetic */
#define PAD_FLOATS 16          /* the planner's 64-byte alignment */

typedef struct guard_span {
    void *base;      /* start of the padding */
    int64_t n;       /* 4-byte words of padding */
    int zero_ok;     /* gradient padding: backward memsets it to 0 */
    const char *what;
    int id;
} guard_span;

typedef struct leaf_copy {
    zoo_tensor *t;
    void *copy;
    size_t bytes;
} leaf_copy;

struct zt_guard {
    guard_span *spans;
    int nspans;
    leaf_copy *leaves;
    int nleaves;
};

static int64_t pad_of(int64_t n) { return (n + PAD_FLOATS - 1) / PAD_FLOATS * PAD_FLOATS - n; }

static void add_span(zt_guard *gd, void *buf, int64_t n, int zero_ok, const char *what, int id)
{
    int64_t pad = pad_of(n);
    if (!buf || pad == 0)
        return;
    guard_span *s = &gd->spans[gd->nspans++];
    s->base = (uint32_t *)buf + n;
    s->n = pad;
    s->zero_ok = zero_ok;
    s->what = what;
    s->id = id;
    for (int64_t i = 0; i < pad; i++)
        ((uint32_t *)s->base)[i] = GUARD_BITS;
}

zt_guard *zt_guard_arm(zoo_graph *g)
{
    if (!g || !g->planned) {
        fprintf(stderr, "FAIL zt_guard_arm: the graph must be planned\n");
        return NULL;
    }
    zt_guard *gd = calloc(1, sizeof *gd);
    if (!gd)
        return NULL;
    gd->spans = calloc((size_t)g->n_nodes * 3 + 1, sizeof *gd->spans);
    gd->leaves = calloc((size_t)g->n_nodes + 1, sizeof *gd->leaves);
    if (!gd->spans || !gd->leaves) {
        zt_guard_free(gd);
        return NULL;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        zoo_tensor *t = g->nodes[i];
        if (t->kind == ZOO_T_ACT || t->kind == ZOO_T_INPUT) {
            add_span(gd, t->dtype == ZOO_I32 ? (void *)t->idata : (void *)t->data, t->n, 0, "values", i);
            add_span(gd, t->aux, t->aux_n, 0, "aux", i);
            add_span(gd, t->grad, t->n, 1, "gradient", i);
        }
        if (t->kind != ZOO_T_ACT) {
            leaf_copy *l = &gd->leaves[gd->nleaves];
            void *src = t->dtype == ZOO_I32 ? (void *)t->idata : (void *)t->data;
            if (!src)
                continue;
            l->t = t;
            l->bytes = (size_t)t->n * 4;
            l->copy = malloc(l->bytes);
            if (!l->copy) {
                zt_guard_free(gd);
                return NULL;
            }
            memcpy(l->copy, src, l->bytes);
            gd->nleaves++;
        }
    }
    return gd;
}

int zt_guard_check(zt_guard *gd, const char *when)
{
    if (!gd)
        return 2;
    int bad = 0;
    for (int s = 0; s < gd->nspans; s++) {
        const uint32_t *w = gd->spans[s].base;
        for (int64_t i = 0; i < gd->spans[s].n; i++)
            if (w[i] != GUARD_BITS && !(gd->spans[s].zero_ok && w[i] == 0)) {
                float f;
                memcpy(&f, &w[i], 4);
                fprintf(stderr, "FAIL guard (%s): node %d's %s written past its end: word +%lld is %g\n", when,
                        gd->spans[s].id, gd->spans[s].what, (long long)i, (double)f);
                bad = 1;
                break;
            }
    }
    for (int l = 0; l < gd->nleaves; l++) {
        zoo_tensor *t = gd->leaves[l].t;
        const void *now = t->dtype == ZOO_I32 ? (void *)t->idata : (void *)t->data;
        if (memcmp(now, gd->leaves[l].copy, gd->leaves[l].bytes)) {
            fprintf(stderr, "FAIL guard (%s): leaf node %d '%s' was modified by a kernel\n", when, t->id,
                    t->name ? t->name : "");
            bad = 1;
        }
    }
    return bad;
}

void zt_guard_free(zt_guard *gd)
{
    if (!gd)
        return;
    for (int l = 0; l < gd->nleaves; l++)
        free(gd->leaves[l].copy);
    free(gd->leaves);
    free(gd->spans);
    free(gd);
}

/* ---- dumps ------------------------------------------------------------------------- */
struct zt_dump {
    char dir[1024];
    char *tensors; /* JSON objects, comma separated */
    size_t tn, tcap;
    char *attrs;
    size_t an, acap;
    int failed;
};

static int sappend(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (*len + (size_t)k + 1 > *cap) {
        size_t nc = (*cap ? *cap * 2 : 1024) + (size_t)k;
        char *b = realloc(*buf, nc);
        if (!b)
            return 1;
        *buf = b;
        *cap = nc;
    }
    va_start(ap, fmt);
    vsnprintf(*buf + *len, *cap - *len, fmt, ap);
    va_end(ap);
    *len += (size_t)k;
    return 0;
}

static int mkdir_p(const char *path)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) && errno != EEXIST)
                return 1;
            *p = '/';
        }
    return mkdir(tmp, 0755) && errno != EEXIST;
}

zt_dump *zt_dump_open(const char *dir, const char *tag)
{
    zt_dump *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    if (dir) {
        snprintf(d->dir, sizeof d->dir, "%s", dir);
        if (mkdir_p(d->dir)) {
            fprintf(stderr, "FAIL zt_dump_open: cannot create %s: %s\n", d->dir, strerror(errno));
            free(d);
            return NULL;
        }
    } else if (zt_tmpdir(d->dir, sizeof d->dir, tag)) {
        free(d);
        return NULL;
    }
    return d;
}

const char *zt_dump_dir(const zt_dump *d) { return d ? d->dir : ""; }

static int dump_raw(zt_dump *d, const char *name, const char *role, const char *dtype, const void *x, int ndim,
                    const int64_t *shape)
{
    if (!d)
        return 1;
    char fname[512], path[1600];
    size_t k = 0;
    for (const char *c = name; *c && k < sizeof fname - 5; c++)
        fname[k++] = (strchr("/\\\"' ", *c) ? '_' : *c);
    fname[k] = 0;
    strcat(fname, ".bin");
    snprintf(path, sizeof path, "%s/%s", d->dir, fname);
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(x, 4, (size_t)n, f) != (size_t)n || fclose(f)) {
        fprintf(stderr, "FAIL zt_dump: cannot write %s\n", path);
        d->failed = 1;
        return 1;
    }
    int e = sappend(&d->tensors, &d->tn, &d->tcap, "%s\n  {\"name\": \"%s\", \"file\": \"%s\", \"dtype\": \"%s\", "
                    "\"role\": \"%s\", \"shape\": [", d->tn ? "," : "", name, fname, dtype, role ? role : "other");
    for (int i = 0; i < ndim; i++)
        e |= sappend(&d->tensors, &d->tn, &d->tcap, i ? ", %lld" : "%lld", (long long)shape[i]);
    e |= sappend(&d->tensors, &d->tn, &d->tcap, "]}");
    d->failed |= e;
    return e;
}

int zt_dump_f32(zt_dump *d, const char *name, const char *role, const float *x, int ndim, const int64_t *shape)
{
    return dump_raw(d, name, role, "f32", x, ndim, shape);
}

int zt_dump_i32(zt_dump *d, const char *name, const char *role, const int32_t *x, int ndim, const int64_t *shape)
{
    return dump_raw(d, name, role, "i32", x, ndim, shape);
}

int zt_dump_tensor(zt_dump *d, const char *name, const char *role, zoo_tensor *t)
{
    int64_t shape[ZOO_MAX_DIMS];
    int nd = zoo_tensor_ndim(t);
    for (int i = 0; i < nd; i++)
        shape[i] = zoo_tensor_dim(t, i);
    if (zoo_tensor_idata(t))
        return zt_dump_i32(d, name, role, zoo_tensor_idata(t), nd, shape);
    if (!zoo_tensor_data(t)) {
        fprintf(stderr, "FAIL zt_dump_tensor %s: tensor has no data (plan the graph first)\n", name);
        return 1;
    }
    return zt_dump_f32(d, name, role, zoo_tensor_data(t), nd, shape);
}

int zt_dump_params(zt_dump *d, zoo_graph *g)
{
    int e = 0;
    for (int i = 0; i < zoo_graph_nparams(g); i++) {
        zoo_tensor *p = zoo_graph_param(g, i);
        int tr = zoo_tensor_is_trainable(p);
        e |= zt_dump_tensor(d, zoo_tensor_name(p), tr ? "param" : "buffer", p);
        if (tr) {
            char gname[600];
            int64_t shape[ZOO_MAX_DIMS];
            for (int k = 0; k < zoo_tensor_ndim(p); k++)
                shape[k] = zoo_tensor_dim(p, k);
            snprintf(gname, sizeof gname, "%s.grad", zoo_tensor_name(p));
            e |= zt_dump_f32(d, gname, "grad", zoo_tensor_grad(p), zoo_tensor_ndim(p), shape);
        }
    }
    return e;
}

int zt_dump_attr(zt_dump *d, const char *key, double value)
{
    if (!d)
        return 1;
    int e = sappend(&d->attrs, &d->an, &d->acap, "%s\"%s\": %.17g", d->an ? ", " : "", key, value);
    d->failed |= e;
    return e;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static int rmtree(const char *dir) { return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

int zt_rmtree(const char *dir) { return dir && *dir ? rmtree(dir) : 1; }

int zt_tmpdir(char *buf, size_t n, const char *tag)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(buf, n, "%s/zoo-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", tag ? tag : "test");
    if (!mkdtemp(buf)) {
        fprintf(stderr, "FAIL zt_tmpdir: cannot create %s: %s\n", buf, strerror(errno));
        return 1;
    }
    return 0;
}

int zt_dump_close(zt_dump *d, int remove_dir)
{
    if (!d)
        return 1;
    int rc = d->failed;
    if (remove_dir) {
        rmtree(d->dir);
    } else {
        char path[1100];
        snprintf(path, sizeof path, "%s/manifest.json", d->dir);
        FILE *f = fopen(path, "w");
        if (!f || fprintf(f, "{\"tensors\": [%s\n],\n \"attrs\": {%s}}\n", d->tensors ? d->tensors : "",
                          d->attrs ? d->attrs : "") < 0 || fclose(f)) {
            fprintf(stderr, "FAIL zt_dump_close: cannot write %s\n", path);
            rc = 1;
        }
    }
    free(d->tensors);
    free(d->attrs);
    free(d);
    return rc;
}

/* ---- PyTorch ------------------------------------------------------------------------- */
#define ZT_PYTHON "/usr/bin/python3"

static int shell_status(const char *cmd)
{
    fflush(stdout);
    fflush(stderr);
    int st = system(cmd);
    if (st == -1)
        return 2;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 2; /* killed by a signal: a failure, not a skip */
}

int zt_python(const char *script, const char *args)
{
    static int have_torch = -1; /* found without importing it: an import costs ~2 s */
    if (access(ZT_PYTHON, X_OK)) {
        fprintf(stderr, "SKIP: %s not found (the PyTorch references need Debian's python3 with torch)\n",
                ZT_PYTHON);
        return ZT_SKIP;
    }
    if (have_torch < 0)
        have_torch = shell_status(ZT_PYTHON " -c 'import importlib.util as u, sys; "
                                              "sys.exit(not (u.find_spec(\"torch\") and u.find_spec(\"numpy\")))' "
                                              ">/dev/null 2>&1") == 0;
    if (!have_torch) {
        fprintf(stderr, "SKIP: %s cannot import torch and numpy (install python3-torch)\n", ZT_PYTHON);
        return ZT_SKIP;
    }
    char cmd[4096];
    snprintf(cmd, sizeof cmd, ZT_PYTHON " '%s' %s", script, args ? args : "");
    return shell_status(cmd);
}

int zt_torchref(zt_dump *d, zoo_graph *g, zoo_tensor *out, uint64_t seed, const char *script)
{
    if (!d)
        return 1;
    int64_t n = zoo_tensor_numel(out);
    float *R = malloc((size_t)(n ? n : 1) * sizeof *R);
    if (!R) {
        zt_dump_close(d, 1);
        return 1;
    }
    zt_draw_dout(R, n, seed);
    int e = zt_check_rc(zoo_graph_forward(g), "torchref: forward") ||
            zt_check_rc(zoo_graph_backward_seeded(g, out, R), "torchref: backward");
    if (!e) {
        e |= zt_dump_params(d, g);
        e |= zt_dump_tensor(d, "out", "out", out);
        e |= zt_dump_f32(d, "dout", "dout", R, 1, &n);
    }
    free(R);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", zt_dump_dir(d));
    if (e) {
        zt_dump_close(d, 1);
        return 1;
    }
    if (zt_dump_close(d, 0)) {
        rmtree(dir);
        return 1;
    }
    if (!script)
        return 0; /* capture only: the caller runs one script over many cases */
    char args[1100];
    snprintf(args, sizeof args, "'%s'", dir);
    int rc = zt_python(script, args);
    if (rc == 0 || rc == ZT_SKIP)
        rmtree(dir);
    else
        fprintf(stderr, "  (reference inputs kept in %s)\n", dir);
    return rc;
}

/* ---- conveniences --------------------------------------------------------------- */
int zt_check_graph(const zoo_graph *g, const char *what)
{
    if (!g) {
        fprintf(stderr, "FAIL %s: no graph\n", what);
        return 1;
    }
    if (!zoo_graph_status(g))
        return 0;
    fprintf(stderr, "FAIL %s: %s\n", what, zoo_graph_error(g));
    return 1;
}

int zt_check_rc(int rc, const char *what)
{
    if (!rc)
        return 0;
    const zoo_error *e = zoo_error_last();
    fprintf(stderr, "FAIL %s: %s (%s)\n", what, e->code ? e->msg : "", zoo_strerror(rc));
    return 1;
}
