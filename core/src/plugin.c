/* plugin.c: finding, loading and checking mixer and task plugins (dlopen). Every check runs on
 * the descriptor's bytes before any plugin function is called; the core keeps its own
 * zero-padded copy so it never reads past the plugin's declared struct size. A file
 * not seen before is first loaded in a forked child (the probe), so a plugin whose
 * constructor crashes or hangs is reported by name instead of ending the caller.
 * Does not build models or parse knob values (hparams.c). */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zoo/suggest.h"
#include "zoo/plugin.h"
#include "plugin_check.h"

#ifndef ZOO_PLUGIN_BUILD_DIR
#define ZOO_PLUGIN_BUILD_DIR ""
#endif
#ifndef ZOO_PLUGIN_INSTALL_DIR
#define ZOO_PLUGIN_INSTALL_DIR ""
#endif

#define MAX_DIRS 64
#define PATH_LEN 1024

/* The smallest descriptor ABI 1.0 accepts: everything up to and including `backends`.
 * Fields appended in later minors sit after it. */
#define ABI_1_0_SIZE (offsetof(zoo_mixer, backends) + sizeof(uint32_t))

/* The public record plus the core's copy of the descriptor. */
typedef struct plugin_impl {
    zoo_plugin pub;
    zoo_mixer copy;  /* min(plugin size, sizeof(zoo_mixer)) bytes of the plugin's, rest zero */
    zoo_task tcopy;  /* the same for a task plugin */
} plugin_impl;

/* Which descriptor a caller wants; ANY takes whichever the file exports. */
typedef enum { KIND_MIXER, KIND_TASK, KIND_ANY } plugin_kind;

/* File name without folders and without the last extension: ".../hyena.so" -> "hyena". */
static void file_stem(const char *path, char *out, size_t n)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    if (len >= n)
        len = n - 1;
    memcpy(out, base, len);
    out[len] = 0;
}

static int fail_close(void *handle, int code)
{
    if (handle)
        dlclose(handle);
    return code;
}

/* 6.-7. of both kinds: the name must be the file's (runs name plugins by file), and the
 * required slots are set (name, family and the kind's own function, `slot`). */
static int check_identity(const char *path, const char *name, const char *family, const char *slot, int has_slot)
{
    char stem[256];
    file_stem(path, stem, sizeof stem);
    if (name && strcmp(name, stem))
        return ZOO_FAIL(ZOO_ERR_PLUGIN_NAME,
                        "%s: descriptor name '%.100s' does not match the file name '%s': rename the file to "
                        "'%.100s.so' or set .name = \"%s\"",
                        path, name, stem, name, stem);
    const char *missing = !name ? "name" : !family ? "family" : !has_slot ? slot : NULL;
    if (missing)
        return ZOO_FAIL(ZOO_ERR_PLUGIN_SLOT, "%s: required slot '%s' is NULL: set .%s in the descriptor and rebuild",
                        path, missing, missing);
    return 0;
}

