/* sweep_child.c: train one run in a forked child process and collect its outcome
 * through a pipe. The child is the run's sandbox: a segfault in a plugin or the OOM
 * killer ends the child, not the rank, and the parent sees and counts the crash; a run
 * past the sweep's max_run_seconds is stopped by the parent and reported. The
 * parent (coordinator or worker) never runs OpenMP, BLAS or CUDA itself, so forking
 * is safe. Also the outcome's byte format, shared with the MPI messages. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>
#include <sys/stat.h>

#include "run_ckpt.h"
#include "sweep.h"
#include "sweep_relay.h"
#include "zoo/error.h"

double sweep_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *sweep_host(void)
{
    static char host[64];
    if (!host[0] && gethostname(host, sizeof host - 1))
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = 0;
    return host;
}

/* ---- the outcome's bytes ------------------------------------------------------------- */

static int64_t n_curve_floats(const sweep_wire_head *h) { return h->n_steps + 4 * (int64_t)h->n_epochs; }

void sweep_outcome_free(sweep_outcome *o)
{
    if (o) {
        free(o->curves);
        o->curves = NULL;
    }
}

int sweep_outcome_pack(const sweep_outcome *o, char **buf, size_t *n)
{
    int64_t nf = o->curves ? n_curve_floats(&o->h) : 0;
    sweep_wire_head h = o->h;
    if (!o->curves)
        h.n_steps = 0, h.n_epochs = 0;
    *n = sizeof h + (size_t)nf * sizeof(float);
    *buf = malloc(*n);
    if (!*buf)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory packing a run outcome (%zu bytes)", *n);
    memcpy(*buf, &h, sizeof h);
    if (nf)
        memcpy(*buf + sizeof h, o->curves, (size_t)nf * sizeof(float));
    return 0;
}

int sweep_outcome_unpack(const char *buf, size_t n, sweep_outcome *o)
{
    memset(o, 0, sizeof *o);
    if (n < sizeof o->h)
        return ZOO_FAIL(ZOO_ERR_IO, "a run outcome of %zu bytes is shorter than its header (%zu)", n, sizeof o->h);
    memcpy(&o->h, buf, sizeof o->h);
    o->h.host[sizeof o->h.host - 1] = 0;
    o->h.hosts[sizeof o->h.hosts - 1] = 0;
    o->h.message[sizeof o->h.message - 1] = 0;
    o->h.backend[sizeof o->h.backend - 1] = 0;
    o->h.device[sizeof o->h.device - 1] = 0;
    for (int i = 0; i < ZOO_MAX_TAGS; i++)
        o->h.tag_names[i][sizeof o->h.tag_names[i] - 1] = 0;
    int64_t nf = n_curve_floats(&o->h);
    if (o->h.n_steps < 0 || o->h.n_epochs < 0 || n != sizeof o->h + (size_t)nf * sizeof(float))
        return ZOO_FAIL(ZOO_ERR_IO, "a run outcome of %zu bytes does not match its header (%lld curve values)", n,
                        (long long)nf);
    if (nf) {
        o->curves = malloc((size_t)nf * sizeof(float));
        if (!o->curves)
            return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory for a run's curves");
        memcpy(o->curves, buf + sizeof o->h, (size_t)nf * sizeof(float));
    }
    return 0;
}

