/* sweep_sched.c: the sweep's scheduler for runs of mixed rank counts (costliest first,
 * a reservation for the first run that does not fit, EASY backfilling, node-aware
 * placement), a simulator that drives it with estimated times, the cost model of a run
 * on N ranks and the choice of N for `ranks: auto`. No MPI, no clocks: the caller says
 * what time it is and which ranks came free. */
#define _POSIX_C_SOURCE 200809L
#include "sweep_sched.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep.h"
#include "zoo/error.h"

/* ---- the cost model ------------------------------------------------------------------ */

void sweep_netmodel_init(sweep_netmodel *m, const zoo_sweep *sw, double gflops, double gbytes_per_s,
                         double latency_us, double overhead_ms)
{
    double bw = SWEEP_NET_GBYTES_PER_S, lat = SWEEP_NET_LATENCY_US;
    if (sw && sw->net_gbytes_per_s > 0)
        bw = sw->net_gbytes_per_s;
    if (sw && sw->net_latency_us > 0)
        lat = sw->net_latency_us;
    m->flops_per_s = gflops * 1e9;
    m->bytes_per_s = (gbytes_per_s > 0 ? gbytes_per_s : bw) * 1e9;
    m->latency_s = (latency_us > 0 ? latency_us : lat) * 1e-6;
    m->overhead_s = (overhead_ms >= 0 ? overhead_ms : SWEEP_STEP_OVERHEAD_MS) * 1e-3;
}

double sweep_allreduce_seconds(const sweep_netmodel *m, double bytes, int n)
{
    if (n <= 1)
        return 0;
    return 2.0 * (n - 1) / n * bytes / m->bytes_per_s + 2.0 * (n - 1) * m->latency_s;
}

double sweep_step_seconds(const sweep_netmodel *m, double flops_per_step, int64_t params, int n)
{
    double t = flops_per_step / m->flops_per_s / (n > 1 ? n : 1);
    if (n > 1)
        t += sweep_allreduce_seconds(m, 4.0 * (double)(params > 0 ? params : 0), n) + m->overhead_s;
    return t;
}

int sweep_run_max_ranks(const zoo_run_spec *s)
{
    int64_t b = sweep_run_batch(s);
    return b < 1 ? 1 : b > SWEEP_RANKS_CAP ? SWEEP_RANKS_CAP : (int)b;
}

/* ---- the scheduler ------------------------------------------------------------------- */

typedef struct pend {
    int64_t id;
    double est;
    int n;
} pend;

typedef struct flight {
    int64_t id;
    double end; /* estimated */
    int left;   /* ranks not released yet; 0 = slot free */
} flight;

struct sweep_sched {
    int P, H;             /* ranks, distinct hosts */
    int *host;            /* per rank: host index 0..H-1, numbered by first rank */
    unsigned char *usable;
    int *owner;           /* per rank: flight slot, -1 free */
    int n_any, n_solo;    /* ranks that may train anything / single-rank runs only */
    pend *pend;           /* longest estimate first, ties by id */
    int64_t npend, cappend;
    flight *fl;           /* slots; at most P in use */
    int nfl;
    int *cnt, *tmp;       /* scratch: per host, per rank */
    double *ends;         /* scratch: per flight slot */
};

int sweep_sched_new(int P, const int *host_of, const unsigned char *usable, sweep_sched **out)
{
    *out = NULL;
    if (P < 1)
        return ZOO_FAIL(ZOO_ERR_INVALID, "a scheduler needs at least one rank, got %d", P);
    sweep_sched *s = calloc(1, sizeof *s);
    if (!s)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    s->P = P;
    s->host = malloc((size_t)P * sizeof *s->host);
    s->usable = malloc((size_t)P);
    s->owner = malloc((size_t)P * sizeof *s->owner);
    s->fl = calloc((size_t)P, sizeof *s->fl);
    s->cnt = malloc((size_t)P * sizeof *s->cnt);
    s->tmp = malloc((size_t)P * sizeof *s->tmp);
    s->ends = malloc((size_t)P * sizeof *s->ends);
    if (!s->host || !s->usable || !s->owner || !s->fl || !s->cnt || !s->tmp || !s->ends) {
        sweep_sched_free(s);
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    }
    s->nfl = P;
    for (int r = 0; r < P; r++) {
        int h = -1;
        for (int q = 0; q < r && h < 0; q++)
            if (host_of[q] == host_of[r])
                h = s->host[q];
        s->host[r] = h >= 0 ? h : s->H++;
        s->usable[r] = usable[r] > SWEEP_RANK_ANY ? SWEEP_RANK_ANY : usable[r];
        s->owner[r] = -1;
        s->n_any += s->usable[r] == SWEEP_RANK_ANY;
        s->n_solo += s->usable[r] == SWEEP_RANK_SOLO;
    }
    *out = s;
    return 0;
}