int zoo_plugin_check_descriptor(const char *path, const void *sym, size_t symsize, zoo_mixer *copy)
{
    /* 3. magic */
    if (symsize && symsize < sizeof(zoo_abi_header))
        return ZOO_FAIL(ZOO_ERR_PLUGIN_MAGIC,
                        "%s: '%s' is %zu bytes, not a zoo plugin descriptor (which starts with a "
                        "%zu-byte header): declare it as 'const zoo_mixer %s' with ZOO_MIXER_HEADER",
                        path, ZOO_MIXER_SYMBOL, symsize, sizeof(zoo_abi_header), ZOO_MIXER_SYMBOL);
    zoo_abi_header hdr;
    memcpy(&hdr, sym, sizeof hdr);
    if (hdr.magic != ZOO_ABI_MAGIC)
        return ZOO_FAIL(ZOO_ERR_PLUGIN_MAGIC,
                        "%s: bad magic 0x%08x in '%s' (a zoo plugin has 0x%08x): start the "
                        "descriptor with ZOO_MIXER_HEADER from zoo/mixer.h",
                        path, (unsigned)hdr.magic, ZOO_MIXER_SYMBOL, (unsigned)ZOO_ABI_MAGIC);
    /* 4. ABI major */
    if (hdr.abi_major != ZOO_ABI_MAJOR)
        return ZOO_FAIL(ZOO_ERR_PLUGIN_MAJOR,
                        "%s: plugin ABI %u.%u, this zoo has ABI %u.%u: rebuild the plugin against "
                        "this zoo's headers (ABI %u.x)",
                        path, (unsigned)hdr.abi_major, (unsigned)hdr.abi_minor, ZOO_ABI_MAJOR, ZOO_ABI_MINOR,
                        ZOO_ABI_MAJOR);
    /* 5. size: at least ABI 1.0's struct, and no more than the symbol really holds */
    if (hdr.size < ABI_1_0_SIZE)
        return ZOO_FAIL(ZOO_ERR_PLUGIN_SIZE,
                        "%s: descriptor is %u bytes (plugin ABI %u.%u), ABI %u.0 needs at least %zu "
                        "(this zoo: ABI %u.%u, %zu bytes): rebuild the plugin against this zoo's "
                        "headers and set the header with ZOO_MIXER_HEADER",
                        path, (unsigned)hdr.size, (unsigned)hdr.abi_major, (unsigned)hdr.abi_minor, ZOO_ABI_MAJOR,
                        ABI_1_0_SIZE, ZOO_ABI_MAJOR, ZOO_ABI_MINOR, sizeof(zoo_mixer));
    if (symsize && hdr.size > symsize)
        return ZOO_FAIL(ZOO_ERR_PLUGIN_SIZE,
                        "%s: descriptor claims %u bytes but '%s' is only %zu bytes: set the header "
                        "with ZOO_MIXER_HEADER and rebuild",
                        path, (unsigned)hdr.size, ZOO_MIXER_SYMBOL, symsize);
    /* Newer (larger) descriptors are fine: read only the part this zoo knows. */
    memset(copy, 0, sizeof *copy);
    size_t n = hdr.size < sizeof(zoo_mixer) ? hdr.size : sizeof(zoo_mixer);
    memcpy(copy, sym, n);
    /* In a 1.0 descriptor the bytes where `block` now sits are struct padding. */
    if (hdr.abi_minor < 1)
        copy->block = ZOO_BLOCK_TRANSFORMER;
    const zoo_mixer *m = copy;
    int rc = check_identity(path, m->name, m->family, "build", m->build != NULL);
    zoo_hvals *hv = NULL;
    if (!rc && (rc = zoo_hvals_new(m, &hv))) /* the knob table is data too: reject a bad one here */
        zoo_error_prefix("%s: ", path);
    zoo_hvals_free(hv);
    return rc;
}

int zoo_task_check_descriptor(const char *path, const void *sym, size_t symsize, zoo_task *copy)
{
    const size_t min_size = offsetof(zoo_task, tags) + sizeof(void *); /* task ABI 1.0 */
    if (symsize && symsize < sizeof(zoo_abi_header))
        return ZOO_FAIL(ZOO_ERR_PLUGIN_MAGIC,
                        "%s: '%s' is %zu bytes, not a zoo task descriptor: declare it as 'const zoo_task %s' "
                        "with ZOO_TASK_HEADER",
                        path, ZOO_TASK_SYMBOL, symsize, ZOO_TASK_SYMBOL);
    zoo_abi_header hdr;
    memcpy(&hdr, sym, sizeof hdr);
    if (hdr.magic != ZOO_TASK_MAGIC)
        return ZOO_FAIL(ZOO_ERR_PLUGIN_MAGIC,
                        "%s: bad magic 0x%08x in '%s' (a zoo task has 0x%08x): start the descriptor with "
                        "ZOO_TASK_HEADER from zoo/task.h",
                        path, (unsigned)hdr.magic, ZOO_TASK_SYMBOL, (unsigned)ZOO_TASK_MAGIC);
    if (hdr.abi_major != ZOO_TASK_ABI_MAJOR)
        return ZOO_FAIL(ZOO_ERR_PLUGIN_MAJOR,
                        "%s: task ABI %u.%u, this zoo has task ABI %u.%u: rebuild the task against this zoo's "
                        "headers",
                        path, (unsigned)hdr.abi_major, (unsigned)hdr.abi_minor, ZOO_TASK_ABI_MAJOR,
                        ZOO_TASK_ABI_MINOR);
    if (hdr.size < min_size || (symsize && hdr.size > symsize))
        return ZOO_FAIL(ZOO_ERR_PLUGIN_SIZE,
                        "%s: task descriptor claims %u bytes (the symbol holds %zu, task ABI %u.0 needs at least "
                        "%zu): set the header with ZOO_TASK_HEADER and rebuild",
                        path, (unsigned)hdr.size, symsize, ZOO_TASK_ABI_MAJOR, min_size);
    memset(copy, 0, sizeof *copy);
    memcpy(copy, sym, hdr.size < sizeof(zoo_task) ? hdr.size : sizeof(zoo_task));
    const zoo_task *t = copy;
    int rc = check_identity(path, t->name, t->family, "generate", t->generate != NULL);
    zoo_hvals *hv = NULL;
    if (!rc && (rc = zoo_hvals_new_task(t, &hv)))
        zoo_error_prefix("%s: ", path);
    zoo_hvals_free(hv);
    return rc;
}

