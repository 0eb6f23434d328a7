/* sweep_plan.c: what a sweep will cost before it runs: per-run steps, FLOPs and
 * parameter counts, the costliest-first order the coordinator hands runs out in, the
 * makespan that order gives on P ranks, and the --dry-run listing. Trains nothing. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "sweep.h"
#include "sweep_sched.h"
#include "zoo/error.h"
#include "zoo/plugin.h"

/* The batch the run trains with (0 = by L), from the spec's text form. */
int64_t sweep_run_batch(const zoo_run_spec *s)
{
    char text[16384];
    if (!zoo_run_spec_format(s, text, sizeof text)) {
        const char *p = strstr(text, "\nbatch_size=");
        if (p)
            return strtoll(p + 12, NULL, 10);
    }
    return s->batch_size > 0 ? s->batch_size : 1;
}

double sweep_run_steps(const zoo_run_spec *s)
{
    int64_t B = sweep_run_batch(s);
    return (double)s->epochs * (double)zoo_run_spec_steps_per_epoch(s, B);
}

double sweep_run_cost(const zoo_run_spec *s) { return zoo_run_spec_flops_per_step(s) * sweep_run_steps(s); }

typedef struct cost_id {
    double cost;
    int64_t id;
} cost_id;

static int by_cost_desc(const void *a, const void *b)
{
    const cost_id *x = a, *y = b;
    if (x->cost != y->cost)
        return x->cost < y->cost ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id);
}

int64_t *sweep_order_by_cost(const zoo_sweep *sw, const int64_t *ids, int64_t n)
{
    cost_id *c = malloc((size_t)(n ? n : 1) * sizeof *c);
    int64_t *out = malloc((size_t)(n ? n : 1) * sizeof *out);
    if (!c || !out) {
        free(c);
        free(out);
        return NULL;
    }
    for (int64_t i = 0; i < n; i++) {
        c[i].id = ids[i];
        c[i].cost = sweep_run_cost(&sw->runs[ids[i]]);
    }
    qsort(c, (size_t)n, sizeof *c, by_cost_desc);
    for (int64_t i = 0; i < n; i++)
        out[i] = c[i].id;
    free(c);
    return out;
}

/* Greedy dispatch: each run goes to the rank that frees up first (a binary heap of
 * finish times), the same rule the coordinator follows with real run times. */
double sweep_makespan(const double *cost, int64_t n, int64_t P)
{
    if (P < 1 || n < 1)
        return 0;
    if (P > n)
        P = n;
    double *h = calloc((size_t)P, sizeof *h);
    if (!h)
        return NAN;
    double span = 0;
    for (int64_t i = 0; i < n; i++) {
        double t = h[0] + cost[i];
        if (t > span)
            span = t;
        /* replace the root (earliest free) and sift down */
        int64_t k = 0;
        for (;;) {
            int64_t l = 2 * k + 1, r = l + 1, m = k;
            double vm = t;
            if (l < P && h[l] < vm)
                m = l, vm = h[l];
            if (r < P && h[r] < vm)
                m = r, vm = h[r];
            if (m == k)
                break;
            h[k] = h[m];
            k = m;
        }
        h[k] = t;
    }
    free(h);
    return span;
}

void sweep_family(const zoo_run_spec *s, char *out, size_t n)
{
    /* Plugin descriptors are read once per name and kept for the process. */
    static struct {
        char name[64], family[32];
    } cache[64];
    static int nc;
    out[0] = 0;
    for (int i = 0; i < s->n_mixers; i++) {
        const char *fam = NULL;
        for (int j = 0; j < nc && !fam; j++)
            if (!strcmp(cache[j].name, s->mixers[i].name))
                fam = cache[j].family;
        if (!fam) {
            zoo_plugin *p = NULL;
            const char *f = "?";
            if (!zoo_plugin_find(s->mixers[i].name, &p))
                f = p->mixer->family ? p->mixer->family : "?";
            else
                zoo_error_clear();
            if (nc < 64) {
                snprintf(cache[nc].name, sizeof cache[nc].name, "%s", s->mixers[i].name);
                snprintf(cache[nc].family, sizeof cache[nc].family, "%s", f);
                fam = cache[nc++].family;
            } else {
                fam = "?";
            }
            zoo_plugin_close(p);
        }
        if (!out[0])
            snprintf(out, n, "%s", fam);
        else if (strcmp(out, fam))
            snprintf(out, n, "hybrid");
    }
}

