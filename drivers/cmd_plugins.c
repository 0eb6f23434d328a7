/* cmd_plugins.c: `zoo plugins [NAME...]`: the mixers and the tasks found on the plugin
 * search path. A mixer: name, family, summary, knobs (type, default, help), the backends
 * whose kernels cover its graph, ABI and file; a task: name, family, summary, knobs,
 * tags, task ABI and file. Then the files on the path that do not load, each with its
 * error. Lists; builds graphs to read their ops but never allocates or trains. Each
 * file is first loaded, and each graph built, in a child process (zoo_plugin_isolate),
 * so a plugin that crashes or hangs is listed with the reason and the listing goes on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "zoo/plugin.h"
#include "zoo/run.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: zoo plugins [NAME...]\n"
            "\n"
            "List the mixer plugins on the search path (name, family, summary, knobs with\n"
            "type, default and help, backends, ABI and the file each came from), then the\n"
            "task plugins (name, family, summary, knobs, tags, task ABI and file; see\n"
            "docs/tasks.md). Files on the path that are not loadable plugins are listed\n"
            "with the reason (not fatal), among them plugins that crash, exit or hang (10 s)\n"
            "while loading: each file is loaded in a separate process first.\n"
            "With NAMEs, show only those mixers or tasks (an unknown name, or a file of that\n"
            "name that does not load, is an error: exit 2).\n"
            "\n"
            "Search path, in order (first file of a name wins): the build tree's plugins\n"
            "folder, the install's lib/zoo/plugins, then each entry of ZOO_PLUGIN_PATH\n"
            "(':'-separated).\n"
            "\n"
            "options:\n"
            "  -h, --help   this text\n");
}

static const char *type_str(zoo_hparam_type t)
{
    switch (t) {
    case ZOO_HP_INT: return "int";
    case ZOO_HP_FLOAT: return "float";
    case ZOO_HP_BOOL: return "bool";
    case ZOO_HP_STRING: return "string";
    case ZOO_HP_INT_LIST: return "int list";
    }
    return "?";
}

/* The backends that run this mixer: derived from the ops of a default model with the
 * mixer in every layer (the graph is built, nothing is allocated), with what each other
 * backend lacks. */
static void print_backends(const zoo_mixer *m)
{
    zoo_run_spec spec;
    zoo_run_spec_default(&spec);
    uint32_t mask = 0;
    char why[768];
    if (zoo_run_spec_set(&spec, "mixer", m->name) || zoo_model_backends(&spec, &mask, why, sizeof why)) {
        printf("unknown (a default model with it does not build: %s)", zoo_error_last()->msg);
        zoo_error_clear();
        return;
    }
    int first = 1;
    for (int i = 0; i < ZOO_BACKEND_COUNT; i++)
        if (mask & ZOO_BACKEND_BIT(i)) {
            printf("%s%s", first ? "" : ", ", zoo_backend_name((zoo_backend)i));
            first = 0;
        }
    if (first)
        printf("none");
    if (why[0])
        printf(" (%s)", why);
}

static int backends_child(void *m)
{
    print_backends(m);
    return 0;
}

/* The backends line, from a child process: a build() that crashes or never returns
 * costs this mixer its line, not the listing. */
static void print_backends_isolated(const zoo_plugin *p)
{
    double limit = zoo_plugin_probe_timeout();
    if (limit <= 0) { /* isolation turned off: in this process */
        print_backends(p->mixer);
        return;
    }
    if (zoo_plugin_isolate(p->path, "building a default model with it", "its build()", backends_child,
                           (void *)p->mixer, limit)) {
        printf("unknown (%s)", zoo_error_last()->msg);
        zoo_error_clear();
    }
}

/* The knob table of a mixer or a task. */
static void print_knobs(const zoo_hparam *hp)
{
    int nk = 0;
    size_t wname = 4, wdef = 7;
    for (; hp && hp[nk].name; nk++) {
        const zoo_hparam *k = &hp[nk];
        if (strlen(k->name) > wname)
            wname = strlen(k->name);
        if (k->def && strlen(k->def) > wdef)
            wdef = strlen(k->def);
    }
    if (!nk) {
        printf("  knobs:    none\n");
        return;
    }
    printf("  knobs:\n");
    printf("    %-*s  %-8s  %-*s  %s\n", (int)wname, "name", "type", (int)wdef, "default", "help");
    for (int i = 0; i < nk; i++) {
        const zoo_hparam *k = &hp[i];
        printf("    %-*s  %-8s  %-*s  %s\n", (int)wname, k->name, type_str(k->type), (int)wdef,
               k->def ? k->def : "", k->help ? k->help : "");
    }
}

static void print_mixer(const zoo_plugin *p)
{
    const zoo_mixer *m = p->mixer;
    printf("%s\n", m->name);
    printf("  family:   %s\n", m->family);
    if (m->summary)
        printf("  summary:  %s\n", m->summary);
    printf("  file:     %s\n", p->path);
    printf("  abi:      %u.%u\n", (unsigned)m->hdr.abi_major, (unsigned)m->hdr.abi_minor);
    printf("  backends: ");
    print_backends_isolated(p);
    printf("\n");
    print_knobs(m->hparams);
}

