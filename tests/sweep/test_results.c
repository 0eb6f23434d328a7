/* test_results.c: the HDF5 results file without MPI or training. Modes:
 *   unit DIR [PYTHON]  create, commit, reopen, add rows in a second session, end; then
 *                      (when PYTHON is given) read it with h5py and pandas
 *   upgrade DIR PYTHON a version-1 file (made by rewriting a new one as version 1 wrote
 *                      it, with h5py) opens, keeps its rows, gets the backend of its
 *                      finished runs from their groups, and becomes version 2 at the
 *                      first commit, its new rows keeping their backend and device
 *   kill DIR N         N times: a child commits rows in a loop and is SIGKILLed at a
 *                      random moment; the file must open and hold a consistent prefix
 *   points DIR PYTHON  the writer killed exactly at each boundary of a commit and a fold
 *                      (ZOO_RESULTS_TEST_KILL): after each kill the file opens, holds
 *                      every run the child saw committed, each with its run group, and
 *                      h5py opens the main file
 *   lock DIR [PYTHON]  a second writer is refused while the first lives, also after the
 *                      first's file was replaced by a fold and after "<file>.lock" was
 *                      deleted; h5py reads the locked file; kill -9 frees the lock
 *   validate DIR PYTHON files lacking a group, table, column or root attribute, and a
 *                      damaged journal file, are refused by open and merge, naming what
 *                      is missing; merged pending rows keep NaN and -1
 *   bigtext DIR        a sweep text of 200 KiB is stored and read back identical
 * Exit status decides. */
