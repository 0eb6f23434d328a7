/* sweep_coord.c: rank 0. Hands runs out one at a time, costliest first, to every rank
 * (itself included, through a child process), records each finished run in the results
 * file before handing out more, prints progress, counts crashes, and stops cleanly on
 * SIGTERM/SIGUSR1/SIGINT. The only writer of the results file. Does not train itself:
 * children do. A multi-rank run goes to a group of worker ranks (never rank 0, which
 * must stay free to coordinate); its outcome is its part 0's, or the first part that
 * crashed or timed out, once every part has reported. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fmt.h"
#include "sweep.h"
#include "sweep_live.h"
#include "sweep_sched.h"
#include "zoo/error.h"

typedef struct coord {
    const zoo_sweep *sw;
    const sweep_opts *o;
    const sweep_mpi *mpi;
    sweep_book book;
    sweep_sched *sched; /* what starts next, on which ranks (sweep_sched.c) */
    int *n_of_run;      /* per sweep run: the ranks it trains on (ranks: auto resolved) */
    sweep_netmodel net;
    char (*host)[64];   /* per rank: its host */
    int64_t *busy;  /* per rank: sweep run in flight, -1 idle; rank 0 = the local child */
    sweep_child local;
    sweep_outcome *batch; /* finished, not yet committed */
    int nbatch, capbatch;
    int64_t n_todo, n_recorded, n_ok, n_failed;
    double cost_left, cost_done, t0;
    int stopping;
    double deadline, last_status;
    int abandoning;
    char (*seen)[288]; /* "rank|device" pairs already announced (print_device) */
    int n_seen;
    sweep_live live; /* <out>.live, for `zoo status` */
    struct group *groups; /* multi-rank runs in flight */
    int n_groups;
    char ckpt_dir[4096]; /* <out>.ckpt */
} coord;

/* A multi-rank run in flight: its ranks, the parts reported so far, the outcome to keep. */
typedef struct group {
    int64_t id;
    int n, got, abandon_sent;
    int ranks[SWEEP_MAX_GROUP];
    sweep_outcome keep; /* part 0's, replaced by the first crash or time-out */
    int have_keep, keep_is_fault; /* keep_is_fault: its part_score */
} group;

static void nap_ms(int ms)
{
    struct timespec d = {0, (long)ms * 1000000L};
    nanosleep(&d, NULL);
}

static int64_t in_flight(const coord *c)
{
    int64_t n = 0;
    for (int r = 0; r < c->mpi->size; r++)
        n += c->busy[r] >= 0;
    return n;
}

/* Runs in flight (a multi-rank run counts once, however many of its ranks are busy). */
static int64_t runs_in_flight(const coord *c)
{
    int64_t n = 0;
    for (int r = 0; r < c->mpi->size; r++) {
        int first = c->busy[r] >= 0;
        for (int q = 0; q < r && first; q++)
            first = c->busy[q] != c->busy[r];
        n += first;
    }
    return n;
}

/* Estimated seconds of a run on its ranks (the cost model of sweep_sched.c). */
static double run_seconds(const coord *c, int64_t run)
{
    const zoo_run_spec *s = &c->sw->runs[run];
    int n = c->n_of_run[run];
    int64_t params = n > 1 ? sweep_run_params(s) : 0; /* only the gradient sum needs it */
    return sweep_run_steps(s) * sweep_step_seconds(&c->net, zoo_run_spec_flops_per_step(s), params, n);
}

/* A run waits for its ranks (again, after a crash). */
static int push_queue(coord *c, int64_t run)
{
    return sweep_sched_add(c->sched, run, run_seconds(c, run), c->n_of_run[run]);
}

static int add_outcome(coord *c, sweep_outcome *o)
{
    if (c->nbatch == c->capbatch) {
        int nc = c->capbatch ? 2 * c->capbatch : 16;
        sweep_outcome *nb = realloc(c->batch, (size_t)nc * sizeof *nb);
        if (!nb)
            return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
        c->batch = nb;
        c->capbatch = nc;
    }
    c->batch[c->nbatch++] = *o;
    return 0;
}

/* ---- progress lines ---------------------------------------------------------------- */