void sweep_outcome_result(const sweep_outcome *o, zoo_run_result *r)
{
    memset(r, 0, sizeof *r);
    r->status = o->h.status;
    r->params = o->h.params;
    r->state_size = o->h.state_size;
    r->flops_per_step = o->h.flops_per_step;
    r->epochs_run = o->h.epochs_run;
    r->final_acc = o->h.final_acc;
    r->best_acc = o->h.best_acc;
    r->final_loss = o->h.final_loss;
    r->tokens_per_s = o->h.tokens_per_s;
    r->wall_s = o->h.wall_s;
    r->peak_bytes = (size_t)o->h.peak_bytes;
    r->mem = o->h.mem;
    r->n_segments = o->h.n_segments >= 0 && o->h.n_segments <= ZOO_MAX_SEGMENTS ? o->h.n_segments : 0;
    memcpy(r->segment_test_loss, o->h.segment_test_loss, sizeof r->segment_test_loss);
    memcpy(r->segment_test_acc, o->h.segment_test_acc, sizeof r->segment_test_acc);
    memcpy(r->segment_test_count, o->h.segment_test_count, sizeof r->segment_test_count);
    r->n_tags = o->h.n_tags >= 0 && o->h.n_tags <= ZOO_MAX_TAGS ? o->h.n_tags : 0;
    memcpy(r->tag_test_loss, o->h.tag_test_loss, sizeof r->tag_test_loss);
    memcpy(r->tag_test_acc, o->h.tag_test_acc, sizeof r->tag_test_acc);
    memcpy(r->tag_test_count, o->h.tag_test_count, sizeof r->tag_test_count);
    memcpy(r->tag_names, o->h.tag_names, sizeof r->tag_names);
    if (!o->curves)
        return;
    float *c = o->curves;
    r->n_steps = o->h.n_steps;
    r->step_loss = c;
    c += o->h.n_steps;
    r->n_epochs = o->h.n_epochs;
    r->epoch_train_loss = c;
    r->epoch_test_loss = c + o->h.n_epochs;
    r->epoch_test_acc = c + 2 * o->h.n_epochs;
    r->epoch_lr = c + 3 * o->h.n_epochs;
}

/* ---- the child ------------------------------------------------------------------------ */

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Ranks sharing a node split its cores unless the user chose (OMP_NUM_THREADS or
 * SLURM_CPUS_PER_TASK): N ranks each using every core would fight over them. */
static void default_threads(void)
{
    if (getenv("OMP_NUM_THREADS") || getenv("SLURM_CPUS_PER_TASK"))
        return;
    const char *ls = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (!ls)
        ls = getenv("MPI_LOCALNRANKS");
    long local = ls ? strtol(ls, NULL, 10) : 1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (local > 1 && cores > 0) {
        char v[32];
        snprintf(v, sizeof v, "%ld", cores / local > 0 ? cores / local : 1);
        setenv("OMP_NUM_THREADS", v, 1);
    }
}

static pid_t watcher; /* in the child: the rank that forked it */
static volatile sig_atomic_t stop_asked; /* in the child: SIGUSR1 from the watcher, "save and stop" */

/* SIGTERM from the watching rank is the time limit: end the run at once. From anyone
 * else (a job-wide stop) it is the coordinator's to handle, so it is ignored here. */
static void on_sigterm(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (si && si->si_pid == watcher) {
        signal(sig, SIG_DFL);
        raise(sig);
    }
}

/* SIGUSR1 from the watching rank: the sweep is stopping; save the checkpoint and stop
 * between two steps. From anyone else it is the coordinator's to handle. */
static void on_sigusr1(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    if (si && si->si_pid == watcher)
        stop_asked = 1;
}

static int child_should_stop(void *ud)
{
    (void)ud;
    return stop_asked;
}

