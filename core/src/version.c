/* version.c: version strings baked in at configure time. */
#include "zoo/run.h"

const char *zoo_version(void) { return ZOO_VERSION; }
const char *zoo_git_rev(void) { return ZOO_GIT_REV; }
