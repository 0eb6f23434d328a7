/* train.c: one run end to end (docs/training.md): data, model, AdamW with a per-epoch
 * cosine schedule, shuffled batches, evaluation on the test set every epoch, strict
 * early stopping, curves and cost figures. Printing and files belong to the callers. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "internal.h"
#include "run_internal.h"
#include "zoo/run.h"
#include "zoo/task.h"

#define PI 3.14159265358979323846

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int env_threads(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    char *end;
    long n = strtol(v, &end, 10);
    return (*end == 0 || *end == ',') && n > 0 && n < 65536 ? (int)n : 0;
}

/* Spec value, else OMP_NUM_THREADS, else SLURM_CPUS_PER_TASK, else every core. */
static int resolve_threads(int spec_threads)
{
    if (spec_threads > 0)
        return spec_threads;
    int n = env_threads("OMP_NUM_THREADS");
    if (!n)
        n = env_threads("SLURM_CPUS_PER_TASK");
#ifdef _OPENMP
    if (!n)
        n = omp_get_num_procs();
#endif
    return n > 0 ? n : 1;
}

static int64_t max_labels_per_row(const zoo_dataset *d)
{
    int64_t best = 0;
    for (int64_t r = 0; r < d->n; r++) {
        int64_t c = 0;
        for (int64_t t = 0; t < d->L; t++)
            c += d->labels[r * d->L + t] != ZOO_IGNORE_LABEL;
        if (c > best)
            best = c;
    }
    return best;
}

/* Fisher-Yates with a stream keyed by (seed, epoch): the DataLoader's shuffle=True of
 * iclr24, reproducible from the run seed alone. */