#define _GNU_SOURCE
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
#include "zoo/results_merge.h"

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
    if (id == 5) { /* a tagged task's run: the figures per tag go into its group */
        res->n_tags = 2;
        snprintf(res->tag_names[0], sizeof res->tag_names[0], "near");
        snprintf(res->tag_names[1], sizeof res->tag_names[1], "far");
        res->tag_test_acc[0] = 0.75, res->tag_test_acc[1] = 0.25;
        res->tag_test_loss[0] = 1.0, res->tag_test_loss[1] = 2.0;
        res->tag_test_count[0] = 300, res->tag_test_count[1] = 100;
    }
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
    ok.ranks = 4;
    snprintf(ok.hosts, sizeof ok.hosts, "nodeAx3,nodeB");
    /* Run 2 by one rank whose coordinator left ranks unset: recorded as 1 on its host. */
    bad.rank = 2;
    snprintf(bad.host, sizeof bad.host, "nodeC");
    snprintf(bad.status, sizeof bad.status, "%s", ZOO_STATUS_DIVERGED);
    snprintf(bad.message, sizeof bad.message, "loss became NaN at step 7");
    zoo_results_update u[2] = {{&ok, &sw.runs[5], &res}, {&bad, &sw.runs[2], NULL}};
    CHECK(!zoo_results_commit(r, u, 2), "commit: %s", zoo_error_last()->msg);
    {
        /* Until a fold the runs may be in the journal only: another reader sees them. */
        zoo_results *peek = NULL;
        CHECK(!zoo_results_open(path, &peek), "open while the journal holds runs: %s", zoo_error_last()->msg);
        if (peek) {
            int64_t np;
            const zoo_results_row *pr = zoo_results_rows(peek, &np);
            CHECK(np == 8 && !strcmp(pr[5].status, "ok") && pr[5].params == 1005, "journal rows not read");
            zoo_results_close(peek);
        }
    }
    CHECK(!zoo_results_end(r, 75), "end: %s", zoo_error_last()->msg);
    {
        char jd[4200];
        snprintf(jd, sizeof jd, "%s.d", path);
        CHECK(access(jd, F_OK) != 0, "the journal folder %s is left after the session ended", jd);
    }
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
    CHECK(got[5].ranks == 4 && !strcmp(got[5].hosts, "nodeAx3,nodeB"), "row 5 ranks %d hosts '%s'", got[5].ranks,
          got[5].hosts);
    CHECK(got[2].ranks == 1 && !strcmp(got[2].hosts, "nodeC"), "row 2 (one rank, columns unset): ranks %d hosts '%s'",
          got[2].ranks, got[2].hosts);
    CHECK(got[0].ranks == -1 && !got[0].hosts[0], "row 0 (pending): ranks %d hosts '%s'", got[0].ranks, got[0].hosts);
    CHECK(!strcmp(got[2].status, "diverged") && !strcmp(got[2].message, "loss became NaN at step 7"), "row 2");
    CHECK(!strcmp(got[0].status, "pending") && isnan(got[0].final_acc), "row 0 pending");
    CHECK(!strcmp(got[3].hash, rows[3].hash) && got[3].d_model == sw.runs[3].d_model, "row 3 identity");
    CHECK(!strcmp(zoo_results_sweep_text(r), sweep_text), "sweep text");

    /* A second session adds two rows. */
    zoo_sweep sw2;
    const char *text2 = "name: rt\nmodel: {d_model: [16, 32, 64], mixers: [sweeptoy, sweeptoy_b]}\ntrain: {lr: [0.1, 0.01]}\n";
    CHECK(!zoo_sweep_parse(text2, "rt.yaml", &sw2), "parse 2");
    zoo_results_row extra[2];
    /* Run 9 is of another task, its knobs set out of order: the columns sort them. */
    zoo_run_spec *s9 = &sw2.runs[9];
    snprintf(s9->task, sizeof s9->task, "parity");
    s9->n_task_knobs = 2;
    snprintf(s9->task_knobs[0].name, sizeof s9->task_knobs[0].name, "z");
    snprintf(s9->task_knobs[0].value, sizeof s9->task_knobs[0].value, "1");
    snprintf(s9->task_knobs[1].name, sizeof s9->task_knobs[1].name, "n_bits");
    snprintf(s9->task_knobs[1].value, sizeof s9->task_knobs[1].value, "3");
    zoo_results_row_init(&extra[0], 8, &sw2.runs[8], "test");
    zoo_results_row_init(&extra[1], 9, &sw2.runs[9], "test");
    session(&ss);
    ss.ranks = 3;
    CHECK(!zoo_results_begin(r, &sw2, extra, 2, &ss), "begin: %s", zoo_error_last()->msg);
    got = zoo_results_rows(r, &n);
    CHECK(n == 10 && got[9].d_model == 64, "rows after begin %lld", (long long)n);
    CHECK(!strcmp(got[9].task, "parity") && !strcmp(got[9].task_knobs, "n_bits=3 z=1") && !strcmp(got[8].task, "mqar") &&
              !got[8].task_knobs[0],
          "task columns: '%s' '%s', '%s'", got[9].task, got[9].task_knobs, got[8].task);
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
                 "def df_task_ok(f):\n"
                 "    s = f['summary'][()]\n"
                 "    return list(s['task']) == [b'mqar'] * 9 + [b'parity'] and s['task_knobs'][9] == b'n_bits=3 z=1'\n"
                 "assert f.attrs['schema'] == b'zoo-sweep-results' or f.attrs['schema'] == 'zoo-sweep-results', f.attrs['schema']\n"
                 "assert int(f.attrs['schema_version']) == 4\n"
                 "assert df_task_ok(f), 'task columns'\n"
                 "df = pd.DataFrame(f['summary'][()])\n"
                 "assert df['ranks'][5] == 4 and df['hosts'][5] == b'nodeAx3,nodeB', (df['ranks'][5], df['hosts'][5])\n"
                 "assert int(f['runs/000005'].attrs['ranks_used']) == 4\n"
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
                 "assert list(g['tag_test_acc'][()]) == [0.75, 0.25] and list(g['tag_test_count'][()]) == [300, 100]\n"
                 "assert g.attrs['test_tags'] in (b'near; far', 'near; far') and 'tag_test_acc' not in f['runs/000009']\n"
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

/* A file as results schema version `ver` (1 or 2) wrote it: without the columns added
 * later (2: backend, device, tf32; 3: ranks, hosts) and their run-group attributes. */
