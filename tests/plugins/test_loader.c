/* test_loader.c: the plugin loader against deliberately broken plugins (built from
 * bad_plugin.c into TP_DIR): each check's own error code and a message naming the file
 * (and both versions, the fix); good and newer-ABI plugins load; the search path order
 * and ZOO_PLUGIN_PATH; find (first file of a name wins, unknown names listed); list. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zoo/plugin.h"

static int fails;

#define CHECK(cond, ...)                                                                                             \
    do {                                                                                                             \
        if (!(cond)) {                                                                                               \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                                     \
            fprintf(stderr, __VA_ARGS__);                                                                            \
            fprintf(stderr, "\n");                                                                                   \
            fails++;                                                                                                 \
        }                                                                                                            \
    } while (0)

typedef struct bad_case {
    const char *file;
    int code;
    const char *needles[4]; /* substrings the message must contain (besides the path) */
} bad_case;

static const bad_case bad_cases[] = {
    {"notelf.so", ZOO_ERR_PLUGIN_OPEN, {"cannot load plugin", "zoo_add_mixer"}},
    {"undefsym.so", ZOO_ERR_PLUGIN_OPEN, {"zoo_function_that_does_not_exist"}},
    {"nosym.so", ZOO_ERR_PLUGIN_SYMBOL, {"zoo_mixer_v1", "ZOO_MIXER_HEADER"}},
    {"tinysym.so", ZOO_ERR_PLUGIN_MAGIC, {"4 bytes", "ZOO_MIXER_HEADER"}},
    {"badmagic.so", ZOO_ERR_PLUGIN_MAGIC, {"0xdeadbeef", "0x4d4f4f5a"}},
    {"badmajor.so", ZOO_ERR_PLUGIN_MAJOR, {"plugin ABI 2.3", "this zoo has ABI 1.", "rebuild"}},
    {"shortsize.so", ZOO_ERR_PLUGIN_SIZE, {"ABI 1.0 needs at least", "rebuild"}},
    {"liarsize.so", ZOO_ERR_PLUGIN_SIZE, {"claims", "ZOO_MIXER_HEADER"}},
    {"namemismatch.so", ZOO_ERR_PLUGIN_NAME, {"'othername'", "'namemismatch'", "rename"}},
    {"nullbuild.so", ZOO_ERR_PLUGIN_SLOT, {"'build'"}},
    {"nullfamily.so", ZOO_ERR_PLUGIN_SLOT, {"'family'"}},
    {"nullname.so", ZOO_ERR_PLUGIN_SLOT, {"'name'"}},
    {"badknobs.so", ZOO_ERR_INVALID, {"'width'", "'four'", "not an int"}},
};
#define N_BAD ((int)(sizeof bad_cases / sizeof bad_cases[0]))

static void test_bad(void)
{
    for (int i = 0; i < N_BAD; i++) {
        const bad_case *c = &bad_cases[i];
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", TP_DIR, c->file);
        zoo_plugin *p = (zoo_plugin *)&p; /* must come back NULL */
        zoo_error_clear();
        int rc = zoo_plugin_open(path, &p);
        const char *msg = zoo_error_last()->msg;
        CHECK(rc == c->code, "%s: code %d (%s), expected %d (%s); message: %s", c->file, rc, zoo_strerror(rc), c->code,
              zoo_strerror(c->code), msg);
        CHECK(p == NULL, "%s: output not NULL after a failure", c->file);
        CHECK(zoo_error_last()->code == c->code, "%s: error record code %d", c->file, zoo_error_last()->code);
        CHECK(strstr(msg, path) != NULL, "%s: message does not name the file %s: %s", c->file, path, msg);
        CHECK(strchr(msg, '\n') == NULL, "%s: message is not one line: %s", c->file, msg);
        for (int k = 0; k < 4 && c->needles[k]; k++)
            CHECK(strstr(msg, c->needles[k]) != NULL, "%s: message lacks '%s': %s", c->file, c->needles[k], msg);
        zoo_plugin_close(p == (zoo_plugin *)&p ? NULL : p);
    }
    /* each ZOO_ERR_PLUGIN_* check has a code distinct from the others */
    const int codes[] = {ZOO_ERR_PLUGIN_OPEN, ZOO_ERR_PLUGIN_SYMBOL, ZOO_ERR_PLUGIN_MAGIC, ZOO_ERR_PLUGIN_MAJOR,
                         ZOO_ERR_PLUGIN_SIZE, ZOO_ERR_PLUGIN_NAME,   ZOO_ERR_PLUGIN_SLOT};
    for (int i = 0; i < 7; i++)
        for (int j = 0; j < i; j++)
            CHECK(codes[i] != codes[j], "codes %d and %d are equal", i, j);
    /* a missing file is a load failure naming the file, and a bare name is not looked
     * up on the library path */
    zoo_plugin *p = NULL;
    int rc = zoo_plugin_open(TP_DIR "/no-such-plugin.so", &p);
    CHECK(rc == ZOO_ERR_PLUGIN_OPEN && strstr(zoo_error_last()->msg, "no-such-plugin.so"), "missing file: %d %s", rc,
          zoo_error_last()->msg);
    rc = zoo_plugin_open("libc.so.6", &p);
    CHECK(rc == ZOO_ERR_PLUGIN_OPEN, "bare name 'libc.so.6' should not be found via the library path, got %d", rc);
    CHECK(zoo_plugin_open(NULL, &p) == ZOO_ERR_INVALID, "NULL path");
}