static void describe(const zoo_run_spec *s, char *out, size_t n)
{
    char mixer[200] = "";
    size_t k = 0;
    for (int j = 0; j < s->n_mixers && k < sizeof mixer; j++)
        k += (size_t)snprintf(mixer + k, sizeof mixer - k, "%s%s", j ? "+" : "", s->mixers[j].name);
    if (!strcmp(s->task, "mqar"))
        snprintf(out, n, "%s D=%lld L=%lld K=%lld lr=%g", mixer, (long long)s->d_model, (long long)s->seq_len,
                 (long long)s->kv_pairs, s->lr);
    else /* K is a knob of the MQAR tasks only */
        snprintf(out, n, "%s %s D=%lld L=%lld lr=%g", s->task, mixer, (long long)s->d_model, (long long)s->seq_len,
                 s->lr);
}

/* The first time a rank reports a device (a GPU, or the CPU that backend: auto fell
 * back to, with the reason), one line naming it; later runs there say only "on cuda:1". */
static void print_device(coord *c, const zoo_results_row *row)
{
    if (!row->device[0] || !strcmp(row->device, "cpu"))
        return;
    char key[288];
    snprintf(key, sizeof key, "%d|%.255s", row->rank, row->device);
    for (int i = 0; i < c->n_seen; i++)
        if (!strcmp(c->seen[i], key))
            return;
    if (c->n_seen < 1024) {
        if (!c->seen)
            c->seen = calloc(1024, sizeof *c->seen);
        if (c->seen)
            memcpy(c->seen[c->n_seen++], key, sizeof key);
    }
    printf("  rank %d@%s computes on %s\n", row->rank, row->host, row->device);
}

static void print_run(coord *c, int64_t run, const zoo_results_row *row)
{
    if (c->o->quiet)
        return;
    char what[300], t[32];
    describe(&c->sw->runs[run], what, sizeof what);
    /* Where a run that could use a GPU computed: "cpu", or the device up to its first
     * blank ("cuda:1"). CPU-only runs say nothing. */
    if (c->sw->runs[run].backend != ZOO_BACKEND_CPU && row->backend[0]) {
        print_device(c, row);
        size_t k = strlen(what), dl = strcspn(row->device, " ");
        snprintf(what + k, sizeof what - k, " on %.*s", (int)(dl ? dl : strlen(row->backend)),
                 dl ? row->device : row->backend);
    }
    zoo_cli_fmt_time(t, sizeof t, row->wall_s);
    if (!strcmp(row->status, ZOO_STATUS_PENDING))
        printf("[%lld/%lld] run %lld crashed (%d of 2 allowed), will retry: %s: %s\n", (long long)c->n_recorded,
               (long long)c->n_todo, (long long)row->id, row->crashes, what, row->message);
    else if (!strcmp(row->status, ZOO_STATUS_OK))
        printf("[%lld/%lld] run %lld ok  %s  acc %.4f (best %.4f) loss %.4f  %d epochs  %s  rank %d@%s\n",
               (long long)c->n_recorded, (long long)c->n_todo, (long long)row->id, what, row->final_acc, row->best_acc,
               row->final_loss, row->epochs_run, t, row->rank, row->host);
    else
        printf("[%lld/%lld] run %lld %s  %s  %s  rank %d@%s: %s\n", (long long)c->n_recorded, (long long)c->n_todo,
               (long long)row->id, row->status, what, t, row->rank, row->host, row->message);
}

static void print_status(coord *c)
{
    c->last_status = sweep_now();
    if (c->o->quiet)
        return;
    double el = sweep_now() - c->t0;
    char eta[32] = "?", elapsed[32];
    zoo_cli_fmt_time(elapsed, sizeof elapsed, el);
    if (c->cost_done > 0 && el > 0)
        zoo_cli_fmt_time(eta, sizeof eta, c->cost_left / (c->cost_done / el));
    printf("  sweep: %lld/%lld recorded (%lld ok, %lld failed), %lld running, %lld waiting | %.2f runs/min | elapsed "
           "%s | ETA %s\n",
           (long long)c->n_recorded, (long long)c->n_todo, (long long)c->n_ok, (long long)c->n_failed,
           (long long)runs_in_flight(c), (long long)sweep_sched_pending(c->sched), el > 0 ? 60.0 * (double)c->n_recorded / el : 0.0,
           elapsed, eta);
    fflush(stdout);
}

/* ---- recording ------------------------------------------------------------------------ */

/* Record every finished run of the batch in one commit; crashed-once runs go back in
 * the queue. */
