/* cmd_status.c: `zoo status RESULTS.h5`: how far a sweep is, from any shell, while it
 * runs or after. Reads only what the coordinator publishes whole: finished runs through
 * zoo_results_open (never the HDF5 file directly), runs in flight from "<results>.live"
 * (zoo/live.h). Changes nothing. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "fmt.h"
#include "sweep.h"
#include "zoo/error.h"
#include "zoo/h5util.h"
#include "zoo/live.h"
#include "zoo/results.h"


static void usage(FILE *f)
{
    fprintf(f,
            "usage: zoo status RESULTS.h5 [--json] [--watch [SECONDS]] [--top N] [--max-age SECONDS]\n"
            "\n"
            "How far the sweep writing RESULTS.h5 is, from any shell, while it runs or after: runs\n"
            "done (ok), failed (any other final status), running and pending; the status column's\n"
            "counts; the runs in flight (rank, host, time so far); the slowest and the most recently\n"
            "finished runs; this session's throughput and an ETA. Finished runs come from the results\n"
            "file, runs in flight from RESULTS.h5.live, which the sweep's coordinator rewrites on every\n"
            "hand-out and recorded run and once a minute (docs/results.md). Nothing is written, and no\n"
            "file lock is taken, so the sweep is never held up.\n"
            "\n"
            "ETA: each run weighs its planned FLOPs (FLOPs per step x steps of all epochs, the cost\n"
            "the sweep orders runs by; every run weighs the same when one has no estimate). The\n"
            "seconds per weight of the runs this session trained, times the weight of the pending\n"
            "runs plus what the running ones have left, over the training ranks (at least the longest\n"
            "run left); \"unknown\" until a run of this session has trained; none once a stop began or\n"
            "when the sweep is not running.\n"
            "\n"
            "  --json             one JSON object instead of text (with --watch, one per line)\n"
            "  --watch [SECONDS]  print again every SECONDS (default 5) until the sweep ends or Ctrl-C\n"
            "  --top N            rows in the slowest and most recent tables (default 5, 0 for none)\n"
            "  --max-age SECONDS  call a coordinator on another host gone after this long without an\n"
            "                     update of the live file (default 300; on this host its pid is checked)\n"
            "\n"
            "exit codes: 0 status printed (running or not); 2 bad input (usage,\n"
            "RESULTS.h5 missing, not an HDF5 file, not a results file of zoo sweep, unreadable);\n"
            "3 out of memory.\n");
}

typedef struct status_opts {
    const char *path;
    int json, watch, top;
    double every, max_age;
} status_opts;

/* The status column's words, in the order reports list them. */
static const char *const words[] = {ZOO_STATUS_OK,          ZOO_STATUS_DIVERGED, ZOO_STATUS_UNSUPPORTED,
                                    ZOO_STATUS_OOM,         ZOO_STATUS_FAILED,   ZOO_STATUS_CRASHED,
                                    ZOO_STATUS_PENDING};
#define N_WORDS (sizeof words / sizeof *words)

/* Everything one report says, from one read of the two files. */
typedef struct snapshot {
    zoo_results *res;
    const zoo_results_row *rows;
    int64_t n;
    zoo_live live;
    int have_live;        /* 1 read, 0 none, <0 unreadable (live_err says why) */
    char live_err[1024];
    double now;           /* Unix seconds */
    const char *state;    /* running, stopping, ended, stale, unknown */
    char why[2048];       /* the state in words */
    double *run_started;  /* per row: when its run in flight started; NaN when not running */
    int64_t *run_slot;    /* per row: its index in live.runs when running */
    int64_t done, failed, running, pending;
    int64_t words[N_WORDS], other; /* rows per status word; rows with none of them */
    int64_t sess_runs;    /* final rows recorded this session */
    double sess_elapsed, runs_per_hour, tokens_per_s; /* NaN: unknown */
    double eta_s;         /* NaN: unknown or none */
    char eta_basis[256];
    int64_t *slowest, n_slowest, *recent, n_recent;
} snapshot;

