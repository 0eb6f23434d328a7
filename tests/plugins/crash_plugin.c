/* crash_plugin.c: plugins that break the SDK's rules ("no constructors, never exit")
 * for the crash-isolation tests. The CMake file builds it once per VARIANT_<NAME> into
 * NAME.so; each passes every loader check on its bytes and then misbehaves in code:
 *   crashctor   SIGSEGV in an __attribute__((constructor)) (runs inside dlopen)
 *   crashdesc   SIGSEGV in its descriptor's validate() (called when a sweep checks knobs)
 *   exitctor    exit(3) in a constructor
 *   hangctor    a constructor that never returns
 *   hangbuild   loads fine; build() never returns (a run's time limit must end it)
 *   countctor   well behaved; its constructor appends "<pid>\n" to $ZOO_TEST_LOAD_LOG,
 *               so a test can count the processes that loaded it */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "zoo/mixer.h"

#if defined(VARIANT_CRASHCTOR)
#define NAME "crashctor"
#elif defined(VARIANT_CRASHDESC)
#define NAME "crashdesc"
#elif defined(VARIANT_EXITCTOR)
#define NAME "exitctor"
#elif defined(VARIANT_HANGCTOR)
#define NAME "hangctor"
#elif defined(VARIANT_HANGBUILD)
#define NAME "hangbuild"
#elif defined(VARIANT_COUNTCTOR)
#define NAME "countctor"
#else
#error "define one VARIANT_<NAME>"
#endif

/* A real invalid write (volatile, so the compiler neither drops it nor turns it into a trap). */
__attribute__((unused)) static void segfault(void)
{
    volatile int *volatile p = NULL;
    *p = 1;
}

#if defined(VARIANT_CRASHCTOR)
__attribute__((constructor)) static void on_load(void) { segfault(); }
#elif defined(VARIANT_EXITCTOR)
__attribute__((constructor)) static void on_load(void) { exit(3); }
#elif defined(VARIANT_HANGCTOR)
__attribute__((constructor)) static void on_load(void)
{
    for (;;)
        sleep(1000);
}
#elif defined(VARIANT_COUNTCTOR)
__attribute__((constructor)) static void on_load(void)
{
    const char *log = getenv("ZOO_TEST_LOAD_LOG");
    FILE *f = log && *log ? fopen(log, "a") : NULL;
    if (f) {
        fprintf(f, "%ld\n", (long)getpid());
        fclose(f);
    }
}
#endif

static int build(zoo_graph *g, const zoo_hvals *h, const zoo_layer_info *li, zoo_tensor *x, zoo_tensor **y)
{
    (void)h;
#if defined(VARIANT_HANGBUILD)
    for (;;)
        sleep(1000);
#endif
    *y = zoo_nn_linear(g, x, "proj", li->d_model, 1);
    return zoo_graph_status(g);
}

static int validate(const zoo_hvals *h, const zoo_layer_info *li, char *msg, size_t n)
{
    (void)h, (void)li, (void)msg, (void)n;
#if defined(VARIANT_CRASHDESC)
    segfault();
#endif
    return 0;
}

ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = {
    .hdr = ZOO_MIXER_HEADER,
    .name = NAME,
    .family = "test",
    .summary = "crash-isolation test plugin",
    .build = build,
    .validate = validate,
};