/* zoo_plugin_open's checks, in this process (no probe). */
static int open_checked(const char *path, plugin_kind kind, zoo_plugin **out)
{
    /* dlopen searches the library path for a bare name; a plugin is always a file. */
    char full[PATH_LEN];
    if (snprintf(full, sizeof full, "%s%s", strchr(path, '/') ? "" : "./", path) >= (int)sizeof full)
        return ZOO_FAIL(ZOO_ERR_INVALID, "plugin path too long (%zu characters): %.200s...", strlen(path), path);

    /* 1. dlopen, every symbol resolved now so a missing core function shows here. */
    dlerror();
    void *h = dlopen(full, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        return ZOO_FAIL(ZOO_ERR_PLUGIN_OPEN,
                        "%s: cannot load plugin (%s): it must be a shared object built for this machine against "
                        "libzoo, e.g. with zoo_add_mixer() from the zoo CMake package",
                        path, why ? why : "unknown dlopen error");
    }
    /* 2. the descriptor symbol: a mixer's or a task's */
    dlerror();
    const void *msym = dlsym(h, ZOO_MIXER_SYMBOL);
    dlerror();
    const void *tsym = dlsym(h, ZOO_TASK_SYMBOL);
    dlerror();
    int is_task = kind == KIND_TASK || (kind == KIND_ANY && !msym && tsym);
    const void *sym = is_task ? tsym : msym;
    if (!sym && (is_task ? msym : tsym))
        return fail_close(h, ZOO_FAIL(ZOO_ERR_PLUGIN_SYMBOL, "%s is a %s plugin, not a %s: name it where a %s goes",
                                      path, is_task ? "mixer" : "task", is_task ? "task" : "mixer",
                                      is_task ? "mixer" : "task"));
    if (!sym && is_task)
        return fail_close(h, ZOO_FAIL(ZOO_ERR_PLUGIN_SYMBOL,
                                      "%s: no '%s' symbol exported: define 'ZOO_PLUGIN_EXPORT const zoo_task "
                                      "%s = {ZOO_TASK_HEADER, ...};' (zoo/task.h) and build with hidden visibility",
                                      path, ZOO_TASK_SYMBOL, ZOO_TASK_SYMBOL));
    if (!sym)
        return fail_close(h, ZOO_FAIL(ZOO_ERR_PLUGIN_SYMBOL,
                                      "%s: no '%s' symbol exported: define 'ZOO_PLUGIN_EXPORT const zoo_mixer "
                                      "%s = {ZOO_MIXER_HEADER, ...};' (zoo/mixer.h) and build with hidden visibility",
                                      path, ZOO_MIXER_SYMBOL, ZOO_MIXER_SYMBOL));
    /* The ELF symbol size, when known, bounds what we may read. */
    size_t symsize = 0;
    Dl_info info;
    const ElfW(Sym) *es = NULL;
    if (dladdr1(sym, &info, (void **)&es, RTLD_DL_SYMENT) && es)
        symsize = (size_t)es->st_size;
    plugin_impl *p = calloc(1, sizeof *p);
    if (!p)
        return fail_close(h, ZOO_FAIL(ZOO_ERR_NOMEM, "%s: out of memory", path));
    /* 3.-7. and the knob table, on the core's copy */
    int rc = is_task ? zoo_task_check_descriptor(path, sym, symsize, &p->tcopy)
                     : zoo_plugin_check_descriptor(path, sym, symsize, &p->copy);
    if (rc)
        goto fail;
    if (is_task)
        p->pub.task = &p->tcopy;
    else
        p->pub.mixer = &p->copy;
    p->pub.handle = h;
    if (!(p->pub.path = strdup(path))) {
        rc = ZOO_FAIL(ZOO_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    *out = &p->pub;
    return 0;
fail:
    free(p);
    dlclose(h);
    return rc;
}

/* ---- crash isolation ---------------------------------------------------------------- */

static double probe_timeout_s = 10.0;
static int in_probe_child; /* set in a probe's child: it opens plugins directly */

double zoo_plugin_set_probe_timeout(double seconds)
{
    double old = probe_timeout_s;
    probe_timeout_s = seconds > 0 ? seconds : 0;
    return old;
}

double zoo_plugin_probe_timeout(void) { return probe_timeout_s; }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* "SIGSEGV" for the signals a broken plugin dies of; strsignal's words otherwise. */
static const char *signal_name(int sig, char *buf, size_t n)
{
    static const struct {
        int sig;
        const char *name;
    } names[] = {{SIGSEGV, "SIGSEGV"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},   {SIGILL, "SIGILL"},
                 {SIGABRT, "SIGABRT"}, {SIGTRAP, "SIGTRAP"}, {SIGKILL, "SIGKILL"}, {SIGTERM, "SIGTERM"},
                 {SIGSYS, "SIGSYS"},   {SIGPIPE, "SIGPIPE"}, {SIGXCPU, "SIGXCPU"}, {SIGINT, "SIGINT"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].sig == sig)
            return names[i].name;
    snprintf(buf, n, "signal %d (%s)", sig, strsignal(sig));
    return buf;
}

/* Fork safety: the child runs only the dynamic loader, the checks above and the
 * plugin's own code, then _exit; it never calls OpenMP, BLAS, MPI or CUDA, so threads
 * those libraries may run in the parent (an MPI rank's progress threads) do not
 * matter, and glibc keeps malloc usable in the child of a fork. In the zoo command the
 * probes run before any training: `zoo plugins` never trains, a sweep file is read
 * before the first run starts, and `zoo train` reads its run before it computes. */
int zoo_plugin_isolate(const char *path, const char *doing, const char *culprit, int (*fn)(void *ud), void *ud,
                       double timeout_s)
{
    if (!path || !doing || !culprit || !fn)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_plugin_isolate: need a path, two phrases and a function");
    /* What the parent has buffered must not be written twice, by the child too. */
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "%s: cannot fork a process to check it in (%s)", path, strerror(errno));
    if (pid == 0) {
        in_probe_child = 1;
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a hung child must not outlive its parent */
        if (getppid() != parent)
            _exit(0);
        /* Default actions, so a crash ends the child by its signal even where a handler
         * (a sanitizer's) would turn it into an exit status. */
        static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS};
        for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
            signal(fatal[i], SIG_DFL);
        (void)fn(ud);
        fflush(stdout);
        _exit(0); /* no atexit handlers or destructors of the parent's state */
    }
    int status = 0;
    double t0 = now_s();
    long nap_ns = 100000; /* a healthy plugin answers in about a millisecond */
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno == ECHILD)
            return 0; /* SIGCHLD ignored by the caller: the child was reaped, no verdict */
        if (w < 0 && errno != EINTR)
            return ZOO_FAIL(ZOO_ERR_IO, "%s: waiting for the process checking it failed (%s)", path,
                            strerror(errno));
        if (timeout_s > 0 && now_s() - t0 > timeout_s) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            return ZOO_FAIL(ZOO_ERR_PLUGIN_OPEN,
                            "%s hung while %s (no answer after %g s: a loop or a wait in %s); fix or remove it", path,
                            doing, timeout_s, culprit);
        }
        struct timespec d = {0, nap_ns};
        nanosleep(&d, NULL);
        if (nap_ns < 20000000)
            nap_ns *= 2;
    }
    if (WIFSIGNALED(status)) {
        char buf[160];
        return ZOO_FAIL(ZOO_ERR_PLUGIN_OPEN, "%s crashed while %s (%s in %s); fix or remove it", path, doing,
                        signal_name(WTERMSIG(status), buf, sizeof buf), culprit);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status))
        return ZOO_FAIL(ZOO_ERR_PLUGIN_OPEN,
                        "%s exited with status %d while %s (a plugin must never exit; the call is in %s); fix or "
                        "remove it",
                        path, WEXITSTATUS(status), doing, culprit);
    return 0;
}

