/* cmd_train.c: `zoo train`: one run from flags and/or a YAML run file, with a progress
 * line per epoch and a summary line, optionally saved as a checkpoint. Argument
 * parsing and wiring only: the run itself is zoo_run (core), files are io/. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <sys/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "fmt.h"
#include "mpi_dp.h"
#include "run_ckpt.h"
#include "zoo/checkpoint.h"
#include "zoo/config.h"
#include "zoo/error.h"
#include "zoo/outpath.h"
#include "zoo/plugin.h"
#include "zoo/results.h"
#include "zoo/run.h"

static volatile sig_atomic_t stop_signal;
/* The run file's max_run_seconds (0: none): enforced between steps with a timer. */
static double max_seconds;
static int quiet_lines; /* --quiet: no per-epoch lines */

static void on_signal(int sig)
{
    stop_signal = sig;
    signal(sig, SIG_DFL); /* a second Ctrl-C kills at once */
}

static int should_stop(void *ud)
{
    (void)ud;
    return stop_signal != 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: zoo train [--config run.yaml] [--<key> <value> ...] [--save ckpt.h5 [--force]]\n"
            "                 [--checkpoint state.h5 [--checkpoint-every SECONDS] [--keep-checkpoint]] [--quiet]\n"
            "\n"
            "Train one run on this machine: the model of docs/model.md, the recipe of docs/training.md.\n"
            "  --config FILE    YAML run file (a sweep file without list axes); flags override it\n"
            "  --<key> VALUE    set one run-spec field ('-' in the key reads as '_', --key=value works)\n"
            "                   mixer knobs: --<mixer>.<knob> VALUE or --mixer.<i>.<knob> VALUE\n"
            "                   e.g. --mixer attention --attention.num-heads 2 --d-model 64 --lr 1e-3\n"
            "  --save FILE      write the trained model as an HDF5 checkpoint (for zoo eval); its folder\n"
            "                   is checked before training; an existing checkpoint is replaced, any\n"
            "                   other existing file (results, data, not zoo's) is refused\n"
            "  --force          let --save replace an existing file that is not a checkpoint (never\n"
            "                   the --config file)\n"
            "  --checkpoint FILE  keep the whole training state (parameters, AdamW moments, position,\n"
            "                   curves) in FILE while training: written every --checkpoint-every seconds\n"
            "                   (default %.0f; 0: only when stopped) and on SIGTERM/SIGINT/SIGUSR1. If FILE\n"
            "                   holds this run's state, training resumes from it (the result is the same,\n"
            "                   bit for bit, as a run never stopped); a file that does not fit is named\n"
            "                   with the reason and the run starts from step 0. Removed when the run has\n"
            "                   ended (done or failed) unless --keep-checkpoint\n"
            "  --quiet          no per-epoch lines (the summary line is still printed)\n"
            "\n"
            "A run file's max_run_seconds stops the run at the next step after that long (status\n"
            "timeout, exit 1, no --save file; with --checkpoint its state is saved first).\n"
            "\n"
            "exit codes: 0 done, 1 the run failed (diverged, timeout), 2 bad input (a backend that cannot\n"
            "            run here, a --save path refused), 3 out of memory or the checkpoint could\n"
            "            not be written (disk full: the message names the file and the reason),\n"
            "            128+N stopped by signal N (130 SIGINT, 143 SIGTERM, 138 SIGUSR1); with --checkpoint\n"
            "            the state was saved first: rerun the same command to go on\n"
            "\nkeys, by the section a YAML run file lists them under (the field table of the run spec):\n"
            "  %-21s %-22s %-9s %s\n",
            ZOO_CKPT_DEFAULT_S, "--key", "default", "unit", "meaning; allowed values");
    /* Every line comes from the field table, so a new field shows up here by itself. */
    const char *section = "";
    for (int i = 0; i < zoo_run_spec_nfields(); i++) {
        const zoo_run_field *fd = zoo_run_spec_field(i);
        if (strcmp(fd->section, section)) {
            section = fd->section;
            fprintf(f, "%s:\n", section);
        }
        char flag[64], allowed[256];
        snprintf(flag, sizeof flag, "--%s", fd->name);
        for (char *c = flag; *c; c++)
            if (*c == '_')
                *c = '-';
        zoo_run_field_allowed(fd, allowed, sizeof allowed);
        fprintf(f, "  %-21s %-22s %-9s %s; %s", flag, fd->def, fd->unit[0] ? fd->unit : "-", fd->help, allowed);
        if (fd->yaml)
            fprintf(f, " (YAML: %s: %s:)", fd->section, fd->yaml);
        fprintf(f, "\n");
    }
}