static double unix_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void fmt_utc(char *out, size_t n, double t)
{
    time_t s = (time_t)t;
    struct tm tm;
    if (!(t > 0) || !gmtime_r(&s, &tm) || !strftime(out, n, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(out, n, "?");
}

/* Runs of a sweep often take seconds: those get a decimal. */
static void fmt_wall(char *out, size_t n, double s)
{
    if (s >= 0 && s < 60)
        snprintf(out, n, "%.1f s", s);
    else
        zoo_cli_fmt_time(out, n, s);
}

static int is_final(const zoo_results_row *r) { return strcmp(r->status, ZOO_STATUS_PENDING) != 0; }

/* The planned cost the coordinator orders runs by: FLOPs per step x steps of all epochs. */
static double planned_cost(const zoo_results_row *r)
{
    if (!(r->flops_per_step > 0) || r->epochs <= 0 || r->batch_size <= 0 || r->train_examples <= 0)
        return NAN;
    return r->flops_per_step * (double)r->epochs * (double)((r->train_examples + r->batch_size - 1) / r->batch_size);
}

static const char *exit_meaning(int code)
{
    switch (code) {
    case SWEEP_EXIT_OK: return "every run recorded and ok";
    case SWEEP_EXIT_RUNS: return "every run recorded, some not ok";
    case SWEEP_EXIT_INPUT: return "bad input";
    case SWEEP_EXIT_SYSTEM: return "the sweep could not go on";
    case SWEEP_EXIT_STOPPED: return "stopped by a signal; rerun the same command to resume";
    default: return "see zoo sweep --help";
    }
}

/* Whether process `pid` of this host is alive. A zombie is not: a coordinator killed
 * together with its parent (mpirun) may wait long for a reaper. */
static int pid_alive(int64_t pid)
{
    if (pid <= 0 || (kill((pid_t)pid, 0) && errno == ESRCH))
        return 0;
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 1;
    const char *st = fgets(line, sizeof line, f) ? strrchr(line, ')') : NULL; /* "pid (name) S ..." */
    fclose(f);
    return !(st && (st[1] == ' ') && (st[2] == 'Z' || st[2] == 'X'));
}

/* Running, stopping, ended, stale (the coordinator is gone without saying so) or
 * unknown (no live file), with the reason in words. */
static void judge_state(snapshot *s, const status_opts *o)
{
    char seen[64], ago[32];
    if (s->have_live <= 0) {
        s->state = "unknown";
        if (s->have_live < 0)
            snprintf(s->why, sizeof s->why, "live status unreadable: %s", s->live_err);
        else
            snprintf(s->why, sizeof s->why,
                     "no live status file (%s%s): the sweep that wrote the results is older than zoo status, "
                     "or the file was removed; runs in flight cannot be shown",
                     o->path, ZOO_LIVE_SUFFIX);
        return;
    }
    const zoo_live *l = &s->live;
    fmt_utc(seen, sizeof seen, l->updated);
    zoo_cli_fmt_time(ago, sizeof ago, s->now - l->updated);
    if (!strcmp(l->state, ZOO_LIVE_ENDED)) {
        s->state = "ended";
        snprintf(s->why, sizeof s->why, "not running: the session ended %s (%s ago) with exit %d (%s)", seen, ago,
                 l->exit_code, exit_meaning(l->exit_code));
        return;
    }
    int here = !strcmp(l->host, sweep_host());
    if (here && !pid_alive(l->pid)) {
        s->state = "stale";
        snprintf(s->why, sizeof s->why,
                 "not running (last seen %s, %s ago): its coordinator, pid %lld on %s, is gone (killed?); rerun "
                 "`%s` to resume",
                 seen, ago, (long long)l->pid, l->host, l->command);
        return;
    }
    if (s->now - l->updated > o->max_age) {
        s->state = "stale";
        snprintf(s->why, sizeof s->why,
                 "not running (last seen %s, %s ago): no update for more than %.0f s (--max-age) from its "
                 "coordinator, pid %lld on %s; rerun `%s` to resume",
                 seen, ago, o->max_age, (long long)l->pid, l->host, l->command);
        return;
    }
    s->state = !strcmp(l->state, ZOO_LIVE_STOPPING) ? "stopping" : "running";
    snprintf(s->why, sizeof s->why, "%s: coordinator pid %lld on %s, %d rank%s (%d train), updated %s ago",
             !strcmp(s->state, "stopping") ? "stopping (a signal came: no more hand-outs)" : "running",
             (long long)l->pid, l->host, l->ranks, l->ranks == 1 ? "" : "s", l->trainers, ago);
}

static int is_live(const snapshot *s) { return !strcmp(s->state, "running") || !strcmp(s->state, "stopping"); }

/* Throughput of this session and the ETA (usage() says how). */
static void estimate(snapshot *s)
{
    s->sess_elapsed = s->runs_per_hour = s->tokens_per_s = s->eta_s = NAN;
    snprintf(s->eta_basis, sizeof s->eta_basis, "no live status: no session to measure");
    if (s->have_live <= 0)
        return;
    const zoo_live *l = &s->live;
    double end = is_live(s) ? s->now : l->updated, tokens = 0, w_done = 0, t_done = 0;
    int64_t trained = 0, with_tokens = 0;
    s->sess_elapsed = end - l->started;
    int costed = 1;
    for (int64_t i = 0; i < s->n; i++) {
        const zoo_results_row *r = &s->rows[i];
        int in_session = is_final(r) && r->finished_unix >= l->started;
        if (in_session || !is_final(r))
            costed &= planned_cost(r) > 0;
        if (!in_session)
            continue;
        s->sess_runs++;
        if (r->steps_run > 0) {
            tokens += (double)r->steps_run * (double)r->batch_size * (double)r->seq_len;
            with_tokens++;
        }
        if (r->epochs_run > 0 && r->wall_s > 0)
            trained++;
    }
    if (s->sess_elapsed > 0) {
        s->runs_per_hour = 3600.0 * (double)s->sess_runs / s->sess_elapsed;
        if (with_tokens)
            s->tokens_per_s = tokens / s->sess_elapsed;
    }
    if (!is_live(s)) {
        snprintf(s->eta_basis, sizeof s->eta_basis, "none: the sweep is not running");
        return;
    }
    if (!strcmp(s->state, "stopping")) {
        snprintf(s->eta_basis, sizeof s->eta_basis, "none: stopping, no more runs are handed out");
        return;
    }
    if (!trained) {
        snprintf(s->eta_basis, sizeof s->eta_basis, "unknown: no run of this session has trained yet");
        return;
    }
    for (int64_t i = 0; i < s->n; i++) {
        const zoo_results_row *r = &s->rows[i];
        if (is_final(r) && r->finished_unix >= l->started && r->epochs_run > 0 && r->wall_s > 0) {
            w_done += costed ? planned_cost(r) : 1;
            t_done += r->wall_s;
        }
    }
    double per = t_done / w_done, left = 0, longest = 0;
    for (int64_t i = 0; i < s->n; i++) {
        const zoo_results_row *r = &s->rows[i];
        if (is_final(r))
            continue;
        double t = (costed ? planned_cost(r) : 1) * per;
        if (!isnan(s->run_started[i]))
            t = fmax(t - (s->now - s->run_started[i]), 0);
        left += t;
        longest = fmax(longest, t);
    }
    int ranks = l->trainers > 0 ? l->trainers : 1;
    s->eta_s = fmax(left / ranks, longest);
    snprintf(s->eta_basis, sizeof s->eta_basis, "%s of this session's %lld trained run%s, over %d training rank%s",
             costed ? "seconds per planned FLOP" : "mean wall time", (long long)trained, trained == 1 ? "" : "s",
             ranks, ranks == 1 ? "" : "s");
}

/* Row ids of final runs, the top `k` by key descending (wall_s or finished_unix). */
static int64_t top_rows(const snapshot *s, int by_wall, int64_t k, int64_t *out)
{
    int64_t m = 0;
    for (int64_t i = 0; i < s->n && k > 0; i++) {
        const zoo_results_row *r = &s->rows[i];
        double v = by_wall ? r->wall_s : r->finished_unix;
        if (!is_final(r) || !(v >= 0))
            continue;
        int64_t j = m < k ? m++ : k;
        for (; j > 0; j--) {
            const zoo_results_row *p = &s->rows[out[j - 1]];
            if ((by_wall ? p->wall_s : p->finished_unix) >= v)
                break;
            if (j < k)
                out[j] = out[j - 1];
        }
        if (j < k)
            out[j] = i;
    }
    return m;
}

static void snapshot_free(snapshot *s)
{
    zoo_results_close(s->res);
    zoo_live_free(&s->live);
    free(s->run_started), free(s->run_slot), free(s->slowest), free(s->recent);
    memset(s, 0, sizeof *s);
}

/* 0, or the exit code to return (the message printed). */
static int take_snapshot(snapshot *s, const status_opts *o)
{
    memset(s, 0, sizeof *s);
    /* The live file first: a run it lists that the results already show final counts as
     * final, so the two reads never show a run twice. */
    s->have_live = zoo_live_read(o->path, &s->live);
    if (s->have_live < 0)
        snprintf(s->live_err, sizeof s->live_err, "%s", zoo_error_last()->msg);
    int rc = zoo_results_open(o->path, &s->res);
    if (rc) {
        zoo_cli_report("status");
        if (rc == ZOO_ERR_INVALID)
            fprintf(stderr, "zoo status: give the results file of a sweep (zoo sweep FILE -o RESULTS.h5)\n");
        return rc == ZOO_ERR_NOMEM ? ZOO_EXIT_SYSTEM : ZOO_EXIT_INPUT;
    }
    s->rows = zoo_results_rows(s->res, &s->n);
    s->now = unix_now();
    judge_state(s, o);
    size_t n = (size_t)(s->n ? s->n : 1), k = (size_t)(o->top ? o->top : 1);
    s->run_started = malloc(n * sizeof *s->run_started);
    s->run_slot = malloc(n * sizeof *s->run_slot);
    s->slowest = malloc(k * sizeof *s->slowest);
    s->recent = malloc(k * sizeof *s->recent);
    if (!s->run_started || !s->run_slot || !s->slowest || !s->recent) {
        fprintf(stderr, "zoo status: out of memory for %lld rows\n", (long long)s->n);
        return ZOO_EXIT_SYSTEM;
    }
    for (int64_t i = 0; i < s->n; i++)
        s->run_started[i] = NAN, s->run_slot[i] = -1;
    /* Runs in flight count only while the coordinator is alive; otherwise they were
     * abandoned and are pending again. */
    for (int64_t j = 0; is_live(s) && j < s->live.n_runs; j++) {
        const zoo_live_run *lr = &s->live.runs[j];
        if (lr->id >= 0 && lr->id < s->n && !is_final(&s->rows[lr->id]))
            s->run_started[lr->id] = lr->started, s->run_slot[lr->id] = j;
    }
    for (int64_t i = 0; i < s->n; i++) {
        const zoo_results_row *r = &s->rows[i];
        if (!is_final(r) && isnan(s->run_started[i]))
            s->pending++;
        else if (!is_final(r))
            s->running++;
        else if (!strcmp(r->status, ZOO_STATUS_OK))
            s->done++;
        else
            s->failed++;
        size_t w = 0;
        while (w < N_WORDS && strcmp(r->status, words[w]))
            w++;
        *(w < N_WORDS ? &s->words[w] : &s->other) += 1;
    }
    estimate(s);
    s->n_slowest = top_rows(s, 1, o->top, s->slowest);
    s->n_recent = top_rows(s, 0, o->top, s->recent);
    return 0;
}

/* ---- text ------------------------------------------------------------------------------ */

static void print_num(double v, const char *fmt, const char *unknown)
{
    if (isnan(v))
        printf("%s", unknown);
    else
        printf(fmt, v);
}

static void print_rows(const snapshot *s, const char *title, const int64_t *ids, int64_t m)
{
    if (!m)
        return;
    printf("%s:\n  %6s  %-24s %7s %7s %9s %-11s %9s %9s\n", title, "id", "mixer", "d_model", "seq_len", "lr", "status",
           "wall", "final_acc");
    for (int64_t j = 0; j < m; j++) {
        const zoo_results_row *r = &s->rows[ids[j]];
        char t[32];
        fmt_wall(t, sizeof t, r->wall_s);
        printf("  %6lld  %-24.24s %7lld %7lld %9.3g %-11s %9s ", (long long)r->id, r->mixer, (long long)r->d_model,
               (long long)r->seq_len, r->lr, r->status, t);
        print_num(r->final_acc, "%9.4f", "        -");
        putchar('\n');
    }
}

static void print_text(const snapshot *s, const status_opts *o)
{
    char t[64], el[32], eta[32];
    fmt_utc(t, sizeof t, s->now);
    printf("zoo status %s  (%s)\n", o->path, t);
    printf("sweep: %s\n", s->why);
    printf("runs: %lld: %lld done (ok), %lld failed, %lld running, %lld pending\n", (long long)s->n,
           (long long)s->done, (long long)s->failed, (long long)s->running, (long long)s->pending);
    printf("status column:");
    const char *sep = " ";
    for (size_t w = 0; w < N_WORDS; w++)
        if (s->words[w]) {
            printf("%s%s %lld", sep, words[w], (long long)s->words[w]);
            sep = ", ";
        }
    if (s->other)
        printf("%sother %lld", sep, (long long)s->other);
    printf("%s\n", s->n ? "" : " (no runs)");
    if (s->have_live > 0) {
        fmt_utc(t, sizeof t, s->live.started);
        zoo_cli_fmt_time(el, sizeof el, s->sess_elapsed);
        printf("session: started %s, %lld run%s finished in %s: ", t, (long long)s->sess_runs,
               s->sess_runs == 1 ? "" : "s", el);
        print_num(s->runs_per_hour, "%.1f runs/hour", "? runs/hour");
        print_num(s->tokens_per_s, ", %.0f training tokens/s", "");
        putchar('\n');
    }
    zoo_cli_fmt_time(eta, sizeof eta, s->eta_s);
    if (!isnan(s->eta_s))
        printf("ETA: %s for %lld runs left (%s)\n", eta, (long long)(s->running + s->pending), s->eta_basis);
    else
        printf("ETA: %s\n", s->eta_basis);
    if (s->running) {
        printf("running:\n  %6s  %-24s %7s %7s %9s %-20s %9s\n", "id", "mixer", "d_model", "seq_len", "lr", "rank@host",
               "for");
        for (int64_t i = 0; i < s->n; i++) {
            if (isnan(s->run_started[i]))
                continue;
            const zoo_results_row *r = &s->rows[i];
            const zoo_live_run *lr = &s->live.runs[s->run_slot[i]];
            char at[96];
            snprintf(at, sizeof at, "%d@%s", lr->rank, lr->host);
            zoo_cli_fmt_time(el, sizeof el, s->now - lr->started);
            printf("  %6lld  %-24.24s %7lld %7lld %9.3g %-20.20s %9s\n", (long long)r->id, r->mixer,
                   (long long)r->d_model, (long long)r->seq_len, r->lr, at, el);
        }
    }
    print_rows(s, "slowest finished", s->slowest, s->n_slowest);
    print_rows(s, "most recently finished", s->recent, s->n_recent);
}

/* ---- JSON ------------------------------------------------------------------------------ */

static void json_str(const char *v)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f) /* our strings are ASCII; anything else is escaped */
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

static void json_num(double v)
{
    if (isfinite(v))
        printf("%.15g", v);
    else
        printf("null");
}

static void json_row(const zoo_results_row *r)
{
    printf("{\"id\": %lld, \"mixer\": ", (long long)r->id);
    json_str(r->mixer);
    printf(", \"d_model\": %lld, \"seq_len\": %lld, \"lr\": ", (long long)r->d_model, (long long)r->seq_len);
    json_num(r->lr);
    printf(", \"status\": ");
    json_str(r->status);
    printf(", \"wall_s\": ");
    json_num(r->wall_s);
    printf(", \"final_acc\": ");
    json_num(r->final_acc);
    printf(", \"finished_unix\": ");
    json_num(r->finished_unix);
    putchar('}');
}

static void json_rows(const snapshot *s, const int64_t *ids, int64_t m)
{
    putchar('[');
    for (int64_t j = 0; j < m; j++) {
        fputs(j ? ", " : "", stdout);
        json_row(&s->rows[ids[j]]);
    }
    putchar(']');
}

static void print_json(const snapshot *s, const status_opts *o)
{
    const zoo_live *l = &s->live;
    printf("{\"results\": ");
    json_str(o->path);
    printf(", \"now\": ");
    json_num(s->now);
    printf(", \"sweep\": {\"state\": ");
    json_str(s->state);
    printf(", \"message\": ");
    json_str(s->why);
    if (s->have_live > 0) {
        printf(", \"pid\": %lld, \"host\": ", (long long)l->pid);
        json_str(l->host);
        printf(", \"ranks\": %d, \"trainers\": %d, \"started\": ", l->ranks, l->trainers);
        json_num(l->started);
        printf(", \"updated\": ");
        json_num(l->updated);
        printf(", \"exit_code\": ");
        if (!strcmp(l->state, ZOO_LIVE_ENDED))
            printf("%d", l->exit_code);
        else
            printf("null");
        printf(", \"command\": ");
        json_str(l->command);
    }
    printf("}, \"counts\": {\"total\": %lld, \"done\": %lld, \"failed\": %lld, \"running\": %lld, \"pending\": %lld}",
           (long long)s->n, (long long)s->done, (long long)s->failed, (long long)s->running, (long long)s->pending);
    printf(", \"status_counts\": {");
    const char *sep = "";
    for (size_t w = 0; w < N_WORDS; w++)
        if (s->words[w]) {
            printf("%s\"%s\": %lld", sep, words[w], (long long)s->words[w]);
            sep = ", ";
        }
    if (s->other)
        printf("%s\"other\": %lld", sep, (long long)s->other);
    printf("}, \"session\": {\"finished_runs\": %lld, \"elapsed_s\": ", (long long)s->sess_runs);
    json_num(s->sess_elapsed);
    printf(", \"runs_per_hour\": ");
    json_num(s->runs_per_hour);
    printf(", \"tokens_per_s\": ");
    json_num(s->tokens_per_s);
    printf("}, \"eta\": {\"seconds\": ");
    json_num(s->eta_s);
    printf(", \"basis\": ");
    json_str(s->eta_basis);
    printf("}, \"running\": [");
    int first = 1;
    for (int64_t i = 0; i < s->n; i++) {
        if (isnan(s->run_started[i]))
            continue;
        const zoo_results_row *r = &s->rows[i];
        const zoo_live_run *lr = &l->runs[s->run_slot[i]];
        printf("%s{\"id\": %lld, \"mixer\": ", first ? "" : ", ", (long long)r->id);
        json_str(r->mixer);
        printf(", \"d_model\": %lld, \"seq_len\": %lld, \"lr\": ", (long long)r->d_model, (long long)r->seq_len);
        json_num(r->lr);
        printf(", \"rank\": %d, \"host\": ", lr->rank);
        json_str(lr->host);
        printf(", \"started\": ");
        json_num(lr->started);
        printf(", \"elapsed_s\": ");
        json_num(s->now - lr->started);
        putchar('}');
        first = 0;
    }
    printf("], \"slowest\": ");
    json_rows(s, s->slowest, s->n_slowest);
    printf(", \"recent\": ");
    json_rows(s, s->recent, s->n_recent);
    printf("}\n");
}

/* ---- the command ------------------------------------------------------------------------ */

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) { interrupted = sig; }

