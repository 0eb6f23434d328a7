/* test_run_backend.c: where a run computes (zoo_run_spec_backend) and what the device is
 * called (zoo_backend_describe). Modes:
 *   real      this build's libzoo on this machine: where no GPU is usable (here), cuda
 *             is refused with the reason, auto falls back to the CPU saying it, cpu
 *             stays; on a GPU machine the same checks as `standin` without the env
 *             games; and the spec's tf32 is the model graph's
 *   standin   run with LD_LIBRARY_PATH=<build>/fakedev: the CUDA backend on its stand-in
 *             device. The device follows ZOO_CUDA_DEVICE, else the node-local rank
 *             (OMPI_COMM_WORLD_LOCAL_RANK, MPI_LOCALRANKID, SLURM_LOCALID) modulo the
 *             devices; no device (ZOO_FAKEDEV_DEVICES=0) is a fallback for auto and an
 *             error for cuda; a model whose ops the cuda backend lacks is too (while
 *             kernels are missing; once it has them all, auto takes the GPU).
 * Nothing is trained: only graphs are built (and a one-example model for tf32). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/src/internal.h" /* struct zoo_graph: the tf32 switch the CUDA backend reads */
#include "testlib.h"
#include "zoo/error.h"
#include "zoo/run.h"

static zoo_run_spec spec_on(const char *backend)
{
    zoo_run_spec s;
    zoo_run_spec_default(&s);
    const char *kv[][2] = {{"vocab", "64"}, {"seq_len", "16"}, {"kv_pairs", "2"}, {"d_model", "16"},
                           {"backend", backend}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        ZT_CHECK(zoo_run_spec_set(&s, kv[i][0], kv[i][1]) == 0, "set %s: %s", kv[i][0], zoo_error_last()->msg);
    return s;
}

typedef struct pick {
    int rc;
    zoo_backend used;
    char dev[256], why[1024], msg[1024];
} pick;

static pick pick_of(const zoo_run_spec *s)
{
    pick p;
    memset(&p, 0, sizeof p);
    p.used = (zoo_backend)99;
    zoo_error_clear();
    p.rc = zoo_run_spec_backend(s, &p.used, p.dev, sizeof p.dev, p.why, sizeof p.why);
    snprintf(p.msg, sizeof p.msg, "%s", p.rc ? zoo_error_last()->msg : "");
    return p;
}

/* Can the cuda backend run the test model, judging by its kernels alone? */
static int cuda_has_kernels(void)
{
    zoo_run_spec s = spec_on("cuda");
    uint32_t mask = 0;
    char why[1024];
    ZT_CHECK(zoo_model_backends(&s, &mask, why, sizeof why) == 0, "zoo_model_backends: %s", zoo_error_last()->msg);
    return (mask & ZOO_BACKEND_BIT(ZOO_BACKEND_CUDA)) != 0;
}

static void check_cpu(void)
{
    zoo_run_spec s = spec_on("cpu");
    pick p = pick_of(&s);
    ZT_CHECK(p.rc == 0 && p.used == ZOO_BACKEND_CPU && !strcmp(p.dev, "cpu") && !p.why[0],
             "cpu: rc %d used %d dev '%s' why '%s'", p.rc, (int)p.used, p.dev, p.why);
    char d[64];
    ZT_CHECK(zoo_backend_describe(ZOO_BACKEND_CPU, d, sizeof d) == 0 && !strcmp(d, "cpu"), "describe cpu: '%s'", d);
    ZT_CHECK(zoo_backend_describe(ZOO_BACKEND_CPU, NULL, 0) == ZOO_ERR_INVALID, "describe into no buffer");
    ZT_CHECK(zoo_run_spec_backend(&s, NULL, NULL, 0, NULL, 0) == ZOO_ERR_INVALID, "no output accepted");
    zoo_backend u;
    ZT_CHECK(zoo_run_spec_backend(&s, &u, NULL, 0, NULL, 0) == 0 && u == ZOO_BACKEND_CPU, "NULL device/why");
}

/* No GPU can run here: cuda is refused before anything is built, auto falls back. */
static void check_no_gpu(const char *reason_part)
{
    zoo_run_spec s = spec_on("cuda");
    pick p = pick_of(&s);
    ZT_CHECK(p.rc == ZOO_ERR_UNSUPPORTED && strstr(p.msg, "cuda backend") && strstr(p.msg, reason_part),
             "cuda without a GPU: rc %d '%s' (want '%s')", p.rc, p.msg, reason_part);
    s = spec_on("auto");
    p = pick_of(&s);
    ZT_CHECK(p.rc == 0 && p.used == ZOO_BACKEND_CPU && !strcmp(p.dev, "cpu") && strstr(p.why, reason_part),
             "auto without a GPU: rc %d used %d dev '%s' why '%s' (want '%s')", p.rc, (int)p.used, p.dev, p.why,
             reason_part);
    ZT_CHECK(zoo_error_last()->code == 0, "auto's fallback left an error behind: %s", zoo_error_last()->msg);
    char d[256];
    ZT_CHECK(zoo_backend_describe(ZOO_BACKEND_CUDA, d, sizeof d) == ZOO_ERR_UNSUPPORTED && !d[0],
             "describe cuda without a GPU: '%s'", d);
    /* The GPU is checked first: an unknown mixer is the run's error, found later. */
    s = spec_on("auto");
    ZT_CHECK(zoo_run_spec_set(&s, "mixer", "no_such_mixer") == 0, "set mixer");
    p = pick_of(&s);
    ZT_CHECK(p.rc == 0 && p.used == ZOO_BACKEND_CPU, "auto, unknown mixer, no GPU: rc %d", p.rc);
}

/* A usable CUDA backend: describe names the device; cuda and auto depend on kernels. */
static void check_gpu(const char *want_dev)
{
    char d[256];
    ZT_CHECK(zoo_backend_describe(ZOO_BACKEND_CUDA, d, sizeof d) == 0 && !strncmp(d, want_dev, strlen(want_dev)),
             "describe cuda: rc '%s', want it to start '%s': %s", d, want_dev, zoo_error_last()->msg);
    int full = cuda_has_kernels();
    zoo_run_spec s = spec_on("cuda");
    pick p = pick_of(&s);
    if (full)
        ZT_CHECK(p.rc == 0 && p.used == ZOO_BACKEND_CUDA && !strcmp(p.dev, d), "cuda: rc %d '%s' dev '%s'", p.rc,
                 p.msg, p.dev);
    else
        ZT_CHECK(p.rc == ZOO_ERR_UNSUPPORTED && strstr(p.msg, "cuda backend cannot run this model: no kernel for "),
                 "cuda lacking kernels: rc %d '%s'", p.rc, p.msg);
    s = spec_on("auto");
    p = pick_of(&s);
    if (full)
        ZT_CHECK(p.rc == 0 && p.used == ZOO_BACKEND_CUDA && !strcmp(p.dev, d) && !p.why[0],
                 "auto with a GPU: rc %d used %d dev '%s' why '%s'", p.rc, (int)p.used, p.dev, p.why);
    else
        ZT_CHECK(p.rc == 0 && p.used == ZOO_BACKEND_CPU && strstr(p.why, "no kernel for "),
                 "auto lacking kernels: rc %d used %d why '%s'", p.rc, (int)p.used, p.why);
    /* With a usable GPU the model is built to count kernels: its errors are the run's. */
    ZT_CHECK(zoo_run_spec_set(&s, "mixer", "no_such_mixer") == 0, "set mixer");
    p = pick_of(&s);
    ZT_CHECK(p.rc != 0 && strstr(p.msg, "no_such_mixer"), "auto with an unknown mixer: rc %d '%s'", p.rc, p.msg);
    printf("cuda usable: %s; the test model %s\n", d,
           full ? "has every cuda kernel it needs" : "lacks some cuda kernels");
}

static void unset_ranks(void)
{
    const char *v[] = {"ZOO_CUDA_DEVICE", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        unsetenv(v[i]);
}

static int standin(void)
{
    unset_ranks();
    setenv("ZOO_FAKEDEV_DEVICES", "2", 1);
    if (zoo_backend_available(ZOO_BACKEND_CUDA) != 0) {
        fprintf(stderr, "FAIL: not running on the stand-in device (LD_LIBRARY_PATH=<build>/fakedev?): %s\n",
                zoo_error_last()->msg);
        return 1;
    }
    check_cpu();
    check_gpu("cuda:0 of 2 (stand-in device 0");
    /* The node-local rank picks the device, modulo the devices, in this order. */
    setenv("SLURM_LOCALID", "3", 1);
    check_gpu("cuda:1 of 2 (stand-in device 1");
    setenv("MPI_LOCALRANKID", "2", 1);
    check_gpu("cuda:0 of 2");
    setenv("OMPI_COMM_WORLD_LOCAL_RANK", "5", 1);
    check_gpu("cuda:1 of 2");
    setenv("ZOO_CUDA_DEVICE", "0", 1);
    check_gpu("cuda:0 of 2");
    /* ZOO_CUDA_DEVICE is taken as given: out of range is a fallback for auto (saying
     * why) and an error for cuda. */
    setenv("ZOO_CUDA_DEVICE", "7", 1);
    zoo_run_spec s = spec_on("auto");
    pick p = pick_of(&s);
    ZT_CHECK(p.rc == 0 && p.used == ZOO_BACKEND_CPU && strstr(p.why, "ZOO_CUDA_DEVICE=7"),
             "auto with ZOO_CUDA_DEVICE=7: rc %d used %d why '%s'", p.rc, (int)p.used, p.why);
    s = spec_on("cuda");
    p = pick_of(&s);
    ZT_CHECK(p.rc != 0 && strstr(p.msg, "ZOO_CUDA_DEVICE=7"), "cuda with ZOO_CUDA_DEVICE=7: rc %d '%s'", p.rc, p.msg);
    unset_ranks();
    /* A node without devices. */
    setenv("ZOO_FAKEDEV_DEVICES", "0", 1);
    check_no_gpu("cannot run here");
    return zt_fails ? 1 : 0;
}

/* The run spec's tf32 reaches the graph the CUDA backend plans (accepted, and inert,
 * on the CPU). */
static void check_tf32(void)
{
    for (int t = 0; t < 2; t++) {
        zoo_run_spec s = spec_on("cpu");
        ZT_CHECK(zoo_run_spec_set(&s, "tf32", t ? "true" : "false") == 0, "set tf32");
        zoo_model *m = NULL;
        int rc = zoo_model_build(&s, 1, 2, &m);
        ZT_CHECK(rc == 0 && m && m->g->tf32 == t, "tf32=%d: build rc %d (%s), graph tf32 %d", t, rc,
                 zoo_error_last()->msg, m ? m->g->tf32 : -1);
        zoo_model_free(m);
    }
}

static int real(void)
{
    check_cpu();
    check_tf32();
    if (zoo_backend_available(ZOO_BACKEND_CUDA) == 0) {
        char d[256];
        zoo_backend_describe(ZOO_BACKEND_CUDA, d, sizeof d);
        check_gpu("cuda:");
    } else {
        zoo_error_clear();
        check_no_gpu(zoo_backend_built(ZOO_BACKEND_CUDA) ? "cannot run here" : "not built");
    }
    return zt_fails ? 1 : 0;
}

int main(int argc, char **argv)
{
    int rc = argc == 2 && !strcmp(argv[1], "real")      ? real()
             : argc == 2 && !strcmp(argv[1], "standin") ? standin()
                                                          : 2;
    if (rc == 2)
        fprintf(stderr, "usage: test_run_backend real|standin\n");
    else if (zt_fails)
        fprintf(stderr, "%d check(s) failed\n", zt_fails);
    else
        printf("run backend (%s): ok\n", argv[1]);
    return rc;
}