static void fmt_rate(char *out, size_t n, double r)
{
    if (r >= 1e6)
        snprintf(out, n, "%.2fM", r / 1e6);
    else if (r >= 1e3)
        snprintf(out, n, "%.1fk", r / 1e3);
    else
        snprintf(out, n, "%.0f", r);
}

static void on_epoch(const zoo_epoch_stats *st, void *ud)
{
    (void)ud;
    if (quiet_lines)
        return;
    char el[32], eta[32], rate[32];
    zoo_cli_fmt_time(el, sizeof el, st->elapsed_s);
    zoo_cli_fmt_time(eta, sizeof eta, st->eta_s);
    fmt_rate(rate, sizeof rate, st->tokens_per_s);
    int w = snprintf(NULL, 0, "%d", st->epochs);
    printf("epoch %*d/%d  train_loss %.4f  test_loss %.4f  test_acc %.4f  lr %.3g  %s tok/s  elapsed %s  eta %s\n", w,
           st->epoch, st->epochs, st->train_loss, st->test_loss, st->test_acc, st->lr, rate, el, eta);
    fflush(stdout);
}

/* Build the model once at batch 1 before generating any data: unknown mixers, knobs
 * and sizes the plugins reject (d_model % heads) fail here, in a second. */
static int preflight(const zoo_run_spec *spec, int64_t *params)
{
    zoo_model *m = NULL;
    int64_t K = spec->kv_pairs > 0 ? spec->kv_pairs : 1;
    int rc = zoo_model_build(spec, 1, K, &m);
    if (!rc)
        *params = zoo_graph_count_trainable(m->g);
    zoo_model_free(m);
    return rc;
}

/* Decide where the run computes (backend: auto takes the GPU when the cuda backend can
 * run the model here) into run->backend, and say so: the device on stdout, or on stderr
 * why auto stays on the CPU. `backend: cuda` where no GPU can run it fails here, before
 * any data or model is allocated. 0, or the error. */
static int pick_backend(const zoo_run_spec *spec, zoo_run_spec *run, int quiet)
{
    zoo_backend used = ZOO_BACKEND_CPU;
    char dev[256], why[1024];
    int rc = zoo_run_spec_backend(spec, &used, dev, sizeof dev, why, sizeof why);
    if (rc)
        return rc;
    run->backend = used;
    if (why[0])
        fprintf(stderr, "zoo train: backend auto: training on the CPU: %s\n", why);
    else if (spec->backend != ZOO_BACKEND_CPU && !quiet)
        printf("backend %s: %s\n", spec->backend == ZOO_BACKEND_AUTO ? "auto" : zoo_backend_name(used), dev);
    fflush(stdout);
    return 0;
}

/* The options that are not run-spec fields. */
typedef struct train_opts {
    const char *config, *save, *checkpoint;
    double checkpoint_every;
    int quiet, force, keep_checkpoint;
} train_opts;

/* Flags without a value. */
static int is_switch(const char *a)
{
    return !strcmp(a, "--quiet") || !strcmp(a, "--force") || !strcmp(a, "--keep-checkpoint");
}

/* Options with a value that are not run-spec fields ("--save" or "--save=..."). */
static int is_file_option(const char *a)
{
    static const char *const names[] = {"--config", "--save", "--checkpoint", "--checkpoint-every", NULL};
    for (int i = 0; names[i]; i++) {
        size_t n = strlen(names[i]);
        if (!strncmp(a, names[i], n) && (a[n] == '\0' || a[n] == '='))
            return 1;
    }
    return 0;
}