static int parse_number(const char *a, const char *v, double *out, double min)
{
    char *end = NULL;
    double x = v ? strtod(v, &end) : NAN;
    if (!v || end == v || *end || !(x >= min) || !isfinite(x)) {
        fprintf(stderr, "zoo status: %s needs a number of at least %g, got '%s'\n", a, min, v ? v : "nothing");
        return 0;
    }
    *out = x;
    return 1;
}

static int is_number(const char *v)
{
    char *end = NULL;
    strtod(v, &end);
    return end != v && !*end;
}

static int parse_args(int argc, char **argv, status_opts *o)
{
    memset(o, 0, sizeof *o);
    o->top = 5, o->every = 5, o->max_age = 300;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        double v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return -1;
        } else if (!strcmp(a, "--json")) {
            o->json = 1;
        } else if (!strcmp(a, "--watch")) {
            o->watch = 1;
            /* The interval is optional: the next word is it only when it is a number. */
            if (i + 1 < argc && is_number(argv[i + 1]) && !parse_number(a, argv[++i], &o->every, 0.1))
                return 2;
        } else if (!strncmp(a, "--watch=", 8)) {
            o->watch = 1;
            if (!parse_number("--watch", a + 8, &o->every, 0.1))
                return 2;
        } else if (!strcmp(a, "--top") || !strcmp(a, "--max-age")) {
            if (!parse_number(a, i + 1 < argc ? argv[++i] : NULL, &v, !strcmp(a, "--top") ? 0 : 1))
                return 2;
            if (!strcmp(a, "--top"))
                o->top = v > 1000 ? 1000 : (int)v;
            else
                o->max_age = v;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "zoo status: unknown option '%s' (see zoo status --help)\n", a);
            return 2;
        } else if (o->path) {
            fprintf(stderr, "zoo status: one results file at a time ('%s' and '%s')\n", o->path, a);
            return 2;
        } else {
            o->path = a;
        }
    }
    if (!o->path) {
        fprintf(stderr, "zoo status: give the results file (zoo status RESULTS.h5; see --help)\n");
        return 2;
    }
    return 0;
}