static int commit_batch(coord *c)
{
    if (!c->nbatch)
        return 0;
    int64_t nrows;
    const zoo_results_row *rows = zoo_results_rows(c->book.res, &nrows);
    zoo_results_row *nr = calloc((size_t)c->nbatch, sizeof *nr);
    zoo_results_update *u = calloc((size_t)c->nbatch, sizeof *u);
    zoo_run_result *rr = calloc((size_t)c->nbatch, sizeof *rr);
    int64_t *runs = calloc((size_t)c->nbatch, sizeof *runs);
    int n = 0, rc = 0;
    if (!nr || !u || !rr || !runs) {
        rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
        goto done;
    }
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    for (int i = 0; i < c->nbatch; i++) {
        sweep_outcome *o = &c->batch[i];
        int64_t run = o->h.id;
        if (o->h.abandoned || run < 0 || run >= c->sw->n_runs)
            continue; /* abandoned runs stay pending and are redone by a resume */
        zoo_results_row *row = &nr[n];
        *row = rows[c->book.row_of[run]];
        row->rank = o->h.rank;
        snprintf(row->host, sizeof row->host, "%s", o->h.host);
        row->ranks = o->h.ranks;
        snprintf(row->hosts, sizeof row->hosts, "%s", o->h.hosts);
        row->wall_s = o->h.wall_s;
        row->peak_bytes = o->h.peak_bytes;
        if (zoo_mem_plan_total(&o->h.mem)) { /* -1 (unknown) when the run never planned */
            row->mem_params_bytes = (int64_t)o->h.mem.params;
            row->mem_grads_bytes = (int64_t)o->h.mem.grads;
            row->mem_optimizer_bytes = (int64_t)o->h.mem.optimizer;
            row->mem_activations_bytes = (int64_t)o->h.mem.activations;
            row->mem_act_grads_bytes = (int64_t)o->h.mem.act_grads;
            row->mem_workspace_bytes = (int64_t)o->h.mem.workspace;
        } else {
            row->mem_params_bytes = row->mem_grads_bytes = row->mem_optimizer_bytes = -1;
            row->mem_activations_bytes = row->mem_act_grads_bytes = row->mem_workspace_bytes = -1;
        }
        row->finished_unix = (double)wall.tv_sec + 1e-9 * (double)wall.tv_nsec;
        snprintf(row->message, sizeof row->message, "%.255s", o->h.message);
        if (o->h.signal) {
            row->crashes++;
            snprintf(row->status, sizeof row->status, "%s",
                     row->crashes >= 2 ? ZOO_STATUS_CRASHED : ZOO_STATUS_PENDING);
            if (row->crashes >= 2)
                snprintf(row->message, sizeof row->message, "killed its training process twice; last: %.200s",
                         o->h.message);
        } else {
            snprintf(row->status, sizeof row->status, "%s",
                     o->h.timed_out ? ZOO_STATUS_TIMEOUT : zoo_status_word(o->h.status));
            snprintf(row->backend, sizeof row->backend, "%s", o->h.backend);
            snprintf(row->device, sizeof row->device, "%s", o->h.device);
            row->params = o->h.params;
            row->state_size = o->h.state_size;
            if (o->h.flops_per_step > 0)
                row->flops_per_step = o->h.flops_per_step;
            row->epochs_run = o->h.epochs_run;
            row->steps_run = o->h.n_steps;
            row->final_acc = o->h.epochs_run > 0 ? o->h.final_acc : NAN;
            row->best_acc = o->h.epochs_run > 0 ? o->h.best_acc : NAN;
            row->final_loss = o->h.epochs_run > 0 ? o->h.final_loss : NAN;
            row->tokens_per_s = o->h.tokens_per_s;
        }
        sweep_outcome_result(o, &rr[n]);
        u[n] = (zoo_results_update){row, &c->sw->runs[run], o->curves ? &rr[n] : NULL};
        runs[n++] = run;
    }
    if (n && (rc = zoo_results_commit(c->book.res, u, n)))
        goto done;
    for (int i = 0; i < n; i++) {
        double cost = sweep_run_cost(&c->sw->runs[runs[i]]);
        if (!strcmp(nr[i].status, ZOO_STATUS_PENDING)) { /* crashed once: try again later */
            if (!c->stopping && (rc = push_queue(c, runs[i])))
                goto done;
            print_run(c, runs[i], &nr[i]);
            continue;
        }
        c->n_recorded++;
        c->cost_done += cost;
        c->cost_left -= cost;
        if (!strcmp(nr[i].status, ZOO_STATUS_OK))
            c->n_ok++;
        else
            c->n_failed++;
        print_run(c, runs[i], &nr[i]);
    }
    if (n)
        print_status(c);
done:
    for (int i = 0; i < c->nbatch; i++)
        sweep_outcome_free(&c->batch[i]);
    c->nbatch = 0;
    free(nr), free(u), free(rr), free(runs);
    return rc;
}