/* Pass 1: the options above (the run file goes before any flag); -1 to go on, else the exit code. */
static int scan_file_options(int argc, char **argv, train_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "zoo train: unexpected argument '%s' (options are --key value; see zoo train --help)\n", a);
            return 2;
        }
        if (is_switch(a)) {
            *(a[2] == 'q' ? &o->quiet : a[2] == 'f' ? &o->force : &o->keep_checkpoint) = 1;
            continue;
        }
        int has_eq = strchr(a, '=') != NULL;
        const char *val = has_eq ? strchr(a, '=') + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
        if (!val || (!has_eq && !strncmp(val, "--", 2))) { /* no value is spelled "--..." */
            fprintf(stderr, "zoo train: %s needs a value\n", a);
            return 2;
        }
        if (!strncmp(a, "--config", 8) && (a[8] == '\0' || a[8] == '='))
            o->config = val;
        else if (!strncmp(a, "--save", 6) && (a[6] == '\0' || a[6] == '='))
            o->save = val;
        else if (!strncmp(a, "--checkpoint-every", 18) && (a[18] == '\0' || a[18] == '=')) {
            char *end;
            o->checkpoint_every = strtod(val, &end);
            if (end == val || *end || !(o->checkpoint_every >= 0) || o->checkpoint_every > 1e9) {
                fprintf(stderr, "zoo train: --checkpoint-every takes seconds >= 0 (0: only when stopped), got '%s'\n", val);
                return 2;
            }
        } else if (!strncmp(a, "--checkpoint", 12) && (a[12] == '\0' || a[12] == '='))
            o->checkpoint = val;
        if (!has_eq)
            i++;
    }
    return -1;
}

/* The run file's one run into *spec; 0, or 2 after the message. */
static int load_run_file(const char *config, zoo_run_spec *spec)
{
    zoo_sweep sw;
    memset(&sw, 0, sizeof sw);
    if (zoo_sweep_load(config, &sw) != 0) {
        zoo_cli_report("train");
        return 2;
    }
    if (sw.n_runs != 1) {
        fprintf(stderr, "zoo train: %s: this file is a sweep (%lld runs): use zoo sweep\n", config,
                (long long)sw.n_runs);
        zoo_sweep_free(&sw);
        return 2;
    }
    *spec = sw.runs[0];
    max_seconds = sw.max_run_seconds;
    zoo_sweep_free(&sw);
    return 0;
}

/* Pass 2: every other --key value onto *spec, in command-line order; 0, or 2 after the message. */
static int apply_flags(int argc, char **argv, zoo_run_spec *spec)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (is_switch(a))
            continue;
        const char *eq = strchr(a, '=');
        const char *val = eq ? eq + 1 : argv[i + 1];
        if (!eq)
            i++;
        char key[256];
        size_t kl = eq ? (size_t)(eq - a) - 2 : strlen(a) - 2;
        if (kl == 0 || kl >= sizeof key) {
            fprintf(stderr, "zoo train: '%s' is not an option (see zoo train --help)\n", a);
            return 2;
        }
        memcpy(key, a + 2, kl);
        key[kl] = '\0';
        if (is_file_option(a))
            continue;
        for (char *c = key; *c; c++)
            if (*c == '-')
                *c = '_';
        if (zoo_run_spec_set(spec, key, val) != 0) {
            zoo_error_prefix("--%s: ", key);
            zoo_cli_report("train");
            return 2;
        }
    }
    return 0;
}

/* The "run <hash>: ..." line naming what is about to train. */
static void print_run_line(const zoo_run_spec *spec, int64_t params)
{
    char hash[17];
    zoo_run_spec_hash(spec, hash);
    char mix[512] = "";
    size_t k = 0;
    for (int i = 0; i < spec->n_mixers && k < sizeof mix; i++)
        k += (size_t)snprintf(mix + k, sizeof mix - k, i ? ",%s" : "%s", spec->mixers[i].name);
    char kv[64] = ""; /* K is a knob of the MQAR tasks only */
    if (!strcmp(spec->task, "mqar"))
        snprintf(kv, sizeof kv, "  K %lld", (long long)spec->kv_pairs);
    printf("run %s: %s  d_model %lld  n_layers %d  state_mixer %s  task %s  V %lld  L %lld%s  train %lld  test %lld  "
           "lr %.3g  epochs %d  params %lld\n",
           hash, mix, (long long)spec->d_model, spec->n_layers, spec->state_mixer == ZOO_STATE_MLP ? "mlp" : "identity",
           spec->task, (long long)spec->vocab, (long long)spec->seq_len, kv,
           (long long)zoo_run_spec_examples(spec, ZOO_SPLIT_TRAIN), (long long)zoo_run_spec_examples(spec, ZOO_SPLIT_TEST),
           spec->lr, spec->epochs, (long long)params);
    fflush(stdout);
}

