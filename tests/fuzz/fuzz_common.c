/* fuzz_common.c: input reading, scratch folder and set-up shared by the harnesses. */
#define _GNU_SOURCE
#include "fuzz_common.h"

#include "zoo/error.h"

#include <hdf5.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef ZOO_FUZZ_PLUGIN_DIR
#error "ZOO_FUZZ_PLUGIN_DIR (the build's plugin folder) must be defined"
#endif

uint8_t fz_u8(fz *f)
{
    if (!f->n)
        return 0;
    f->n--;
    return *f->p++;
}

uint32_t fz_u32(fz *f)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)fz_u8(f) << (8 * i);
    return v;
}

uint64_t fz_u64(fz *f)
{
    uint64_t lo = fz_u32(f);
    return lo | (uint64_t)fz_u32(f) << 32;
}

uint32_t fz_pick(fz *f, uint32_t n) { return n ? fz_u8(f) % n : 0; }

void fz_str(fz *f, char *out, size_t max)
{
    size_t len = fz_u8(f), k = 0;
    if (len > max - 1)
        len = max - 1;
    while (k < len && f->n && *f->p)
        out[k++] = (char)fz_u8(f);
    out[k] = 0;
}

const uint8_t *fz_bytes(fz *f, size_t want, size_t *got)
{
    const uint8_t *p = f->p;
    *got = want < f->n ? want : f->n;
    f->p += *got;
    f->n -= *got;
    return p;
}

char *fz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        fz_die("out of memory copying a %zu-byte input", size);
    memcpy(s, data, size);
    s[size] = 0;
    return s;
}

const char *fz_tmpfile(const char *name)
{
    static char path[512];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/zoo-fuzz-%ld-%s", tmp && *tmp ? tmp : "/tmp", (long)getpid(), name);
    return path;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    setenv("ZOO_PLUGIN_PATH", ZOO_FUZZ_PLUGIN_DIR, 1);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (fz_setup)
        fz_setup();
    return 0;
}

void fz_report(const char *what, int rc)
{
    static int on = -1;
    if (on < 0)
        on = getenv("ZOO_FUZZ_DEBUG") != NULL;
    if (on)
        fprintf(stderr, "fuzz: %s: %d %s\n", what, rc, rc ? zoo_error_last()->msg : "ok");
}

void fz_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}
