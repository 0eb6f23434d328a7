/* zoo/plugin.h: finding, loading and checking mixer plugins, and knob values.
 * The loader checks a plugin in a fixed order before running any of its code. */
#ifndef ZOO_PLUGIN_H
#define ZOO_PLUGIN_H

#include "zoo/mixer.h"
#include "zoo/api.h"

#ifdef __cplusplus
extern "C" {
#endif
ZOO_API_BEGIN

typedef struct zoo_plugin {
    const zoo_mixer *mixer;
    void *handle; /* dlopen handle */
    char *path;   /* file it came from */
} zoo_plugin;

/* Open one plugin file. Checks, in order: dlopen RTLD_NOW, the symbol zoo_mixer_v1,
 * magic, ABI major, struct size, name == file stem, required slots (name, family,
 * build). Each failure has its own code (ZOO_ERR_PLUGIN_*) and a one-line message
 * naming the file, both versions where relevant, and the fix. */
int zoo_plugin_open(const char *path, zoo_plugin **out);
void zoo_plugin_close(zoo_plugin *p); /* accepts NULL */

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

/* Knob values for a mixer: defaults, then overrides from strings. */
int zoo_hvals_new(const zoo_mixer *m, zoo_hvals **out);
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