/* zoo_run with SIGINT/SIGTERM/SIGUSR1 turned into a stop between steps (saving the
 * checkpoint first when there is one); the run's code. reducer: the processes of a
 * data-parallel run, or NULL. */
static int run_with_signals(const zoo_run_spec *spec, run_ckpt *ck, zoo_run_result *res, zoo_model **model_out,
                            const zoo_reducer *reducer)
{
    struct sigaction sa, old_int, old_term, old_usr1;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGUSR1, &sa, &old_usr1);
    /* max_run_seconds: SIGALRM stops the run like Ctrl-C would, at the next step. */
    struct itimerval limit = {{0, 0}, {(time_t)max_seconds, (suseconds_t)((max_seconds - (double)(time_t)max_seconds) * 1e6)}};
    if (max_seconds > 0) {
        sigaction(SIGALRM, &sa, NULL);
        setitimer(ITIMER_REAL, &limit, NULL);
    }

    zoo_run_hooks hooks;
    memset(&hooks, 0, sizeof hooks);
    hooks.on_epoch = on_epoch;
    hooks.should_stop = should_stop;
    hooks.ud = ck;
    run_ckpt_hooks(ck, &hooks);
    hooks.reducer = reducer;
    int rc = zoo_run(spec, &hooks, res, model_out);
    if (!rc && res->status)
        rc = res->status;
    if (max_seconds > 0) {
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(ITIMER_REAL, &off, NULL);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGUSR1, &old_usr1, NULL);
    return rc;
}

/* The summary line, and the planned memory when there is a plan. */
static void print_summary(const zoo_run_spec *spec, const zoo_run_result *res, int rc)
{
    char wall[32], rate[32];
    zoo_cli_fmt_time(wall, sizeof wall, res->wall_s);
    fmt_rate(rate, sizeof rate, res->tokens_per_s);
    printf("%s: status %s  final_acc %.4f  best_acc %.4f  epochs %d/%d  params %lld  %s tok/s  wall %s\n",
           rc ? "stopped" : "done", rc && stop_signal == SIGALRM ? ZOO_STATUS_TIMEOUT : zoo_status_word(rc), res->final_acc, res->best_acc, res->epochs_run, spec->epochs,
           (long long)res->params, rate, wall);
    for (int i = 0, t = 0; i < spec->n_segments && t < res->n_segments; i++) { /* one line per test segment */
        if (spec->segments[i].split != ZOO_SPLIT_TEST)
            continue;
        char seg[1024];
        zoo_segment_format(&spec->segments[i], seg, sizeof seg);
        printf("  test segment %d (%s): acc %.4f  loss %.4f  (%lld positions)\n", t, seg, res->segment_test_acc[t],
               res->segment_test_loss[t], (long long)res->segment_test_count[t]);
        t++;
    }
    for (int i = 0; i < res->n_tags; i++) /* one line per tag of a task that tags its examples */
        printf("  test tag %s: acc %.4f  loss %.4f  (%lld positions)\n", res->tag_names[i], res->tag_test_acc[i],
               res->tag_test_loss[i], (long long)res->tag_test_count[i]);
    if (zoo_mem_plan_total(&res->mem)) {
        const zoo_mem_plan *mp = &res->mem;
        const double MiB = 1048576.0;
        printf("memory planned on %s: params %.2f MiB  grads %.2f MiB  optimizer %.2f MiB  activations %.2f MiB  "
               "activation grads %.2f MiB  workspace %.2f MiB  total %.2f MiB\n",
               zoo_backend_name(spec->backend), (double)mp->params / MiB, (double)mp->grads / MiB,
               (double)mp->optimizer / MiB, (double)mp->activations / MiB, (double)mp->act_grads / MiB,
               (double)mp->workspace / MiB, (double)zoo_mem_plan_total(mp) / MiB);
    }
    fflush(stdout);
}