void sweep_sched_free(sweep_sched *s)
{
    if (!s)
        return;
    free(s->host), free(s->usable), free(s->owner), free(s->pend), free(s->fl), free(s->cnt), free(s->tmp);
    free(s->ends);
    free(s);
}

static int before(const pend *a, const pend *b)
{
    if (a->est != b->est)
        return a->est > b->est;
    return a->id < b->id;
}

int sweep_sched_add(sweep_sched *s, int64_t id, double est_s, int n_ranks)
{
    int can = n_ranks > 1 ? s->n_any : s->n_any + s->n_solo;
    if (n_ranks < 1 || n_ranks > can) {
        if (n_ranks < 1)
            return ZOO_FAIL(ZOO_ERR_INVALID, "run %lld asks for %d ranks; a run trains on 1 or more", (long long)id,
                            n_ranks);
        return ZOO_FAIL(ZOO_ERR_INVALID,
                        "run %lld needs %d ranks but only %d of the sweep's %d ranks can train %s run; lower its "
                        "ranks (or use ranks: auto) or start the sweep with more ranks%s",
                        (long long)id, n_ranks, can, s->P, n_ranks > 1 ? "a multi-rank" : "a",
                        n_ranks > 1 && s->n_solo ? " (rank 0 trains only single-rank runs)" : "");
    }
    if (s->npend == s->cappend) {
        int64_t nc = s->cappend ? 2 * s->cappend : 64;
        pend *np = realloc(s->pend, (size_t)nc * sizeof *np);
        if (!np)
            return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
        s->pend = np, s->cappend = nc;
    }
    pend p = {id, est_s, n_ranks};
    int64_t k = s->npend++;
    while (k > 0 && before(&p, &s->pend[k - 1])) {
        s->pend[k] = s->pend[k - 1];
        k--;
    }
    s->pend[k] = p;
    return 0;
}

int64_t sweep_sched_pending(const sweep_sched *s) { return s->npend; }

/* May rank r take a run of n ranks now? */
static int fits_rank(const sweep_sched *s, int r, int n)
{
    return s->owner[r] < 0 && s->usable[r] >= (n > 1 ? SWEEP_RANK_ANY : SWEEP_RANK_SOLO);
}

/* Choose n free ranks for a run into out[] (ascending); 0 when they are not free. Also
 * says how many of them a multi-rank run could have used (*any_used). O(P). */
static int place(sweep_sched *s, int n, int *out, int *any_used)
{
    int *cnt = s->cnt;
    for (int h = 0; h < s->H; h++)
        cnt[h] = 0;
    for (int r = 0; r < s->P; r++)
        if (fits_rank(s, r, 2))
            cnt[s->host[r]]++;
    *any_used = 0;
    if (n == 1) {
        /* A rank that trains only single-rank runs, else the one on the fullest node, so
         * whole nodes stay free for multi-rank runs. */
        int best = -1;
        for (int r = 0; r < s->P; r++) {
            if (!fits_rank(s, r, 1))
                continue;
            if (s->usable[r] == SWEEP_RANK_SOLO) {
                best = r;
                break;
            }
            if (best < 0 || cnt[s->host[r]] < cnt[s->host[best]])
                best = r;
        }
        if (best < 0)
            return 0;
        out[0] = best;
        *any_used = s->usable[best] == SWEEP_RANK_ANY;
        return 1;
    }
    int total = 0;
    for (int h = 0; h < s->H; h++)
        total += cnt[h];
    if (total < n)
        return 0;
    /* One node when one has room (the tightest fit), else the fewest nodes: the fullest
     * ones whole, the rest on the tightest node that holds it. */
    int *take = s->tmp; /* per host: ranks to take there */
    for (int h = 0; h < s->H; h++)
        take[h] = 0;
    int need = n;
    while (need > 0) {
        int fit = -1, big = -1;
        for (int h = 0; h < s->H; h++) {
            if (take[h] || !cnt[h])
                continue;
            if (cnt[h] >= need && (fit < 0 || cnt[h] < cnt[fit]))
                fit = h;
            if (big < 0 || cnt[h] > cnt[big])
                big = h;
        }
        int h = fit >= 0 ? fit : big;
        take[h] = fit >= 0 ? need : cnt[h];
        need -= take[h];
    }
    int k = 0;
    for (int r = 0; r < s->P && k < n; r++)
        if (fits_rank(s, r, 2) && take[s->host[r]] > 0) {
            take[s->host[r]]--;
            out[k++] = r;
        }
    *any_used = n;
    return 1;
}