/* ---- messages ----------------------------------------------------------------------- */

/* How every run of this sweep is trained: its limit, its checkpoints. */
static sweep_child_opts child_opts(coord *c)
{
    if (!c->ckpt_dir[0])
        sweep_ckpt_dir(c->o->out, c->ckpt_dir, sizeof c->ckpt_dir);
    return (sweep_child_opts){c->sw->max_run_seconds, c->ckpt_dir, 60.0 * c->sw->checkpoint_minutes, c->o->grace_s,
                              c->sw->keep_checkpoints, NULL};
}

/* Send run `run` to its ranks (one, or a group: each gets the whole group). */
static int send_work(coord *c, const int *ranks, int n, int64_t run)
{
    sweep_work_msg w;
    memset(&w, 0, sizeof w); /* padding too: the bytes travel as they are */
    w.id = run;
    w.max_run_seconds = c->sw->max_run_seconds;
    sweep_child_opts co = child_opts(c);
    w.ckpt_every_s = co.ckpt_every_s, w.ckpt_grace_s = co.ckpt_grace_s, w.keep_ckpt = co.keep_ckpt;
    snprintf(w.ckpt_dir, sizeof w.ckpt_dir, "%s", co.ckpt_dir);
    w.spec = c->sw->runs[run];
    w.spec.ranks = n;
    w.nparts = n;
    memcpy(w.group, ranks, (size_t)n * sizeof *ranks);
    for (int k = 0; k < n; k++) {
        w.part = k;
        if (MPI_Send(&w, (int)sizeof w, MPI_BYTE, ranks[k], SWEEP_TAG_WORK, MPI_COMM_WORLD) != MPI_SUCCESS)
            return ZOO_FAIL(ZOO_ERR_MPI, "sending run %lld to rank %d failed", (long long)run, ranks[k]);
    }
    return 0;
}


static group *group_of_rank(coord *c, int rank, int64_t id)
{
    for (int i = 0; i < c->n_groups; i++)
        if (c->groups[i].id == id)
            for (int k = 0; k < c->groups[i].n; k++)
                if (c->groups[i].ranks[k] == rank)
                    return &c->groups[i];
    return NULL;
}

/* Which part's outcome speaks for the run: a crash or time-out first, then a failure
 * of one part alone (out of memory, a lost rank), then part 0's, then any other
 * finished part; abandoned parts last. */
static int part_score(const sweep_outcome *o, int part)
{
    if (o->h.abandoned)
        return 0;
    if (o->h.signal || o->h.timed_out)
        return 4;
    if (o->h.status && o->h.status != ZOO_ERR_NUMERIC)
        return 3;
    return part == 0 ? 2 : 1;
}

/* One part of a multi-rank run reported. A fault of one part (crash, time-out, a
 * failure the others do not share) leaves the others waiting in the gradient sum: they
 * are told to abandon the run. When the last part is in, the run's outcome joins the
 * batch. */
static int add_part(coord *c, group *g, int rank, sweep_outcome *o)
{
    int part = 0;
    while (part < g->n && g->ranks[part] != rank)
        part++;
    int score = part_score(o, part);
    g->got++;
    if (!g->have_keep || score > g->keep_is_fault) {
        if (g->have_keep)
            sweep_outcome_free(&g->keep);
        g->keep = *o;
        g->have_keep = 1;
        g->keep_is_fault = score;
    } else {
        sweep_outcome_free(o);
    }
    if (score >= 3 && !g->abandon_sent && g->got < g->n) {
        g->abandon_sent = 1;
        for (int k = 0; k < g->n; k++)
            if (c->busy[g->ranks[k]] == g->id &&
                MPI_Send(&(int32_t){SWEEP_ABANDON_FAULT}, (int)sizeof(int32_t), MPI_BYTE, g->ranks[k],
                         SWEEP_TAG_ABANDON, MPI_COMM_WORLD) != MPI_SUCCESS)
                return ZOO_FAIL(ZOO_ERR_MPI, "asking rank %d to abandon run %lld failed", g->ranks[k], (long long)g->id);
    }
    if (g->got < g->n)
        return 0;
    sweep_outcome fin = g->keep;
    fin.h.id = g->id;
    fin.h.ranks = g->n;
    const char **names = malloc((size_t)c->mpi->size * sizeof *names);
    for (int r = 0; names && r < c->mpi->size; r++)
        names[r] = c->host[r];
    if (names)
        sweep_hosts_text(names, g->ranks, g->n, fin.h.hosts, sizeof fin.h.hosts);
    free(names);
    *g = c->groups[--c->n_groups]; /* g is done with: its slot takes the last one */
    return add_outcome(c, &fin);
}