/* The exit code: stopped by a signal, failed, or done (writing the checkpoint --save asked for). */
/* What a stop left behind, for its message. */
static const char *stop_note(const run_ckpt *ck, char *buf, size_t n)
{
    if (ck->path && ck->saved_step >= 0 && !ck->broken)
        snprintf(buf, n, "its state is in %s (step %lld): rerun the same command to go on", ck->path,
                 (long long)ck->saved_step);
    else
        snprintf(buf, n, "no checkpoint written");
    return buf;
}

static int finish(const zoo_run_spec *spec, const zoo_run_result *res, int rc, const zoo_model *model,
                  const train_opts *o, const run_ckpt *ck)
{
    const char *save = o->save, *config = o->config;
    char note[4400];
    if (stop_signal == SIGALRM && rc) {
        fprintf(stderr, "zoo train: status %s: ran past max_run_seconds = %g s after %d epoch(s); %s\n",
                ZOO_STATUS_TIMEOUT, max_seconds, res->epochs_run, stop_note(ck, note, sizeof note));
        return ZOO_EXIT_FAILED;
    }
    if (rc == ZOO_ERR_INTERRUPTED || (rc && stop_signal)) {
        fprintf(stderr, "zoo train: stopped by signal %d after %d epoch(s); %s\n", (int)stop_signal, res->epochs_run,
                stop_note(ck, note, sizeof note));
        return 128 + (stop_signal ? (int)stop_signal : SIGINT);
    }
    if (rc) {
        fprintf(stderr, "zoo train: %s\n", res->message[0] ? res->message : zoo_strerror(rc));
        return zoo_cli_exit_for(rc, 0);
    }
    if (!save)
        return 0;
    if (!model) {
        fprintf(stderr, "zoo train: --save %s: the run handed back no model; nothing written\n", save);
        return ZOO_EXIT_FAILED;
    }
    /* Checked again: the file may have appeared while the run trained. */
    if (zoo_out_check(save, "--save", ZOO_FILE_CHECKPOINT, &config, 1, o->force) != 0) {
        zoo_cli_report("train");
        return ZOO_EXIT_INPUT;
    }
    int src = zoo_checkpoint_save(model, spec, save);
    if (src != 0) {
        zoo_cli_report("train");
        return zoo_cli_exit_for(src, 1);
    }
    if (!o->quiet)
        printf("saved %s\n", save);
    return 0;
}

/* Under mpirun/srun with several processes, the run is trained data-parallel by all of
 * them (`ranks` must say how many): rank 0 prints and saves, the others stay quiet. */
typedef struct train_mpi {
    int on, rank, size;
    dp_ring ring;
    zoo_reducer red;
} train_mpi;

static int mpi_start(train_mpi *mp, int *argc, char ***argv)
{
    memset(mp, 0, sizeof *mp);
    mp->size = 1;
    if (!dp_launched_by_mpi())
        return 0;
    if (MPI_Init(argc, argv) != MPI_SUCCESS) {
        fprintf(stderr, "zoo train: MPI_Init failed; check the MPI installation (mpirun --version)\n");
        return ZOO_EXIT_SYSTEM;
    }
    mp->on = 1;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &mp->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &mp->size);
    mp->ring.comm = MPI_COMM_WORLD;
    mp->ring.rank = mp->rank;
    mp->ring.size = mp->size;
    mp->red = (zoo_reducer){mp->rank, mp->size, dp_ring_reduce_cb, &mp->ring};
    return 0;
}

/* Every process agrees to go on (a check that failed on one stops them all). */
static int mpi_all_ok(const train_mpi *mp, int ok)
{
    int all = ok;
    if (mp->size > 1 && MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD) != MPI_SUCCESS)
        return 0;
    return all;
}