int zoo_cmd_status(int argc, char **argv)
{
    status_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc < 0 ? ZOO_EXIT_OK : rc;
    /* HDF5 1.10 flock()s every file it opens (shared for reading). A reader needs no lock
     * here (a sweep never changes a file in place), and one held while a writer opens the
     * file for writing would make that writer fail: read without locks. */
    setenv("HDF5_USE_FILE_LOCKING", "FALSE", 1);
    if (access(o.path, F_OK)) {
        fprintf(stderr,
                "zoo status: %s: %s; give the results file of a sweep (it appears when `zoo sweep FILE -o %s` "
                "starts)\n",
                o.path, strerror(errno), o.path);
        return ZOO_EXIT_INPUT;
    }
    zoo_h5_quiet();
    if (H5Fis_hdf5(o.path) <= 0) {
        fprintf(stderr, "zoo status: %s is not an HDF5 file; give the results file of a sweep (zoo sweep FILE -o %s)\n",
                o.path, o.path);
        return ZOO_EXIT_INPUT;
    }
    if (o.watch) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_sigint;
        sigaction(SIGINT, &sa, NULL);
    }
    int clear = o.watch && !o.json && isatty(STDOUT_FILENO);
    for (;;) {
        snapshot s;
        if ((rc = take_snapshot(&s, &o))) {
            snapshot_free(&s);
            return rc;
        }
        if (clear)
            printf("\033[H\033[2J");
        if (o.json)
            print_json(&s, &o);
        else
            print_text(&s, &o);
        fflush(stdout);
        int live = is_live(&s);
        snapshot_free(&s);
        if (!o.watch || !live || interrupted)
            return ZOO_EXIT_OK;
        struct timespec d = {(time_t)o.every, (long)((o.every - floor(o.every)) * 1e9)};
        while (!interrupted && nanosleep(&d, &d) && errno == EINTR)
            ;
        if (interrupted)
            return ZOO_EXIT_OK;
        if (!o.json)
            putchar('\n');
    }
}