/* Receive every message waiting; results go to the batch. */
static int drain_messages(coord *c, int *any)
{
    for (;;) {
        int flag = 0;
        MPI_Status st;
        if (MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st) != MPI_SUCCESS)
            return ZOO_FAIL(ZOO_ERR_MPI, "MPI_Iprobe failed");
        if (!flag)
            return 0;
        int n = 0;
        MPI_Get_count(&st, MPI_BYTE, &n);
        char *buf = malloc((size_t)(n > 0 ? n : 1));
        if (!buf)
            return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory for a message of %d bytes", n);
        if (MPI_Recv(buf, n, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE) != MPI_SUCCESS) {
            free(buf);
            return ZOO_FAIL(ZOO_ERR_MPI, "receiving from rank %d failed", st.MPI_SOURCE);
        }
        *any = 1;
        int rc = 0;
        if (st.MPI_TAG == SWEEP_TAG_RESULT) {
            sweep_outcome o;
            rc = sweep_outcome_unpack(buf, (size_t)n, &o);
            if (!rc && o.h.id != c->busy[st.MPI_SOURCE])
                rc = ZOO_FAIL(ZOO_ERR_MPI, "rank %d reported run %lld but was given run %lld", st.MPI_SOURCE,
                              (long long)o.h.id, (long long)c->busy[st.MPI_SOURCE]);
            if (!rc) {
                group *g = group_of_rank(c, st.MPI_SOURCE, o.h.id);
                c->busy[st.MPI_SOURCE] = -1;
                sweep_sched_release(c->sched, &st.MPI_SOURCE, 1);
                if (!g) {
                    o.h.ranks = 1;
                    snprintf(o.h.hosts, sizeof o.h.hosts, "%s", o.h.host);
                }
                rc = g ? add_part(c, g, st.MPI_SOURCE, &o) : add_outcome(c, &o);
            }
        }
        free(buf);
        if (rc)
            return rc;
    }
}

/* Start what the scheduler says can start now: a single-rank run on rank 0 (a local
 * child) or a worker, a multi-rank run on its group of workers. */
static int hand_out(coord *c)
{
    int64_t run;
    int n = 0;
    int *ranks = malloc((size_t)c->mpi->size * sizeof *ranks);
    if (!ranks)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    int rc = 0;
    while (!rc && !c->stopping && sweep_sched_next(c->sched, sweep_now(), &run, ranks, &n) == 1) {
        if (n > 1) {
            group *g = &c->groups[c->n_groups++];
            memset(g, 0, sizeof *g);
            g->id = run;
            g->n = n;
            memcpy(g->ranks, ranks, (size_t)n * sizeof *ranks);
        }
        for (int k = 0; k < n; k++)
            c->busy[ranks[k]] = run;
        if (n == 1 && ranks[0] == 0) {
            zoo_run_spec one = c->sw->runs[run];
            one.ranks = 1; /* auto, resolved */
            sweep_child_opts co = child_opts(c);
            rc = sweep_child_start(&c->local, run, &one, &co);
        } else {
            rc = send_work(c, ranks, n, run);
        }
    }
    free(ranks);
    return rc;
}

static void begin_stop(coord *c)
{
    int sig = sweep_stop_requested();
    if (!sig || c->stopping)
        return;
    c->stopping = 1;
    /* With checkpoints the runs in flight save and stop now (abandon_all) instead of
     * being waited for. */
    c->deadline = sweep_now() + (c->sw->checkpoint_minutes > 0 ? 0 : c->o->grace_s);
    fprintf(stderr,
            "zoo sweep: %s: handing out no more runs; waiting up to %.0f s for the %lld in flight (a second signal "
            "abandons them)\n",
            strsignal(sig), c->o->grace_s, (long long)runs_in_flight(c));
}