/* Trainable parameters: build the model once per distinct architecture (the
 * training-only fields do not change it) with a batch of one. */
int64_t sweep_run_params(const zoo_run_spec *s)
{
    static struct {
        char key[17];
        int64_t params;
    } cache[512];
    static int nc;
    zoo_run_spec k = *s;
    k.lr = 1, k.seed = 0, k.data_seed = 0, k.batch_size = 1, k.eval_batch_size = 1, k.epochs = 1;
    k.train_examples = 1, k.test_examples = 1, k.threads = 0;
    /* Counted on the CPU whatever the run's backend: the count is the same, and this
     * process (rank 0, which forks the runs) must never initialise the CUDA driver. */
    k.backend = ZOO_BACKEND_CPU, k.tf32 = 0;
    char key[17];
    zoo_run_spec_hash(&k, key);
    for (int i = 0; i < nc; i++)
        if (!strcmp(cache[i].key, key))
            return cache[i].params;
    zoo_model *m = NULL;
    int64_t p = -1;
    zoo_run_spec cpu = *s;
    cpu.backend = ZOO_BACKEND_CPU;
    if (!zoo_model_build(&cpu, 1, 1, &m))
        p = zoo_graph_count_trainable(m->g);
    else
        zoo_error_clear();
    zoo_model_free(m);
    if (nc < 512) {
        snprintf(cache[nc].key, sizeof cache[nc].key, "%s", key);
        cache[nc++].params = p;
    }
    return p;
}

static void fmt_count(char *out, size_t n, double v)
{
    if (v < 0)
        snprintf(out, n, "?");
    else if (v >= 1e9)
        snprintf(out, n, "%.2fG", v / 1e9);
    else if (v >= 1e6)
        snprintf(out, n, "%.2fM", v / 1e6);
    else if (v >= 1e3)
        snprintf(out, n, "%.1fk", v / 1e3);
    else
        snprintf(out, n, "%.0f", v);
}

int sweep_plan_span(const zoo_sweep *sw, const int64_t *params, const sweep_netmodel *m, int P, int max_n,
                     const int *N, double *span, double *bound)
{
    int64_t n = sw->n_runs;
    double *est = malloc((size_t)(n ? n : 1) * sizeof *est);
    int64_t *ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
    int *host = calloc((size_t)P, sizeof *host);
    unsigned char *use = malloc((size_t)P);
    int rc = 0;
    if (!est || !ids || !host || !use) {
        rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
        goto done;
    }
    double work = 0, longest = 0;
    for (int64_t i = 0; i < n; i++) {
        const zoo_run_spec *s = &sw->runs[i];
        est[i] = sweep_run_steps(s) * sweep_step_seconds(m, zoo_run_spec_flops_per_step(s), params[i], N[i]);
        ids[i] = i;
        work += N[i] * est[i];
        longest = fmax(longest, est[i]);
    }
    for (int r = 0; r < P; r++)
        use[r] = r < P - max_n ? SWEEP_RANK_SOLO : SWEEP_RANK_ANY;
    *bound = fmax(work / P, longest);
    rc = sweep_sched_simulate(P, host, use, n, ids, est, N, NULL, NULL, span);
done:
    free(est), free(ids), free(host), free(use);
    return rc;
}

/* N for every run as if each said `ranks: auto`. */
static int all_auto(const zoo_sweep *sw, const int64_t *params, int P, int max_n, const sweep_netmodel *m, int *N)
{
    zoo_sweep a = *sw;
    a.runs = malloc((size_t)(sw->n_runs ? sw->n_runs : 1) * sizeof *a.runs);
    if (!a.runs)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < sw->n_runs; i++) {
        a.runs[i] = sw->runs[i];
        a.runs[i].ranks = 0;
    }
    int rc = sweep_resolve_ranks(&a, params, P, max_n, m, N, NULL);
    free(a.runs);
    return rc;
}

static void plan_line(const char *what, double span, double bound)
{
    char a[32], b[32];
    zoo_cli_fmt_time(a, sizeof a, span);
    zoo_cli_fmt_time(b, sizeof b, bound);
    printf("  %-24s %s, %.1f%% above the bound %s\n", what, a, bound > 0 ? 100.0 * (span / bound - 1) : 0.0, b);
}

