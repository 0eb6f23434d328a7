/* test_probe.c: crash isolation of plugin loading (core/src/plugin.c): a plugin that
 * crashes, exits or hangs while loading is refused with a message naming the file and
 * what happened, this process survives, and each file version is probed once.
 * Without the probe the first open below would end this test by SIGSEGV. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"
#include "zoo/plugin.h"


static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Open `path` and expect a refusal whose message is exactly `want`. */
static void expect_refused(const char *path, const char *want)
{
    zoo_plugin *p = NULL;
    int rc = zoo_plugin_open(path, &p);
    ZT_CHECK(rc == ZOO_ERR_PLUGIN_OPEN && !p, "%s: rc %d, want ZOO_ERR_PLUGIN_OPEN", path, rc);
    ZT_CHECK(!strcmp(zoo_error_last()->msg, want), "%s:\n  got  '%s'\n  want '%s'", path, zoo_error_last()->msg, want);
    zoo_plugin_close(p);
}

/* ---- zoo_plugin_isolate on plain functions ---- */
static int fn_ok(void *ud)
{
    (void)ud;
    return 0;
}
static int fn_segv(void *ud)
{
    (void)ud;
    raise(SIGSEGV);
    return 0;
}
static int fn_exit(void *ud)
{
    (void)ud;
    exit(5);
}
static int fn_hang(void *ud)
{
    (void)ud;
    while (ud == NULL) /* always: the child waits to be killed */
        pause();
    return 0;
}

static void test_isolate(void)
{
    ZT_CHECK(zoo_plugin_isolate("x.so", "testing", "its code", fn_ok, NULL, 5) == 0, "a function that returns");
    int rc = zoo_plugin_isolate("x.so", "testing", "its code", fn_segv, NULL, 5);
    ZT_CHECK(rc == ZOO_ERR_PLUGIN_OPEN, "segv rc %d", rc);
    ZT_CHECK(!strcmp(zoo_error_last()->msg, "x.so crashed while testing (SIGSEGV in its code); fix or remove it"),
          "segv message '%s'", zoo_error_last()->msg);
    rc = zoo_plugin_isolate("x.so", "testing", "its code", fn_exit, NULL, 5);
    ZT_CHECK(rc == ZOO_ERR_PLUGIN_OPEN && strstr(zoo_error_last()->msg, "x.so exited with status 5 while testing"),
          "exit: rc %d '%s'", rc, zoo_error_last()->msg);
    double t0 = now_s();
    rc = zoo_plugin_isolate("x.so", "testing", "its code", fn_hang, NULL, 0.3);
    double dt = now_s() - t0;
    ZT_CHECK(rc == ZOO_ERR_PLUGIN_OPEN && strstr(zoo_error_last()->msg, "x.so hung while testing (no answer after 0.3 s"),
          "hang: rc %d '%s'", rc, zoo_error_last()->msg);
    ZT_CHECK(dt >= 0.3 && dt < 3, "hang: took %.2f s for a 0.3 s limit", dt);
}

/* ---- the load probe on the test plugins ---- */
static void test_probe(void)
{
    expect_refused(CRASH_DIR "/crashctor.so",
                   CRASH_DIR "/crashctor.so crashed while loading (SIGSEGV in its constructor or descriptor); fix or "
                             "remove it");
    expect_refused(CRASH_DIR "/crashdesc.so",
                   CRASH_DIR "/crashdesc.so crashed while loading (SIGSEGV in its constructor or descriptor); fix or "
                             "remove it");
    /* Asked again: the cached verdict, the same message. */
    expect_refused(CRASH_DIR "/crashctor.so",
                   CRASH_DIR "/crashctor.so crashed while loading (SIGSEGV in its constructor or descriptor); fix or "
                             "remove it");
    zoo_plugin *p = NULL;
    int rc = zoo_plugin_open(CRASH_DIR "/exitctor.so", &p);
    ZT_CHECK(rc == ZOO_ERR_PLUGIN_OPEN &&
              strstr(zoo_error_last()->msg, CRASH_DIR "/exitctor.so exited with status 3 while loading"),
          "exitctor: rc %d '%s'", rc, zoo_error_last()->msg);
    double old = zoo_plugin_set_probe_timeout(1.0);
    ZT_CHECK(old == 10.0, "default probe limit %g, documented 10 s", old);
    double t0 = now_s();
    rc = zoo_plugin_open(PROBE_DIR "/hangctor.so", &p);
    double dt = now_s() - t0;
    ZT_CHECK(rc == ZOO_ERR_PLUGIN_OPEN &&
              strstr(zoo_error_last()->msg, PROBE_DIR "/hangctor.so hung while loading (no answer after 1 s"),
          "hangctor: rc %d '%s'", rc, zoo_error_last()->msg);
    ZT_CHECK(dt >= 1 && dt < 5, "hangctor took %.2f s for a 1 s limit", dt);
    zoo_plugin_set_probe_timeout(old);
}