static int train_main(int argc, char **argv, train_mpi *mp)
{
    train_opts o;
    memset(&o, 0, sizeof o);
    o.checkpoint_every = ZOO_CKPT_DEFAULT_S;
    int code = scan_file_options(argc, argv, &o);
    if (code >= 0)
        return code;
    const char *config = o.config, *save = o.save;
    int quiet = o.quiet, force = o.force;
    quiet_lines = quiet;

    zoo_run_spec spec;
    zoo_run_spec_default(&spec);
    int ok = !((config && load_run_file(config, &spec) != 0) || apply_flags(argc, argv, &spec) != 0);
    if (!mpi_all_ok(mp, ok))
        return ZOO_EXIT_INPUT;
    if (mp->rank) /* one voice, one file */
        quiet = quiet_lines = o.quiet = 1, save = o.save = NULL;
    if (spec.ranks != mp->size) {
        if (mp->rank)
            return ZOO_EXIT_INPUT;
        if (!spec.ranks)
            fprintf(stderr, "zoo train: ranks=auto: only a sweep picks the rank count; give --ranks N\n");
        else
            fprintf(stderr, "zoo train: ranks=%d but %d process%s started: %s\n", spec.ranks, mp->size,
                    mp->size == 1 ? " was" : "es were",
                    mp->size == 1 ? "train a multi-rank run with mpirun -np <ranks> zoo train ... (or in a sweep)"
                                  : "give --ranks equal to mpirun's -np");
        return ZOO_EXIT_INPUT;
    }
    /* `spec` is the run as asked (its hash, the checkpoint); `run` computes on the backend
     * chosen here. */
    int64_t params = 0;
    zoo_run_spec run = spec;
    const char *inputs[1] = {config}, *ck_inputs[2] = {config, save};
    ok = !(zoo_run_spec_check(&spec) != 0 ||
           (save && zoo_out_check(save, "--save", ZOO_FILE_CHECKPOINT, inputs, 1, force) != 0) ||
           (o.checkpoint && !mp->rank &&
            zoo_out_check(o.checkpoint, "--checkpoint", ZOO_FILE_TRAIN_STATE, ck_inputs, 2, force) != 0) ||
           pick_backend(&spec, &run, quiet) != 0 || preflight(&run, &params) != 0);
    if (!ok)
        zoo_cli_report("train");
    if (!mpi_all_ok(mp, ok))
        return ok ? ZOO_EXIT_INPUT : zoo_cli_exit_for(zoo_error_last()->code, 0);
    if (!quiet)
        print_run_line(&spec, params);

    zoo_run_result res;
    memset(&res, 0, sizeof res);
    zoo_model *model = NULL;
    run_ckpt ck;
    run_ckpt_open(&ck, o.checkpoint, &spec, o.checkpoint_every, "zoo train");
    ck.reader_only = mp->rank != 0; /* every process resumes from it, rank 0 writes it */
    int rc = run_with_signals(&run, &ck, &res, save ? &model : NULL, mp->size > 1 ? &mp->red : NULL);
    if (mp->size > 1 && rc && rc != ZOO_ERR_NUMERIC && rc != ZOO_ERR_INTERRUPTED && rc != ZOO_ERR_INVALID) {
        /* A failure of this process alone (memory, MPI): the others would wait for it
         * forever in the gradient sum, so the whole job ends here. */
        fprintf(stderr, "zoo train: rank %d: %s\n", mp->rank, res.message[0] ? res.message : zoo_strerror(rc));
        MPI_Abort(MPI_COMM_WORLD, zoo_cli_exit_for(rc, 0));
    }
    if (!mp->rank)
        print_summary(&run, &res, rc);
    code = finish(&spec, &res, rc, model, &o, &ck);
    /* Kept after a stop (the rerun goes on from it) or a failed --save (the rerun only
     * writes the file). */
    run_ckpt_close(&ck, code == 0 || (rc && !stop_signal && code == ZOO_EXIT_FAILED), o.keep_checkpoint);
    zoo_model_free(model);
    zoo_run_result_free(&res);
    return code;
}

int zoo_cmd_train(int argc, char **argv)
{
    train_mpi mp;
    int code = mpi_start(&mp, &argc, &argv);
    if (code)
        return code;
    code = train_main(argc, argv, &mp);
    dp_ring_free(&mp.ring);
    if (mp.on)
        MPI_Finalize();
    return code;
}