static void test_good(void)
{
    zoo_plugin *p = NULL;
    int rc = zoo_plugin_open(TP_DIR "/goodmix.so", &p);
    CHECK(rc == 0 && p, "goodmix: %d %s", rc, zoo_error_last()->msg);
    if (!p)
        return;
    CHECK(!strcmp(p->mixer->name, "goodmix") && !strcmp(p->mixer->family, "test"), "goodmix descriptor");
    CHECK(!strcmp(p->path, TP_DIR "/goodmix.so"), "goodmix path %s", p->path);
    CHECK(p->mixer->build && p->mixer->hparams && !strcmp(p->mixer->hparams[4].name, "kernel_sizes"),
          "goodmix slots");
    CHECK(p->mixer->backends == ZOO_BACKEND_BIT(ZOO_BACKEND_CPU), "goodmix backends %u", p->mixer->backends);
    CHECK(p->mixer->block == ZOO_BLOCK_TRANSFORMER, "goodmix block %u", p->mixer->block);
    zoo_plugin_close(p);
    zoo_plugin_close(NULL);

    /* an ABI 1.0 descriptor: `block` (1.1) is read as TransformerBlock, not its padding bytes */
    p = NULL;
    rc = zoo_plugin_open(TP_DIR "/abi10.so", &p);
    CHECK(rc == 0 && p, "abi10: %d %s", rc, zoo_error_last()->msg);
    if (p) {
        CHECK(p->mixer->block == ZOO_BLOCK_TRANSFORMER, "abi10 block %u (want 0)", p->mixer->block);
        zoo_plugin_close(p);
    }

    /* a descriptor from a later 1.x minor is larger: accepted, known fields read */
    p = NULL;
    rc = zoo_plugin_open(TP_DIR "/newer.so", &p);
    CHECK(rc == 0 && p, "newer: %d %s", rc, zoo_error_last()->msg);
    if (p) {
        CHECK(!strcmp(p->mixer->family, "test-newer") && p->mixer->build, "newer descriptor fields");
        CHECK(p->mixer->hdr.abi_minor == ZOO_ABI_MINOR + 5, "newer minor %u", p->mixer->hdr.abi_minor);
        zoo_plugin_close(p);
    }
}

static int has_dir(char dirs[][1024], int n, const char *d)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(dirs[i], d))
            return i;
    return -1;
}