/* The probe's child: every check, then the descriptor's functions that readers of
 * sweep files call (validate, state_size), on the default knobs of a small layer. */
static int probe_child(void *ud)
{
    zoo_plugin *p = NULL;
    if (open_checked((const char *)ud, KIND_ANY, &p))
        return 0; /* an ordinary failure: the parent reports it itself */
    zoo_hvals *hv = NULL;
    if (p->task) {
        const zoo_task *t = p->task;
        if (t->validate && !zoo_hvals_new_task(t, &hv)) {
            zoo_task_set set = {.vocab = 8192, .seq_len = 64, .seed = 0, .task_seed = 0, .split = ZOO_SPLIT_TRAIN};
            char msg[512];
            (void)t->validate(hv, &set, msg, sizeof msg);
            zoo_hvals_free(hv);
        }
        zoo_plugin_close(p);
        return 0;
    }
    const zoo_mixer *m = p->mixer;
    if ((m->validate || m->state_size) && !zoo_hvals_new(m, &hv)) {
        zoo_layer_info li = {.layer_idx = 0, .n_layers = 2, .d_model = 64, .seq_len = 64, .l_max = 64, .batch = 1};
        char msg[512];
        if (m->validate)
            (void)m->validate(hv, &li, msg, sizeof msg); /* a refusal is fine; only a crash counts */
        if (m->state_size)
            (void)m->state_size(hv, &li);
        zoo_hvals_free(hv);
    }
    zoo_plugin_close(p); /* its destructors run here too */
    return 0;
}

