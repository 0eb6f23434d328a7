/* cmd_sweep.c: `zoo sweep FILE -o results.h5`: options, MPI start-up (only when a
 * launcher started us), reading the sweep file on rank 0, then the coordinator (rank
 * 0) or worker role. Wiring only; the pieces are the sweep_*.c files. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "mpi_dp.h"
#include "sweep.h"
#include "sweep_slice.h"
#include "zoo/error.h"
#include "zoo/outpath.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: zoo sweep FILE -o RESULTS.h5 [--dry-run] [--resume] [--force] [--grace SECONDS]\n"
            "       mpirun -np N zoo sweep FILE -o RESULTS.h5 ...\n"
            "\n"
            "Run every run of a sweep file (YAML; configs/quick.yaml is the default job) and record\n"
            "each in one HDF5 file (schema: docs/results.md). Rank 0 hands runs out costliest first and\n"
            "is the only writer; every rank trains (each run in a child process), using\n"
            "OMP_NUM_THREADS (or SLURM_CPUS_PER_TASK) threads, else its share of the node's cores.\n"
            "\n"
            "  -o, --output FILE    the results file (required unless --dry-run)\n"
            "  --dry-run            print the expanded runs (size, params, FLOPs, time estimate), the\n"
            "                       totals and the backends the runs ask for; write nothing\n"
            "  --resume             the sweep file changed: add its new runs to the results file\n"
            "  --force              start over; the old results file (or a file of another kind\n"
            "                       at -o) is kept as FILE.bak\n"
            "  --grace SECONDS      after SIGTERM/SIGUSR1/SIGINT, how long runs in flight may take to\n"
            "                       finish before they are abandoned (default 60; a second signal\n"
            "                       abandons them at once)\n"
            "  --gflops X           assumed speed of one rank for --dry-run estimates (default 40, one\n"
            "                       core running this engine on a current x86 CPU)\n"
            "  --ranks P            --dry-run: plan for P ranks (default: the ranks running)\n"
            "  --net-gbytes-per-s X, --net-latency-us X, --step-overhead-ms X\n"
            "                       --dry-run: the network a multi-rank run's gradient allreduce\n"
            "                       crosses (default: the sweep file's net_gbytes_per_s and\n"
            "                       net_latency_us, else 10 GB/s and 5 us) and the fixed cost of a\n"
            "                       multi-rank step (default 2 ms)\n"
            "  --slice I/N          only part I (0-based) of N cost-balanced parts of the sweep, for job\n"
            "                       arrays; join the parts' files with zoo merge\n"
            "  --no-train-on-root   rank 0 only coordinates (with many ranks per node)\n"
            "  --quiet              no per-run progress lines\n"
            "\n"
            "Runs asking for backend auto or cuda pick their GPU in the process that trains them\n"
            "(ZOO_CUDA_DEVICE, else the node-local rank modulo the node's GPUs); the ranks themselves\n"
            "never touch it. auto falls back to the CPU, saying why; a cuda run that no GPU here can\n"
            "run is recorded unsupported. The backend and device columns say where each run ran.\n"
            "\n"
            "Running the same command again resumes: recorded runs (same spec hash) are skipped, runs\n"
            "that were in flight are redone, a run that kills its training process twice is\n"
            "recorded as crashed. Without --resume or --force, a results file of a different\n"
            "sweep is refused. A top-level `max_run_seconds: S` in the sweep file stops any run\n"
            "(build, training and evaluation) that takes longer and records it as timeout.\n"
            "\n"
            "A run's `ranks: N` trains it data-parallel on N ranks; `ranks: auto` lets the sweep pick N\n"
            "from the run's cost (longer runs get more ranks). Runs start longest first; a run that\n"
            "must wait for ranks has them held for it while shorter runs fill the gaps only when they\n"
            "end in time. --dry-run shows each run's ranks and the plan's makespan.\n"
            "\n"
            "exit codes: 0 every run recorded and ok; 1 every run recorded, some failed (see the\n"
            "status column); 2 bad input (usage, sweep file, results file of another sweep);\n"
            "3 the sweep could not go on (results file unwritable, disk full, out of memory, MPI error); 75 stopped by\n"
            "SIGTERM/SIGUSR1/SIGINT with runs left: rerun the same command to resume (job scripts\n"
            "requeue on 75).\n"
            "\n"
            "Stopping: the signal goes to rank 0 (srun and SLURM's --signal deliver it to every rank).\n"
            "Under mpirun send SIGUSR1: Open MPI's mpirun forwards it, while on SIGTERM it kills the\n"
            "ranks a second later (results already recorded are safe; runs in flight are redone).\n");
}

static int parse_args(int argc, char **argv, sweep_opts *o)
{
    memset(o, 0, sizeof *o);
    o->grace_s = 60;
    o->gflops = 40;
    o->train_on_root = 1;
    o->step_overhead_ms = -1;
    size_t k = (size_t)snprintf(o->command, sizeof o->command, "zoo");
    for (int i = 0; i < argc && k < sizeof o->command; i++)
        k += (size_t)snprintf(o->command + k, sizeof o->command - k, " %s", argv[i]);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return 1;
        if (!strcmp(a, "--dry-run"))
            o->dry_run = 1;
        else if (!strcmp(a, "--resume"))
            o->resume = 1;
        else if (!strcmp(a, "--force"))
            o->force = 1;
        else if (!strcmp(a, "--quiet"))
            o->quiet = 1;
        else if (!strcmp(a, "--no-train-on-root"))
            o->train_on_root = 0;
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!next)
                return ZOO_FAIL(ZOO_ERR_INVALID, "%s needs a file name (results.h5)", a);
            o->out = argv[++i];
        } else if (!strcmp(a, "--slice")) {
            if (!next)
                return ZOO_FAIL(ZOO_ERR_INVALID, "--slice needs I/N (e.g. --slice 0/8)");
            o->slice = argv[++i];
        } else if (!strcmp(a, "--grace") || !strcmp(a, "--gflops")) {
            char *end;
            double v = next ? strtod(next, &end) : -1;
            if (!next || *end || !(v > 0 || (v == 0 && !strcmp(a, "--grace"))))
                return ZOO_FAIL(ZOO_ERR_INVALID, "%s needs a %s number, got '%s'", a,
                                !strcmp(a, "--grace") ? "non-negative" : "positive", next ? next : "nothing");
            *(!strcmp(a, "--grace") ? &o->grace_s : &o->gflops) = v;
            i++;
        } else if (!strcmp(a, "--ranks")) {
            char *end;
            long v = next ? strtol(next, &end, 10) : 0;
            if (!next || *end || v < 1 || v > 1048576)
                return ZOO_FAIL(ZOO_ERR_INVALID, "--ranks needs the number of ranks to plan for (1 or more), got '%s'",
                                next ? next : "nothing");
            o->plan_ranks = (int)v;
            i++;
        } else if (!strcmp(a, "--net-gbytes-per-s") || !strcmp(a, "--net-latency-us") ||
                   !strcmp(a, "--step-overhead-ms")) {
            char *end;
            double v = next ? strtod(next, &end) : -1;
            int zero_ok = !strcmp(a, "--step-overhead-ms");
            if (!next || *end || !isfinite(v) || !(v > 0 || (zero_ok && v == 0)))
                return ZOO_FAIL(ZOO_ERR_INVALID, "%s needs a %s number, got '%s'", a, zero_ok ? "non-negative" : "positive",
                                next ? next : "nothing");
            *(!strcmp(a, "--net-gbytes-per-s") ? &o->net_gbytes_per_s
              : !strcmp(a, "--net-latency-us") ? &o->net_latency_us
                                               : &o->step_overhead_ms) = v;
            i++;
        } else if (a[0] == '-' && a[1]) {
            return ZOO_FAIL(ZOO_ERR_INVALID, "unknown option '%s' (see zoo sweep --help)", a);
        } else if (!o->file) {
            o->file = a;
        } else {
            return ZOO_FAIL(ZOO_ERR_INVALID, "one sweep file per command; got '%s' and '%s'", o->file, a);
        }
    }
    if (!o->file)
        return ZOO_FAIL(ZOO_ERR_INVALID, "no sweep file given (e.g. zoo sweep configs/quick.yaml -o quick.h5)");
    if (!o->out && !o->dry_run)
        return ZOO_FAIL(ZOO_ERR_INVALID, "give the results file with -o (e.g. -o %s.h5), or use --dry-run",
                        "results");
    if (o->force && o->resume)
        return ZOO_FAIL(ZOO_ERR_INVALID, "--force starts over and --resume keeps the results: choose one");
    return 0;
}

int zoo_cmd_sweep(int argc, char **argv)
{
    sweep_opts o;
    int prc = parse_args(argc, argv, &o);
    if (prc == 1) {
        usage(stdout);
        return 0;
    }
    sweep_mpi mpi = {0, 0, 1};
    if (dp_launched_by_mpi()) {
        if (MPI_Init(&argc, &argv) != MPI_SUCCESS) {
            fprintf(stderr, "zoo sweep: MPI_Init failed; check the MPI installation (mpirun --version)\n");
            return SWEEP_EXIT_SYSTEM;
        }
        mpi.on = 1;
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
        MPI_Comm_rank(MPI_COMM_WORLD, &mpi.rank);
        MPI_Comm_size(MPI_COMM_WORLD, &mpi.size);
    }
    /* Rank 0 reads the sweep; everyone learns whether to go on. */
    int32_t go = SWEEP_EXIT_OK;
    zoo_sweep sw;
    memset(&sw, 0, sizeof sw);
    if (mpi.rank == 0) {
        if (prc) {
            zoo_cli_report("sweep");
            go = SWEEP_EXIT_INPUT;
        } else if (!o.dry_run && zoo_out_check(o.out, "-o", ZOO_FILE_RESULTS, (const char *const[]){o.file}, 1,
                                               o.force)) {
            /* Before any work: never the sweep file itself, nor a checkpoint or data file
             * unless --force (which keeps the old file as .bak). */
            zoo_cli_report("sweep");
            go = SWEEP_EXIT_INPUT;
        } else if (zoo_sweep_load(o.file, &sw) || (o.slice && sweep_slice_select(&sw, o.slice))) {
            zoo_cli_report("sweep");
            go = SWEEP_EXIT_INPUT;
        } else if (o.dry_run) {
            int drc = sweep_dry_run(&sw, &o, mpi.size);
            if (drc) {
                zoo_cli_report("sweep");
                go = drc == ZOO_ERR_INVALID ? SWEEP_EXIT_INPUT : SWEEP_EXIT_SYSTEM;
            } else {
                go = -1; /* done, nothing else to do */
            }
        }
    }
    if (mpi.on && MPI_Bcast(&go, 1, MPI_INT32_T, 0, MPI_COMM_WORLD) != MPI_SUCCESS) {
        fprintf(stderr, "zoo sweep: rank %d: MPI_Bcast failed\n", mpi.rank);
        go = SWEEP_EXIT_SYSTEM;
    }
    int code;
    if (go != SWEEP_EXIT_OK)
        code = go < 0 ? SWEEP_EXIT_OK : go;
    else if (mpi.rank == 0)
        code = sweep_coordinate(&sw, &o, &mpi);
    else
        code = sweep_work(&mpi);
    zoo_sweep_free(&sw);
    fflush(stdout);
    if (mpi.on)
        MPI_Finalize();
    return code;
}
