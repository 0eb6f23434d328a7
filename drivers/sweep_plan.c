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
#include "zoo/error.h"
#include "zoo/plugin.h"

/* The batch the run trains with (0 = by L), from the spec's text form. */
static int64_t batch_of(const zoo_run_spec *s)
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
    int64_t B = batch_of(s);
    return (double)s->epochs * (double)((s->train_examples + B - 1) / B);
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
static int64_t params_of(const zoo_run_spec *s)
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

int sweep_dry_run(const zoo_sweep *sw, const sweep_opts *o, int ranks)
{
    double rate = o->gflops * 1e9;
    double *cost = malloc((size_t)sw->n_runs * sizeof *cost);
    int64_t *ids = malloc((size_t)sw->n_runs * sizeof *ids);
    if (!cost || !ids) {
        free(cost), free(ids);
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    }
    printf("sweep %s: %lld runs (from %s)\n", sw->name, (long long)sw->n_runs, sw->path);
    printf("%6s  %-28s %6s %3s %6s %5s %-9s %8s %10s %8s %10s\n", "id", "mixer", "D", "lay", "L", "K", "lr", "params",
           "FLOP/step", "steps", "est.time");
    double total = 0, steps_total = 0;
    for (int64_t i = 0; i < sw->n_runs; i++) {
        const zoo_run_spec *s = &sw->runs[i];
        char mixer[256] = "", p[32], f[32], t[32], lr[32];
        size_t k = 0;
        for (int j = 0; j < s->n_mixers && k < sizeof mixer; j++)
            k += (size_t)snprintf(mixer + k, sizeof mixer - k, "%s%s", j ? "+" : "", s->mixers[j].name);
        double steps = sweep_run_steps(s), fl = zoo_run_spec_flops_per_step(s);
        cost[i] = fl * steps;
        ids[i] = i;
        total += cost[i];
        steps_total += steps;
        fmt_count(p, sizeof p, (double)params_of(s));
        fmt_count(f, sizeof f, fl);
        zoo_cli_fmt_time(t, sizeof t, cost[i] / rate);
        snprintf(lr, sizeof lr, "%.3g", s->lr);
        printf("%6lld  %-28.28s %6lld %3d %6lld %5lld %-9s %8s %10s %8.0f %10s\n", (long long)i, mixer,
               (long long)s->d_model, s->n_layers, (long long)s->seq_len, (long long)s->kv_pairs, lr, p, f, steps, t);
    }
    /* The makespan of the real dispatch order on 1, this many and a few more ranks. */
    int64_t *order = sweep_order_by_cost(sw, ids, sw->n_runs);
    double *sorted = malloc((size_t)sw->n_runs * sizeof *sorted);
    char tt[32], fl[32];
    fmt_count(fl, sizeof fl, total);
    zoo_cli_fmt_time(tt, sizeof tt, total / rate);
    printf("total: %lld runs, %.0f steps, %s FLOPs, %s on one rank at %g GFLOP/s (change with --gflops)\n",
           (long long)sw->n_runs, steps_total, fl, tt, o->gflops);
    /* What the runs ask for (jobs/submit reads this line); cuda and auto are decided
     * where each run trains. */
    int64_t nb[3] = {0, 0, 0}; /* cpu, cuda, auto */
    int64_t tf32 = 0;
    for (int64_t i = 0; i < sw->n_runs; i++) {
        zoo_backend b = sw->runs[i].backend;
        nb[b == ZOO_BACKEND_CUDA ? 1 : b == ZOO_BACKEND_AUTO ? 2 : 0]++;
        tf32 += sw->runs[i].tf32 != 0;
    }
    printf("backends: %lld cpu, %lld cuda, %lld auto", (long long)nb[0], (long long)nb[1], (long long)nb[2]);
    if (tf32)
        printf("; %lld with tf32", (long long)tf32);
    printf("%s\n", nb[1] + nb[2] ? " (cuda and auto are decided on the node that trains each run)" : "");
    if (order && sorted) {
        for (int64_t i = 0; i < sw->n_runs; i++)
            sorted[i] = cost[order[i]];
        /* This many ranks, then powers of two up to 1024 while they still help. */
        int64_t Ps[12] = {ranks};
        int nP = 1;
        for (int64_t P = 2; P <= 1024 && nP < 12; P *= 2)
            if (P != ranks && P < 2 * sw->n_runs)
                Ps[nP++] = P;
        for (int j = 0; j < nP; j++) {
            double span = sweep_makespan(sorted, sw->n_runs, Ps[j]);
            double lb = fmax(total / (double)Ps[j], sorted[0]);
            zoo_cli_fmt_time(tt, sizeof tt, span / rate);
            printf("  on %3lld ranks: %s (%.1f%% above the bound max(total/P, longest run))\n", (long long)Ps[j], tt,
                   lb > 0 ? 100.0 * (span / lb - 1) : 0.0);
        }
    }
    printf("dry run: nothing was trained or written\n");
    free(order), free(sorted), free(cost), free(ids);
    return 0;
}