/* Verdicts per file version: a rebuilt plugin (new size or time) is probed again. */
typedef struct probe_verdict {
    char *path;
    off_t size;
    struct timespec mtime;
    int code;
    char msg[1024];
} probe_verdict;
static probe_verdict *verdicts;
static int n_verdicts, cap_verdicts;
static pthread_mutex_t verdict_lock = PTHREAD_MUTEX_INITIALIZER;

static int same_version(const probe_verdict *v, const char *path, const struct stat *st)
{
    return v->size == st->st_size && v->mtime.tv_sec == st->st_mtim.tv_sec &&
           v->mtime.tv_nsec == st->st_mtim.tv_nsec && !strcmp(v->path, path);
}

int zoo_plugin_probe(const char *path)
{
    struct stat st;
    if (!path || probe_timeout_s <= 0 || in_probe_child || stat(path, &st))
        return 0; /* a missing file is zoo_plugin_open's to report */
    int found = 0, code = 0;
    char msg[1024] = "";
    pthread_mutex_lock(&verdict_lock);
    for (int i = 0; i < n_verdicts && !found; i++)
        if (same_version(&verdicts[i], path, &st)) {
            found = 1;
            code = verdicts[i].code;
            memcpy(msg, verdicts[i].msg, sizeof msg);
        }
    pthread_mutex_unlock(&verdict_lock);
    if (found)
        return code ? ZOO_FAIL(code, "%s", msg) : 0;
    int rc = zoo_plugin_isolate(path, "loading", "its constructor or descriptor", probe_child, (void *)path,
                                probe_timeout_s);
    if (rc == ZOO_ERR_NOMEM || rc == ZOO_ERR_IO)
        return rc; /* no verdict (fork or wait failed): not cached */
    pthread_mutex_lock(&verdict_lock);
    if (n_verdicts == cap_verdicts) {
        int nc = cap_verdicts ? 2 * cap_verdicts : 16;
        probe_verdict *nv = realloc(verdicts, (size_t)nc * sizeof *nv);
        if (nv)
            verdicts = nv, cap_verdicts = nc;
    }
    if (n_verdicts < cap_verdicts && (verdicts[n_verdicts].path = strdup(path))) {
        probe_verdict *v = &verdicts[n_verdicts++];
        v->size = st.st_size;
        v->mtime = st.st_mtim;
        v->code = rc;
        snprintf(v->msg, sizeof v->msg, "%s", rc ? zoo_error_last()->msg : "");
    } /* out of memory: the file is simply probed again next time */
    pthread_mutex_unlock(&verdict_lock);
    return rc;
}

