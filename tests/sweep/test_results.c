/* test_results.c: the HDF5 results file without MPI or training. Modes:
 *   unit DIR [PYTHON]  create, commit, reopen, add rows in a second session, end; then
 *                      (when PYTHON is given) read it with h5py and pandas
 *   upgrade DIR PYTHON a version-1 file (made by rewriting a new one as version 1 wrote
 *                      it, with h5py) opens, keeps its rows, gets the backend of its
 *                      finished runs from their groups, and becomes version 2 at the
 *                      first commit, its new rows keeping their backend and device
 *   kill DIR N         N times: a child commits rows in a loop and is SIGKILLed at a
 *                      random moment; the file must open and hold a consistent prefix
 * Exit status decides. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zoo/config.h"
#include "zoo/error.h"
#include "zoo/results.h"

static int fails;
#define CHECK(cond, ...)                                                                                           \
    do {                                                                                                           \
        if (!(cond)) {                                                                                             \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                                   \
            fprintf(stderr, __VA_ARGS__);                                                                          \
            fprintf(stderr, "\n");                                                                                 \
            fails++;                                                                                               \
        }                                                                                                          \
    } while (0)

static const char *sweep_text = "name: rt\nmodel: {d_model: [16, 32], mixers: [sweeptoy, sweeptoy_b]}\n"
                                "train: {lr: [0.1, 0.01]}\n";

static void session(zoo_results_session *s)
{
    memset(s, 0, sizeof *s);
    zoo_results_now(s->started);
    s->ranks = 1;
    snprintf(s->hosts, sizeof s->hosts, "testhost");
    snprintf(s->command, sizeof s->command, "test_results");
    s->exit_code = -1;
}

static zoo_results_row *initial_rows(const zoo_sweep *sw)
{
    zoo_results_row *rows = calloc((size_t)sw->n_runs, sizeof *rows);
    for (int64_t i = 0; i < sw->n_runs; i++)
        zoo_results_row_init(&rows[i], i, &sw->runs[i], "test");
    return rows;
}

/* A finished row with recognisable numbers and curves. */
static void finish(zoo_results_row *row, zoo_run_result *res, float *buf, int64_t id)
{
    row->params = 1000 + id;
    row->final_acc = 0.5 + 0.01 * (double)id;
    row->best_acc = row->final_acc + 0.001;
    row->final_loss = 1.0 / (double)(id + 1);
    row->epochs_run = 3;
    row->steps_run = 12;
    row->wall_s = 1.5;
    row->rank = 1;
    snprintf(row->host, sizeof row->host, "testhost");
    snprintf(row->status, sizeof row->status, "%s", ZOO_STATUS_OK);
    memset(res, 0, sizeof *res);
    for (int i = 0; i < 12; i++)
        buf[i] = (float)id + 0.25f * (float)i;
    res->n_steps = 12;
    res->step_loss = buf;
    res->n_epochs = 3;
    res->epoch_test_acc = buf;
    res->epoch_test_loss = buf + 3;
    res->epoch_lr = buf + 6;
    res->epoch_train_loss = buf + 9;
}