static void shuffle(int64_t *order, int64_t n, uint64_t seed, int epoch)
{
    uint64_t key = zoo_mix64(seed ^ zoo_mix64(0x5348554646ull + (uint64_t)epoch));
    for (int64_t i = 0; i < n; i++)
        order[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        double u = zoo_hash_uniform(key, (uint64_t)i);
        int64_t j = (int64_t)(u * (double)(i + 1));
        int64_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

int64_t zoo_epoch_steps(const zoo_dataset *d, int64_t B)
{
    if (!d || B < 1)
        return 0;
    if (d->n_segments < 1 || !d->seg_start)
        return (d->n + B - 1) / B;
    int64_t nb = 0; /* batches never mix segments: each ends its own last batch */
    for (int i = 0; i < d->n_segments; i++)
        nb += (d->seg_start[i + 1] - d->seg_start[i] + B - 1) / B;
    return nb;
}

int zoo_epoch_batches(const zoo_dataset *d, int64_t B, uint64_t seed, int epoch, int64_t *order, int64_t *bfirst,
                      int64_t *bcount)
{
    const int64_t nb = zoo_epoch_steps(d, B);
    if (!nb || !order || !bfirst || !bcount)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_epoch_batches: need a dataset, a batch size >= 1 and the three arrays");
    if (d->n_segments < 1 || !d->seg_start) { /* one shuffle of the whole set, cut in order */
        shuffle(order, d->n, seed, epoch);
        for (int64_t s = 0; s < nb; s++) {
            bfirst[s] = s * B;
            bcount[s] = d->n - s * B < B ? d->n - s * B : B;
        }
        return 0;
    }
    int64_t *tmp = malloc((size_t)d->n * sizeof *tmp), *perm = malloc((size_t)nb * sizeof *perm);
    int64_t *f0 = malloc((size_t)nb * sizeof *f0), *c0 = malloc((size_t)nb * sizeof *c0);
    if (!tmp || !perm || !f0 || !c0) {
        free(tmp), free(perm), free(f0), free(c0);
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory shuffling %lld rows", (long long)d->n);
    }
    int64_t b = 0;
    for (int i = 0; i < d->n_segments; i++) {
        int64_t a = d->seg_start[i], m = d->seg_start[i + 1] - a;
        shuffle(tmp + a, m, seed ^ zoo_mix64(0x5345474dull + (uint64_t)i), epoch);
        for (int64_t r = 0; r < m; r++)
            tmp[a + r] += a;
        for (int64_t f = 0; f < m; f += B, b++) {
            f0[b] = a + f;
            c0[b] = m - f < B ? m - f : B;
        }
    }
    shuffle(perm, nb, seed ^ 0x42415443ull, epoch); /* the order of the batches */
    int64_t at = 0;
    for (int64_t s = 0; s < nb; s++) {
        int64_t k = perm[s];
        bfirst[s] = at;
        bcount[s] = c0[k];
        memcpy(order + at, tmp + f0[k], (size_t)c0[k] * sizeof *order);
        at += c0[k];
    }
    free(tmp), free(perm), free(f0), free(c0);
    return 0;
}

/* Rows [lo, hi) of a global batch of `count` rows that process r of n takes: contiguous,
 * balanced, in process order; together the shares are the batch in its order. */
static void share_of(int64_t count, int r, int n, int64_t *lo, int64_t *hi)
{
    *lo = count * r / n;
    *hi = count * (r + 1) / n;
}

/* The pieces a set is evaluated in, batches never crossing one: its segments, and with
 * by_tag within each its rows of one tag (a run's tagged test set is grouped so,
 * make_data), or the whole set. */
#define MAX_PIECES (ZOO_MAX_SEGMENTS * ZOO_MAX_TAGS)
typedef struct pieces {
    int n;
    int64_t start[MAX_PIECES + 1];
    int seg[MAX_PIECES], tag[MAX_PIECES]; /* -1: none */
} pieces;

static void set_pieces(const zoo_dataset *d, pieces *p, int by_tag)
{
    const int32_t *tags = by_tag ? d->tags : NULL;
    int nseg = d->n_segments > 0 && d->n_segments <= ZOO_MAX_SEGMENTS && d->seg_start ? d->n_segments : 0;
    p->n = 0;
    for (int s = 0; s < (nseg ? nseg : 1); s++) {
        int64_t a = nseg ? d->seg_start[s] : 0, b = nseg ? d->seg_start[s + 1] : d->n;
        for (int64_t r = a; r < b; r++)
            if (r == a || (tags && tags[r] != tags[r - 1])) {
                if (p->n == MAX_PIECES) /* cannot happen for a grouped set: tags < ZOO_MAX_TAGS */
                    break;
                p->start[p->n] = r;
                p->seg[p->n] = nseg ? s : -1;
                p->tag[p->n] = tags ? tags[r] : -1;
                p->n++;
            }
    }
    p->start[p->n] = d->n;
}

/* Rows of a tagged set grouped by tag within each segment, keeping their order
 * (a stable counting sort), so evaluation batches never mix tags. */
static int group_by_tag(zoo_dataset *d)
{
    if (!d->tags || d->n_tags < 1)
        return 0;
    const int64_t n = d->n, L = d->L;
    int32_t *x = malloc((size_t)(n * L) * sizeof *x), *y = malloc((size_t)(n * L) * sizeof *y);
    int32_t *tg = malloc((size_t)n * sizeof *tg);
    if (!x || !y || !tg) {
        free(x), free(y), free(tg);
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory grouping %lld test examples by tag", (long long)n);
    }
    int nseg = d->n_segments > 0 && d->seg_start ? d->n_segments : 1;
    int64_t at = 0;
    for (int s = 0; s < nseg; s++) {
        int64_t a = d->n_segments > 0 && d->seg_start ? d->seg_start[s] : 0;
        int64_t b = d->n_segments > 0 && d->seg_start ? d->seg_start[s + 1] : n;
        for (int t = 0; t < d->n_tags; t++)
            for (int64_t r = a; r < b; r++)
                if (d->tags[r] == t) {
                    memcpy(x + at * L, d->inputs + r * L, (size_t)L * sizeof *x);
                    memcpy(y + at * L, d->labels + r * L, (size_t)L * sizeof *y);
                    tg[at++] = t;
                }
    }
    free(d->inputs), free(d->labels), free(d->tags);
    d->inputs = x, d->labels = y, d->tags = tg;
    return 0;
}

/* What evaluation adds up per piece: the batch-mean losses, batches, valid and correct
 * positions (exact integers). */
typedef struct eval_sum {
    double lsum;
    int64_t nb, total, correct;
} eval_sum;

/* Figures of a set from its pieces' sums: overall (loss, acc), and into res (when given)
 * per segment and per tag. */
static void eval_figures(const eval_sum *sum, const pieces *p, const zoo_dataset *d, double *loss, double *acc,
                         zoo_run_result *res)
{
    eval_sum all = {0, 0, 0, 0}, seg[ZOO_MAX_SEGMENTS], tag[ZOO_MAX_TAGS];
    memset(seg, 0, sizeof seg);
    memset(tag, 0, sizeof tag);
    for (int i = 0; i < p->n; i++) {
        eval_sum *g[3] = {&all, p->seg[i] >= 0 ? &seg[p->seg[i]] : NULL, p->tag[i] >= 0 ? &tag[p->tag[i]] : NULL};
        for (int k = 0; k < 3; k++)
            if (g[k])
                g[k]->lsum += sum[i].lsum, g[k]->nb += sum[i].nb, g[k]->total += sum[i].total,
                    g[k]->correct += sum[i].correct;
    }
    /* Per-token micro accuracy over the whole set (docs/task.md, loss and accuracy). */
    if (acc)
        *acc = all.total ? (double)all.correct / (double)all.total : 0.0;
    if (loss)
        *loss = all.nb ? all.lsum / (double)all.nb : 0.0;
    if (!res)
        return;
    res->n_segments = d->n_segments > 0 && d->n_segments <= ZOO_MAX_SEGMENTS ? d->n_segments : 0;
    for (int i = 0; i < res->n_segments; i++) {
        res->segment_test_acc[i] = seg[i].total ? (double)seg[i].correct / (double)seg[i].total : 0.0;
        res->segment_test_loss[i] = seg[i].nb ? seg[i].lsum / (double)seg[i].nb : 0.0;
        res->segment_test_count[i] = seg[i].total;
    }
    res->n_tags = d->tags && d->n_tags <= ZOO_MAX_TAGS ? d->n_tags : 0;
    for (int i = 0; i < res->n_tags; i++) {
        res->tag_test_acc[i] = tag[i].total ? (double)tag[i].correct / (double)tag[i].total : 0.0;
        res->tag_test_loss[i] = tag[i].nb ? tag[i].lsum / (double)tag[i].nb : 0.0;
        res->tag_test_count[i] = tag[i].total;
        snprintf(res->tag_names[i], sizeof res->tag_names[i], "%s", d->tag_names ? d->tag_names[i] : "");
    }
}

/* Data-parallel evaluation: global batches of Bg rows within each piece, each split over
 * the processes; per batch the summed loss x valid count, valid and correct counts
 * travel in one allreduce at the end and are combined in batch order, so every process
 * gets the same figures (accuracy from exact integer counts). */
static int evaluate_dp(zoo_model *m, const zoo_dataset *d, int64_t Bg, const zoo_reducer *dp, double *loss, double *acc,
                       zoo_run_result *res)
{
    static _Thread_local pieces pc; /* large: kept off the stack */
    int64_t nb_all = 0, lo, hi;
    set_pieces(d, &pc, 1);
    const int np = pc.n;
    const int64_t *starts = pc.start;
    for (int p = 0; p < np; p++)
        nb_all += (starts[p + 1] - starts[p] + Bg - 1) / Bg;
    float *h = calloc((size_t)(3 * nb_all + 1), sizeof *h);
    if (!h)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory for %lld evaluation batches", (long long)nb_all);
    int rc = 0;
    int64_t b = 0;
    for (int p = 0; p < np; p++)
        for (int64_t first = starts[p]; first < starts[p + 1] && !rc; first += Bg, b++) {
            int64_t count = starts[p + 1] - first < Bg ? starts[p + 1] - first : Bg;
            share_of(count, dp->rank, dp->size, &lo, &hi);
            if (hi == lo)
                continue;
            int64_t nv = 0, nc = 0;
            float bl = 0;
            rc = zoo_model_load_batch(m, d, NULL, first + lo, hi - lo);
            if (!rc && (rc = zoo_graph_forward(m->g)))
                zoo_error_prefix("evaluating rows [%lld, %lld): ", (long long)(first + lo), (long long)(first + hi));
            if (!rc)
                rc = zoo_ce_head_stats(m->loss, &nv, &nc);
            if (!rc)
                rc = zoo_tensor_get(m->loss, &bl, 0, 1);
            h[3 * b] = nv ? (float)((double)bl * (double)nv) : 0.0f;
            h[3 * b + 1] = (float)nv; /* counts of one batch are far below 2^24: exact in a float */
            h[3 * b + 2] = (float)nc;
        }
    h[3 * nb_all] = rc ? 1.0f : 0.0f; /* a process that failed makes them all fail together */
    int rc2 = dp->allreduce(h, 3 * nb_all + 1, dp->ud);
    if (!rc && !rc2 && h[3 * nb_all] != 0)
        rc2 = ZOO_FAIL(ZOO_ERR_STATE, "evaluation failed on another process of this run (see its log)");
    if (rc || rc2) {
        free(h);
        return rc ? rc : rc2;
    }
    static _Thread_local eval_sum sums[MAX_PIECES];
    memset(sums, 0, sizeof sums);
    b = 0;
    for (int p = 0; p < np; p++)
        for (int64_t first = starts[p]; first < starts[p + 1]; first += Bg, b++) {
            int64_t nv = (int64_t)h[3 * b + 1];
            if (nv == 0)
                continue;
            double bl = (double)h[3 * b] / (double)nv;
            if (!isfinite(bl)) {
                free(h);
                return ZOO_FAIL(ZOO_ERR_NUMERIC, "evaluation loss is %g on rows [%lld, %lld): the model has diverged",
                                bl, (long long)first, (long long)(first + Bg));
            }
            sums[p].lsum += bl;
            sums[p].nb++;
            sums[p].total += nv;
            sums[p].correct += (int64_t)h[3 * b + 2];
        }
    free(h);
    eval_figures(sums, &pc, d, loss, acc, res);
    return 0;
}

/* zoo_model_evaluate, with the per-segment figures of a segmented set. */
static int evaluate_set(zoo_model *m, const zoo_dataset *d, double *loss, double *acc, zoo_run_result *res,
                        void (*logits_cb)(const float *logits, int64_t m, int64_t V, const int32_t *labels, void *ud),
                        void *ud)
{
    if (!m || !d)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_model_evaluate: no model or dataset");
    int rc = zoo_graph_set_training(m->g, 0, 0);
    if (rc)
        return rc;
    static _Thread_local pieces pc; /* large: kept off the stack */
    static _Thread_local eval_sum sums[MAX_PIECES];
    set_pieces(d, &pc, res != NULL); /* a run's test set is grouped by tag; any other set is not */
    const int np = pc.n;
    const int64_t *starts = pc.start;
    memset(sums, 0, sizeof sums);
    float *lbuf = NULL; /* host copy of a batch's logits, only when asked for */
    int32_t *labs = NULL;
    if (logits_cb) {
        lbuf = malloc((size_t)(m->M * zoo_tensor_dim(m->embed, 0)) * sizeof *lbuf);
        labs = malloc((size_t)m->M * sizeof *labs);
        if (!lbuf || !labs) {
            free(lbuf);
            free(labs);
            return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory for a batch of evaluation logits");
        }
    }
    for (int p = 0; p < np && !rc; p++)
        for (int64_t first = starts[p]; first < starts[p + 1]; first += m->B) {
            int64_t count = starts[p + 1] - first < m->B ? starts[p + 1] - first : m->B;
            rc = zoo_model_load_batch(m, d, NULL, first, count);
            if (!rc && (rc = zoo_graph_forward(m->g)))
                zoo_error_prefix("evaluating rows [%lld, %lld): ", (long long)first, (long long)(first + count));
            int64_t nv = 0, nc = 0;
            float bl = 0;
            if (!rc)
                rc = zoo_ce_head_stats(m->loss, &nv, &nc);
            if (!rc)
                rc = zoo_tensor_get(m->loss, &bl, 0, 1);
            if (rc)
                break;
            if (nv == 0)
                continue; /* no supervised token: contributes to neither the loss nor the accuracy */
            if (!isfinite(bl)) {
                rc = ZOO_FAIL(ZOO_ERR_NUMERIC, "evaluation loss is %g on rows [%lld, %lld): the model has diverged",
                              (double)bl, (long long)first, (long long)(first + count));
                break;
            }
            sums[p].lsum += bl; /* mean over batches of the batch-mean CE, as the reference's valid/loss (docs/task.md) */
            sums[p].nb++;
            sums[p].total += nv;
            sums[p].correct += nc;
            if (logits_cb) {
                int64_t mm = 0, V = 0;
                if ((rc = zoo_ce_head_logits(m->loss, lbuf, m->M, &mm, &V)) ||
                    (rc = zoo_tensor_get(m->sup_lab, labs, 0, m->M)))
                    break;
                logits_cb(lbuf, mm, V, labs, ud);
            }
        }
    free(lbuf);
    free(labs);
    if (rc)
        return rc;
    eval_figures(sums, &pc, d, loss, acc, res);
    return 0;
}

int zoo_model_evaluate(zoo_model *m, const zoo_dataset *d, double *loss, double *acc,
                       void (*logits_cb)(const float *logits, int64_t m, int64_t V, const int32_t *labels, void *ud),
                       void *ud)
{
    return evaluate_set(m, d, loss, acc, NULL, logits_cb, ud);
}

void zoo_run_result_free(zoo_run_result *r)
{
    if (!r)
        return;
    free(r->step_loss);
    free(r->epoch_test_loss);
    free(r->epoch_test_acc);
    free(r->epoch_lr);
    free(r->epoch_train_loss);
    r->step_loss = r->epoch_test_loss = r->epoch_test_acc = r->epoch_lr = r->epoch_train_loss = NULL;
    r->n_steps = 0;
    r->n_epochs = 0;
}

static size_t peak_rss_bytes(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru))
        return 0;
    return (size_t)ru.ru_maxrss * 1024u; /* Linux reports KiB */
}