static int copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    int rc = a && b ? 0 : -1;
    char buf[65536];
    size_t n;
    while (!rc && (n = fread(buf, 1, sizeof buf, a)) > 0)
        rc = fwrite(buf, 1, n, b) == n ? 0 : -1;
    if (a)
        fclose(a);
    if (b && fclose(b))
        rc = -1;
    return rc;
}

/* Lines of the load log written by processes other than this one: probe children. */
static int probes_logged(const char *log)
{
    FILE *f = fopen(log, "r");
    if (!f)
        return 0;
    long pid;
    int n = 0;
    while (fscanf(f, "%ld", &pid) == 1)
        n += pid != (long)getpid();
    fclose(f);
    return n;
}

static void open_close(const char *path)
{
    zoo_plugin *p = NULL;
    int rc = zoo_plugin_open(path, &p);
    ZT_CHECK(rc == 0 && p, "%s: rc %d '%s'", path, rc, zoo_error_last()->msg);
    zoo_plugin_close(p);
}

/* Each file version is probed once: again after it changes, never with probing off. */
static void test_cache(void)
{
    char dir[] = "/tmp/zoo_probe_XXXXXX";
    if (!mkdtemp(dir)) {
        ZT_CHECK(0, "mkdtemp: %s", strerror(errno));
        return;
    }
    char so[256], log[256];
    snprintf(so, sizeof so, "%s/countctor.so", dir);
    snprintf(log, sizeof log, "%s/loads.log", dir);
    ZT_CHECK(!copy_file(PROBE_DIR "/countctor.so", so), "copying countctor.so");
    setenv("ZOO_TEST_LOAD_LOG", log, 1);
    open_close(so);
    open_close(so);
    ZT_CHECK(probes_logged(log) == 1, "two opens of one file: %d probes, want 1", probes_logged(log));
    /* A rebuilt plugin (here: a new modification time) is probed again. */
    struct timespec times[2] = {{0, UTIME_OMIT}, {time(NULL) + 100, 0}};
    ZT_CHECK(!utimensat(AT_FDCWD, so, times, 0), "utimensat: %s", strerror(errno));
    open_close(so);
    ZT_CHECK(probes_logged(log) == 2, "after a change: %d probes, want 2", probes_logged(log));
    ZT_CHECK(!utimensat(AT_FDCWD, so, (struct timespec[2]){{0, UTIME_OMIT}, {time(NULL) + 200, 0}}, 0), "utimensat");
    double old = zoo_plugin_set_probe_timeout(0);
    open_close(so);
    ZT_CHECK(probes_logged(log) == 2, "probing off: %d probes, want still 2", probes_logged(log));
    zoo_plugin_set_probe_timeout(old);
    unsetenv("ZOO_TEST_LOAD_LOG");
    unlink(so);
    unlink(log);
    rmdir(dir);
}

int main(void)
{
    test_isolate();
    test_probe();
    test_cache();
    if (zt_fails) {
        fprintf(stderr, "test_probe: %d zt_fails\n", zt_fails);
        return 1;
    }
    printf("test_probe: ok\n");
    return 0;
}