static int downgrade(const char *python, const char *path, int ver)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "%s - '%s' %d <<'EOF'\n"
             "import sys, h5py, numpy as np\n"
             "ver = int(sys.argv[2])\n"
             "drop = (('task', 'task_knobs') if ver < 4 else ()) + (('ranks', 'hosts') if ver < 3 else ())\n"
             "drop += ('backend', 'device', 'tf32') if ver < 2 else ()\n"
             "gdrop = (('ranks_used', 'hosts') if ver < 3 else ()) + (('backend_used', 'device') if ver < 2 else ())\n"
             "with h5py.File(sys.argv[1], 'a', libver='earliest') as f:\n"
             "    s = f['summary'][()]\n"
             "    names = [n for n in s.dtype.names if n not in drop]\n"
             "    assert len(names) == len(s.dtype.names) - len(drop), s.dtype.names\n"
             "    t = np.zeros(len(s), dtype=np.dtype([(n, s.dtype[n]) for n in names]))\n"
             "    for n in names:\n"
             "        t[n] = s[n]\n"
             "    del f['summary']\n"
             "    f.create_dataset('summary', data=t, maxshape=(None,), chunks=(64,))\n"
             "    for g in f['runs'].values():\n"
             "        for a in gdrop:\n"
             "            del g.attrs[a]\n"
             "    f.attrs['schema_version'] = np.int64(ver)\n"
             "EOF",
             python, path, ver);
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
    CHECK(downgrade(python, path, 1) == 0, "rewriting %s as version 1", path);

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
    /* Before version 3 every run trained on one rank: 1 on its host; pending rows none. */
    CHECK(got[5].ranks == 1 && !strcmp(got[5].hosts, "testhost") && got[0].ranks == -1 && !got[0].hosts[0],
          "v1 ranks: row 5 %d '%s', row 0 %d '%s'", got[5].ranks, got[5].hosts, got[0].ranks, got[0].hosts);
    /* Before version 4 every run was MQAR. */
    CHECK(!strcmp(got[5].task, "mqar") && !strcmp(got[0].task, "mqar") && !got[5].task_knobs[0], "v1 task: '%s' '%s'",
          got[5].task, got[5].task_knobs);
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
             "assert int(f.attrs['schema_version']) == 4, f.attrs['schema_version']\n"
             "s = f['summary'][()]\n"
             "assert list(s['backend']) == [b'', b'', b'', b'', b'', b'cpu', b'', b'cuda'], s['backend']\n"
             "assert list(s['ranks']) == [-1, -1, -1, -1, -1, 1, -1, 1], s['ranks']\n"
             "assert len(f['sessions']) == 2\n"
             "print('version 1 file upgraded to 4')\n"
             "EOF",
             python, path);
    CHECK(system(cmd) == 0, "python check of the upgraded file");

    /* A version 2 file (backend columns, no ranks): its finished rows read 1 rank on
     * their host, and a resume upgrades it to 3 keeping that. */
    unlink(path);
    CHECK(!zoo_results_create(path, &sw, rows, &ss, &r), "create v2: %s", zoo_error_last()->msg);
    if (!r)
        return 1;
    ok = rows[5];
    finish(&ok, &res, buf, 5);
    ok.ranks = 8; /* dropped by the downgrade: a version 2 file cannot hold it */
    u[0] = (zoo_results_update){&ok, &sw.runs[5], &res};
    CHECK(!zoo_results_commit(r, u, 1) && !zoo_results_end(r, 0), "commit v2: %s", zoo_error_last()->msg);
    zoo_results_close(r);
    CHECK(downgrade(python, path, 2) == 0, "rewriting %s as version 2", path);
    CHECK(!zoo_results_open(path, &r), "open v2: %s", zoo_error_last()->msg);
    if (!r)
        return 1;
    got = zoo_results_rows(r, &n);
    CHECK(got[5].ranks == 1 && !strcmp(got[5].hosts, "testhost") && got[4].ranks == -1,
          "v2 ranks: row 5 %d '%s', row 4 %d", got[5].ranks, got[5].hosts, got[4].ranks);
    CHECK(!strcmp(got[5].task, "mqar") && !strcmp(got[4].task, "mqar"), "v2 task: '%s'", got[5].task);
    session(&ss);
    CHECK(!zoo_results_begin(r, &sw, NULL, 0, &ss) && !zoo_results_end(r, 0), "resume v2: %s", zoo_error_last()->msg);
    zoo_results_close(r);
    CHECK(!zoo_results_open(path, &r), "reopen v2 upgraded: %s", zoo_error_last()->msg);
    if (r) {
        got = zoo_results_rows(r, &n);
        CHECK(got[5].ranks == 1 && !strcmp(got[5].hosts, "testhost"), "v2 upgraded: row 5 %d '%s'", got[5].ranks,
              got[5].hosts);
        zoo_results_close(r);
    }
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