static void test_search_path(void)
{
    char dirs[16][1024];
    unsetenv("ZOO_PLUGIN_PATH");
    int n0 = zoo_plugin_search_path(dirs, 16);
    CHECK(n0 >= 1 && !strcmp(dirs[0], BUILD_PLUGIN_DIR), "first entry should be the build dir %s, got %s",
          BUILD_PLUGIN_DIR, n0 ? dirs[0] : "(none)");
    CHECK(n0 == 2 && !strcmp(dirs[1], INSTALL_PLUGIN_DIR), "second entry should be the install dir %s, got %s",
          INSTALL_PLUGIN_DIR, n0 > 1 ? dirs[1] : "(none)");

    setenv("ZOO_PLUGIN_PATH", "/nonexistent-zoo-dir::" TP_DIR "/:" TP_DIR ":" BUILD_PLUGIN_DIR, 1);
    int n = zoo_plugin_search_path(dirs, 16);
    CHECK(n == n0 + 2, "expected %d entries (empty and duplicate entries dropped), got %d", n0 + 2, n);
    CHECK(has_dir(dirs, n, "/nonexistent-zoo-dir") == n0 && has_dir(dirs, n, TP_DIR) == n0 + 1,
          "ZOO_PLUGIN_PATH entries should follow the built-in ones, in order");
    CHECK(zoo_plugin_search_path(dirs, 1) == 1, "max_dirs not honoured");

    /* find: by name across the path */
    zoo_plugin *p = NULL;
    int rc = zoo_plugin_find("goodmix", &p);
    CHECK(rc == 0 && p && !strcmp(p->path, TP_DIR "/goodmix.so"), "find goodmix: %d %s", rc, zoo_error_last()->msg);
    zoo_plugin_close(p);
    p = NULL;
    rc = zoo_plugin_find("attention", &p);
    CHECK(rc == 0 && p && !strcmp(p->path, BUILD_PLUGIN_DIR "/attention.so"), "find attention in the build dir: %d %s",
          rc, zoo_error_last()->msg);
    zoo_plugin_close(p);
    /* a broken file of that name is reported, not skipped */
    rc = zoo_plugin_find("badmajor", &p);
    CHECK(rc == ZOO_ERR_PLUGIN_MAJOR && strstr(zoo_error_last()->msg, "badmajor.so"), "find badmajor: %d %s", rc,
          zoo_error_last()->msg);
    /* unknown name: nearest suggestion, known mixers, the path */
    rc = zoo_plugin_find("goodmx", &p);
    const char *msg = zoo_error_last()->msg;
    CHECK(rc == ZOO_ERR_PLUGIN_NOT_FOUND && p == NULL, "find goodmx: %d", rc);
    CHECK(strstr(msg, "unknown mixer 'goodmx'") && strstr(msg, "did you mean 'goodmix'?"), "suggestion: %s", msg);
    CHECK(strstr(msg, "attention") && strstr(msg, "newer") && strstr(msg, "/nonexistent-zoo-dir") &&
              strstr(msg, "ZOO_PLUGIN_PATH"),
          "known list and search path: %s", msg);
    CHECK(!strstr(msg, "othername") && !strstr(msg, "badmagic"), "broken plugins listed as known: %s", msg);
    rc = zoo_plugin_find("zzzzzzzzzzzz", &p);
    CHECK(rc == ZOO_ERR_PLUGIN_NOT_FOUND && !strstr(zoo_error_last()->msg, "did you mean"),
          "far-off name should get no suggestion: %s", zoo_error_last()->msg);
    rc = zoo_plugin_find("../plugins/attention", &p);
    CHECK(rc == ZOO_ERR_INVALID, "a path as a mixer name must be refused, got %d", rc);

    /* first file of a name wins: a broken goodmix.so earlier on the path shadows the good one */
    char tmp[] = "/tmp/zoo-loader-XXXXXX";
    if (!mkdtemp(tmp)) {
        CHECK(0, "mkdtemp failed");
        return;
    }
    char cmd[4096], env[4096], shadow[1100];
    snprintf(shadow, sizeof shadow, "%s/goodmix.so", tmp);
    snprintf(cmd, sizeof cmd, "cp '%s/badmagic.so' '%s'", TP_DIR, shadow);
    CHECK(system(cmd) == 0, "%s", cmd);
    snprintf(env, sizeof env, "%s:%s", tmp, TP_DIR);
    setenv("ZOO_PLUGIN_PATH", env, 1);
    rc = zoo_plugin_find("goodmix", &p);
    CHECK(rc == ZOO_ERR_PLUGIN_MAGIC && strstr(zoo_error_last()->msg, shadow), "shadowed goodmix: %d %s", rc,
          zoo_error_last()->msg);
    snprintf(env, sizeof env, "%s:%s", TP_DIR, tmp);
    setenv("ZOO_PLUGIN_PATH", env, 1);
    p = NULL;
    rc = zoo_plugin_find("goodmix", &p);
    CHECK(rc == 0 && p && !strcmp(p->path, TP_DIR "/goodmix.so"), "goodmix first: %d", rc);
    zoo_plugin_close(p);
    unlink(shadow);
    rmdir(tmp);

    /* not on the path any more */
    unsetenv("ZOO_PLUGIN_PATH");
    rc = zoo_plugin_find("goodmix", &p);
    CHECK(rc == ZOO_ERR_PLUGIN_NOT_FOUND, "goodmix without ZOO_PLUGIN_PATH: %d", rc);
}