/* Copy the trained weights into the evaluation model (same spec, so the same
 * parameters in the same flat layout; only the batch differs), through a host buffer
 * kept for the run. */
static int sync_params(zoo_model *dst, zoo_model *src, float **host)
{
    int64_t nd = zoo_graph_flat_size(dst->g), ns = zoo_graph_flat_size(src->g);
    if (nd != ns)
        return ZOO_FAIL(ZOO_ERR_STATE, "evaluation model has %lld parameter floats, the trained one %lld",
                        (long long)nd, (long long)ns);
    if (!*host && !(*host = malloc((size_t)(ns ? ns : 1) * sizeof **host)))
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory copying the parameters for evaluation");
    int rc = zoo_graph_flat_get(src->g, ZOO_FLAT_PARAMS, *host, 0, ns);
    return rc ? rc : zoo_graph_flat_set(dst->g, ZOO_FLAT_PARAMS, *host, 0, ns);
}

/* What one run holds while it trains; the models, buffers and data are freed by finish_run. */
typedef struct run_state {
    const zoo_run_spec *spec;
    const zoo_run_hooks *hooks;
    zoo_run_result *res;
    zoo_dataset train, test;
    zoo_model *m, *me; /* the trained model; the evaluation one when its batch differs */
    int64_t *order;    /* this epoch's shuffled training rows */
    int64_t *bfirst, *bcount; /* step s takes bcount[s] rows of order from bfirst[s] */
    float *psync;      /* host buffer for sync_params */
    int64_t B, steps_per_epoch, step, tokens; /* B: the global batch (all processes of the run) */
    const zoo_reducer *dp; /* data-parallel processes, or NULL for one */
    int32_t *nlab;     /* data parallel: supervised positions per training row */
    float *red;        /* data parallel: gradients, loss, stop and checkpoint flags as they are summed */
    double t_start, t_loop, t_train;
    zoo_run_progress from;  /* where the loop starts: step 0, or a resumed checkpoint */
    zoo_run_snapshot snap;  /* the view handed to hooks->save; its flat buffers */
} run_state;

