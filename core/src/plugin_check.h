/* plugin_check.h: the checks zoo_plugin_open runs on a plugin's descriptor once it has
 * the symbol, callable on bytes in memory (the fuzz harness builds descriptors there).
 * Internal to libzoo: not exported, not installed. */
#ifndef ZOO_PLUGIN_CHECK_H
#define ZOO_PLUGIN_CHECK_H

#include <stddef.h>

#include "zoo/mixer.h"
#include "zoo/task.h"

/* Check the descriptor at `sym` as found in file `path`: the header (magic, ABI major,
 * size at least ABI 1.0's and, when symsize (the ELF symbol's size) is not 0, at most
 * symsize), then on *copy (min(size, sizeof(zoo_mixer)) bytes of it, the rest zero;
 * block = transformer for ABI 1.0) the name against the file stem, the required slots
 * and the knob table. 0, or the ZOO_ERR_PLUGIN_* / ZOO_ERR_INVALID code with the
 * message zoo_plugin_open gives. */
int zoo_plugin_check_descriptor(const char *path, const void *sym, size_t symsize, zoo_mixer *copy);
/* The same for a task descriptor (zoo/task.h): magic, task ABI major, size, name, the
 * slots name, family and generate, the knob table. */
int zoo_task_check_descriptor(const char *path, const void *sym, size_t symsize, zoo_task *copy);

#endif