/* ---- kills at the boundaries of commits and folds ------------------------------------ */

static const char *kill_sweep = "model: {d_model: [16, 32, 48, 64, 80, 96, 112, 128], mixers: [sweeptoy, sweeptoy_b]}\n"
                                "train: {lr: [0.1, 0.01, 0.001]}\n";

/* The child: record up to `most` pending runs one by one, each with a 160 KB loss curve
 * (so the journal outgrows the main file within a few commits and folds come often),
 * writing each id to `fd` once committed; then end the session (the last fold). */
static void point_committer(const char *path, const zoo_sweep *sw, int fd, const char *point, int most)
{
    if (point)
        setenv("ZOO_RESULTS_TEST_KILL", point, 1);
    zoo_results *r;
    if (zoo_results_open(path, &r))
        _exit(3);
    enum { STEPS = 40000 };
    float *curve = malloc(STEPS * sizeof *curve);
    if (!curve)
        _exit(6);
    for (int k = 0; k < STEPS; k++)
        curve[k] = 1.0f / (float)(k + 1);
    int64_t n;
    const zoo_results_row *rows = zoo_results_rows(r, &n);
    int done = 0;
    for (int64_t i = 0; i < n && done < most; i++) {
        if (strcmp(rows[i].status, "pending"))
            continue;
        zoo_results_row row = rows[i];
        float buf[12];
        zoo_run_result res;
        finish(&row, &res, buf, i);
        res.step_loss = curve;
        res.n_steps = STEPS;
        zoo_results_update u = {&row, &sw->runs[i], &res};
        if (zoo_results_commit(r, &u, 1))
            _exit(4);
        if (write(fd, &i, sizeof i) != sizeof i)
            _exit(5);
        rows = zoo_results_rows(r, &n);
        done++;
    }
    if (zoo_results_end(r, 0))
        _exit(7);
    zoo_results_close(r);
    free(curve);
    _exit(0);
}