/* The training set and the test set (seed data_seed + 10), made by the run's task. */
static int make_data(run_state *st)
{
    int rc = zoo_run_spec_data(st->spec, ZOO_SPLIT_TRAIN, &st->train);
    if (!rc)
        rc = zoo_run_spec_data(st->spec, ZOO_SPLIT_TEST, &st->test);
    return rc ? rc : group_by_tag(&st->test);
}

/* The training model and, when the eval batch differs, an evaluation model; M fits the most labels in a row. */
static int build_models(run_state *st)
{
    const zoo_run_spec *spec = st->spec;
    st->B = zoo_run_spec_batch(spec);
    int64_t B = st->B, Be = zoo_run_spec_eval_batch(spec);
    int64_t K = max_labels_per_row(&st->train), Kt = max_labels_per_row(&st->test);
    if (Kt > K)
        K = Kt;
    if (K < 1)
        return ZOO_FAIL(ZOO_ERR_INVALID, "task '%s' made data with no supervised positions: check its knobs", spec->task);
    if (st->dp) { /* each process holds the largest share of a batch */
        int n = st->dp->size;
        if (B < n || Be < n)
            return ZOO_FAIL(ZOO_ERR_INVALID,
                            "ranks=%d: the batch (%lld) and the evaluation batch (%lld) must have at least one example "
                            "per rank; lower ranks or raise batch_size",
                            n, (long long)B, (long long)Be);
        B = (B + n - 1) / n;
        Be = (Be + n - 1) / n;
    }
    int rc = zoo_model_build(spec, B, K * B, &st->m);
    if (!rc && Be != B)
        rc = zoo_model_build_eval(spec, Be, K * Be, &st->me); /* it only evaluates */
    return rc;
}