static int abandon_all(coord *c)
{
    c->abandoning = 1;
    fprintf(stderr, "zoo sweep: abandoning %lld runs in flight (they stay pending and are redone on resume)\n",
            (long long)runs_in_flight(c));
    for (int r = 1; r < c->mpi->size; r++)
        if (c->busy[r] >= 0 && MPI_Send(&(int32_t){SWEEP_ABANDON_STOP}, (int)sizeof(int32_t), MPI_BYTE, r,
                                        SWEEP_TAG_ABANDON, MPI_COMM_WORLD) != MPI_SUCCESS)
            return ZOO_FAIL(ZOO_ERR_MPI, "asking rank %d to abandon its run failed", r);
    if (c->busy[0] >= 0) {
        sweep_outcome o;
        sweep_child_abandon(&c->local, &o, 1);
        c->busy[0] = -1;
        int zero = 0;
        sweep_sched_release(c->sched, &zero, 1);
        o.h.rank = 0;
        o.h.ranks = 1;
        snprintf(o.h.host, sizeof o.h.host, "%s", sweep_host());
        snprintf(o.h.hosts, sizeof o.h.hosts, "%s", o.h.host);
        int rc = add_outcome(c, &o); /* one that ended meanwhile is recorded; abandoned ones are not */
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- the loop ---------------------------------------------------------------------------- */

static int run_loop(coord *c)
{
    int rc = 0;
    while (!rc) {
        begin_stop(c);
        if (c->stopping && !c->abandoning && (sweep_abandon_requested() || sweep_now() > c->deadline))
            if ((rc = abandon_all(c)))
                break;
        int any = 0;
        if (c->mpi->on && (rc = drain_messages(c, &any)))
            break;
        if (c->busy[0] >= 0) {
            sweep_outcome o;
            int done = sweep_child_poll(&c->local, any ? 0 : 5, &o);
            if (done < 0) {
                rc = done;
                break;
            }
            if (done) {
                o.h.rank = 0;
                snprintf(o.h.host, sizeof o.h.host, "%s", sweep_host());
                c->busy[0] = -1;
                int zero = 0;
                sweep_sched_release(c->sched, &zero, 1);
                o.h.ranks = 1;
                snprintf(o.h.hosts, sizeof o.h.hosts, "%s", o.h.host);
                if ((rc = add_outcome(c, &o)))
                    break;
                any = 1;
            }
        } else if (!any) {
            nap_ms(5);
        }
        /* Safe on disk first, then more work. */
        if ((rc = commit_batch(c)) || (rc = hand_out(c)))
            break;
        sweep_live_sync(&c->live, c->busy, c->book.row_of, c->n_recorded, c->stopping);
        if (in_flight(c) == 0 && (c->stopping || sweep_sched_pending(c->sched) == 0))
            break;
        /* Long runs: a status line every five minutes even when none finished. */
        if (sweep_now() - c->last_status > 300)
            print_status(c);
    }
    return rc;
}

static int stop_workers(const coord *c, int32_t code)
{
    int rc = 0;
    for (int r = 1; r < c->mpi->size; r++)
        if (MPI_Send(&code, (int)sizeof code, MPI_BYTE, r, SWEEP_TAG_STOP, MPI_COMM_WORLD) != MPI_SUCCESS)
            rc = ZOO_FAIL(ZOO_ERR_MPI, "telling rank %d to stop failed", r);
    return rc;
}

/* Wait for every worker's hello (they send it at once); collect the host names. */
static int gather_ready(const sweep_mpi *mpi, char *hosts, size_t n, sweep_live *live, char (*host)[64])
{
    size_t k = (size_t)snprintf(hosts, n, "%s", sweep_host());
    snprintf(host[0], sizeof host[0], "%s", sweep_host());
    for (int got = 1; got < mpi->size;) {
        char h[64];
        MPI_Status st;
        if (MPI_Recv(h, (int)sizeof h, MPI_BYTE, MPI_ANY_SOURCE, SWEEP_TAG_READY, MPI_COMM_WORLD, &st) != MPI_SUCCESS)
            return ZOO_FAIL(ZOO_ERR_MPI, "waiting for the workers' hello failed");
        h[sizeof h - 1] = 0;
        got++;
        sweep_live_host(live, st.MPI_SOURCE, h);
        memcpy(host[st.MPI_SOURCE], h, sizeof h);
        /* distinct names only */
        int seen = 0;
        for (const char *p = hosts; (p = strstr(p, h)); p++)
            if ((p == hosts || p[-1] == ',') && (p[strlen(h)] == ',' || !p[strlen(h)]))
                seen = 1;
        if (!seen && k < n)
            k += (size_t)snprintf(hosts + k, n - k, ",%s", h);
    }
    return 0;
}

/* Each run's rank count (ranks: auto picked for this many ranks), the scheduler over
 * the ranks and their nodes, and the runs to do in it. ZOO_ERR_INVALID when a run asks
 * for more ranks than can train it. */
static int plan_ranks(coord *c)
{
    const zoo_sweep *sw = c->sw;
    const int P = c->mpi->size;
    sweep_netmodel_init(&c->net, sw, c->o->gflops, c->o->net_gbytes_per_s, c->o->net_latency_us,
                        c->o->step_overhead_ms);
    c->n_of_run = malloc((size_t)(sw->n_runs ? sw->n_runs : 1) * sizeof *c->n_of_run);
    int *host_of = malloc((size_t)P * sizeof *host_of);
    unsigned char *usable = malloc((size_t)P);
    int64_t *params = NULL;
    int rc = 0, any_auto = 0;
    if (!c->n_of_run || !host_of || !usable || !c->groups || !c->busy)
        rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; !rc && i < sw->n_runs; i++)
        any_auto |= sw->runs[i].ranks == 0;
    /* auto weighs the gradient sum, which needs parameter counts: only then build them */
    if (!rc && any_auto && !(params = malloc((size_t)sw->n_runs * sizeof *params)))
        rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; !rc && params && i < sw->n_runs; i++)
        params[i] = sw->runs[i].ranks == 0 ? sweep_run_params(&sw->runs[i]) : -1;
    int max_n = P - 1 > 0 ? P - 1 : 1; /* rank 0 coordinates: never part of a multi-rank run */
    if (!rc)
        rc = sweep_resolve_ranks(sw, params, P, max_n, &c->net, c->n_of_run, NULL);
    for (int r = 0; !rc && r < P; r++) {
        host_of[r] = r; /* the first rank with the same host name names the node */
        for (int q = 0; q < r; q++)
            if (!strcmp(c->host[q], c->host[r])) {
                host_of[r] = q;
                break;
            }
        usable[r] = r ? SWEEP_RANK_ANY : c->o->train_on_root ? SWEEP_RANK_SOLO : SWEEP_RANK_OFF;
    }
    if (!rc)
        rc = sweep_sched_new(P, host_of, usable, &c->sched);
    for (int64_t i = 0; !rc && i < c->book.n_todo; i++) {
        int64_t run = c->book.todo[i];
        if (!(rc = push_queue(c, run)))
            c->cost_left += sweep_run_cost(&sw->runs[run]);
    }
    free(params);
    free(host_of);
    free(usable);
    return rc;
}

