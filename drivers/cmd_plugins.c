/* cmd_plugins.c: `zoo plugins [NAME...]`: the mixers found on the plugin search path —
 * name, family, summary, knobs (type, default, help), the backends whose kernels cover
 * its graph, ABI and file — and the files on the path that do not load, each with its
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
            "List the mixer plugins on the search path: name, family, summary, knobs with\n"
            "type, default and help, backends and the file each came from. Files on the\n"
            "path that are not loadable plugins are listed with the reason (not fatal),\n"
            "among them plugins that crash, exit or hang (10 s) while loading: each file is\n"
            "loaded in a separate process first.\n"
            "With NAMEs, show only those mixers (an unknown name, or a file of that name\n"
            "that does not load, is an error: exit 2).\n"
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

static void print_plugin(const zoo_plugin *p)
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
    int nk = 0;
    size_t wname = 4, wdef = 7;
    for (; m->hparams && m->hparams[nk].name; nk++) {
        const zoo_hparam *k = &m->hparams[nk];
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
        const zoo_hparam *k = &m->hparams[i];
        printf("    %-*s  %-8s  %-*s  %s\n", (int)wname, k->name, type_str(k->type), (int)wdef,
               k->def ? k->def : "", k->help ? k->help : "");
    }
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
    if (argc > 1) { /* named mixers only */
        for (int i = 1; i < argc; i++) {
            zoo_plugin *p = NULL;
            if (zoo_plugin_find(argv[i], &p)) {
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
