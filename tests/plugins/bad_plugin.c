/* bad_plugin.c: one source, many test plugins for the loader tests. The CMake file
 * compiles it once per defect with -DVARIANT_<NAME> and names the .so after it, so each
 * loader check meets a plugin that fails exactly that check (and GOOD ones that pass).
 * GOODTASK and BADTASKMAGIC are task plugins (zoo/task.h) for `zoo plugins`. */
#include <stddef.h>
#include <stdint.h>

#include "zoo/mixer.h"
#include "zoo/task.h"

__attribute__((unused)) static int build(zoo_graph *g, const zoo_hvals *h, const zoo_layer_info *li, zoo_tensor *x, zoo_tensor **y)
{
    (void)g, (void)h, (void)li;
    *y = x;
    return 0;
}

/* One knob of every type, so the hvals and `zoo plugins` tests see them all. */
__attribute__((unused)) static const zoo_hparam knobs[] = {
    {"width", ZOO_HP_INT, "4", "an int knob"},
    {"rate", ZOO_HP_FLOAT, "0.25", "a float knob"},
    {"gated", ZOO_HP_BOOL, "yes", "a bool knob"},
    {"kind", ZOO_HP_STRING, "taylor", "a string knob"},
    {"kernel_sizes", ZOO_HP_INT_LIST, "[3, -1, 3, -1]", "an int-list knob"},
    {NULL, 0, NULL, NULL},
};

#define DESC(hdr_, name_, family_, build_, hp_)                                                                      \
    {                                                                                                                \
        .hdr = hdr_, .name = name_, .family = family_, .summary = "loader test plugin", .hparams = hp_,             \
        .build = build_, .backends = ZOO_BACKEND_BIT(ZOO_BACKEND_CPU)                                                \
    }
#define HDR(magic, major, minor, size) {magic, major, minor, (uint32_t)(size)}
#define OKHDR ZOO_MIXER_HEADER

#if defined(VARIANT_GOODMIX)
ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = DESC(OKHDR, "goodmix", "test", build, knobs);
#elif defined(VARIANT_NOSYM)
ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v0 = DESC(OKHDR, "nosym", "test", build, knobs);
#elif defined(VARIANT_TINYSYM)
ZOO_PLUGIN_EXPORT const uint32_t zoo_mixer_v1 = ZOO_ABI_MAGIC;
#elif defined(VARIANT_BADMAGIC)
ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 =
    DESC(HDR(0xdeadbeefu, ZOO_ABI_MAJOR, ZOO_ABI_MINOR, sizeof(zoo_mixer)), "badmagic", "test", build, knobs);
#elif defined(VARIANT_BADMAJOR)
ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 =
    DESC(HDR(ZOO_ABI_MAGIC, ZOO_ABI_MAJOR + 1, 3, sizeof(zoo_mixer)), "badmajor", "test", build, knobs);
#elif defined(VARIANT_SHORTSIZE)
/* As if built against an older, smaller descriptor than ABI 1.0 (no backends field). */
ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 =
    DESC(HDR(ZOO_ABI_MAGIC, ZOO_ABI_MAJOR, 0, offsetof(zoo_mixer, backends)), "shortsize", "test", build, knobs);
#elif defined(VARIANT_LIARSIZE)
/* Claims more bytes than the symbol holds: reading them would run off the object. */
ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 =
    DESC(HDR(ZOO_ABI_MAGIC, ZOO_ABI_MAJOR, 9, sizeof(zoo_mixer) + 4096), "liarsize", "test", build, knobs);
#elif defined(VARIANT_NAMEMISMATCH)
ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = DESC(OKHDR, "othername", "test", build, knobs);
#elif defined(VARIANT_NULLBUILD)
ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = DESC(OKHDR, "nullbuild", "test", NULL, knobs);
#elif defined(VARIANT_NULLFAMILY)
ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = DESC(OKHDR, "nullfamily", NULL, build, knobs);
#elif defined(VARIANT_NULLNAME)
ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = DESC(OKHDR, NULL, "test", build, knobs);
#elif defined(VARIANT_BADKNOBS)
static const zoo_hparam badknobs[] = {
    {"width", ZOO_HP_INT, "four", "default is not an int"},
    {NULL, 0, NULL, NULL},
};
ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = DESC(OKHDR, "badknobs", "test", build, badknobs);
#elif defined(VARIANT_UNDEFSYM)
/* Calls a function no library defines: RTLD_NOW must refuse it at load time. */
void zoo_function_that_does_not_exist(void);
static int build_undef(zoo_graph *g, const zoo_hvals *h, const zoo_layer_info *li, zoo_tensor *x, zoo_tensor **y)
{
    zoo_function_that_does_not_exist();
    return build(g, h, li, x, y);
}
ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = DESC(OKHDR, "undefsym", "test", build_undef, knobs);
#elif defined(VARIANT_ABI10)
/* Built against ABI 1.0, where `block` did not exist and its bytes were padding (the
 * same struct size on LP64): whatever sits there must read as TransformerBlock. */
ZOO_PLUGIN_EXPORT const zoo_mixer zoo_mixer_v1 = {
    .hdr = HDR(ZOO_ABI_MAGIC, ZOO_ABI_MAJOR, 0, sizeof(zoo_mixer)), .name = "abi10", .family = "test",
    .summary = "loader test plugin", .hparams = knobs, .build = build, .backends = 0, .block = 7u};
#elif defined(VARIANT_NEWER)
/* A plugin from a later ABI 1.x: the descriptor grew (fields appended). The core must
 * accept it and read only the part it knows. */
typedef struct newer_mixer {
    zoo_mixer base;
    const char *future_field;
    double future_number;
} newer_mixer;
ZOO_PLUGIN_EXPORT const newer_mixer zoo_mixer_v1 = {
    .base = DESC(HDR(ZOO_ABI_MAGIC, ZOO_ABI_MAJOR, ZOO_ABI_MINOR + 5, sizeof(newer_mixer)), "newer", "test-newer",
                 build, knobs),
    .future_field = "from the future",
    .future_number = 42.0,
};
#elif defined(VARIANT_GOODTASK) || defined(VARIANT_BADTASKMAGIC)
/* Every example all blanks, tagged by its parity: enough for listing and loading. */
static int generate(const zoo_hvals *h, const zoo_task_set *set, int64_t first, int64_t count, int32_t *x,
                    int32_t *y, int32_t *tags)
{
    (void)h;
    for (int64_t i = 0; i < count * set->seq_len; i++)
        x[i] = 0, y[i] = ZOO_IGNORE_LABEL;
    for (int64_t e = 0; e < count; e++)
        tags[e] = (int32_t)((first + e) % 2);
    return 0;
}
static const char *const tag_names[] = {"even", "odd", NULL};
#if defined(VARIANT_GOODTASK)
#define TASK_HDR ZOO_TASK_HEADER
#define TASK_NAME "goodtask"
#else
#define TASK_HDR {0xdeadbeefu, ZOO_TASK_ABI_MAJOR, ZOO_TASK_ABI_MINOR, (uint32_t)sizeof(zoo_task)}
#define TASK_NAME "badtaskmagic"
#endif
ZOO_PLUGIN_EXPORT const zoo_task zoo_task_v1 = {
    .hdr = TASK_HDR, .name = TASK_NAME, .family = "test", .summary = "loader test task", .hparams = knobs,
    .generate = generate, .tags = tag_names};
#else
#error "define one VARIANT_<NAME>"
#endif