/* The cost figures: parameters, planned memory of both models, state size, FLOPs. */
static int record_costs(run_state *st)
{
    zoo_run_result *res = st->res;
    res->params = zoo_graph_count_trainable(st->m->g);
    int rc = zoo_graph_mem_plan(st->m->g, &res->mem);
    if (rc)
        return rc;
    if (st->me) { /* the evaluation model's activations come on top; its parameters are a copy */
        zoo_mem_plan pe;
        if ((rc = zoo_graph_mem_plan(st->me->g, &pe)))
            return rc;
        res->mem.params += pe.params, res->mem.grads += pe.grads, res->mem.optimizer += pe.optimizer;
        res->mem.activations += pe.activations, res->mem.act_grads += pe.act_grads, res->mem.workspace += pe.workspace;
    }
    res->state_size = st->m->state_size;
    res->flops_per_step = zoo_run_spec_flops_per_step(st->spec);
    return 0;
}

/* The batch order and the result's curves, sized for every epoch. */
static int alloc_curves(run_state *st)
{
    zoo_run_result *res = st->res;
    const int64_t n = st->train.n;
    const int E = st->spec->epochs;
    st->steps_per_epoch = zoo_epoch_steps(&st->train, st->B);
    st->bfirst = malloc((size_t)st->steps_per_epoch * sizeof *st->bfirst);
    st->bcount = malloc((size_t)st->steps_per_epoch * sizeof *st->bcount);
    if (!st->bfirst || !st->bcount)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory for the batch table");
    st->order = malloc((size_t)n * sizeof *st->order);
    if (st->dp) {
        int64_t nf = zoo_graph_flat_size(st->m->g);
        st->nlab = malloc((size_t)n * sizeof *st->nlab);
        st->red = malloc((size_t)(nf + 3) * sizeof *st->red);
        if (!st->nlab || !st->red)
            return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory for the data-parallel buffers");
        for (int64_t r = 0; r < n; r++) {
            int32_t c = 0;
            for (int64_t t = 0; t < st->train.L; t++)
                c += st->train.labels[r * st->train.L + t] != ZOO_IGNORE_LABEL;
            st->nlab[r] = c;
        }
    }
    res->step_loss = malloc((size_t)(st->steps_per_epoch * E) * sizeof(float));
    res->epoch_test_loss = malloc((size_t)E * sizeof(float));
    res->epoch_test_acc = malloc((size_t)E * sizeof(float));
    res->epoch_lr = malloc((size_t)E * sizeof(float));
    res->epoch_train_loss = malloc((size_t)E * sizeof(float));
    if (!st->order || !res->step_loss || !res->epoch_test_loss || !res->epoch_test_acc || !res->epoch_lr ||
        !res->epoch_train_loss)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory for the run's curves");
    return 0;
}

int zoo_model_train_step(zoo_model *m, const zoo_run_spec *spec, double lr, int64_t step, int slot)
{
    if (!m || !spec || step < 0 || slot < 0 || slot >= ZOO_LOSS_SLOTS)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_model_train_step: no model or spec, step %lld or slot %d out of range",
                        (long long)step, slot);
    zoo_step_state *k = &m->g->exec.host_step;
    k->training = 1;
    k->step = (uint64_t)step; /* dropout masks keyed by the global step */
    k->loss_slot = slot;
    int rc = zoo_adamw_scalars(m->g, lr, spec->beta1, spec->beta2, spec->adam_eps, spec->weight_decay, step + 1);
    return rc ? rc : zoo_graph_step(m->g, m->loss);
}

int zoo_model_read_losses(zoo_model *m, float *out, int n)
{
    if (!m || !out || n < 0 || n > ZOO_LOSS_SLOTS)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_model_read_losses: %d slots of %d", n, ZOO_LOSS_SLOTS);
    zoo_graph *g = m->g;
    return n ? g->be->copy(&g->exec, out, g->loss_hist, (size_t)n * sizeof *out, ZOO_COPY_D2H) : 0;
}

/* Read the losses of the `pending` steps that end at st->step from the backend's loss
 * history into the curve (one copy and one wait per ZOO_LOSS_SLOTS steps), and stop at
 * the first that is not finite. */