static void free_plan(coord *c)
{
    sweep_sched_free(c->sched);
    free(c->n_of_run);
    free(c->host);
    free(c->busy);
    for (int i = 0; c->groups && i < c->n_groups; i++)
        sweep_outcome_free(&c->groups[i].keep);
    free(c->groups);
}

int sweep_coordinate(const zoo_sweep *sw, const sweep_opts *o, const sweep_mpi *mpi)
{
    coord c;
    memset(&c, 0, sizeof c);
    c.sw = sw, c.o = o, c.mpi = mpi;
    c.book.lock_fd = -1;
    sweep_signals_install();
    zoo_results_session ss;
    memset(&ss, 0, sizeof ss);
    zoo_results_now(ss.started);
    ss.ranks = mpi->size;
    ss.exit_code = -1;
    snprintf(ss.command, sizeof ss.command, "%s", o->command);
    sweep_live_init(&c.live, o->out, mpi->size, mpi->size - (o->train_on_root ? 0 : 1), o->command);
    c.host = calloc((size_t)mpi->size, sizeof *c.host);
    int rc = !c.host ? ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory")
             : mpi->on ? gather_ready(mpi, ss.hosts, sizeof ss.hosts, &c.live, c.host)
                       : 0;
    if (!mpi->on && c.host) {
        snprintf(ss.hosts, sizeof ss.hosts, "%s", sweep_host());
        snprintf(c.host[0], sizeof c.host[0], "%s", sweep_host());
    }
    int exit_code = SWEEP_EXIT_SYSTEM;
    if (!rc && (rc = sweep_book_open(&c.book, sw, o, &ss))) {
        if (rc == ZOO_ERR_INVALID)
            exit_code = SWEEP_EXIT_INPUT;
    }
    c.busy = malloc((size_t)mpi->size * sizeof *c.busy);
    if (!rc && !c.busy)
        rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    if (rc) {
        zoo_error e = *zoo_error_last();
        if (mpi->on)
            stop_workers(&c, exit_code);
        fprintf(stderr, "zoo sweep: %s\n", e.msg);
        sweep_live_end(&c.live, exit_code);
        sweep_book_close(&c.book);
        free_plan(&c);
        return exit_code;
    }
    for (int r = 0; r < mpi->size; r++)
        c.busy[r] = -1;
    c.groups = calloc((size_t)mpi->size, sizeof *c.groups);
    int trainers = mpi->size - (o->train_on_root ? 0 : 1);
    if (trainers < 1)
        rc = ZOO_FAIL(ZOO_ERR_INVALID, "no rank trains: run more than one rank or drop --no-train-on-root");
    else
        rc = plan_ranks(&c);
    if (rc == ZOO_ERR_INVALID)
        exit_code = SWEEP_EXIT_INPUT;
    if (rc) {
        fprintf(stderr, "zoo sweep: %s\n", zoo_error_last()->msg);
        if (mpi->on)
            stop_workers(&c, exit_code);
        sweep_live_end(&c.live, exit_code);
        sweep_book_close(&c.book);
        free_plan(&c);
        return exit_code;
    }
    c.n_todo = c.book.n_todo;
    c.t0 = c.last_status = sweep_now();
    if (c.book.backup[0])
        printf("zoo sweep: --force: the old results are kept as %s\n", c.book.backup);
    printf("zoo sweep %s: %lld runs, %lld already recorded, %lld to do, on %d rank%s (%s) -> %s\n", sw->name,
           (long long)sw->n_runs, (long long)c.book.n_final, (long long)c.n_todo, trainers, trainers == 1 ? "" : "s",
           ss.hosts, o->out);
    fflush(stdout);
    rc = run_loop(&c);
    if (rc) {
        /* The file holds every run recorded so far; stop the rest. */
        fprintf(stderr, "zoo sweep: %s\n", zoo_error_last()->msg);
        if (in_flight(&c) && !c.abandoning)
            abandon_all(&c);
        exit_code = SWEEP_EXIT_SYSTEM;
    } else {
        int64_t nr, pending = 0, bad = 0;
        const zoo_results_row *rows = zoo_results_rows(c.book.res, &nr);
        for (int64_t i = 0; i < sw->n_runs; i++) {
            const char *st = rows[c.book.row_of[i]].status;
            pending += !strcmp(st, ZOO_STATUS_PENDING);
            bad += strcmp(st, ZOO_STATUS_PENDING) && strcmp(st, ZOO_STATUS_OK);
        }
        exit_code = pending ? SWEEP_EXIT_STOPPED : bad ? SWEEP_EXIT_RUNS : SWEEP_EXIT_OK;
        if (!pending && !sw->keep_checkpoints && c.ckpt_dir[0]) /* what crashed runs left behind */
            sweep_ckpt_cleanup(c.ckpt_dir);
        char el[32];
        zoo_cli_fmt_time(el, sizeof el, sweep_now() - c.t0);
        if (pending)
            printf("zoo sweep: stopped after %s with %lld runs left; rerun the same command to resume (exit %d)\n", el,
                   (long long)pending, exit_code);
        else
            printf("zoo sweep: done in %s: %lld runs recorded this session; %lld of %lld runs not ok -> %s\n", el,
                   (long long)c.n_recorded, (long long)bad, (long long)sw->n_runs, o->out);
    }
    /* Workers with a run still in flight (an error above) report it abandoned first. */
    for (double until = sweep_now() + 30; mpi->on && in_flight(&c) > (c.busy[0] >= 0) && sweep_now() < until;) {
        int any = 0;
        if (drain_messages(&c, &any))
            break;
        for (int i = 0; i < c.nbatch; i++)
            sweep_outcome_free(&c.batch[i]);
        c.nbatch = 0;
        if (!any)
            nap_ms(5);
    }
    if (c.book.res && zoo_results_end(c.book.res, exit_code)) {
        /* Every run recorded is durable in the journal (a commit is); only the fold into
         * one file failed, and the next session on the file does it. */
        char jdir[4200];
        zoo_results_journal_dir(o->out, jdir, sizeof jdir);
        if (access(jdir, F_OK) == 0)
            fprintf(stderr,
                    "zoo sweep: %s; the runs are recorded in %s; free some space and rerun the same command to finish "
                    "the file\n",
                    zoo_error_last()->msg, jdir);
        else
            fprintf(stderr, "zoo sweep: %s\n", zoo_error_last()->msg);
        exit_code = SWEEP_EXIT_SYSTEM;
    }
    sweep_live_end(&c.live, exit_code);
    if (mpi->on)
        stop_workers(&c, exit_code);
    fflush(stdout);
    sweep_book_close(&c.book);
    free_plan(&c);
    free(c.batch);
    free(c.seen);
    return exit_code;
}