static void child_main(int fd, int64_t id, const zoo_run_spec *spec, pid_t parent, const char *ckpt, double every_s,
                       int keep, sweep_relay *relay)
{
    /* Die with the parent (a killed rank must not leave orphans training), and leave
     * the stop signals to the coordinator: a run is finished or abandoned by it. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    watcher = parent;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigterm;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_sigaction = on_sigusr1;
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGINT, SIG_IGN);
    default_threads();
    /* The backend is decided here, in the process that trains (backend: auto takes this
     * node's GPU when the CUDA backend can run the model, else the CPU): the parent never
     * touches the device, so it can fork the next run safely. */
    sweep_outcome o;
    memset(&o, 0, sizeof o);
    zoo_run_spec run = *spec;
    zoo_backend used = ZOO_BACKEND_CPU;
    char dev[256], why[1024];
    zoo_run_result res;
    if (zoo_run_spec_backend(spec, &used, dev, sizeof dev, why, sizeof why)) {
        memset(&res, 0, sizeof res);
        res.status = zoo_error_last()->code;
        snprintf(res.message, sizeof res.message, "%s", zoo_error_last()->msg);
        res.params = -1;
    } else {
        run.backend = used;
        snprintf(o.h.backend, sizeof o.h.backend, "%s", zoo_backend_name(used));
        if (why[0]) /* auto, on the CPU: say why not the GPU */
            snprintf(o.h.device, sizeof o.h.device, "cpu (auto: %.240s)", why);
        else
            snprintf(o.h.device, sizeof o.h.device, "%s", dev);
        char hash[17], who[64];
        zoo_run_spec_hash(spec, hash);
        snprintf(who, sizeof who, "zoo sweep: run %lld (%s)", (long long)id, hash);
        run_ckpt ck;
        run_ckpt_open(&ck, ckpt, spec, every_s, who);
        ck.reader_only = relay && relay->part > 0; /* one file per run: part 0 writes it */
        zoo_run_hooks h;
        memset(&h, 0, sizeof h);
        h.should_stop = child_should_stop;
        h.ud = &ck;
        run_ckpt_hooks(&ck, &h);
        h.reducer = relay ? sweep_relay_child(relay) : NULL;
        zoo_run(&run, &h, &res, NULL);
        fflush(stderr);
        if (res.status == ZOO_ERR_INTERRUPTED && stop_asked)
            _exit(0); /* saved and stopped: the parent is waiting for the exit, not for a result */
        if (res.status == ZOO_ERR_INTERRUPTED) /* another part of this run was asked first: */
            o.h.abandoned = 1; /* all stopped after one step and saved; the run is not over */
        else
            run_ckpt_close(&ck, 1, keep);
    }
    o.h.id = id;
    o.h.status = res.status;
    snprintf(o.h.message, sizeof o.h.message, "%s", res.message);
    o.h.params = res.params;
    o.h.state_size = res.state_size;
    o.h.flops_per_step = res.flops_per_step;
    o.h.epochs_run = res.epochs_run;
    o.h.final_acc = res.final_acc;
    o.h.best_acc = res.best_acc;
    o.h.final_loss = res.final_loss;
    o.h.tokens_per_s = res.tokens_per_s;
    o.h.wall_s = res.wall_s;
    o.h.peak_bytes = (int64_t)res.peak_bytes;
    o.h.mem = res.mem;
    o.h.n_segments = res.n_segments;
    memcpy(o.h.segment_test_loss, res.segment_test_loss, sizeof o.h.segment_test_loss);
    memcpy(o.h.segment_test_acc, res.segment_test_acc, sizeof o.h.segment_test_acc);
    memcpy(o.h.segment_test_count, res.segment_test_count, sizeof o.h.segment_test_count);
    o.h.n_tags = res.n_tags;
    memcpy(o.h.tag_test_loss, res.tag_test_loss, sizeof o.h.tag_test_loss);
    memcpy(o.h.tag_test_acc, res.tag_test_acc, sizeof o.h.tag_test_acc);
    memcpy(o.h.tag_test_count, res.tag_test_count, sizeof o.h.tag_test_count);
    memcpy(o.h.tag_names, res.tag_names, sizeof o.h.tag_names);
    /* Curves in one block: step_loss, then train loss, test loss, test acc, lr per epoch. */
    int64_t ns = res.step_loss ? res.n_steps : 0;
    int ne = res.epoch_test_acc && res.epoch_train_loss && res.epoch_test_loss && res.epoch_lr ? res.n_epochs : 0;
    o.h.n_steps = ns;
    o.h.n_epochs = ne;
    if (ns + ne) {
        o.curves = malloc((size_t)(ns + 4 * ne) * sizeof(float));
        if (o.curves) {
            memcpy(o.curves, res.step_loss, (size_t)ns * sizeof(float));
            memcpy(o.curves + ns, res.epoch_train_loss, (size_t)ne * sizeof(float));
            memcpy(o.curves + ns + ne, res.epoch_test_loss, (size_t)ne * sizeof(float));
            memcpy(o.curves + ns + 2 * ne, res.epoch_test_acc, (size_t)ne * sizeof(float));
            memcpy(o.curves + ns + 3 * ne, res.epoch_lr, (size_t)ne * sizeof(float));
        } else {
            o.h.n_steps = o.h.n_epochs = 0;
        }
    }
    char *buf;
    size_t n;
    if (sweep_outcome_pack(&o, &buf, &n) || write_all(fd, buf, n))
        _exit(3);
    /* _exit: no atexit handlers, no stdio flush of buffers inherited from the parent. */
    _exit(0);
}