static void start(sweep_sched *s, int64_t j, double now, const int *ranks)
{
    pend p = s->pend[j];
    memmove(&s->pend[j], &s->pend[j + 1], (size_t)(s->npend - j - 1) * sizeof *s->pend);
    s->npend--;
    int slot = 0;
    while (s->fl[slot].left)
        slot++; /* a free slot exists: at most P runs are in flight */
    s->fl[slot] = (flight){p.id, now + p.est, p.n};
    for (int i = 0; i < p.n; i++)
        s->owner[ranks[i]] = slot;
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* For a run of n ranks that does not fit now: the earliest time enough ranks it can use
 * are free (*shadow), and how many of those it will not need then (*extra). */
static void reservation(sweep_sched *s, int n, double now, double *shadow, int *extra)
{
    int have = 0;
    for (int r = 0; r < s->P; r++)
        have += fits_rank(s, r, n);
    /* Per rank in flight that the run could use, its run's end (past ends: now). */
    int k = 0;
    for (int r = 0; r < s->P; r++)
        if (s->owner[r] >= 0 && s->usable[r] >= (n > 1 ? SWEEP_RANK_ANY : SWEEP_RANK_SOLO))
            s->ends[k++] = fmax(now, s->fl[s->owner[r]].end);
    qsort(s->ends, (size_t)k, sizeof *s->ends, by_double);
    int i = 0;
    double t = now;
    while (have < n && i < k) {
        t = s->ends[i];
        while (i < k && s->ends[i] <= t)
            i++, have++;
    }
    *shadow = t;
    *extra = have - n;
}

int sweep_sched_next(sweep_sched *s, double now, int64_t *id, int *ranks, int *n)
{
    if (!s->npend)
        return 0;
    int free_solo = 0, free_any = 0, used;
    for (int r = 0; r < s->P; r++)
        if (s->owner[r] < 0) {
            free_solo += s->usable[r] == SWEEP_RANK_SOLO;
            free_any += s->usable[r] == SWEEP_RANK_ANY;
        }
    if (!free_solo && !free_any)
        return 0;
    /* Fits now, by counts (placement then always succeeds). */
#define FITS(k) ((k) > 1 ? free_any >= (k) : free_solo + free_any >= 1)
    if (FITS(s->pend[0].n)) {
        place(s, s->pend[0].n, ranks, &used);
        *id = s->pend[0].id, *n = s->pend[0].n;
        start(s, 0, now, ranks);
        return 1;
    }
    double shadow;
    int extra;
    reservation(s, s->pend[0].n, now, &shadow, &extra);
    int head_multi = s->pend[0].n > 1;
    for (int64_t j = 1; j < s->npend; j++) {
        const pend *p = &s->pend[j];
        if (!FITS(p->n))
            continue;
        /* Ranks the held run could use that this one would keep past the reservation: a
         * single-rank run goes to a rank that only trains those when one is free. */
        int held = !head_multi ? p->n : p->n > 1 ? p->n : !free_solo;
        if (now + p->est <= shadow || held <= extra) {
            place(s, p->n, ranks, &used);
            *id = p->id, *n = p->n;
            start(s, j, now, ranks);
            return 1;
        }
    }
#undef FITS
    return 0;
}

void sweep_sched_release(sweep_sched *s, const int *ranks, int n)
{
    for (int i = 0; i < n; i++) {
        int r = ranks[i];
        if (r < 0 || r >= s->P || s->owner[r] < 0)
            continue;
        flight *f = &s->fl[s->owner[r]];
        if (f->left > 0)
            f->left--;
        s->owner[r] = -1;
    }
}

/* ---- the simulator ----------------------------------------------------------------------- */

typedef struct ev {
    double end;
    int64_t run; /* index into the caller's arrays */
    int first, n;
} ev;

int sweep_sched_simulate(int P, const int *host_of, const unsigned char *usable, int64_t n, const int64_t *id,
                         const double *est_s, const int *n_ranks, double *start_at, int *first_rank, double *makespan)
{
    sweep_sched *s = NULL;
    int rc = sweep_sched_new(P, host_of, usable, &s);
    ev *evs = rc ? NULL : calloc((size_t)P, sizeof *evs);
    int *ranks = rc ? NULL : malloc((size_t)P * sizeof *ranks);
    int *rlist = rc ? NULL : malloc((size_t)P * sizeof *rlist); /* per rank: run index (for release) */
    *makespan = 0;
    if (!rc && (!evs || !ranks || !rlist))
        rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; !rc && i < n; i++)
        rc = sweep_sched_add(s, id[i], est_s[i], n_ranks[i]);
    /* id -> index: the ids given are the caller's; find by a linear scan only when they are
     * not 0..n-1 in order. */
    int in_order = 1;
    for (int64_t i = 0; i < n && in_order; i++)
        in_order = id[i] == i;
    int nev = 0;
    double now = 0;
    while (!rc && (sweep_sched_pending(s) || nev)) {
        int64_t rid;
        int k;
        while (sweep_sched_next(s, now, &rid, ranks, &k)) {
            int64_t i = rid;
            if (!in_order)
                for (i = 0; i < n && id[i] != rid; i++)
                    ;
            if (start_at)
                start_at[i] = now;
            if (first_rank)
                first_rank[i] = ranks[0];
            for (int q = 0; q < k; q++)
                rlist[ranks[q]] = (int)nev;
            evs[nev++] = (ev){now + est_s[i], i, ranks[0], k};
            *makespan = fmax(*makespan, now + est_s[i]);
        }
        if (!nev) {
            rc = ZOO_FAIL(ZOO_ERR_INVALID, "the scheduler left %lld runs waiting with every rank free",
                          (long long)sweep_sched_pending(s));
            break;
        }
        /* Advance to the next end; release every run ending then. */
        double t = evs[0].end;
        for (int e = 1; e < nev; e++)
            t = fmin(t, evs[e].end);
        now = t;
        for (int e = 0; e < nev;) {
            if (evs[e].end > t) {
                e++;
                continue;
            }
            int k2 = 0;
            for (int r = 0; r < P; r++)
                if (s->owner[r] >= 0 && rlist[r] == e)
                    ranks[k2++] = r;
            sweep_sched_release(s, ranks, k2);
            /* Move the last event into slot e; its ranks follow. */
            nev--;
            if (e != nev) {
                evs[e] = evs[nev];
                for (int r = 0; r < P; r++)
                    if (s->owner[r] >= 0 && rlist[r] == nev)
                        rlist[r] = e;
            }
        }
    }
    free(evs), free(ranks), free(rlist);
    sweep_sched_free(s);
    return rc;
}

