/* cmd_info.c: `zoo info`: version, git revision, build type, each backend with the ops it
 * implements, threads, the BLAS (and FFTW) actually loaded, and the plugin search path.
 * Reports; changes nothing.
 * The libraries are asked at run time through the dynamic linker, so this shows what
 * this process really uses, not what the build expected. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "commands.h"
#include "zoo/mixer.h"
#include "zoo/plugin.h"
#include "zoo/run.h"

#ifndef ZOO_BUILD_TYPE
#define ZOO_BUILD_TYPE "unknown"
#endif

static void usage(FILE *f)
{
    fprintf(f, "usage: zoo info\n\n"
               "Print the version, git revision, build type, each backend (built, usable here or\n"
               "why not, ops implemented, the device a run would use), the thread count, the BLAS\n"
               "and FFTW libraries in use and the plugin search path.\n\n"
               "options:\n  -h, --help   this text\n");
}

/* The file a symbol was loaded from, or NULL. */
static const char *lib_of(void *sym)
{
    Dl_info di;
    return sym && dladdr(sym, &di) && di.dli_fname ? di.dli_fname : NULL;
}

/* A function found by name: dlsym gives an object pointer, and ISO C has no cast from
 * it to a function pointer, so its bytes are copied (what POSIX guarantees works). */
#define FN_OF(fp, name)                                                                                    \
    do {                                                                                                   \
        void *sym_ = dlsym(RTLD_DEFAULT, name);                                                            \
        memcpy(&(fp), &sym_, sizeof sym_);                                                                 \
    } while (0)

static void print_blas(void)
{
    char *(*config)(void) = NULL, *(*core)(void) = NULL;
    int (*nthreads)(void) = NULL;
    FN_OF(config, "openblas_get_config");
    FN_OF(core, "openblas_get_corename");
    FN_OF(nthreads, "openblas_get_num_threads");
    if (config) {
        printf("blas:          %s", config());
        if (core)
            printf(" (core %s)", core());
        if (nthreads)
            printf(", %d threads", nthreads());
        const char *f = lib_of(dlsym(RTLD_DEFAULT, "openblas_get_config"));
        printf("%s%s\n", f ? " from " : "", f ? f : "");
        return;
    }
    void *sgemm = dlsym(RTLD_DEFAULT, "cblas_sgemm");
    const char *f = lib_of(sgemm);
    printf("blas:          %s%s\n", sgemm ? "not OpenBLAS, cblas_sgemm from " : "none found",
           sgemm ? (f ? f : "?") : "");
}

/* Per backend: built or not, usable here or not, and how many of the core's ops it
 * implements (counted from the op table), naming the missing ones; then the device a
 * run there would use (a GPU: ZOO_CUDA_DEVICE, else the node-local rank modulo the
 * GPUs), or why it cannot run here. */
static void print_backends(void)
{
    for (int b = 0; b < ZOO_BACKEND_COUNT; b++) {
        int total = 0, have = zoo_backend_op_count((zoo_backend)b, &total);
        const char *name = zoo_backend_name((zoo_backend)b);
        int built = zoo_backend_built((zoo_backend)b);
        char why[1024] = "";
        int avail = built ? zoo_backend_available((zoo_backend)b) : ZOO_ERR_UNSUPPORTED;
        if (built && avail)
            snprintf(why, sizeof why, "%s", zoo_error_last()->msg);
        zoo_error_clear();
        printf("backend %-6s %s, implements %d of %d ops", name,
               !built ? "not built" : avail ? "built, not usable here" : "usable", have, total);
        if (have < total) {
            printf("; missing:");
            const char *op;
            for (int i = 0; (op = zoo_backend_op_missing((zoo_backend)b, i)); i++)
                printf("%s %s", i ? "," : "", op);
        }
        printf("\n");
        char dev[256] = "";
        if (built && !avail) {
            if (zoo_backend_describe((zoo_backend)b, dev, sizeof dev))
                printf("               device: unknown (%s)\n", zoo_error_last()->msg);
            else if (strcmp(dev, name))
                printf("               device: %s\n", dev);
            zoo_error_clear();
        } else if (why[0]) {
            printf("               not usable: %s\n", why);
        }
    }
    printf("backend auto   each run takes cuda where it is usable and implements every op of the\n"
           "               run's model, else cpu (zoo train says which, and why)\n");
}

int zoo_cmd_info(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        }
        fprintf(stderr, "zoo info: unexpected argument '%s'\n", argv[i]);
        usage(stderr);
        return 2;
    }
    printf("zoo:           %s\n", zoo_version());
    printf("git revision:  %s\n", zoo_git_rev());
    printf("build type:    %s\n", ZOO_BUILD_TYPE);
    print_backends();
    printf("plugin abi:    %u.%u\n", ZOO_ABI_MAJOR, ZOO_ABI_MINOR);
#ifdef _OPENMP
    printf("threads:       %d (OpenMP; OMP_NUM_THREADS changes it)\n", omp_get_max_threads());
#else
    printf("threads:       1 (built without OpenMP)\n");
#endif
    print_blas();
    const char *fftw = dlsym(RTLD_DEFAULT, "fftwf_version"); /* a char array in libfftw3f */
    if (fftw) {
        const char *f = lib_of((void *)fftw);
        printf("fftw:          %s%s%s\n", fftw, f ? " from " : "", f ? f : "");
    } else {
        printf("fftw:          not loaded\n");
    }
    const char *zf = lib_of(dlsym(RTLD_DEFAULT, "zoo_version"));
    printf("libzoo:        %s\n", zf ? zf : "?");
    char dirs[64][1024];
    int nd = zoo_plugin_search_path(dirs, 64);
    printf("plugin path:   (searched in this order; ZOO_PLUGIN_PATH entries last)\n");
    for (int i = 0; i < nd; i++) {
        struct stat st;
        int there = stat(dirs[i], &st) == 0 && S_ISDIR(st.st_mode);
        printf("  %s%s\n", dirs[i], there ? "" : "  (missing)");
    }
    return 0;
}