static void print_task(const zoo_plugin *p)
{
    const zoo_task *t = p->task;
    printf("%s\n", t->name);
    printf("  family:   %s\n", t->family);
    if (t->summary)
        printf("  summary:  %s\n", t->summary);
    printf("  file:     %s\n", p->path);
    printf("  task abi: %u.%u\n", (unsigned)t->hdr.abi_major, (unsigned)t->hdr.abi_minor);
    if (t->tags) {
        printf("  tags:     ");
        for (int i = 0; t->tags[i]; i++)
            printf("%s%s", i ? ", " : "", t->tags[i]);
        printf("\n");
    }
    print_knobs(t->hparams);
}

static void print_plugin(const zoo_plugin *p)
{
    if (p->task)
        print_task(p);
    else
        print_mixer(p);
}

/* Open the mixer or task called `name`. Both kinds share the search path, so either
 * both finders miss the file or the same file failed both: then the failure that is
 * about the file itself is reported, not "it is the other kind". */
static int find_any(const char *name, zoo_plugin **p)
{
    if (!zoo_plugin_find(name, p))
        return 0;
    char mixer_msg[sizeof zoo_error_last()->msg];
    int mixer_rc = zoo_error_last()->code;
    snprintf(mixer_msg, sizeof mixer_msg, "%s", zoo_error_last()->msg);
    if (!zoo_task_find(name, p))
        return 0;
    int task_rc = zoo_error_last()->code;
    char task_msg[sizeof mixer_msg]; /* copied: ZOO_FAIL formats into the same record */
    snprintf(task_msg, sizeof task_msg, "%s", zoo_error_last()->msg);
    if (mixer_rc == ZOO_ERR_PLUGIN_NOT_FOUND && task_rc == ZOO_ERR_PLUGIN_NOT_FOUND) {
        /* The kind whose names it resembles, else both lists. */
        if (strstr(mixer_msg, "did you mean"))
            return ZOO_FAIL(mixer_rc, "%s", mixer_msg);
        if (strstr(task_msg, "did you mean"))
            return ZOO_FAIL(task_rc, "%s", task_msg);
        return ZOO_FAIL(mixer_rc, "no mixer or task '%s': %s; %s", name, mixer_msg, task_msg);
    }
    if (strstr(mixer_msg, "is a task plugin, not a mixer"))
        return ZOO_FAIL(task_rc, "%s", task_msg); /* a task file that fails a task check */
    return ZOO_FAIL(mixer_rc, "%s", mixer_msg);
}

typedef struct broken {
    int n;
    char **lines;
} broken;

static void on_error(const char *path, int code, const char *msg, void *ud)
{
    broken *b = ud;
    char **nl = realloc(b->lines, (size_t)(b->n + 1) * sizeof *nl);
    if (!nl)
        return;
    b->lines = nl;
    size_t len = strlen(path) + strlen(msg) + 64;
    char *s = malloc(len);
    if (!s)
        return;
    /* The message already names the file; keep the path first for a scannable list. */
    if (!strncmp(msg, path, strlen(path)))
        snprintf(s, len, "%s [%s]", msg, zoo_strerror(code));
    else
        snprintf(s, len, "%s: %s [%s]", path, msg, zoo_strerror(code));
    b->lines[b->n++] = s;
}

int zoo_cmd_plugins(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        }
        if (argv[i][0] == '-') {
            fprintf(stderr, "zoo plugins: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (argc > 1) { /* named mixers and tasks only */
        for (int i = 1; i < argc; i++) {
            zoo_plugin *p = NULL;
            if (find_any(argv[i], &p)) {
                zoo_cli_report("plugins");
                return 2;
            }
            if (i > 1)
                printf("\n");
            print_plugin(p);
            zoo_plugin_close(p);
        }
        return 0;
    }

    char dirs[64][1024];
    int nd = zoo_plugin_search_path(dirs, 64);
    printf("search path:\n");
    for (int i = 0; i < nd; i++)
        printf("  %s\n", dirs[i]);
    zoo_plugin **all = NULL;
    int n = 0;
    broken b = {0, NULL};
    if (zoo_plugin_list(&all, &n, on_error, &b)) {
        zoo_cli_report("plugins");
        return 1;
    }
    printf("\n%d mixer%s found\n", n, n == 1 ? "" : "s");
    for (int i = 0; i < n; i++) {
        printf("\n");
        print_plugin(all[i]);
        zoo_plugin_close(all[i]);
    }
    free(all);
    /* The task files; a broken file of either kind was reported by the mixer listing. */
    if (zoo_task_list(&all, &n, NULL, NULL)) {
        zoo_cli_report("plugins");
        return 1;
    }
    printf("\n%d task%s found\n", n, n == 1 ? "" : "s");
    for (int i = 0; i < n; i++) {
        printf("\n");
        print_plugin(all[i]);
        zoo_plugin_close(all[i]);
    }
    free(all);
    if (b.n) {
        printf("\n%d file%s on the path could not be loaded:\n", b.n, b.n == 1 ? "" : "s");
        for (int i = 0; i < b.n; i++) {
            printf("  %s\n", b.lines[i]);
            free(b.lines[i]);
        }
    }
    free(b.lines);
    return 0;
}