static int open_kind(const char *path, plugin_kind kind, zoo_plugin **out)
{
    if (out)
        *out = NULL;
    if (!path || !*path || !out)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_plugin_open: need a file path and an output pointer");
    int rc = zoo_plugin_probe(path);
    return rc ? rc : open_checked(path, kind, out);
}

int zoo_plugin_open(const char *path, zoo_plugin **out) { return open_kind(path, KIND_MIXER, out); }

int zoo_task_open(const char *path, zoo_plugin **out) { return open_kind(path, KIND_TASK, out); }

void zoo_plugin_close(zoo_plugin *pub)
{
    if (!pub)
        return;
    plugin_impl *p = (plugin_impl *)pub; /* pub is the first member */
    if (p->pub.handle)
        dlclose(p->pub.handle);
    free(p->pub.path);
    free(p);
}

/* Append dir unless empty or already present. */
static void add_dir(char dirs[][PATH_LEN], int max_dirs, int *n, const char *dir, size_t len)
{
    if (!len || len >= PATH_LEN || *n >= max_dirs)
        return;
    while (len > 1 && dir[len - 1] == '/')
        len--; /* "a/b/" and "a/b" are the same folder */
    for (int i = 0; i < *n; i++)
        if (strlen(dirs[i]) == len && !strncmp(dirs[i], dir, len))
            return;
    memcpy(dirs[*n], dir, len);
    dirs[*n][len] = 0;
    (*n)++;
}

/* An object inside libzoo, for dladdr (ISO C has no function-to-object pointer cast). */
static const char self_anchor;

/* Where this libzoo was loaded from ("" if unknown). */
static void self_dir(char *buf, size_t n)
{
    Dl_info di;
    buf[0] = 0;
    if (!dladdr(&self_anchor, &di) || !di.dli_fname)
        return;
    /* canonical: found through an rpath such as $ORIGIN/../lib it reads "bin/../lib" */
    char *real = realpath(di.dli_fname, NULL);
    const char *f = real ? real : di.dli_fname;
    const char *slash = strrchr(f, '/');
    size_t len = slash ? (size_t)(slash - f) : 0;
    if (len && len < n) {
        memcpy(buf, f, len);
        buf[len] = 0;
    }
    free(real);
}