/* ---- ranks: auto ------------------------------------------------------------------------ */

typedef struct runinfo {
    double steps, flops;
    int64_t params;
    int fixed; /* the spec's N, or 0 for auto */
    int cap;
} runinfo;

static double run_s(const sweep_netmodel *m, const runinfo *r, int n)
{
    return r->steps * sweep_step_seconds(m, r->flops, r->params, n);
}

/* N per run for target fraction f of the work per rank (refined as N changes it). */
static void assign(const runinfo *ri, int64_t nr, int P, double f, const sweep_netmodel *m, int *N)
{
    for (int64_t i = 0; i < nr; i++)
        N[i] = ri[i].fixed ? ri[i].fixed : 1;
    for (int pass = 0; pass < 4; pass++) {
        double work = 0;
        for (int64_t i = 0; i < nr; i++)
            work += N[i] * run_s(m, &ri[i], N[i]);
        double T = f * work / P;
        int changed = 0;
        for (int64_t i = 0; i < nr; i++) {
            if (ri[i].fixed)
                continue;
            double t1 = run_s(m, &ri[i], 1);
            int best = 1;
            /* n x t(n) grows with n (the allreduce and overhead are paid n times), so the
             * efficiency t(1) / (n t(n)) only falls: stop at the first n under 50%. */
            for (int k = 2; t1 > T && k <= ri[i].cap; k++) {
                double tk = run_s(m, &ri[i], k);
                if (t1 / (k * tk) < 0.5)
                    break;
                best = k;
                if (tk <= T)
                    break;
            }
            changed |= best != N[i];
            N[i] = best;
        }
        if (!changed)
            break;
    }
}

