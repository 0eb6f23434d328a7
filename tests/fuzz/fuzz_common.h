/* fuzz_common.h: what the libFuzzer harnesses share: reading choices from the fuzz
 * input (a byte that is not there reads as 0, so a short input means "keep the valid
 * default"), scratch file names, and the plugin folder of this build. */
#ifndef ZOO_FUZZ_COMMON_H
#define ZOO_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

typedef struct fz {
    const uint8_t *p;
    size_t n;
} fz;

uint8_t fz_u8(fz *f);
uint32_t fz_u32(fz *f);
uint64_t fz_u64(fz *f);
/* A value in [0, n) (0 when n is 0). */
uint32_t fz_pick(fz *f, uint32_t n);
/* Up to max-1 bytes, length from one byte, NUL-terminated (inner NULs end it early). */
void fz_str(fz *f, char *out, size_t max);
/* The next `want` bytes, or as many as are left; advances. */
const uint8_t *fz_bytes(fz *f, size_t want, size_t *got);

/* A NUL-terminated copy of the input (caller frees). */
char *fz_cstr(const uint8_t *data, size_t size);

/* libFuzzer's entry points. fuzz_common.c defines LLVMFuzzerInitialize for every
 * harness: it points ZOO_PLUGIN_PATH at this build's plugins (the real ones), silences
 * HDF5's error printing, then calls the harness's fz_setup when it has one. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void fz_setup(void) __attribute__((weak));
/* A scratch file path for this process ($TMPDIR or /tmp, the pid in its name); the
 * harness removes the file after each input. */
const char *fz_tmpfile(const char *name);

/* With ZOO_FUZZ_DEBUG set in the environment: print what a reader said about this
 * input (to see why seeds pass or fail). */
void fz_report(const char *what, int rc);

/* Stop the run with a message: libFuzzer saves the input as a crash. */
void fz_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
