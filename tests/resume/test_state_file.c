/* test_state_file.c: the training-state checkpoint file (io/checkpoint_state.c): a
 * bit-exact round trip; a truncated file, random bytes, a model checkpoint, another
 * run's checkpoint, another format_version, a flipped bit, a dataset of the wrong length
 * each refused with its one-line message naming the file; a file whose parameter count
 * does not fit the model refused by zoo_run, which then trains from step 0; and a full
 * disk (tests/iofault's ENOSPC preload) at every write of a save leaving the previous
 * checkpoint intact and no temporary behind.
 * usage: test_state_file unit WORK_DIR [IOFAULT_LIB] | write PATH STEP (the child of the
 * full-disk case). Exit 0 pass, 1 fail, 77 skipped. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"
#include "zoo/checkpoint.h"
#include "zoo/error.h"
#include "zoo/run.h"

#define N_FLAT 5000
#define SPE 5 /* steps per epoch of the spec below */

static void make_spec(zoo_run_spec *s, const char *d_model)
{
    zoo_run_spec_default(s);
    const char *kv[][2] = {{"vocab", "32"},          {"seq_len", "16"},       {"kv_pairs", "2"},  {"n_layers", "2"},
                           {"d_model", d_model},     {"mixer", "attention"},  {"epochs", "3"},    {"batch_size", "8"},
                           {"train_examples", "40"}, {"test_examples", "16"}, {"threads", "1"},   {"early_stop", "2"}};
    for (size_t i = 0; i < sizeof kv / sizeof *kv; i++)
        if (zoo_run_spec_set(s, kv[i][0], kv[i][1]))
            fprintf(stderr, "setting %s: %s\n", kv[i][0], zoo_error_last()->msg);
}

static float *randv(int64_t n, unsigned seed)
{
    float *x = malloc((size_t)n * sizeof *x);
    srand(seed);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    return x;
}

/* A synthetic state at global step `step` (epoch step / SPE). */
static void make_state(zoo_run_snapshot *s, int64_t step)
{
    memset(s, 0, sizeof *s);
    s->layout = 0x1234abcd5678ef90ull;
    s->n_flat = N_FLAT;
    s->params = randv(N_FLAT, 1), s->adam_m = randv(N_FLAT, 2), s->adam_v = randv(N_FLAT, 3);
    s->step = step;
    s->epoch = s->epochs_run = (int)(step / SPE);
    s->epoch_step = step % SPE;
    s->epoch_loss_sum = 1.25;
    s->tokens = step * 8 * 16;
    s->train_s = 3.5, s->wall_s = 4.5;
    s->best_acc = 0.5, s->final_acc = 0.25, s->final_loss = 2.75;
    s->step_loss = randv(step ? step : 1, 4);
    s->epoch_train_loss = randv(4, 5), s->epoch_test_loss = randv(4, 6), s->epoch_test_acc = randv(4, 7),
    s->epoch_lr = randv(4, 8);
}

static int same(const float *a, const float *b, int64_t n) { return n == 0 || !memcmp(a, b, (size_t)n * sizeof *a); }

static void expect_refused(const char *what, const char *path, const zoo_run_spec *spec, const char *needle)
{
    zoo_run_snapshot s;
    int rc = zoo_checkpoint_load_state(path, spec, &s);
    const char *msg = zoo_error_last()->msg;
    ZT_CHECK(rc != 0, "%s: loaded", what);
    ZT_CHECK(strstr(msg, path) && strstr(msg, needle) && !strchr(msg, '\n'), "%s: message '%s' lacks '%s' or the file",
             what, msg, needle);
    ZT_CHECK(!s.params && !s.step_loss, "%s: arrays left allocated", what);
    if (rc)
        printf("ok   %s: %s\n", what, msg);
}

static int copy_file(const char *from, const char *to, long keep)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    if (!a || !b)
        return -1;
    char buf[4096];
    size_t n;
    long done = 0;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0 && (keep < 0 || done < keep)) {
        if (keep >= 0 && done + (long)n > keep)
            n = (size_t)(keep - done);
        fwrite(buf, 1, n, b);
        done += (long)n;
    }
    fclose(a);
    fclose(b);
    return 0;
}

/* Open `path` read-write and let `edit` change it (HDF5-level damage). */
static void h5_edit(const char *path, void (*edit)(hid_t f))
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) {
        ZT_CHECK(0, "cannot open %s to edit it", path);
        return;
    }
    edit(f);
    H5Fclose(f);
}

static void bump_version(hid_t f)
{
    hid_t a = H5Aopen(f, "format_version", H5P_DEFAULT);
    int32_t v = ZOO_STATE_VERSION + 1;
    H5Awrite(a, H5T_NATIVE_INT32, &v);
    H5Aclose(a);
}