/* Trainers and the most ranks one run may get when the sweep has `ranks` processes. */
static void trainers_of(const sweep_opts *o, int ranks, int *P, int *max_n)
{
    /* Rank 0 coordinates: it trains single-rank runs with --train-on-root (the default),
     * nothing without; one process alone trains everything on itself. */
    *P = ranks > 1 && !o->train_on_root ? ranks - 1 : ranks;
    *max_n = ranks > 1 ? ranks - 1 : 1;
}

int sweep_dry_run(const zoo_sweep *sw, const sweep_opts *o, int ranks)
{
    double rate = o->gflops * 1e9;
    int64_t nr = sw->n_runs;
    size_t cnt = (size_t)(nr ? nr : 1);
    double *cost = malloc(cnt * sizeof *cost);
    int64_t *ids = calloc(cnt, sizeof *ids), *params = malloc(cnt * sizeof *params);
    int *N = malloc(cnt * sizeof *N), *N1 = malloc(cnt * sizeof *N1), *NA = malloc(cnt * sizeof *NA);
    unsigned char *is_auto = malloc(cnt);
    int64_t *order = NULL;
    double *sorted = NULL;
    int rc = 0;
    if (!cost || !ids || !params || !N || !N1 || !NA || !is_auto) {
        rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
        goto done;
    }
    sweep_netmodel net;
    sweep_netmodel_init(&net, sw, o->gflops, o->net_gbytes_per_s, o->net_latency_us, o->step_overhead_ms);
    /* The plan's rank count: --ranks, else the ranks running; raised (with a note) to
     * what the largest fixed `ranks: N` needs, which the sweep itself would refuse. */
    int nproc = o->plan_ranks > 0 ? o->plan_ranks : ranks, P, max_n, need = 1;
    for (int64_t i = 0; i < nr; i++) {
        params[i] = sweep_run_params(&sw->runs[i]);
        N1[i] = 1;
        need = sw->runs[i].ranks > need ? sw->runs[i].ranks : need;
    }
    trainers_of(o, nproc, &P, &max_n);
    if (need > max_n) {
        printf("note: a run asks for ranks: %d; zoo sweep refuses to start on %d rank%s, so this plan is for %d "
               "(give --ranks P to plan for another count)\n",
               need, nproc, nproc == 1 ? "" : "s", need + 1);
        nproc = need + 1;
        trainers_of(o, nproc, &P, &max_n);
    }
    if ((rc = sweep_resolve_ranks(sw, params, P, max_n, &net, N, is_auto)))
        goto done;
    printf("sweep %s: %lld runs (from %s)\n", sw->name, (long long)nr, sw->path);
    printf("%6s  %-28s %6s %3s %6s %5s %-9s %8s %10s %8s %10s %7s %10s\n", "id", "mixer", "D", "lay", "L", "K", "lr",
           "params", "FLOP/step", "steps", "est.time", "ranks", "on.ranks");
    double total = 0, steps_total = 0;
    for (int64_t i = 0; i < nr; i++) {
        const zoo_run_spec *s = &sw->runs[i];
        char mixer[256] = "", p[32], f[32], t[32], tn[32], lr[32], rk[24];
        size_t k = 0;
        for (int j = 0; j < s->n_mixers && k < sizeof mixer; j++)
            k += (size_t)snprintf(mixer + k, sizeof mixer - k, "%s%s", j ? "+" : "", s->mixers[j].name);
        double steps = sweep_run_steps(s), fl = zoo_run_spec_flops_per_step(s);
        cost[i] = fl * steps;
        ids[i] = i;
        total += cost[i];
        steps_total += steps;
        fmt_count(p, sizeof p, (double)params[i]);
        fmt_count(f, sizeof f, fl);
        zoo_cli_fmt_time(t, sizeof t, cost[i] / rate);
        zoo_cli_fmt_time(tn, sizeof tn, steps * sweep_step_seconds(&net, fl, params[i], N[i]));
        snprintf(rk, sizeof rk, "%s%d", is_auto[i] ? "auto:" : "", N[i]);
        snprintf(lr, sizeof lr, "%.3g", s->lr);
        printf("%6lld  %-28.28s %6lld %3d %6lld %5lld %-9s %8s %10s %8.0f %10s %7s %10s\n", (long long)i, mixer,
               (long long)s->d_model, s->n_layers, (long long)s->seq_len, (long long)s->kv_pairs, lr, p, f, steps, t,
               rk, tn);
    }
    order = sweep_order_by_cost(sw, ids, nr);
    sorted = malloc(cnt * sizeof *sorted);
    char tt[32], fl[32];
    fmt_count(fl, sizeof fl, total);
    zoo_cli_fmt_time(tt, sizeof tt, total / rate);
    printf("total: %lld runs, %.0f steps, %s FLOPs, %s on one rank at %g GFLOP/s (change with --gflops)\n",
           (long long)nr, steps_total, fl, tt, o->gflops);
    /* What the runs ask for (jobs/submit reads this line); cuda and auto are decided
     * where each run trains. */
    int64_t nb[3] = {0, 0, 0}; /* cpu, cuda, auto */
    int64_t tf32 = 0;
    for (int64_t i = 0; i < nr; i++) {
        zoo_backend b = sw->runs[i].backend;
        nb[b == ZOO_BACKEND_CUDA ? 1 : b == ZOO_BACKEND_AUTO ? 2 : 0]++;
        tf32 += sw->runs[i].tf32 != 0;
    }
    printf("backends: %lld cpu, %lld cuda, %lld auto", (long long)nb[0], (long long)nb[1], (long long)nb[2]);
    if (tf32)
        printf("; %lld with tf32", (long long)tf32);
    printf("%s\n", nb[1] + nb[2] ? " (cuda and auto are decided on the node that trains each run)" : "");
    /* The plan: the scheduler driven by the estimates, against the bound. */
    int64_t multi = 0, autos = 0, nmax = 1;
    for (int64_t i = 0; i < nr; i++) {
        multi += N[i] > 1;
        autos += is_auto[i];
        nmax = N[i] > nmax ? N[i] : nmax;
    }
    printf("plan on %d rank%s (%d train%s%s; --ranks P plans for P): %lld runs on 1 rank, %lld on more (up to %lld) "
           "(%lld ranks: auto); network %g GB/s, %g us per message, %g ms per multi-rank step\n",
           nproc, nproc == 1 ? "" : "s", P, P == 1 ? "s" : "", nproc > 1 && o->train_on_root ? ", rank 0 single-rank runs only" : "",
           (long long)(nr - multi), (long long)multi, (long long)nmax, (long long)autos, net.bytes_per_s / 1e9,
           net.latency_s * 1e6, net.overhead_s * 1e3);
    double span, bound;
    if (nr && !(rc = sweep_plan_span(sw, params, &net, P, max_n, N, &span, &bound)))
        plan_line("as the sweep file asks:", span, bound);
    if (nr && !rc && !(rc = sweep_plan_span(sw, params, &net, P, max_n, N1, &span, &bound)))
        plan_line("every run on one rank:", span, bound);
    if (nr && !rc && !(rc = all_auto(sw, params, P, max_n, &net, NA)) &&
        !(rc = sweep_plan_span(sw, params, &net, P, max_n, NA, &span, &bound)))
        plan_line("every run ranks: auto:", span, bound);
    if (rc)
        goto done;
    if (order && sorted) {
        for (int64_t i = 0; i < nr; i++)
            sorted[i] = cost[order[i]];
        /* One rank per run on this many ranks, then powers of two up to 1024 while they
         * still help; beside it, every run ranks: auto on as many. */
        int64_t Ps[12] = {nproc};
        int nP = 1;
        for (int64_t q = 2; q <= 1024 && nP < 12; q *= 2)
            if (q != nproc)
                Ps[nP++] = q;
        for (int j = 0; j < nP && nr; j++) {
            double one = sweep_makespan(sorted, nr, Ps[j]);
            double lb = fmax(total / (double)Ps[j], sorted[0]);
            zoo_cli_fmt_time(tt, sizeof tt, one / rate);
            printf("  on %4lld ranks: %s (%.1f%% above the bound max(total/P, longest run))", (long long)Ps[j], tt,
                   lb > 0 ? 100.0 * (one / lb - 1) : 0.0);
            int Pq, mq;
            trainers_of(o, (int)Ps[j], &Pq, &mq);
            if ((rc = all_auto(sw, params, Pq, mq, &net, NA)) ||
                (rc = sweep_plan_span(sw, params, &net, Pq, mq, NA, &span, &bound)))
                goto done;
            zoo_cli_fmt_time(tt, sizeof tt, span);
            printf("; ranks: auto: %s (%.1f%% above)\n", tt, bound > 0 ? 100.0 * (span / bound - 1) : 0.0);
        }
    }
    printf("dry run: nothing was trained or written\n");
done:
    free(order), free(sorted), free(cost), free(ids), free(params), free(N), free(N1), free(NA), free(is_auto);
    return rc;
}