void sweep_ckpt_dir(const char *results, char *out, size_t n) { snprintf(out, n, "%s.ckpt", results); }

void sweep_ckpt_cleanup(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[4400];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* The run's checkpoint file into c->ckpt when the folder can be written (made if
 * missing); else a warning, once per process, and none. */
static void ckpt_path(sweep_child *c, const zoo_run_spec *spec, const char *dir)
{
    static int warned;
    c->ckpt[0] = 0;
    if (!dir || !*dir)
        return;
    if ((mkdir(dir, 0777) && errno != EEXIST) || access(dir, W_OK | X_OK)) {
        if (!warned++)
            fprintf(stderr, "zoo sweep (on %s): cannot write checkpoints in %s: %s; training without them (multi-node "
                    "sweeps need the folder on a file system every node shares)\n", sweep_host(), dir, strerror(errno));
        return;
    }
    char hash[17];
    zoo_run_spec_hash(spec, hash);
    snprintf(c->ckpt, sizeof c->ckpt, "%s/%s.h5", dir, hash);
}

int sweep_child_start(sweep_child *c, int64_t id, const zoo_run_spec *spec, const sweep_child_opts *o)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    if (o->ckpt_every_s > 0)
        ckpt_path(c, spec, o->ckpt_dir);
    c->ckpt_grace_s = o->ckpt_grace_s;
    c->keep_ckpt = o->keep_ckpt;
    int p[2];
    if (pipe2(p, O_CLOEXEC))
        return ZOO_FAIL(ZOO_ERR_IO, "pipe failed: %s", strerror(errno));
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]), close(p[1]);
        return ZOO_FAIL(ZOO_ERR_NOMEM, "fork failed for run %lld: %s", (long long)id, strerror(errno));
    }
    if (pid == 0) {
        close(p[0]);
        child_main(p[1], id, spec, parent, c->ckpt[0] ? c->ckpt : NULL, o->ckpt_every_s, o->keep_ckpt, o->relay);
    }
    close(p[1]);
    if (o->relay) { /* the child's end of the channel stays in the child */
        close(o->relay->sock[1]);
        o->relay->sock[1] = -1;
    }
    c->pid = pid;
    c->fd = p[0];
    c->id = id;
    c->started = sweep_now();
    c->max_s = o->max_s > 0 ? o->max_s : 0;
    return 0;
}

/* The time limit: SIGTERM once the run is past it, SIGKILL once the grace is past too. */
static void enforce_limit(sweep_child *c)
{
    if (c->max_s <= 0)
        return;
    double now = sweep_now();
    if (!c->term_at && now - c->started > c->max_s) {
        kill(c->pid, SIGTERM);
        c->term_at = now;
    } else if (c->term_at && now - c->term_at > SWEEP_TIMEOUT_GRACE_S) {
        kill(c->pid, SIGKILL);
    }
}

static void finish_timeout(sweep_child *c, sweep_outcome *out, long maxrss_kb)
{
    memset(out, 0, sizeof *out);
    out->h.id = c->id;
    out->h.status = ZOO_ERR_INTERRUPTED;
    out->h.timed_out = 1;
    out->h.wall_s = sweep_now() - c->started;
    out->h.peak_bytes = (int64_t)maxrss_kb * 1024;
    out->h.params = -1;
    snprintf(out->h.message, sizeof out->h.message,
             "ran past max_run_seconds = %g s (build + training + evaluation): stopped after %.1f s", c->max_s,
             c->term_at - c->started);
}

