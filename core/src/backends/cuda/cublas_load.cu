/* cublas_load.cu: cuBLAS, opened with dlopen when the first CUDA run starts instead of
 * linked. A linked cuBLAS (with the cuBLASLt it pulls in) is mapped and relocated at
 * the start of every process that loads libzoo, GPU or not: measured here, 0.35 s of
 * page faults per start of an empty program linked to it, so each zoo command, test
 * and sweep rank on a CPU machine paid about a second. cuFFT and the runtime cost
 * milliseconds and stay linked. The host form of the backend (no __CUDACC__: the
 * stand-in device of the tests) links its own cuBLAS and binds to it directly. */
#include <pthread.h>
#include <stdio.h>
#ifdef __CUDACC__
#include <dlfcn.h>
#endif

#include "common.cuh"

zoo_cublas_api zoo_cublas;

#define STR_(x) #x
#define STR(x) STR_(x) /* expands first: cublasCreate names the export cublasCreate_v2 */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char why[640]; /* empty once loaded */

static void load(void)
{
#ifdef __CUDACC__
    const char *const paths[] = {"libcublas.so." STR(CUBLAS_VER_MAJOR),
                                 ZOO_CUDA_LIBDIR "/libcublas.so." STR(CUBLAS_VER_MAJOR)};
    void *h = NULL;
    const char *err = "";
    for (size_t i = 0; i < sizeof paths / sizeof *paths && !h; i++)
        if (!(h = dlopen(paths[i], RTLD_NOW | RTLD_LOCAL)))
            err = dlerror();
    if (!h) {
        snprintf(why, sizeof why,
                 "cannot load cuBLAS %d (%s): put the CUDA toolkit's library folder on LD_LIBRARY_PATH, or use "
                 "backend cpu", CUBLAS_VER_MAJOR, err);
        return;
    }
#define ZOO_CUBLAS_LOOK(field, fn)                                                         \
    if (!(*(void **)&zoo_cublas.field = dlsym(h, STR(fn)))) {                              \
        snprintf(why, sizeof why, "cuBLAS %d lacks %s: install the toolkit zoo was built with (%s)", \
                 CUBLAS_VER_MAJOR, STR(fn), paths[0]);                                     \
        return;                                                                            \
    }
    ZOO_CUBLAS_FNS(ZOO_CUBLAS_LOOK)
#else
#define ZOO_CUBLAS_BIND(field, fn) zoo_cublas.field = &fn;
    ZOO_CUBLAS_FNS(ZOO_CUBLAS_BIND)
#endif
}

extern "C" int zoo_cublas_load(void)
{
    pthread_once(&once, load);
    return why[0] ? ZOO_FAIL(ZOO_ERR_CUDA, "%s", why) : 0;
}