int zoo_plugin_search_path(char dirs[][1024], int max_dirs)
{
    if (!dirs || max_dirs <= 0)
        return 0;
    int n = 0;
    /* A libzoo inside the build tree searches the build's plugins, then the configured
     * install folder. An installed libzoo searches <its libdir>/zoo/plugins (the same
     * folder when installed where configured, and still right when the install was
     * moved or made with `cmake --install --prefix`), never the build tree. */
    char self[PATH_LEN], root[PATH_LEN];
    self_dir(self, sizeof self);
    snprintf(root, sizeof root, "%s", ZOO_PLUGIN_BUILD_DIR);
    char *slash = strrchr(root, '/');
    if (slash)
        slash[1] = 0; /* "<build>/plugins" -> "<build>/" */
    int in_build = !self[0] || (root[0] && !strncmp(self, root, strlen(root)));
    if (in_build) {
        add_dir(dirs, max_dirs, &n, ZOO_PLUGIN_BUILD_DIR, strlen(ZOO_PLUGIN_BUILD_DIR));
        add_dir(dirs, max_dirs, &n, ZOO_PLUGIN_INSTALL_DIR, strlen(ZOO_PLUGIN_INSTALL_DIR));
    } else {
        char inst[PATH_LEN + 16];
        snprintf(inst, sizeof inst, "%s/zoo/plugins", self);
        add_dir(dirs, max_dirs, &n, inst, strlen(inst));
    }
    const char *env = getenv("ZOO_PLUGIN_PATH");
    while (env && *env) {
        const char *colon = strchr(env, ':');
        size_t len = colon ? (size_t)(colon - env) : strlen(env);
        add_dir(dirs, max_dirs, &n, env, len);
        env = colon ? colon + 1 : NULL;
    }
    return n;
}

static void path_string(char dirs[][PATH_LEN], int nd, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < nd && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? ":" : "", dirs[i]);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* A mixer name is a plain identifier: it becomes a file name. */
static int valid_name(const char *s)
{
    if (!s || !*s || strlen(s) > 200)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '-'))
            return 0;
    return 1;
}

static int list_kind(plugin_kind kind, zoo_plugin ***out, int *n,
                     void (*on_error)(const char *path, int code, const char *msg, void *ud), void *ud);

static int find_kind(plugin_kind kind, const char *name, zoo_plugin **out)
{
    const char *what = kind == KIND_TASK ? "task" : "mixer";
    if (out)
        *out = NULL;
    if (!out)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_plugin_find: no output pointer");
    if (!valid_name(name))
        return ZOO_FAIL(ZOO_ERR_INVALID,
                        "%s name '%.200s' is not a plain name: use letters, digits, '_' and '-' (the plugin "
                        "file is <name>.so)",
                        what, name ? name : "(null)");
    char dirs[MAX_DIRS][PATH_LEN];
    int nd = zoo_plugin_search_path(dirs, MAX_DIRS);
    /* The first file of that name decides, as in zoo_plugin_list: a broken one is
     * reported, not silently skipped for another. */
    for (int i = 0; i < nd; i++) {
        char path[PATH_LEN + 256];
        if (snprintf(path, sizeof path, "%s/%.200s.so", dirs[i], name) < (int)sizeof path && is_file(path))
            return open_kind(path, kind, out);
    }
    /* Not found: name the mixers that do load, the nearest one, and where we looked. */
    zoo_plugin **all = NULL;
    int na = 0;
    list_kind(kind, &all, &na, NULL, NULL);
    const char *names[256];
    int nn = 0;
    char known[600] = "";
    size_t k = 0;
    for (int i = 0; i < na; i++) {
        if (nn < 256)
            names[nn++] = kind == KIND_TASK ? all[i]->task->name : all[i]->mixer->name;
        if (k < sizeof known)
            k += (size_t)snprintf(known + k, sizeof known - k, "%s%s", i ? ", " : "",
                                  kind == KIND_TASK ? all[i]->task->name : all[i]->mixer->name);
    }
    char sp[700];
    path_string(dirs, nd, sp, sizeof sp);
    const char *near = zoo_suggest_nearest(name, names, nn);
    char hint[300] = "";
    if (near)
        snprintf(hint, sizeof hint, "did you mean '%s'? ", near);
    int rc = ZOO_FAIL(ZOO_ERR_PLUGIN_NOT_FOUND,
                      "unknown %s '%s' (%sknown: %s; searched %s): put %s.so in one of those folders or add "
                      "its folder to ZOO_PLUGIN_PATH",
                      what, name, hint, na ? known : "none", nd ? sp : "nothing", name);
    for (int i = 0; i < na; i++)
        zoo_plugin_close(all[i]);
    free(all);
    return rc;
}