static void flip_param(hid_t f)
{
    hid_t d = H5Dopen2(f, "state/params", H5P_DEFAULT);
    float *x = malloc(N_FLAT * sizeof *x);
    H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x);
    x[N_FLAT / 2] = -x[N_FLAT / 2];
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x);
    H5Dclose(d);
    free(x);
}

static void short_adam_v(hid_t f)
{
    H5Ldelete(f, "state/adam_v", H5P_DEFAULT);
    hsize_t n = N_FLAT - 1;
    hid_t sp = H5Screate_simple(1, &n, NULL);
    hid_t d = H5Dcreate2(f, "state/adam_v", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(d);
    H5Sclose(sp);
}

static int load_step(const char *path, const zoo_run_spec *spec, int64_t *step)
{
    zoo_run_snapshot s;
    int rc = zoo_checkpoint_load_state(path, spec, &s);
    *step = s.step;
    zoo_run_snapshot_free(&s);
    return rc;
}

static int tmp_left(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* A full disk at the Nth write/pwrite/fsync/rename of a save, for every N until the save
 * gets through: exit 3 each time, the previous file still loads at its step, no temporary. */
static void full_disk(const char *self, const char *dir, const char *lib, const zoo_run_spec *spec)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/disk.h5", dir);
    zoo_run_snapshot s;
    make_state(&s, 7);
    ZT_CHECK(!zoo_checkpoint_save_state(&s, spec, path), "writing %s: %s", path, zoo_error_last()->msg);
    zoo_run_snapshot_free(&s);
    int tried = 0, done = 0;
    for (int n = 1; n <= 200 && !done; n++) {
        pid_t pid = fork();
        if (pid == 0) {
            char nv[16];
            snprintf(nv, sizeof nv, "%d", n);
            setenv("ZOO_FAULT_N", nv, 1);
            setenv("LD_PRELOAD", lib, 1);
            setenv("ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=0", 1);
            if (!freopen("/dev/null", "w", stderr)) /* the expected "no space left" lines */
                _exit(98);
            execl(self, self, "write", path, "9", (char *)NULL);
            _exit(99);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        int64_t step = -1;
        int rc = load_step(path, spec, &step);
        if (code == 0) {
            done = 1;
            ZT_CHECK(!rc && step == 9, "full disk: the save that got through left step %lld (%s)", (long long)step,
                     rc ? zoo_error_last()->msg : "");
            break;
        }
        tried++;
        ZT_CHECK(code == 3, "full disk at call %d: the writer exited %d, want 3", n, code);
        ZT_CHECK(!rc && step == 7, "full disk at call %d: the previous checkpoint does not load at step 7: %s", n,
                 rc ? zoo_error_last()->msg : "wrong step");
        ZT_CHECK(tmp_left(dir) == 0, "full disk at call %d: a temporary file was left in %s", n, dir);
    }
    ZT_CHECK(done && tried >= 3, "full disk: %d faulty saves, then %s", tried, done ? "one through" : "none through");
    if (done && tried >= 3)
        printf("ok   a full disk at each of the %d writes of a save: exit 3, the previous checkpoint intact\n", tried);
}

static int child_write(const char *path, const char *step)
{
    zoo_run_spec spec;
    make_spec(&spec, "16");
    zoo_run_snapshot s;
    make_state(&s, atoll(step));
    int rc = zoo_checkpoint_save_state(&s, &spec, path);
    zoo_run_snapshot_free(&s);
    if (rc)
        fprintf(stderr, "%s\n", zoo_error_last()->msg);
    return rc == ZOO_ERR_IO ? 3 : rc ? 1 : 0;
}

static void on_resume(const zoo_run_snapshot *s, int refused, const char *why, void *ud)
{
    (void)s;
    snprintf(ud, 512, "%d %s", refused, why ? why : "");
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "write"))
        return child_write(argv[2], argv[3]);
    if (argc < 3 || strcmp(argv[1], "unit")) {
        fprintf(stderr, "usage: test_state_file unit WORK_DIR [IOFAULT_LIB] | write PATH STEP\n");
        return 2;
    }
    char dir[2048], path[4200], bad[4200];
    snprintf(dir, sizeof dir, "%s/state_file", argv[2]);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    if (system(cmd))
        return 1;
    snprintf(path, sizeof path, "%s/run.h5", dir);
    zoo_run_spec spec, other;
    make_spec(&spec, "16");
    make_spec(&other, "24");

    /* Round trip. */
    zoo_run_snapshot s, r;
    make_state(&s, 7);
    ZT_CHECK(!zoo_checkpoint_save_state(&s, &spec, path), "save: %s", zoo_error_last()->msg);
    ZT_CHECK(!zoo_checkpoint_load_state(path, &spec, &r), "load: %s", zoo_error_last()->msg);
    ZT_CHECK(r.layout == s.layout && r.n_flat == s.n_flat && r.step == 7 && r.epoch == 1 && r.epoch_step == 2 &&
                 r.epochs_run == 1 && r.tokens == s.tokens && r.epoch_loss_sum == 1.25 && r.train_s == 3.5 &&
                 r.wall_s == 4.5 && r.best_acc == 0.5 && r.final_acc == 0.25 && r.final_loss == 2.75,
             "round trip: the figures differ");
    ZT_CHECK(r.params && same(r.params, s.params, N_FLAT) && same(r.adam_m, s.adam_m, N_FLAT) &&
                 same(r.adam_v, s.adam_v, N_FLAT) && same(r.step_loss, s.step_loss, 7) &&
                 same(r.epoch_train_loss, s.epoch_train_loss, 1) && same(r.epoch_test_loss, s.epoch_test_loss, 1) &&
                 same(r.epoch_test_acc, s.epoch_test_acc, 1) && same(r.epoch_lr, s.epoch_lr, 1),
             "round trip: the arrays differ");
    ZT_CHECK(r.origin && !strcmp(r.origin, path), "round trip: origin is not the file");
    zoo_run_snapshot_free(&r);
    if (!zt_fails)
        printf("ok   round trip, bit for bit\n");

    /* Damaged, foreign, another run's, another layout. */
    snprintf(bad, sizeof bad, "%s/truncated.h5", dir);
    copy_file(path, bad, 3000);
    expect_refused("truncated", bad, &spec, "truncated");
    snprintf(bad, sizeof bad, "%s/random.h5", dir);
    FILE *f = fopen(bad, "wb");
    for (int i = 0; i < 20000; i++)
        fputc(rand() & 255, f);
    fclose(f);
    expect_refused("random bytes", bad, &spec, "not");
    expect_refused("another run's checkpoint", path, &other, "another run");
    snprintf(bad, sizeof bad, "%s/version.h5", dir);
    copy_file(path, bad, -1);
    h5_edit(bad, bump_version);
    expect_refused("another format_version", bad, &spec, "another zoo version's layout");
    snprintf(bad, sizeof bad, "%s/flip.h5", dir);
    copy_file(path, bad, -1);
    h5_edit(bad, flip_param);
    expect_refused("a flipped parameter", bad, &spec, "checksum");
    snprintf(bad, sizeof bad, "%s/short.h5", dir);
    copy_file(path, bad, -1);
    h5_edit(bad, short_adam_v);
    expect_refused("adam_v one float short", bad, &spec, "state/adam_v' has 4999 values");

    /* A model checkpoint is not a training checkpoint. */
    zoo_model *m = NULL;
    if (zoo_model_build(&spec, 1, 2, &m)) {
        fprintf(stderr, "skip: cannot build the model: %s\n", zoo_error_last()->msg);
        return zt_fails ? 1 : ZT_SKIP;
    }
    snprintf(bad, sizeof bad, "%s/model.h5", dir);
    ZT_CHECK(!zoo_checkpoint_save(m, &spec, bad), "zoo_checkpoint_save: %s", zoo_error_last()->msg);
    zoo_model_free(m);
    expect_refused("a model checkpoint", bad, &spec, "not a zoo training checkpoint");

    /* The file's parameter count does not fit the model: zoo_run refuses it, naming the
     * file, and trains from step 0 to the same end as a run given no checkpoint. */
    ZT_CHECK(!zoo_checkpoint_load_state(path, &spec, &r), "load: %s", zoo_error_last()->msg);
    char why[512] = "";
    zoo_run_hooks h;
    memset(&h, 0, sizeof h);
    h.resume = &r, h.on_resume = on_resume, h.ud = why;
    zoo_run_result a, b;
    int rca = zoo_run(&spec, &h, &a, NULL), rcb = zoo_run(&spec, NULL, &b, NULL);
    ZT_CHECK(strstr(why, "parameter floats") && strstr(why, path) && atoi(why) == ZOO_ERR_INVALID,
             "wrong parameter count: on_resume heard '%s'", why);
    ZT_CHECK(!rca && !rcb && a.n_steps == 3 * SPE && a.n_steps == b.n_steps &&
                 same(a.step_loss, b.step_loss, b.n_steps) && a.final_acc == b.final_acc,
             "wrong parameter count: the run did not go on from step 0 like a fresh one (rc %d, %lld steps)", rca,
             (long long)a.n_steps);
    if (strstr(why, "parameter floats"))
        printf("ok   wrong parameter count: %s\n", why + 3);
    zoo_run_result_free(&a), zoo_run_result_free(&b);
    zoo_run_snapshot_free(&r);
    zoo_run_snapshot_free(&s);

    if (argc > 3)
        full_disk("/proc/self/exe", dir, argv[3], &spec);
    else
        printf("skip: no iofault library given: the full-disk case did not run\n");
    return zt_fails ? 1 : 0;
}