int sweep_resolve_ranks(const zoo_sweep *sw, const int64_t *params, int P, int max_n, const sweep_netmodel *m,
                        int *n_of_run, unsigned char *is_auto)
{
    int64_t nr = sw->n_runs;
    if (max_n > P)
        max_n = P;
    if (max_n < 1)
        max_n = 1;
    for (int64_t i = 0; i < nr; i++) {
        const zoo_run_spec *s = &sw->runs[i];
        int64_t b = sweep_run_batch(s);
        if (s->ranks > 0 && s->ranks > b)
            return ZOO_FAIL(ZOO_ERR_INVALID,
                            "%s: run %lld asks for ranks: %d, but its batch has %lld examples and each rank needs at "
                            "least one row of every batch: give ranks <= %lld, or ranks: auto",
                            sw->path ? sw->path : sw->name, (long long)i, s->ranks, (long long)b, (long long)b);
        if (s->ranks > max_n)
            return ZOO_FAIL(ZOO_ERR_INVALID,
                            "%s: run %lld asks for ranks: %d, but only %d of the sweep's %d ranks can train a multi-rank "
                            "run%s: start the sweep with at least %d ranks (mpirun -np), or lower ranks, or use ranks: "
                            "auto",
                            sw->path ? sw->path : sw->name, (long long)i, s->ranks, max_n, P,
                            max_n < P ? " (rank 0 trains only single-rank runs)" : "", s->ranks + (P - max_n));
    }
    runinfo *ri = malloc((size_t)(nr ? nr : 1) * sizeof *ri);
    int *cand = malloc((size_t)(nr ? nr : 1) * sizeof *cand);
    double *est = malloc((size_t)(nr ? nr : 1) * sizeof *est);
    int64_t *ids = malloc((size_t)(nr ? nr : 1) * sizeof *ids);
    int *host = calloc((size_t)P, sizeof *host);
    unsigned char *use = malloc((size_t)P);
    int rc = 0, any_auto = 0;
    if (!ri || !cand || !est || !ids || !host || !use) {
        rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < nr; i++) {
        const zoo_run_spec *s = &sw->runs[i];
        ri[i] = (runinfo){sweep_run_steps(s), zoo_run_spec_flops_per_step(s), params ? params[i] : -1, s->ranks, 1};
        int cap = sweep_run_max_ranks(s);
        ri[i].cap = cap < max_n ? cap : max_n;
        any_auto |= !s->ranks;
        ids[i] = i;
        n_of_run[i] = s->ranks ? s->ranks : 1;
        if (is_auto)
            is_auto[i] = !s->ranks;
    }
    /* The simulated machine: the ranks that only train single-rank runs first. */
    for (int r = 0; r < P; r++)
        use[r] = r < P - max_n ? SWEEP_RANK_SOLO : SWEEP_RANK_ANY;
    if (!any_auto || P < 2)
        goto done;
    static const double fractions[] = {1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1};
    double best_span = HUGE_VAL, best_work = HUGE_VAL;
    for (size_t c = 0; c < sizeof fractions / sizeof *fractions; c++) {
        assign(ri, nr, P, fractions[c], m, cand);
        double work = 0, span = 0;
        for (int64_t i = 0; i < nr; i++) {
            est[i] = run_s(m, &ri[i], cand[i]);
            work += cand[i] * est[i];
        }
        if ((rc = sweep_sched_simulate(P, host, use, nr, ids, est, cand, NULL, NULL, &span)))
            goto done;
        /* Better by more than rounding; on a tie, the fewer rank-seconds. */
        if (span < best_span * (1 - 1e-9) || (span <= best_span * (1 + 1e-9) && work < best_work)) {
            best_span = span, best_work = work;
            memcpy(n_of_run, cand, (size_t)nr * sizeof *cand);
        }
    }
done:
    free(ri), free(cand), free(est), free(ids), free(host), free(use);
    return rc;
}

/* ---- the hosts column ---------------------------------------------------------------------- */

void sweep_hosts_text(const char *const *host_name, const int *ranks, int n_ranks, char *out, size_t n)
{
    size_t k = 0;
    if (n)
        out[0] = 0;
    for (int i = 0; i < n_ranks && k < n; i++) {
        const char *h = host_name[ranks[i]];
        int seen = 0, count = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = !strcmp(host_name[ranks[j]], h);
        if (seen)
            continue;
        for (int j = i; j < n_ranks; j++)
            count += !strcmp(host_name[ranks[j]], h);
        int w = count > 1 ? snprintf(out + k, n - k, "%s%sx%d", k ? "," : "", h, count)
                          : snprintf(out + k, n - k, "%s%s", k ? "," : "", h);
        k += w > 0 ? (size_t)w : 0;
    }
}