/* Run a committer child; the ids it reported go to seen[]. Its wait status. */
static int run_committer(const char *path, const zoo_sweep *sw, const char *point, int most, unsigned char *seen)
{
    int p[2];
    if (pipe(p))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        point_committer(path, sw, p[1], point, most);
    }
    close(p[1]);
    int64_t id;
    while (read(p[0], &id, sizeof id) == sizeof id)
        if (id >= 0 && id < sw->n_runs)
            seen[id] = 1;
    close(p[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    return st;
}

/* Every run in seen[] ok with its numbers and its group; the others pending. */
static void check_file(const char *path, const unsigned char *seen, int64_t n_runs, const char *what)
{
    zoo_results *r;
    if (zoo_results_open(path, &r)) {
        CHECK(0, "%s: the file does not open: %s", what, zoo_error_last()->msg);
        return;
    }
    char scratch[4200];
    snprintf(scratch, sizeof scratch, "%s.scratch", path);
    hid_t dst = H5Fcreate(scratch, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    int64_t n;
    const zoo_results_row *got = zoo_results_rows(r, &n);
    CHECK(n == n_runs, "%s: %lld rows", what, (long long)n);
    for (int64_t i = 0; i < n && i < n_runs; i++) {
        int ok = !strcmp(got[i].status, "ok");
        if (seen[i])
            CHECK(ok, "%s: committed run %lld is '%s'", what, (long long)i, got[i].status);
        if (ok) {
            CHECK(got[i].params == 1000 + i && got[i].final_acc == 0.5 + 0.01 * (double)i, "%s: row %lld numbers", what,
                  (long long)i);
            char name[64];
            snprintf(name, sizeof name, "/g%lld", (long long)i);
            int c = zoo_results_copy_run(r, i, dst, name);
            CHECK(c == 1, "%s: run %lld has no run group (%d: %s)", what, (long long)i, c, zoo_error_last()->msg);
        } else {
            CHECK(!strcmp(got[i].status, "pending"), "%s: row %lld status '%s'", what, (long long)i, got[i].status);
        }
    }
    H5Fclose(dst);
    unlink(scratch);
    zoo_results_close(r);
}

static int points_test(const char *dir, const char *python)
{
    char cmd[16384];
    zoo_sweep sw;
    if (zoo_sweep_parse(kill_sweep, "points.yaml", &sw)) {
        fprintf(stderr, "FAIL parse: %s\n", zoo_error_last()->msg);
        return 1;
    }
    zoo_results_row *rows = initial_rows(&sw);
    /* Each point (see kill_point in io/results.c) at the 1st and 2nd time it is reached;
     * a child's first fold comes within 3 commits, its second within 9. */
    static const char *const points[] = {"commit:1", "commit:4", "fold:1",     "fold:2",    "folded:1",
                                         "folded:2", "folded:3", "cleaning:1", "cleaning:2"};
    int n_points = (int)(sizeof points / sizeof *points), killed = 0;
    unsigned char *seen = calloc((size_t)sw.n_runs, 1);
    char list[8192] = "";
    size_t lk = 0;
    for (int t = 0; t < n_points; t++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/points-%d.h5", dir, t);
        snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s.d'", path, path);
        if (system(cmd))
            return 1;
        zoo_results_session ss;
        session(&ss);
        zoo_results *r;
        if (zoo_results_create(path, &sw, rows, &ss, &r)) {
            fprintf(stderr, "FAIL create: %s\n", zoo_error_last()->msg);
            return 1;
        }
        zoo_results_close(r);
        memset(seen, 0, (size_t)sw.n_runs);
        int st = run_committer(path, &sw, points[t], 20, seen);
        int was_killed = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
        killed += was_killed;
        CHECK(was_killed, "%s: the writer was not killed there (wait status %d)", points[t], st);
        char what[96];
        snprintf(what, sizeof what, "killed at %s", points[t]);
        check_file(path, seen, sw.n_runs, what);
        /* The next writer cleans up, resumes, records three more and ends the session. */
        zoo_results_clean_temps(path);
        st = run_committer(path, &sw, NULL, 3, seen);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: the next writer failed (wait status %d)", points[t], st);
        snprintf(what, sizeof what, "resumed after a kill at %s", points[t]);
        check_file(path, seen, sw.n_runs, what);
        char jd[4200];
        snprintf(jd, sizeof jd, "%s.d", path);
        CHECK(access(jd, F_OK) != 0, "%s: %s left after the session ended", points[t], jd);
        lk += (size_t)snprintf(list + lk, sizeof list - lk, " '%s'", path);
    }
    if (python && *python) {
        /* The main file alone is consistent: h5py opens it and each ok row has its group. */
        snprintf(cmd, sizeof cmd,
                 "%s - %s <<'EOF'\n"
                 "import sys, h5py\n"
                 "for p in sys.argv[1:]:\n"
                 "    with h5py.File(p, 'r') as f:\n"
                 "        s = f['summary'][()]\n"
                 "        ok = [i for i, x in enumerate(s['status']) if x == b'ok']\n"
                 "        assert ok and all(f'runs/{i:06d}' in f for i in ok), (p, ok)\n"
                 "        assert len(f[f'runs/{ok[0]:06d}/step_loss']) == 40000\n"
                 "print('h5py read every file')\n"
                 "EOF",
                 python, list);
        CHECK(system(cmd) == 0, "h5py could not read a main file");
    }
    printf("%d kills at commit and fold boundaries; each time every committed run was found, and the next writer "
           "finished\n",
           killed);
    free(seen);
    free(rows);
    zoo_sweep_free(&sw);
    return fails ? 1 : 0;
}

/* ---- the lock ------------------------------------------------------------------------ */

static int lock_test(const char *dir, const char *python)
{
    char path[4096], dotlock[4200];
    snprintf(path, sizeof path, "%s/lock.h5", dir);
    snprintf(dotlock, sizeof dotlock, "%s.lock", path);
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s.d'", path, path);
    if (system(cmd))
        return 1;
    zoo_sweep sw;
    if (zoo_sweep_parse(sweep_text, "rt.yaml", &sw))
        return 1;
    zoo_results_row *rows = initial_rows(&sw);
    zoo_results_session ss;
    session(&ss);
    /* A new file: the lock makes an empty placeholder, which the failed writer removes. */
    int fd;
    CHECK(!zoo_results_lock(path, &fd), "lock of a new file: %s", zoo_error_last()->msg);
    CHECK(access(path, F_OK) == 0, "no placeholder");
    zoo_results_unlock(path, fd);
    CHECK(access(path, F_OK) != 0, "the unused placeholder is left");
    zoo_results *r;
    if (zoo_results_create(path, &sw, rows, &ss, &r))
        return 1;
    zoo_results_close(r);

    int to_parent[2], to_child[2];
    if (pipe(to_parent) || pipe(to_child))
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        char c = 0;
        int lfd;
        if (zoo_results_lock(path, &lfd))
            _exit(3);
        if (write(to_parent[1], "L", 1) != 1 || read(to_child[0], &c, 1) != 1)
            _exit(4);
        /* A session start folds: the file at the path is a new one, locked before the rename. */
        zoo_results *w;
        if (zoo_results_open(path, &w) || zoo_results_begin(w, &sw, NULL, 0, &ss))
            _exit(5);
        if (write(to_parent[1], "F", 1) != 1)
            _exit(6);
        for (;;)
            pause();
    }
    char c;
    CHECK(read(to_parent[0], &c, 1) == 1 && c == 'L', "first writer did not lock");
    /* What deleting the lock file admitted before: nothing now. */
    FILE *lf = fopen(dotlock, "w");
    if (lf)
        fclose(lf);
    unlink(dotlock);
    int fd2 = -1;
    int rc = zoo_results_lock(path, &fd2);
    CHECK(rc == ZOO_ERR_INVALID, "second writer admitted (rc %d) while the first holds the file", rc);
    CHECK(strstr(zoo_error_last()->msg, "in use") && strstr(zoo_error_last()->msg, path), "refusal message: %s",
          zoo_error_last()->msg);
    if (!rc)
        zoo_results_unlock(path, fd2);
    struct stat before, after;
    stat(path, &before);
    CHECK(write(to_child[1], "g", 1) == 1, "pipe");
    CHECK(read(to_parent[0], &c, 1) == 1 && c == 'F', "first writer did not fold");
    stat(path, &after);
    CHECK(before.st_ino != after.st_ino, "the fold did not replace the file");
    rc = zoo_results_lock(path, &fd2);
    CHECK(rc == ZOO_ERR_INVALID, "second writer admitted (rc %d) after the first replaced the file", rc);
    if (!rc)
        zoo_results_unlock(path, fd2);
    if (python && *python) {
        snprintf(cmd, sizeof cmd, "%s -c \"import h5py,sys; f=h5py.File(sys.argv[1],'r'); assert len(f['summary']) == 8\" '%s'",
                 python, path);
        CHECK(system(cmd) == 0, "h5py cannot read the file while a writer holds its lock");
    }
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    rc = zoo_results_lock(path, &fd2);
    CHECK(rc == 0, "the lock of a killed writer still blocks: %s", zoo_error_last()->msg);
    if (!rc) {
        /* Held: the file still opens for readers, and a writer in this process is alone. */
        CHECK(!zoo_results_open(path, &r), "open under the lock: %s", zoo_error_last()->msg);
        zoo_results_close(r);
        zoo_results_unlock(path, fd2);
        CHECK(access(path, F_OK) == 0, "unlock removed a real results file");
    }
    printf("lock: refused while held (also after the lock file's deletion and a fold), freed by kill -9\n");
    free(rows);
    zoo_sweep_free(&sw);
    return fails ? 1 : 0;
}

/* ---- validation ---------------------------------------------------------------------- */

static int make_good(const char *path, zoo_sweep *sw)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s.d'", path, path);
    if (system(cmd))
        return 1;
    zoo_results_row *rows = initial_rows(sw);
    zoo_results_session ss;
    session(&ss);
    zoo_results *r;
    int rc = zoo_results_create(path, sw, rows, &ss, &r);
    if (!rc) {
        float buf[12];
        zoo_run_result res;
        zoo_results_row ok = rows[3];
        finish(&ok, &res, buf, 3);
        zoo_results_update u = {&ok, &sw->runs[3], &res};
        rc = zoo_results_commit(r, &u, 1);
        rc = rc ? rc : zoo_results_end(r, 0);
        zoo_results_close(r);
    }
    free(rows);
    return rc;
}