static void finish_crash(sweep_child *c, sweep_outcome *out, int status, long maxrss_kb)
{
    memset(out, 0, sizeof *out);
    out->h.id = c->id;
    out->h.status = ZOO_ERR_IO;
    out->h.wall_s = sweep_now() - c->started;
    out->h.peak_bytes = (int64_t)maxrss_kb * 1024;
    out->h.params = -1;
    if (WIFSIGNALED(status)) {
        out->h.signal = WTERMSIG(status);
        snprintf(out->h.message, sizeof out->h.message, "the training process was killed by signal %d (%s)",
                 WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else {
        out->h.signal = -1; /* died without a signal and without a result: a crash too */
        snprintf(out->h.message, sizeof out->h.message, "the training process exited with status %d without a result",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
}

int sweep_child_poll(sweep_child *c, int timeout_ms, sweep_outcome *out)
{
    if (!c->pid)
        return ZOO_FAIL(ZOO_ERR_STATE, "sweep_child_poll: no child");
    while (!c->eof) {
        enforce_limit(c);
        struct pollfd pf = {c->fd, POLLIN, 0};
        int k = poll(&pf, 1, timeout_ms);
        if (k < 0 && errno == EINTR)
            return 0; /* a signal: let the caller look at it */
        if (k < 0)
            return ZOO_FAIL(ZOO_ERR_IO, "poll failed: %s", strerror(errno));
        if (k == 0)
            return 0;
        if (c->len + 65536 > c->cap) {
            size_t nc = c->cap ? 2 * c->cap : 1 << 17;
            char *nb = realloc(c->buf, nc);
            if (!nb)
                return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory reading run %lld's outcome", (long long)c->id);
            c->buf = nb;
            c->cap = nc;
        }
        ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            c->eof = 1;
        else
            c->len += (size_t)r;
        timeout_ms = 0; /* drain what is there, then return to the caller */
        if (r > 0)
            continue;
    }
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    pid_t w;
    while ((w = wait4(c->pid, &status, 0, &ru)) < 0 && errno == EINTR)
        ;
    close(c->fd);
    int rc = 1;
    if (w == c->pid && WIFEXITED(status) && WEXITSTATUS(status) == 0 && !sweep_outcome_unpack(c->buf, c->len, out)) {
        /* A run that delivered its whole result keeps it, even if the limit's signal
         * crossed its finish. */
        if ((int64_t)ru.ru_maxrss * 1024 > out->h.peak_bytes)
            out->h.peak_bytes = (int64_t)ru.ru_maxrss * 1024;
    } else if (c->term_at) {
        finish_timeout(c, out, ru.ru_maxrss);
        if (c->ckpt[0] && !c->keep_ckpt) /* recorded for good: a resume does not retry it */
            unlink(c->ckpt);
    } else {
        finish_crash(c, out, status, ru.ru_maxrss);
    }
    free(c->buf);
    memset(c, 0, sizeof *c);
    c->fd = -1;
    return rc;
}

int sweep_child_stopped(sweep_outcome *o)
{
    if (!o->h.signal && !o->h.timed_out)
        return 1; /* it delivered an outcome: the run ended (or was stopped with its partners) */
    int64_t id = o->h.id;
    sweep_outcome_free(o);
    memset(o, 0, sizeof *o);
    o->h.id = id;
    o->h.abandoned = 1;
    snprintf(o->h.message, sizeof o->h.message, "stopped by a stop request; its checkpoint is kept");
    return 0;
}

void sweep_child_abandon(sweep_child *c, sweep_outcome *out, int save)
{
    memset(out, 0, sizeof *out);
    if (!c->pid)
        return;
    int64_t id = c->id;
    if (save && c->ckpt[0] && !sweep_abandon_requested()) {
        /* Save and exit: the run goes on from here when the sweep is resumed. A run that
         * ends meanwhile keeps its outcome (it removed its checkpoint: nothing to redo). */
        kill(c->pid, SIGUSR1);
        for (double until = sweep_now() + c->ckpt_grace_s; sweep_now() < until && !sweep_abandon_requested();) {
            int done = sweep_child_poll(c, 10, out);
            if (done < 0)
                break;
            if (done) {
                sweep_child_stopped(out);
                return;
            }
        }
    }
    kill(c->pid, SIGKILL);
    int status;
    while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
        ;
    close(c->fd);
    free(c->buf);
    memset(c, 0, sizeof *c);
    c->fd = -1;
    sweep_outcome_free(out);
    memset(out, 0, sizeof *out);
    out->h.id = id;
    out->h.abandoned = 1;
    snprintf(out->h.message, sizeof out->h.message, "abandoned by a stop request");
}