typedef struct seen {
    int n;
    int codes[64];
    char files[64][256];
} seen;

static void on_error(const char *path, int code, const char *msg, void *ud)
{
    seen *s = ud;
    CHECK(strstr(msg, path) != NULL, "list: message for %s does not name it: %s", path, msg);
    /* only our test folder: plugins in the build folder are other tests' business */
    if (strncmp(path, TP_DIR "/", strlen(TP_DIR) + 1))
        return;
    if (s->n < 64) {
        const char *b = strrchr(path, '/');
        snprintf(s->files[s->n], sizeof s->files[0], "%s", b ? b + 1 : path);
        s->codes[s->n++] = code;
    }
}

static void test_list(void)
{
    setenv("ZOO_PLUGIN_PATH", TP_DIR, 1);
    zoo_plugin **all = NULL;
    int n = 0;
    seen s = {0};
    int rc = zoo_plugin_list(&all, &n, on_error, &s);
    CHECK(rc == 0, "list: %d %s", rc, zoo_error_last()->msg);
    int got_attention = 0, got_good = 0, got_newer = 0;
    for (int i = 0; i < n; i++) {
        const char *nm = all[i]->mixer->name;
        got_attention += !strcmp(nm, "attention");
        got_good += !strcmp(nm, "goodmix");
        got_newer += !strcmp(nm, "newer");
        for (int j = 0; j < i; j++)
            CHECK(strcmp(nm, all[j]->mixer->name), "list: '%s' twice", nm);
    }
    for (int i = 0; i < n; i++)
        zoo_plugin_close(all[i]);
    free(all);
    CHECK(got_attention == 1 && got_good == 1 && got_newer == 1, "list: attention %d goodmix %d newer %d",
          got_attention, got_good, got_newer);
    /* every broken file reported once with its own code */
    for (int i = 0; i < N_BAD; i++) {
        int found = 0;
        for (int j = 0; j < s.n; j++)
            if (!strcmp(s.files[j], bad_cases[i].file)) {
                found++;
                CHECK(s.codes[j] == bad_cases[i].code, "list: %s reported with %d, expected %d", s.files[j],
                      s.codes[j], bad_cases[i].code);
            }
        CHECK(found == 1, "list: %s reported %d times", bad_cases[i].file, found);
    }
    /* a broken task file is reported by the mixer listing as well: one list of broken
     * files for `zoo plugins` */
    int task_bad = 0;
    for (int j = 0; j < s.n; j++)
        if (!strcmp(s.files[j], "badtaskmagic.so")) {
            task_bad++;
            CHECK(s.codes[j] == ZOO_ERR_PLUGIN_MAGIC, "list: badtaskmagic.so reported with %d", s.codes[j]);
        }
    CHECK(task_bad == 1, "list: badtaskmagic.so reported %d times", task_bad);
    CHECK(s.n == N_BAD + 1, "list: %d errors reported, expected %d", s.n, N_BAD + 1);
    /* without a callback broken files are skipped silently */
    rc = zoo_plugin_list(&all, &n, NULL, NULL);
    CHECK(rc == 0 && n >= 3, "list without callback: %d, %d plugins", rc, n);
    for (int i = 0; i < n; i++)
        zoo_plugin_close(all[i]);
    free(all);
    /* the task listing: task files only, the good test task among them */
    seen ts = {0};
    rc = zoo_task_list(&all, &n, on_error, &ts);
    CHECK(rc == 0, "task list: %d %s", rc, zoo_error_last()->msg);
    int got_task = 0;
    for (int i = 0; i < n; i++) {
        CHECK(all[i]->task && !all[i]->mixer, "task list: %s is not a task", all[i]->path);
        got_task += all[i]->task && !strcmp(all[i]->task->name, "goodtask");
        zoo_plugin_close(all[i]);
    }
    free(all);
    CHECK(got_task == 1, "task list: goodtask listed %d times", got_task);
    CHECK(ts.n == N_BAD + 1, "task list: %d errors reported, expected %d", ts.n, N_BAD + 1);
    unsetenv("ZOO_PLUGIN_PATH");
}

int main(void)
{
    test_bad();
    test_good();
    test_search_path();
    test_list();
    if (fails) {
        fprintf(stderr, "test_loader: %d check(s) failed\n", fails);
        return 1;
    }
    printf("test_loader: ok\n");
    return 0;
}