static int drain_losses(run_state *st, int e, int64_t s_last, int pending, double *lsum)
{
    float h[ZOO_LOSS_SLOTS];
    int rc = zoo_model_read_losses(st->m, h, pending);
    if (rc) {
        zoo_error_prefix("epoch %d step %lld: ", e, (long long)s_last);
        return rc;
    }
    int64_t first = st->step - pending;
    for (int i = 0; i < pending; i++) {
        if (!isfinite(h[i])) {
            int64_t s = s_last - (pending - 1) + i;
            st->res->n_steps = first + i;
            return ZOO_FAIL(ZOO_ERR_NUMERIC, "diverged at epoch %d step %lld (training loss %g); lower the learning rate (lr=%g)",
                            e, (long long)s, (double)h[i], st->spec->lr);
        }
        st->res->step_loss[first + i] = h[i];
        *lsum += h[i];
    }
    st->res->n_steps = st->step;
    return 0;
}

/* Asked for a checkpoint now (hooks->checkpoint_due, with a save hook to take it). */
static int checkpoint_due(const run_state *st)
{
    const zoo_run_hooks *h = st->hooks;
    return h && h->save && h->checkpoint_due && h->checkpoint_due(h->ud);
}

/* The state at epoch e, s of its steps done, into hooks->save (nothing without one). */
static int save_state(run_state *st, int e, int64_t s, double lsum)
{
    const zoo_run_hooks *h = st->hooks;
    if (!h || !h->save)
        return 0;
    zoo_run_progress p = {e, s, st->step, lsum, st->tokens, st->t_train, now_s() - st->t_start};
    int rc = zoo_run_snapshot_take(&st->snap, st->m, st->res, &p);
    return rc ? rc : h->save(&st->snap, h->ud);
}

/* Where step s of the epoch takes its rows in `order`. */
static void batch_at(const run_state *st, int64_t s, int64_t *first, int64_t *count)
{
    *first = st->bfirst[s];
    *count = st->bcount[s];
}

/* One data-parallel step on global batch rows [first, first+count) of this epoch's
 * order: this process's share forward and backward, its gradients weighted by its share
 * of the batch's supervised positions (so the sum is the one-process batch-mean
 * gradient), summed over the processes with the loss and the stop flag, then AdamW on
 * every process alike. *stop: some process asked to stop. */
static int dp_step(run_state *st, int e, int64_t s, double lr, int64_t first, int64_t count, int want_stop,
                   int want_save, double *lsum, int *stop, int *save)
{
    const zoo_run_spec *spec = st->spec;
    const zoo_reducer *dp = st->dp;
    zoo_model *m = st->m;
    zoo_graph *g = m->g;
    int64_t lo, hi, nv_all = 0, nv = 0;
    share_of(count, dp->rank, dp->size, &lo, &hi);
    for (int64_t b = 0; b < count; b++) {
        int64_t c = st->nlab[st->order[first + b]];
        nv_all += c;
        nv += b >= lo && b < hi ? c : 0;
    }
    const int64_t nf = zoo_graph_flat_size(g);
    float *h = st->red;
    zoo_step_state *k = &g->exec.host_step;
    k->training = 1;
    k->step = (uint64_t)st->step;
    k->loss_slot = 0;
    k->row_base = lo;
    int rc = zoo_adamw_scalars(g, lr, spec->beta1, spec->beta2, spec->adam_eps, spec->weight_decay, st->step + 1);
    if (rc)
        return rc;
    if (nv > 0) { /* a share without supervised positions adds nothing */
        float l = 0;
        if ((rc = zoo_model_load_batch(m, &st->train, st->order, first + lo, hi - lo)) ||
            (rc = zoo_graph_grad_step(g, m->loss)) || (rc = zoo_tensor_get(m->loss, &l, 0, 1)) ||
            (rc = zoo_graph_flat_get(g, ZOO_FLAT_GRADS, h, 0, nf))) {
            zoo_error_prefix("epoch %d step %lld: ", e, (long long)s);
            return rc;
        }
        double w = (double)nv / (double)nv_all;
        if (nv != nv_all)
            for (int64_t i = 0; i < nf; i++)
                h[i] = (float)((double)h[i] * w);
        h[nf] = (float)((double)l * w);
    } else {
        memset(h, 0, (size_t)(nf + 1) * sizeof *h);
    }
    h[nf + 1] = want_stop ? 1.0f : 0.0f;
    h[nf + 2] = want_save ? 1.0f : 0.0f;
    double t0 = now_s();
    rc = dp->allreduce(h, nf + 3, dp->ud);
    st->res->comm_s += now_s() - t0;
    if (rc) {
        zoo_error_prefix("epoch %d step %lld: summing the gradients over %d ranks: ", e, (long long)s, dp->size);
        return rc;
    }
    float loss = h[nf];
    if (!isfinite(loss)) {
        st->res->n_steps = st->step;
        return ZOO_FAIL(ZOO_ERR_NUMERIC, "diverged at epoch %d step %lld (training loss %g); lower the learning rate (lr=%g)",
                        e, (long long)s, (double)loss, spec->lr);
    }
    if ((rc = zoo_graph_flat_set(g, ZOO_FLAT_GRADS, h, 0, nf)) || (rc = zoo_graph_adamw_step(g))) {
        zoo_error_prefix("epoch %d step %lld: ", e, (long long)s);
        return rc;
    }
    st->res->step_loss[st->step] = loss;
    *lsum += loss;
    st->step++;
    st->res->n_steps = st->step;
    st->tokens += count * spec->seq_len;
    *stop = h[nf + 1] != 0;
    *save = h[nf + 2] != 0;
    return 0;
}