int zoo_plugin_find(const char *name, zoo_plugin **out) { return find_kind(KIND_MIXER, name, out); }

int zoo_task_find(const char *name, zoo_plugin **out) { return find_kind(KIND_TASK, name, out); }

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Names of the *.so files in dir, sorted (readdir order is arbitrary). */
static int list_so(const char *dir, char ***names, int *n)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0; /* a folder on the path that does not exist is not an error */
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".so"))
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nn = realloc(*names, (size_t)cap * sizeof *nn);
            if (!nn)
                goto nomem;
            *names = nn;
        }
        if (!((*names)[*n] = strdup(e->d_name)))
            goto nomem;
        (*n)++;
    }
    closedir(d);
    if (*n)
        qsort(*names, (size_t)*n, sizeof **names, cmp_str);
    return 0;
nomem:
    closedir(d);
    return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory listing %s", dir);
}

static int list_kind(plugin_kind kind, zoo_plugin ***out, int *n,
                     void (*on_error)(const char *path, int code, const char *msg, void *ud), void *ud)
{
    if (!out || !n)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_plugin_list: no output pointers");
    *out = NULL;
    *n = 0;
    char dirs[MAX_DIRS][PATH_LEN];
    int nd = zoo_plugin_search_path(dirs, MAX_DIRS);
    zoo_plugin **arr = NULL;
    int cap = 0, rc = 0;
    char **seen = NULL; /* stems already decided (loaded or broken): first of a name wins */
    int nseen = 0, capseen = 0;
    for (int i = 0; i < nd && !rc; i++) {
        char **files;
        int nf;
        if ((rc = list_so(dirs[i], &files, &nf)))
            break;
        for (int j = 0; j < nf; j++) {
            char stem[256], path[PATH_LEN + 256];
            file_stem(files[j], stem, sizeof stem);
            int dup = 0;
            for (int s = 0; s < nseen && !dup; s++)
                dup = !strcmp(seen[s], stem);
            if (dup || rc)
                continue;
            if (nseen == capseen) {
                capseen = capseen ? 2 * capseen : 16;
                char **ns = realloc(seen, (size_t)capseen * sizeof *ns);
                if (!ns) {
                    rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory listing plugins");
                    continue;
                }
                seen = ns;
            }
            if (!(seen[nseen] = strdup(stem))) {
                rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory listing plugins");
                continue;
            }
            nseen++;
            if (snprintf(path, sizeof path, "%s/%s", dirs[i], files[j]) >= (int)sizeof path)
                continue; /* cannot be opened by name anyway */
            zoo_plugin *p = NULL;
            int prc = open_kind(path, KIND_ANY, &p);
            if (prc) {
                if (on_error)
                    on_error(path, prc, zoo_error_last()->msg, ud);
                continue;
            }
            if ((kind == KIND_TASK) != !!p->task) { /* the other kind's file: not ours to list */
                zoo_plugin_close(p);
                continue;
            }
            if (*n == cap) {
                cap = cap ? 2 * cap : 16;
                zoo_plugin **na = realloc(arr, (size_t)cap * sizeof *na);
                if (!na) {
                    zoo_plugin_close(p);
                    rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory listing plugins");
                    continue;
                }
                arr = na;
            }
            arr[(*n)++] = p;
        }
        for (int j = 0; j < nf; j++)
            free(files[j]);
        free(files);
    }
    for (int s = 0; s < nseen; s++)
        free(seen[s]);
    free(seen);
    if (rc) {
        for (int i = 0; i < *n; i++)
            zoo_plugin_close(arr[i]);
        free(arr);
        *n = 0;
        return rc;
    }
    *out = arr;
    return 0;
}

int zoo_plugin_list(zoo_plugin ***out, int *n,
                    void (*on_error)(const char *path, int code, const char *msg, void *ud), void *ud)
{
    return list_kind(KIND_MIXER, out, n, on_error, ud);
}

int zoo_task_list(zoo_plugin ***out, int *n, void (*on_error)(const char *path, int code, const char *msg, void *ud),
                  void *ud)
{
    return list_kind(KIND_TASK, out, n, on_error, ud);
}