static int unit(const char *dir, const char *python)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/unit.h5", dir);
    unlink(path);
    zoo_sweep sw;
    if (zoo_sweep_parse(sweep_text, "rt.yaml", &sw)) {
        fprintf(stderr, "FAIL parse: %s\n", zoo_error_last()->msg);
        return 1;
    }
    zoo_results_row *rows = initial_rows(&sw);
    zoo_results_session ss;
    session(&ss);
    zoo_results *r = NULL;
    CHECK(!zoo_results_create(path, &sw, rows, &ss, &r), "create: %s", zoo_error_last()->msg);
    CHECK(zoo_results_create(path, &sw, rows, &ss, &(zoo_results *){NULL}) == ZOO_ERR_IO, "create over existing file");
    if (!r)
        return 1;
    /* Run 5 ok with curves, run 2 failed without. */
    float buf[12];
    zoo_run_result res;
    zoo_results_row ok = rows[5], bad = rows[2];
    finish(&ok, &res, buf, 5);
    snprintf(ok.backend, sizeof ok.backend, "cuda");
    snprintf(ok.device, sizeof ok.device, "cuda:1 of 2 (stand-in, sm_90, 1.0 GiB)");
    ok.tf32 = 1;
    snprintf(bad.status, sizeof bad.status, "%s", ZOO_STATUS_DIVERGED);
    snprintf(bad.message, sizeof bad.message, "loss became NaN at step 7");
    zoo_results_update u[2] = {{&ok, &sw.runs[5], &res}, {&bad, &sw.runs[2], NULL}};
    CHECK(!zoo_results_commit(r, u, 2), "commit: %s", zoo_error_last()->msg);
    CHECK(!zoo_results_end(r, 75), "end: %s", zoo_error_last()->msg);
    zoo_results_close(r);

    /* Reopen: rows as committed. */
    CHECK(!zoo_results_open(path, &r), "open: %s", zoo_error_last()->msg);
    if (!r)
        return 1;
    int64_t n;
    const zoo_results_row *got = zoo_results_rows(r, &n);
    CHECK(n == 8, "rows %lld", (long long)n);
    CHECK(!strcmp(got[5].status, "ok") && got[5].final_acc == ok.final_acc && got[5].params == 1005, "row 5");
    CHECK(!strcmp(got[5].backend, "cuda") && !strcmp(got[5].device, ok.device) && got[5].tf32 == 1,
          "row 5 backend '%s' device '%s' tf32 %d", got[5].backend, got[5].device, got[5].tf32);
    CHECK(!got[0].backend[0] && !got[0].device[0] && got[0].tf32 == 0, "row 0 (pending) has a backend");
    CHECK(!strcmp(got[2].status, "diverged") && !strcmp(got[2].message, "loss became NaN at step 7"), "row 2");
    CHECK(!strcmp(got[0].status, "pending") && isnan(got[0].final_acc), "row 0 pending");
    CHECK(!strcmp(got[3].hash, rows[3].hash) && got[3].d_model == sw.runs[3].d_model, "row 3 identity");
    CHECK(!strcmp(zoo_results_sweep_text(r), sweep_text), "sweep text");

    /* A second session adds two rows. */
    zoo_sweep sw2;
    const char *text2 = "name: rt\nmodel: {d_model: [16, 32, 64], mixers: [sweeptoy, sweeptoy_b]}\ntrain: {lr: [0.1, 0.01]}\n";
    CHECK(!zoo_sweep_parse(text2, "rt.yaml", &sw2), "parse 2");
    zoo_results_row extra[2];
    zoo_results_row_init(&extra[0], 8, &sw2.runs[8], "test");
    zoo_results_row_init(&extra[1], 9, &sw2.runs[9], "test");
    session(&ss);
    ss.ranks = 3;
    CHECK(!zoo_results_begin(r, &sw2, extra, 2, &ss), "begin: %s", zoo_error_last()->msg);
    got = zoo_results_rows(r, &n);
    CHECK(n == 10 && got[9].d_model == 64, "rows after begin %lld", (long long)n);
    zoo_results_row ok9 = got[9];
    finish(&ok9, &res, buf, 9);
    u[0] = (zoo_results_update){&ok9, &sw2.runs[9], &res};
    CHECK(!zoo_results_commit(r, u, 1), "commit 2: %s", zoo_error_last()->msg);
    CHECK(!zoo_results_end(r, 0), "end 2");
    zoo_results_close(r);
    CHECK(!zoo_results_open(path, &r), "reopen: %s", zoo_error_last()->msg);
    if (r) {
        got = zoo_results_rows(r, &n);
        CHECK(n == 10 && !strcmp(got[9].status, "ok") && !strcmp(got[5].status, "ok"), "rows after session 2");
        CHECK(!strcmp(zoo_results_sweep_text(r), text2), "sweep text 2");
        zoo_results_close(r);
    }
    /* Not a results file. */
    char other[4200];
    snprintf(other, sizeof other, "%s/not-results.h5", dir);
    FILE *f = fopen(other, "w");
    if (f) {
        fputs("hello\n", f);
        fclose(f);
    }
    CHECK(zoo_results_open(other, &r) == ZOO_ERR_INVALID, "plain text file must be refused");

    if (python && *python) {
        char cmd[16384];
        snprintf(cmd, sizeof cmd,
                 "%s - '%s' <<'EOF'\n"
                 "import sys, h5py, numpy as np, pandas as pd\n"
                 "f = h5py.File(sys.argv[1], 'r')\n"
                 "assert f.attrs['schema'] == b'zoo-sweep-results' or f.attrs['schema'] == 'zoo-sweep-results', f.attrs['schema']\n"
                 "assert int(f.attrs['schema_version']) == 2\n"
                 "df = pd.DataFrame(f['summary'][()])\n"
                 "assert len(df) == 10, len(df)\n"
                 "assert df['backend'][5] == b'cuda' and df['tf32'][5] == 1\n"
                 "assert df['device'][5].startswith(b'cuda:1 of 2')\n"
                 "assert f['runs/000005'].attrs['backend_used'] in (b'cuda', 'cuda')\n"
                 "st = df['status'].str.decode('utf-8')\n"
                 "assert list(st[st == 'ok'].index) == [5, 9], list(st)\n"
                 "g = f['runs/000005']\n"
                 "assert g.attrs['status'] in (b'ok', 'ok')\n"
                 "assert int(g.attrs['d_model']) == int(df['d_model'][5])\n"
                 "assert abs(float(g.attrs['lr']) - float(df['lr'][5])) == 0\n"
                 "sl = g['step_loss'][()]\n"
                 "assert sl.dtype == np.float32 and len(sl) == 12 and sl[1] == 5.25, sl\n"
                 "assert len(g['epoch_test_acc'][()]) == 3\n"
                 "assert 'runs/000002' in f and 'step_loss' not in f['runs/000002']\n"
                 "ss = f['sessions'][()]\n"
                 "assert len(ss) == 2 and ss['exit_code'][0] == 75 and ss['ranks'][1] == 3, ss\n"
                 "assert len(f['sweep_texts']) == 2\n"
                 "print('h5py/pandas read the file')\n"
                 "EOF",
                 python, path);
        int rc = system(cmd);
        CHECK(rc == 0, "python reader (exit %d)", rc);
    }
    free(rows);
    zoo_sweep_free(&sw);
    zoo_sweep_free(&sw2);
    return fails ? 1 : 0;
}

