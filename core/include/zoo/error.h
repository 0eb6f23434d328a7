/* zoo/error.h: status codes and the error record every failing call fills.
 * Libraries and plugins return these codes; they never print or exit. */
#ifndef ZOO_ERROR_H
#define ZOO_ERROR_H

#include "zoo/api.h"

#ifdef __cplusplus
extern "C" {
#endif
ZOO_API_BEGIN

/* 0 is success; every failure is negative. "Unsupported" is distinct from "failed":
 * a sweep records an unsupported run as skipped, not as a crash. */
enum {
    ZOO_OK = 0,
    ZOO_ERR_INVALID = -1,        /* bad argument or value (config, knob, flag) */
    ZOO_ERR_NOMEM = -2,          /* allocation failed */
    ZOO_ERR_IO = -3,             /* file missing, unreadable, unwritable */
    ZOO_ERR_UNSUPPORTED = -4,    /* valid request this build/backend cannot do */
    ZOO_ERR_SHAPE = -5,          /* tensor shapes do not fit */
    ZOO_ERR_STATE = -6,          /* call out of order (e.g. forward before plan) */
    ZOO_ERR_NUMERIC = -7,        /* NaN/Inf (divergence) */
    ZOO_ERR_PLUGIN_OPEN = -20,   /* dlopen failed */
    ZOO_ERR_PLUGIN_SYMBOL = -21, /* zoo_mixer_v1 not exported */
    ZOO_ERR_PLUGIN_MAGIC = -22,  /* not a zoo plugin descriptor */
    ZOO_ERR_PLUGIN_MAJOR = -23,  /* ABI major version differs */
    ZOO_ERR_PLUGIN_SIZE = -24,   /* descriptor smaller than ABI 1.0 requires */
    ZOO_ERR_PLUGIN_NAME = -25,   /* descriptor name does not match the file name */
    ZOO_ERR_PLUGIN_SLOT = -26,   /* a required slot is NULL */
    ZOO_ERR_PLUGIN_NOT_FOUND = -27, /* no plugin of that name on the search path */
    ZOO_ERR_PLUGIN_BUILD = -28,  /* the plugin's build() failed */
    ZOO_ERR_CONFIG = -40,        /* YAML/flag configuration error (message has file:line:col) */
    ZOO_ERR_HDF5 = -41,          /* HDF5 library error */
    ZOO_ERR_MPI = -42,           /* MPI library error */
    ZOO_ERR_CUDA = -43,          /* CUDA/cuBLAS/cuFFT error */
    ZOO_ERR_INTERRUPTED = -44,   /* stopped by a signal (SIGTERM/SIGUSR1) */
};

/* One record per thread: the last failure, with where it was raised. */
typedef struct zoo_error {
    int code;
    const char *file; /* source file that raised it (static string) */
    int line;
    char msg[1024];   /* one line for the user: what is wrong and the fix */
} zoo_error;

/* Name of a code ("invalid argument", ...); never NULL. */
const char *zoo_strerror(int code);

/* Record an error for this thread and return `code` (so `return ZOO_FAIL(...)` works). */
int zoo_error_set(int code, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The last error recorded on this thread; code 0 and empty message when none. */
const zoo_error *zoo_error_last(void);

/* Forget the last error (callers that handle a failure themselves). */
void zoo_error_clear(void);

/* Prepend context to the last error's message ("loading ckpt.h5: " + old message). */
void zoo_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define ZOO_FAIL(code, ...) zoo_error_set((code), __FILE__, __LINE__, __VA_ARGS__)

ZOO_API_END
#ifdef __cplusplus
}
#endif
#endif
