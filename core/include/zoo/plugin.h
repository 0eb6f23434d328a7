/* zoo/plugin.h: finding, loading and checking mixer plugins, and knob values.
 * The loader checks a plugin in a fixed order before running any of its code. */
#ifndef ZOO_PLUGIN_H
#define ZOO_PLUGIN_H

#include "zoo/mixer.h"
#include "zoo/task.h"
#include "zoo/api.h"

#ifdef __cplusplus
extern "C" {
#endif
ZOO_API_BEGIN

/* A loaded plugin: a mixer or a task (exactly one of the two is set). Mixers and tasks
 * share the search path and so one name space of file names. */
typedef struct zoo_plugin {
    const zoo_mixer *mixer; /* NULL for a task plugin */
    void *handle;           /* dlopen handle */
    char *path;             /* file it came from */
    const zoo_task *task;   /* NULL for a mixer plugin */
} zoo_plugin;

/* Open one plugin file. Checks, in order: dlopen RTLD_NOW, the symbol zoo_mixer_v1,
 * magic, ABI major, struct size, name == file stem, required slots (name, family,
 * build). Each failure has its own code (ZOO_ERR_PLUGIN_*) and a one-line message
 * naming the file, both versions where relevant, and the fix.
 * While probing is on (the default), a file this process has not seen yet is first
 * opened in a forked child (zoo_plugin_probe): a plugin that crashes, exits or hangs
 * while loading fails here with ZOO_ERR_PLUGIN_OPEN and a message naming the file,
 * instead of taking the caller down. */
int zoo_plugin_open(const char *path, zoo_plugin **out);

/* Run fn(ud) in a forked child process and wait at most timeout_s seconds (<= 0: no
 * limit). 0 when the child returned from fn; otherwise ZOO_ERR_PLUGIN_OPEN with
 * "<path> crashed while <doing> (SIGSEGV in <culprit>); fix or remove it" (or exited
 * / hung, the child then killed). fn's return value is ignored: the child only shows
 * that the plugin code survives; what fn prints to stdout is the caller's output.
 * The child does not return: it calls _exit after fn. Only call it where the process
 * is single-threaded or its other threads hold no locks fn needs (see docs/plugins.md,
 * crash isolation). */
int zoo_plugin_isolate(const char *path, const char *doing, const char *culprit, int (*fn)(void *ud), void *ud,
                       double timeout_s);
/* The load probe: in a child, open the file with every check, then call the plugin's
 * validate and state_size on its default knobs. Verdicts are cached per file (path,
 * size, modification time) for the life of the process, so each file is probed once;
 * forked children inherit the cache. 0 when the file is safe to open in this process
 * (it may still fail an ordinary check, which zoo_plugin_open then reports). */
int zoo_plugin_probe(const char *path);
/* Seconds a probe may take before the plugin counts as hung (default 10); <= 0 turns
 * probing off, so zoo_plugin_open loads in-process at once. Returns the old value. */
double zoo_plugin_set_probe_timeout(double seconds);
double zoo_plugin_probe_timeout(void); /* the current value; 0 = probing off */
void zoo_plugin_close(zoo_plugin *p); /* accepts NULL */
/* zoo_plugin_open for a task plugin: the symbol zoo_task_v1 and the task checks (magic
 * ZOO_TASK_MAGIC, task ABI major, size, name == file stem, slots name, family and
 * generate, the knob table), probed the same way. A mixer file is refused by name. */
int zoo_task_open(const char *path, zoo_plugin **out);

/* The search path, in order: the build tree's plugin folder, the install's
 * lib/zoo/plugins, then each entry of ZOO_PLUGIN_PATH (':'-separated). An installed
 * libzoo (one loaded from outside its build tree) skips the build tree and takes the
 * plugin folder beside itself (<libdir>/zoo/plugins), so a moved install still works.
 * Fills dirs (duplicates and empty entries dropped); returns how many, <= max_dirs. */
int zoo_plugin_search_path(char dirs[][1024], int max_dirs);
/* Find and open the plugin called `name`. Unknown name: ZOO_ERR_PLUGIN_NOT_FOUND with
 * the list of known mixers in the message. */
int zoo_plugin_find(const char *name, zoo_plugin **out);
/* Every loadable plugin on the search path (first of a name wins). The caller closes
 * each and frees the array. Broken files are reported through `on_error` if given. */
int zoo_plugin_list(zoo_plugin ***out, int *n, void (*on_error)(const char *path, int code, const char *msg, void *ud),
                    void *ud);

/* Tasks on the search path, as zoo_plugin_find and zoo_plugin_list find mixers: files
 * exporting zoo_task_v1. An unknown name lists the known tasks. Task files are skipped
 * by zoo_plugin_list and mixer files by zoo_task_list. */
int zoo_task_find(const char *name, zoo_plugin **out);
int zoo_task_list(zoo_plugin ***out, int *n, void (*on_error)(const char *path, int code, const char *msg, void *ud),
                  void *ud);

/* Knob values for a mixer (or a task): defaults, then overrides from strings. */
int zoo_hvals_new(const zoo_mixer *m, zoo_hvals **out);
int zoo_hvals_new_task(const zoo_task *t, zoo_hvals **out);
void zoo_hvals_free(zoo_hvals *h);
/* Set knob `name` from text. Unknown knob: ZOO_ERR_INVALID naming the nearest known
 * knob and listing all; wrong type: ZOO_ERR_INVALID naming the expected type. */
int zoo_hvals_set(zoo_hvals *h, const char *name, const char *value);
/* "num_heads=1 dropout=0.1 bias=true" (every knob, for logs and HDF5). */
int zoo_hvals_format(const zoo_hvals *h, char *buf, size_t n);

ZOO_API_END
#ifdef __cplusplus
}
#endif
#endif