static int validate_test(const char *dir, const char *python)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "%s -c 'import h5py, numpy' 2>/dev/null", python);
    if (system(cmd) != 0) {
        printf("skipped: no h5py for %s\n", python);
        return 77;
    }
    zoo_sweep sw;
    if (zoo_sweep_parse(sweep_text, "rt.yaml", &sw))
        return 1;
    static const struct {
        const char *name, *edit, *expect;
    } cases[] = {
        {"no-sessions", "del f['sessions']", "/sessions"},
        {"no-sweep-texts", "del f['sweep_texts']", "/sweep_texts"},
        {"no-runs", "del f['runs']", "/runs"},
        {"no-created", "del f.attrs['created']", "root attribute 'created'"},
        {"no-final-acc",
         "s = f['summary'][()]\n"
         "names = [n for n in s.dtype.names if n != 'final_acc']\n"
         "t = np.zeros(len(s), dtype=np.dtype([(n, s.dtype[n]) for n in names]))\n"
         "for n in names: t[n] = s[n]\n"
         "del f['summary']\n"
         "f.create_dataset('summary', data=t, maxshape=(None,), chunks=(64,))",
         "/summary column 'final_acc'"},
        {"no-exit-code",
         "s = f['sessions'][()]\n"
         "names = [n for n in s.dtype.names if n != 'exit_code']\n"
         "t = np.zeros(len(s), dtype=np.dtype([(n, s.dtype[n]) for n in names]))\n"
         "for n in names: t[n] = s[n]\n"
         "del f['sessions']\n"
         "f.create_dataset('sessions', data=t, maxshape=(None,), chunks=(16,))",
         "/sessions column 'exit_code'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char path[4200], merged[4300];
        snprintf(path, sizeof path, "%s/bad-%s.h5", dir, cases[i].name);
        snprintf(merged, sizeof merged, "%s/merged-%s.h5", dir, cases[i].name);
        unlink(merged);
        if (make_good(path, &sw)) {
            CHECK(0, "%s: writing the good file: %s", cases[i].name, zoo_error_last()->msg);
            continue;
        }
        /* Every line of the edit goes under the `with`. */
        char indented[4096];
        size_t k = 0;
        for (const char *e = cases[i].edit; *e && k + 8 < sizeof indented; e++) {
            indented[k++] = *e;
            if (*e == '\n')
                k += (size_t)snprintf(indented + k, sizeof indented - k, "    ");
        }
        indented[k] = 0;
        snprintf(cmd, sizeof cmd,
                 "%s - '%s' <<'EOF'\nimport sys, h5py, numpy as np\nwith h5py.File(sys.argv[1], 'a', libver='earliest') as f:\n"
                 "    %s\nEOF",
                 python, path, indented);
        CHECK(system(cmd) == 0, "%s: breaking the file with h5py", cases[i].name);
        zoo_results *r = NULL;
        int rc = zoo_results_open(path, &r);
        CHECK(rc == ZOO_ERR_INVALID, "%s: open gave %d, want ZOO_ERR_INVALID", cases[i].name, rc);
        const char *msg = zoo_error_last()->msg;
        CHECK(strstr(msg, cases[i].expect) && strstr(msg, path), "%s: message does not name '%s' and the file: %s",
              cases[i].name, cases[i].expect, msg);
        zoo_results_close(r);
        const char *in[1] = {path};
        rc = zoo_results_merge(merged, in, 1, NULL, NULL);
        CHECK(rc == ZOO_ERR_INVALID, "%s: merge gave %d, want ZOO_ERR_INVALID", cases[i].name, rc);
        CHECK(access(merged, F_OK) != 0, "%s: a refused merge left %s", cases[i].name, merged);
    }
    /* A good file merges; its pending rows keep NaN metrics and -1 counts. */
    char good[4200], merged[4300];
    snprintf(good, sizeof good, "%s/good.h5", dir);
    snprintf(merged, sizeof merged, "%s/merged-good.h5", dir);
    unlink(merged);
    CHECK(!make_good(good, &sw), "good file");
    const char *in[1] = {good};
    CHECK(!zoo_results_merge(merged, in, 1, NULL, NULL), "merge: %s", zoo_error_last()->msg);
    zoo_results *r = NULL;
    CHECK(!zoo_results_open(merged, &r), "open merged: %s", zoo_error_last()->msg);
    if (r) {
        int64_t n;
        const zoo_results_row *got = zoo_results_rows(r, &n);
        CHECK(n == 8 && !strcmp(got[3].status, "ok") && got[3].final_acc == 0.53, "merged rows");
        CHECK(isnan(got[0].final_acc) && isnan(got[0].final_loss) && isnan(got[0].wall_s) && got[0].params == -1 &&
                  got[0].steps_run == -1 && got[0].peak_bytes == -1,
              "merged pending row: final_acc %g params %lld", got[0].final_acc, (long long)got[0].params);
        zoo_results_close(r);
    }
    /* A journal file whose name says complete but which HDF5 cannot read: named. */
    char jd[4300], junk[4400], tmpjunk[4400];
    snprintf(jd, sizeof jd, "%s.d", good);
    snprintf(junk, sizeof junk, "%s/commit-00000099.h5", jd);
    snprintf(tmpjunk, sizeof tmpjunk, "%s/commit-00000100.h5.tmp.12345", jd);
    mkdir(jd, 0777);
    FILE *f = fopen(tmpjunk, "w");
    if (f) {
        fputs("half a file", f);
        fclose(f);
    }
    CHECK(!zoo_results_open(good, &r), "a partial journal temporary must be ignored: %s", zoo_error_last()->msg);
    zoo_results_close(r);
    CHECK(zoo_results_clean_temps(good) == 1 && access(tmpjunk, F_OK) != 0, "journal temporary not cleaned");
    f = fopen(junk, "w");
    if (f) {
        fputs("not hdf5 at all", f);
        fclose(f);
    }
    int rc = zoo_results_open(good, &r);
    CHECK(rc == ZOO_ERR_INVALID && strstr(zoo_error_last()->msg, junk), "damaged journal file: rc %d: %s", rc,
          zoo_error_last()->msg);
    if (!rc)
        zoo_results_close(r);
    unlink(junk);
    rmdir(jd);
    printf("validation: every incomplete file refused by open and merge, naming what it lacks\n");
    zoo_sweep_free(&sw);
    return fails ? 1 : 0;
}

