/* error.c: the per-thread error record and the code -> name table.
 * Does not print anything: drivers decide what the user sees. */
#include "zoo/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local zoo_error last;

const char *zoo_strerror(int code)
{
    switch (code) {
    case ZOO_OK: return "success";
    case ZOO_ERR_INVALID: return "invalid argument";
    case ZOO_ERR_NOMEM: return "out of memory";
    case ZOO_ERR_IO: return "I/O error";
    case ZOO_ERR_UNSUPPORTED: return "unsupported";
    case ZOO_ERR_SHAPE: return "shape mismatch";
    case ZOO_ERR_STATE: return "call out of order";
    case ZOO_ERR_NUMERIC: return "numerical failure (NaN/Inf)";
    case ZOO_ERR_PLUGIN_OPEN: return "plugin cannot be loaded";
    case ZOO_ERR_PLUGIN_SYMBOL: return "plugin lacks its descriptor symbol";
    case ZOO_ERR_PLUGIN_MAGIC: return "not a zoo plugin (bad magic)";
    case ZOO_ERR_PLUGIN_MAJOR: return "plugin ABI major version mismatch";
    case ZOO_ERR_PLUGIN_SIZE: return "plugin descriptor too small";
    case ZOO_ERR_PLUGIN_NAME: return "plugin name does not match its file";
    case ZOO_ERR_PLUGIN_SLOT: return "plugin lacks a required slot";
    case ZOO_ERR_PLUGIN_NOT_FOUND: return "plugin not found";
    case ZOO_ERR_PLUGIN_BUILD: return "plugin build failed";
    case ZOO_ERR_CONFIG: return "configuration error";
    case ZOO_ERR_HDF5: return "HDF5 error";
    case ZOO_ERR_MPI: return "MPI error";
    case ZOO_ERR_CUDA: return "CUDA error";
    case ZOO_ERR_INTERRUPTED: return "interrupted";
    default: return "unknown error";
    }
}

int zoo_error_set(int code, const char *file, int line, const char *fmt, ...)
{
    last.code = code;
    last.file = file;
    last.line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last.msg, sizeof last.msg, fmt, ap);
    va_end(ap);
    return code;
}

const zoo_error *zoo_error_last(void) { return &last; }

void zoo_error_clear(void) { memset(&last, 0, sizeof last); }

void zoo_error_prefix(const char *fmt, ...)
{
    char pre[512], old[sizeof last.msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, last.msg, sizeof old);
    size_t np = strlen(pre), no = strlen(old);
    if (np > sizeof last.msg - 1)
        np = sizeof last.msg - 1;
    if (no > sizeof last.msg - 1 - np)
        no = sizeof last.msg - 1 - np; /* keep the whole prefix, cut the tail */
    memcpy(last.msg, pre, np);
    memcpy(last.msg + np, old, no);
    last.msg[np + no] = 0;
}