/* The data-parallel epoch from step `from`: a step at a time (the processes meet at every
 * step). A stop or checkpoint asked by any process during step s is taken by all of
 * them after it (the state then holds s + 1 steps of the epoch, possibly all of them). */
static int train_epoch_dp(run_state *st, int e, int64_t from, double lr, double *lsum)
{
    for (int64_t s = from; s < st->steps_per_epoch; s++) {
        int want = st->hooks && st->hooks->should_stop && st->hooks->should_stop(st->hooks->ud), stop = 0, save = 0;
        int64_t first, count;
        batch_at(st, s, &first, &count);
        int rc = dp_step(st, e, s, lr, first, count, want, checkpoint_due(st), lsum, &stop, &save);
        if (!rc && (stop || save))
            rc = save_state(st, e, s + 1, *lsum); /* a graceful stop saves first */
        if (rc)
            return rc;
        if (stop)
            return ZOO_FAIL(ZOO_ERR_INTERRUPTED, "stopped at epoch %d step %lld", e, (long long)s + 1);
    }
    return 0;
}

/* One pass over the shuffled training set at lr from step `from` of it; *lsum gets the
 * sum of its step losses (it holds the earlier steps' sum when resumed mid-epoch). */
static int train_epoch(run_state *st, int e, int64_t from, double lr, double *lsum)
{
    if (st->dp)
        return train_epoch_dp(st, e, from, lr, lsum);
    const zoo_run_spec *spec = st->spec;
    zoo_model *m = st->m;
    int rc, pending = 0;
    for (int64_t s = from; s < st->steps_per_epoch; s++) {
        int stop = st->hooks && st->hooks->should_stop && st->hooks->should_stop(st->hooks->ud);
        if (stop || checkpoint_due(st)) {
            if (pending && (rc = drain_losses(st, e, s - 1, pending, lsum))) /* the curve keeps every step run */
                return rc;
            pending = 0;
            if ((rc = save_state(st, e, s, *lsum))) /* a graceful stop saves first */
                return rc;
            if (stop)
                return ZOO_FAIL(ZOO_ERR_INTERRUPTED, "stopped at epoch %d step %lld", e, (long long)s);
        }
        int64_t first, count;
        batch_at(st, s, &first, &count);
        if ((rc = zoo_model_load_batch(m, &st->train, st->order, first, count)))
            return rc;
        /* the loss waits on the backend until the next drain */
        if ((rc = zoo_model_train_step(m, spec, lr, st->step, pending))) {
            zoo_error_prefix("epoch %d step %lld: ", e, (long long)s);
            return rc;
        }
        st->step++;
        pending++;
        st->tokens += count * spec->seq_len;
        if (pending == ZOO_LOSS_SLOTS || s == st->steps_per_epoch - 1) {
            if ((rc = drain_losses(st, e, s, pending, lsum)))
                return rc;
            pending = 0;
        }
    }
    return 0;
}

/* Test loss and accuracy after epoch e, on the evaluation model given the trained weights. */
static int evaluate_epoch(run_state *st, int e, double *tl, double *ta)
{
    int rc;
    if (st->me && (rc = sync_params(st->me, st->m, &st->psync)))
        return rc;
    zoo_model *me = st->me ? st->me : st->m;
    /* the result keeps the last evaluation's figures per test segment and tag */
    if (st->dp && !(rc = zoo_graph_set_training(me->g, 0, 0)))
        rc = evaluate_dp(me, &st->test, zoo_run_spec_eval_batch(st->spec), st->dp, tl, ta, st->res);
    else if (!st->dp)
        rc = evaluate_set(me, &st->test, tl, ta, st->res, NULL, NULL);
    if (rc) {
        if (rc == ZOO_ERR_NUMERIC)
            zoo_error_prefix("epoch %d: lower the learning rate (lr=%g); ", e, st->spec->lr);
        return rc;
    }
    return 0;
}

/* Epoch e's figures into the result's curves, then the progress hook. */
static void record_epoch(run_state *st, int e, double lr, double lsum, double tl, double ta)
{
    zoo_run_result *res = st->res;
    const int E = st->spec->epochs;
    const int64_t steps_per_epoch = st->steps_per_epoch;
    res->epoch_test_loss[e] = (float)tl;
    res->epoch_test_acc[e] = (float)ta;
    res->epoch_lr[e] = (float)lr;
    res->epoch_train_loss[e] = (float)(lsum / (double)steps_per_epoch);
    res->n_epochs = res->epochs_run = e + 1;
    res->final_acc = ta;
    res->final_loss = tl;
    if (ta > res->best_acc)
        res->best_acc = ta;
    res->tokens_per_s = st->t_train > 0 ? (double)st->tokens / st->t_train : 0;
    if (st->hooks && st->hooks->on_epoch) {
        double el = now_s() - st->t_loop;
        zoo_epoch_stats es = {e + 1, E, lsum / (double)steps_per_epoch, tl, ta, lr, res->tokens_per_s,
                              now_s() - st->t_start, el / (double)(e + 1) * (double)(E - e - 1)};
        st->hooks->on_epoch(&es, st->hooks->ud);
    }
}