/* ---- sweep texts beyond an attribute's 64 KiB ----------------------------------------- */

static int bigtext_test(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/bigtext.h5", dir);
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s.d'", path, path);
    if (system(cmd))
        return 1;
    size_t cap = 300 * 1024, k = 0;
    char *text = malloc(cap);
    k += (size_t)snprintf(text + k, cap - k, "%s", sweep_text);
    for (int i = 0; k + 100 < 200 * 1024; i++)
        k += (size_t)snprintf(text + k, cap - k, "# comment line %06d: long sweep files must be stored whole\n", i);
    zoo_sweep sw;
    if (zoo_sweep_parse(text, "big.yaml", &sw)) {
        fprintf(stderr, "FAIL parse: %s\n", zoo_error_last()->msg);
        return 1;
    }
    zoo_results_row *rows = initial_rows(&sw);
    zoo_results_session ss;
    session(&ss);
    zoo_results *r = NULL;
    CHECK(!zoo_results_create(path, &sw, rows, &ss, &r), "create with a %zu-byte text: %s", k, zoo_error_last()->msg);
    if (r) {
        CHECK(!zoo_results_begin(r, &sw, NULL, 0, &ss), "begin with a %zu-byte text: %s", k, zoo_error_last()->msg);
        CHECK(!zoo_results_end(r, 0), "end: %s", zoo_error_last()->msg);
        zoo_results_close(r);
    }
    CHECK(!zoo_results_open(path, &r), "open: %s", zoo_error_last()->msg);
    if (r) {
        CHECK(!strcmp(zoo_results_sweep_text(r), text), "the %zu-byte text did not read back identical", k);
        zoo_results_close(r);
    }
    printf("a %zu-byte sweep text stored and read back\n", k);
    free(text);
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
    if (argc >= 3 && !strcmp(argv[1], "points"))
        return points_test(argv[2], argc > 3 ? argv[3] : NULL);
    if (argc >= 3 && !strcmp(argv[1], "lock"))
        return lock_test(argv[2], argc > 3 ? argv[3] : NULL);
    if (argc == 4 && !strcmp(argv[1], "validate"))
        return validate_test(argv[2], argv[3]);
    if (argc == 3 && !strcmp(argv[1], "bigtext"))
        return bigtext_test(argv[2]);
    fprintf(stderr, "usage: test_results unit DIR [PYTHON] | kill DIR N | upgrade DIR PYTHON | points DIR [PYTHON] | "
                    "lock DIR [PYTHON] | validate DIR PYTHON | bigtext DIR\n");
    return 2;
}