/* A file as results schema version 1 wrote it: no backend, device or tf32 columns,
 * no backend_used or device attributes in the run groups, version 1. */
static int downgrade(const char *python, const char *path)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "%s - '%s' <<'EOF'\n"
             "import sys, h5py, numpy as np\n"
             "with h5py.File(sys.argv[1], 'a', libver='earliest') as f:\n"
             "    s = f['summary'][()]\n"
             "    names = [n for n in s.dtype.names if n not in ('backend', 'device', 'tf32')]\n"
             "    assert len(names) == len(s.dtype.names) - 3, s.dtype.names\n"
             "    t = np.zeros(len(s), dtype=np.dtype([(n, s.dtype[n]) for n in names]))\n"
             "    for n in names:\n"
             "        t[n] = s[n]\n"
             "    del f['summary']\n"
             "    f.create_dataset('summary', data=t, maxshape=(None,), chunks=(64,))\n"
             "    for g in f['runs'].values():\n"
             "        del g.attrs['backend_used'], g.attrs['device']\n"
             "    f.attrs['schema_version'] = np.int64(1)\n"
             "EOF",
             python, path);
    return system(cmd);
}

static int upgrade_test(const char *dir, const char *python)
{
    char path[4096], cmd[8192];
    snprintf(path, sizeof path, "%s/upgrade.h5", dir);
    unlink(path);
    snprintf(cmd, sizeof cmd, "%s -c 'import h5py, numpy' 2>/dev/null", python);
    if (system(cmd) != 0) {
        printf("skipped: no h5py for %s\n", python);
        return 77;
    }
    zoo_sweep sw;
    if (zoo_sweep_parse(sweep_text, "rt.yaml", &sw)) {
        fprintf(stderr, "FAIL parse: %s\n", zoo_error_last()->msg);
        return 1;
    }
    zoo_results_row *rows = initial_rows(&sw);
    zoo_results_session ss;
    session(&ss);
    zoo_results *r = NULL;
    float buf[12];
    zoo_run_result res;
    CHECK(!zoo_results_create(path, &sw, rows, &ss, &r), "create: %s", zoo_error_last()->msg);
    if (!r)
        return 1;
    zoo_results_row ok = rows[5], bad = rows[2];
    finish(&ok, &res, buf, 5); /* its spec says backend cpu (the default) */
    snprintf(bad.status, sizeof bad.status, "%s", ZOO_STATUS_UNSUPPORTED);
    zoo_results_update u[2] = {{&ok, &sw.runs[5], &res}, {&bad, &sw.runs[2], NULL}};
    CHECK(!zoo_results_commit(r, u, 2), "commit: %s", zoo_error_last()->msg);
    CHECK(!zoo_results_end(r, 0), "end: %s", zoo_error_last()->msg);
    zoo_results_close(r);
    CHECK(downgrade(python, path) == 0, "rewriting %s as version 1", path);

    /* Read as version 1: every row, the finished run's backend from its group. */
    CHECK(!zoo_results_open(path, &r), "open v1: %s", zoo_error_last()->msg);
    if (!r)
        return 1;
    int64_t n;
    const zoo_results_row *got = zoo_results_rows(r, &n);
    CHECK(n == 8 && !strcmp(got[5].status, "ok") && got[5].params == 1005 && !strcmp(got[5].hash, rows[5].hash),
          "v1 rows");
    CHECK(!strcmp(got[5].backend, "cpu") && !got[5].device[0] && got[5].tf32 == 0,
          "v1 row 5: backend '%s' device '%s' tf32 %d", got[5].backend, got[5].device, got[5].tf32);
    CHECK(!got[2].backend[0] && !got[0].backend[0], "v1 unsupported/pending rows got a backend");
    /* Resuming: the session start upgrades the file, and new rows carry their columns. */
    session(&ss);
    CHECK(!zoo_results_begin(r, &sw, NULL, 0, &ss), "begin on v1: %s", zoo_error_last()->msg);
    got = zoo_results_rows(r, &n);
    zoo_results_row ok7 = got[7];
    finish(&ok7, &res, buf, 7);
    snprintf(ok7.backend, sizeof ok7.backend, "cuda");
    snprintf(ok7.device, sizeof ok7.device, "cuda:0 of 1 (stand-in)");
    u[0] = (zoo_results_update){&ok7, &sw.runs[7], &res};
    CHECK(!zoo_results_commit(r, u, 1), "commit on upgraded: %s", zoo_error_last()->msg);
    CHECK(!zoo_results_end(r, 0), "end 2");
    zoo_results_close(r);
    CHECK(!zoo_results_open(path, &r), "reopen upgraded: %s", zoo_error_last()->msg);
    if (r) {
        got = zoo_results_rows(r, &n);
        CHECK(n == 8 && !strcmp(got[5].backend, "cpu") && !strcmp(got[7].backend, "cuda") &&
                  !strcmp(got[7].device, "cuda:0 of 1 (stand-in)") && !strcmp(got[2].status, "unsupported"),
              "upgraded rows: 5 '%s', 7 '%s' '%s'", got[5].backend, got[7].backend, got[7].device);
        zoo_results_close(r);
    }
    snprintf(cmd, sizeof cmd,
             "%s - '%s' <<'EOF'\n"
             "import sys, h5py\n"
             "f = h5py.File(sys.argv[1], 'r')\n"
             "assert int(f.attrs['schema_version']) == 2, f.attrs['schema_version']\n"
             "s = f['summary'][()]\n"
             "assert list(s['backend']) == [b'', b'', b'', b'', b'', b'cpu', b'', b'cuda'], s['backend']\n"
             "assert len(f['sessions']) == 2\n"
             "print('version 1 file upgraded to 2')\n"
             "EOF",
             python, path);
    CHECK(system(cmd) == 0, "python check of the upgraded file");
    free(rows);
    zoo_sweep_free(&sw);
    return fails ? 1 : 0;
}