/* Every epoch: train, evaluate, record; stops early once the test accuracy passes early_stop. */
static int run_epochs(run_state *st)
{
    const zoo_run_spec *spec = st->spec;
    const int E = spec->epochs;
    st->t_loop = now_s() - st->from.wall_s;
    for (int e = st->from.epoch; e < E; e++) {
        /* Cosine per epoch, eta_min 0, no warmup; stepped after evaluation, so epoch e
         * trains at lr(e). */
        double lr = spec->lr * (1.0 + cos(PI * (double)e / (double)E)) / 2.0;
        int rc = zoo_epoch_batches(&st->train, st->B, spec->seed, e, st->order, st->bfirst, st->bcount);
        if (rc)
            return rc;
        const int resumed = e == st->from.epoch;
        double t0 = now_s(), lsum = resumed ? st->from.lsum : 0, tl = 0, ta = 0;
        if ((rc = train_epoch(st, e, resumed ? st->from.epoch_step : 0, lr, &lsum)))
            return rc;
        st->t_train += now_s() - t0;
        st->res->train_s = st->t_train;
        if ((rc = evaluate_epoch(st, e, &tl, &ta)))
            return rc;
        record_epoch(st, e, lr, lsum, tl, ta);
        if (ta > spec->early_stop) /* strict >, on the test set itself, as the reference (docs/training.md) */
            break;
        /* (a data-parallel run decides at its steps, where the processes agree) */
        if (e + 1 < E && !st->dp && checkpoint_due(st) && (rc = save_state(st, e + 1, 0, 0)))
            return rc;
    }
    return 0;
}

/* Go on from hooks->resume when it fits this run; when it does not, on_resume hears why
 * and the run starts from step 0 (the model as built, nothing changed). */
static int resume_run(run_state *st)
{
    const zoo_run_hooks *h = st->hooks;
    int rc = zoo_run_snapshot_apply(h->resume, st->m, st->spec, st->steps_per_epoch, st->res, &st->from);
    if (rc == ZOO_ERR_INVALID) {
        if (h->on_resume)
            h->on_resume(h->resume, rc, zoo_error_last()->msg, h->ud);
        memset(&st->from, 0, sizeof st->from);
        return 0;
    }
    if (rc)
        return rc;
    st->step = st->from.step;
    st->tokens = st->from.tokens;
    st->t_train = st->from.train_s;
    st->t_start -= st->from.wall_s; /* wall_s counts every session */
    st->res->tokens_per_s = st->t_train > 0 ? (double)st->tokens / st->t_train : 0;
    if (h->on_resume)
        h->on_resume(h->resume, 0, NULL, h->ud);
    return 0;
}

/* The result's status, times and memory; the trained model handed back if asked and done; the rest freed. */
static void finish_run(run_state *st, int rc, zoo_model **model_out)
{
    zoo_run_result *res = st->res;
    res->status = rc;
    if (rc)
        snprintf(res->message, sizeof res->message, "%s", zoo_error_last()->msg);
    res->wall_s = now_s() - st->t_start;
    size_t planned = zoo_mem_plan_total(&res->mem), rss = peak_rss_bytes();
    res->peak_bytes = rss > planned ? rss : planned;
    if (model_out && !rc) {
        *model_out = st->m;
        st->m = NULL;
    }
    zoo_model_free(st->m);
    zoo_model_free(st->me);
    free(st->order);
    free(st->bfirst);
    free(st->bcount);
    free(st->psync);
    free(st->nlab);
    free(st->red);
    zoo_run_snapshot_drop(&st->snap);
    zoo_dataset_free(&st->train);
    zoo_dataset_free(&st->test);
}

int zoo_run(const zoo_run_spec *spec, const zoo_run_hooks *hooks, zoo_run_result *res, zoo_model **model_out)
{
    zoo_run_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    if (model_out)
        *model_out = NULL;
    run_state st;
    memset(&st, 0, sizeof st);
    st.spec = spec;
    st.hooks = hooks;
    st.res = res;
    st.t_start = now_s();
    int rc = zoo_run_spec_check(spec);
    int procs = hooks && hooks->reducer ? hooks->reducer->size : 1;
    if (!rc && spec->ranks == 0)
        rc = ZOO_FAIL(ZOO_ERR_INVALID, "ranks=auto: only a sweep picks the rank count; give a number (1 to train here)");
    else if (!rc && spec->ranks != procs)
        rc = ZOO_FAIL(ZOO_ERR_INVALID,
                      "ranks=%d but %d process%s train%s this run: start it with mpirun -np %d (zoo train) or in a sweep",
                      spec->ranks, procs, procs == 1 ? "" : "es", procs == 1 ? "s" : "", spec->ranks);
    if (!rc && procs > 1)
        st.dp = hooks->reducer;
    if (!rc) {
        zoo_set_threads(resolve_threads(spec->threads));
        rc = make_data(&st);
    }
    if (!rc)
        rc = build_models(&st);
    if (!rc)
        rc = record_costs(&st);
    if (!rc)
        rc = alloc_curves(&st);
    if (!rc && hooks && hooks->resume)
        rc = resume_run(&st);
    if (!rc)
        rc = run_epochs(&st);
    finish_run(&st, rc, model_out);
    if (res == &local)
        zoo_run_result_free(&local);
    return rc;
}