/* The child: record runs one by one until killed. */
static void committer(const char *path, const zoo_sweep *sw, unsigned seed)
{
    zoo_results *r;
    if (zoo_results_open(path, &r))
        _exit(3);
    srand(seed);
    int64_t n;
    const zoo_results_row *rows = zoo_results_rows(r, &n);
    for (int64_t i = 0; i < n; i++) {
        if (strcmp(rows[i].status, "pending"))
            continue;
        zoo_results_row row = rows[i];
        float buf[12];
        zoo_run_result res;
        finish(&row, &res, buf, i);
        zoo_results_update u = {&row, &sw->runs[i], &res};
        if (zoo_results_commit(r, &u, 1))
            _exit(4);
        rows = zoo_results_rows(r, &n);
    }
    zoo_results_close(r);
    _exit(0);
}

static int kill_test(const char *dir, int trials)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/kill.h5", dir);
    unlink(path);
    zoo_sweep sw;
    const char *text = "model: {d_model: [16, 32, 48, 64, 80, 96], mixers: [sweeptoy, sweeptoy_b]}\ntrain: {lr: [0.1, 0.01, 0.001]}\n";
    if (zoo_sweep_parse(text, "kill.yaml", &sw)) {
        fprintf(stderr, "FAIL parse: %s\n", zoo_error_last()->msg);
        return 1;
    }
    zoo_results_row *rows = initial_rows(&sw);
    zoo_results_session ss;
    session(&ss);
    zoo_results *r;
    if (zoo_results_create(path, &sw, rows, &ss, &r)) {
        fprintf(stderr, "FAIL create: %s\n", zoo_error_last()->msg);
        return 1;
    }
    zoo_results_close(r);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    int64_t prev_done = 0;
    for (int t = 0; t < trials; t++) {
        pid_t pid = fork();
        if (pid == 0)
            committer(path, &sw, (unsigned)t);
        /* A random moment: start-up takes tens of ms, each commit a few to tens. */
        struct timespec d = {0, (long)(rand() % 150000) * 1000L};
        nanosleep(&d, NULL);
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        zoo_results_clean_temps(path);
        if (zoo_results_open(path, &r)) {
            fprintf(stderr, "FAIL trial %d: the file does not open after SIGKILL: %s\n", t, zoo_error_last()->msg);
            return 1;
        }
        int64_t n, done = 0;
        const zoo_results_row *got = zoo_results_rows(r, &n);
        for (int64_t i = 0; i < n; i++) {
            if (!strcmp(got[i].status, "ok")) {
                done++;
                if (got[i].params != 1000 + i || got[i].final_acc != 0.5 + 0.01 * (double)i)
                    CHECK(0, "trial %d: row %lld has wrong numbers", t, (long long)i);
            } else if (strcmp(got[i].status, "pending")) {
                CHECK(0, "trial %d: row %lld status '%s'", t, (long long)i, got[i].status);
            }
        }
        CHECK(done >= prev_done, "trial %d: %lld rows done, fewer than before (%lld)", t, (long long)done,
              (long long)prev_done);
        prev_done = done;
        zoo_results_close(r);
        if (done == n)
            break;
    }
    printf("after the kills %lld of %lld runs recorded, file intact\n", (long long)prev_done, (long long)sw.n_runs);
    free(rows);
    zoo_sweep_free(&sw);
    return fails ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "unit"))
        return unit(argv[2], argc > 3 ? argv[3] : NULL);
    if (argc == 4 && !strcmp(argv[1], "kill"))
        return kill_test(argv[2], atoi(argv[3]));
    if (argc == 4 && !strcmp(argv[1], "upgrade"))
        return upgrade_test(argv[2], argv[3]);
    fprintf(stderr, "usage: test_results unit DIR [PYTHON] | kill DIR N | upgrade DIR PYTHON\n");
    return 2;
}
