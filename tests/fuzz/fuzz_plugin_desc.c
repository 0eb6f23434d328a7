/* fuzz_plugin_desc.c: the descriptor checks of the plugin loader
 * (zoo_plugin_check_descriptor, core/src/plugin_check.h, which zoo_plugin_open runs
 * after dlsym) on descriptors made in memory from the input: the header (magic, ABI
 * version, declared size), the symbol's size as the ELF table would give it, the
 * name against the file name, the required slots and the knob table (names, types,
 * defaults). The "symbol" is a heap block of exactly the symbol's size, so a read
 * past it is an ASan report. A descriptor that passes must give knob values that
 * format. This harness compiles plugin.c itself: the check is internal to libzoo. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "plugin_check.h"
#include "zoo/error.h"
#include "zoo/plugin.h"

#define MAX_KNOBS 12

static int build_stub(zoo_graph *g, const zoo_hvals *h, const zoo_layer_info *li, zoo_tensor *x, zoo_tensor **y)
{
    (void)g, (void)h, (void)li;
    *y = x;
    return 0;
}

/* Strings of the descriptor: a few real ones or bytes from the input. */
static const char *pick_text(fz *f, char *buf, size_t n, const char *usual)
{
    uint8_t k = fz_u8(f);
    if (k < 96)
        return usual;
    if (k < 112)
        return NULL;
    if (k < 128)
        return "";
    fz_str(f, buf, n);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz f = {data, size};
    static const size_t abi10 = offsetof(zoo_mixer, backends) + sizeof(uint32_t);
    /* the symbol's size as the ELF table gives it (0: unknown) */
    static const size_t sizes[] = {sizeof(zoo_mixer), 0, sizeof(zoo_mixer) + 24, sizeof(zoo_abi_header),
                                   sizeof(zoo_abi_header) - 1, 1, sizeof(zoo_abi_header) + 8, sizeof(zoo_mixer) - 4};
    uint8_t k = fz_u8(&f);
    size_t symsize = k < 200 ? sizes[k % (sizeof sizes / sizeof sizes[0])] : 1 + fz_u8(&f) % (sizeof(zoo_mixer) + 64);
    /* Without a size from ELF the loader trusts the header up to its own struct. */
    size_t alloc = symsize ? symsize : sizeof(zoo_mixer);
    zoo_mixer m;
    memset(&m, 0, sizeof m);
    char name_buf[300], family_buf[64], summary_buf[64], stem_buf[300];
    m.name = pick_text(&f, name_buf, sizeof name_buf, "fuzzmix");
    m.family = pick_text(&f, family_buf, sizeof family_buf, "attention");
    m.summary = pick_text(&f, summary_buf, sizeof summary_buf, "a mixer made by the fuzzer");
    m.build = fz_u8(&f) < 224 ? build_stub : NULL;
    m.backends = fz_u8(&f) < 224 ? 0 : fz_u32(&f);
    m.block = fz_u8(&f) < 224 ? ZOO_BLOCK_TRANSFORMER : fz_u32(&f);
    /* the knob table: n entries and the NULL-name end, each field chosen */
    static const char *const knob_names[] = {"num_heads", "dropout", "bias", "kind", "pattern", "l_max"};
    static const char *const defaults[] = {"1", "0.1", "true", "x", "[3, -1]", "", "-0", "1e309", "[", "yes", NULL};
    zoo_hparam table[MAX_KNOBS + 1];
    char knob_buf[MAX_KNOBS][2][48];
    memset(table, 0, sizeof table);
    int nk = (int)fz_pick(&f, MAX_KNOBS + 1);
    for (int i = 0; i < nk; i++) {
        uint8_t c = fz_u8(&f);
        if (c < 200) {
            table[i].name = knob_names[c % 6];
        } else {
            fz_str(&f, knob_buf[i][0], sizeof knob_buf[i][0]);
            table[i].name = knob_buf[i][0];
        }
        uint8_t t = fz_u8(&f);
        table[i].type = t < 240 ? (zoo_hparam_type)(t % 5) : (zoo_hparam_type)(int)fz_u32(&f);
        c = fz_u8(&f);
        if (c < 200) {
            table[i].def = defaults[c % (sizeof defaults / sizeof defaults[0])];
        } else {
            fz_str(&f, knob_buf[i][1], sizeof knob_buf[i][1]);
            table[i].def = knob_buf[i][1];
        }
        table[i].help = "";
    }
    table[nk].name = NULL;
    m.hparams = fz_u8(&f) < 240 ? table : NULL;
    /* the header */
    k = fz_u8(&f);
    m.hdr.magic = k < 240 ? ZOO_ABI_MAGIC : fz_u32(&f);
    k = fz_u8(&f);
    m.hdr.abi_major = k < 240 ? ZOO_ABI_MAJOR : fz_u32(&f);
    k = fz_u8(&f);
    m.hdr.abi_minor = k < 200 ? ZOO_ABI_MINOR : k < 220 ? 0 : fz_u32(&f);
    k = fz_u8(&f);
    m.hdr.size = k < 200   ? (uint32_t)sizeof(zoo_mixer)
                 : k < 215 ? (uint32_t)abi10
                 : k < 230 ? (uint32_t)alloc
                           : fz_u32(&f);
    /* the file it came from: usually named after the descriptor */
    const char *stem = pick_text(&f, stem_buf, sizeof stem_buf, m.name ? m.name : "fuzzmix");
    char path[700];
    snprintf(path, sizeof path, "/plugins/%s%s", stem ? stem : "", fz_u8(&f) < 240 ? ".so" : "");

    uint8_t *sym = malloc(alloc);
    if (!sym)
        fz_die("out of memory");
    /* The symbol's bytes: the descriptor, cut at its size, then input bytes. */
    memcpy(sym, &m, alloc < sizeof m ? alloc : sizeof m);
    for (size_t i = sizeof m; i < alloc; i++)
        sym[i] = fz_u8(&f);
    zoo_mixer copy;
    zoo_error_clear();
    int rc = zoo_plugin_check_descriptor(path, sym, symsize, &copy);
    fz_report("zoo_plugin_check_descriptor", rc);
    if (rc == 0) {
        if (!copy.name || !copy.family || !copy.build)
            fz_die("a descriptor without name, family or build passed");
        if (symsize && copy.hdr.size > symsize)
            fz_die("a descriptor larger than its symbol passed");
        /* What a sweep does with a loaded plugin's knobs. */
        zoo_hvals *h = NULL;
        if (zoo_hvals_new(&copy, &h))
            fz_die("passed the check but zoo_hvals_new fails: %s", zoo_error_last()->msg);
        char out[4096];
        zoo_hvals_format(h, out, sizeof out);
        for (int i = 0; copy.hparams && copy.hparams[i].name; i++)
            if (copy.hparams[i].def && zoo_hvals_set(h, copy.hparams[i].name, copy.hparams[i].def))
                fz_die("knob %s: its own default '%s' is refused", copy.hparams[i].name, copy.hparams[i].def);
        zoo_hvals_set(h, "no_such_knob", "1");
        zoo_hvals_free(h);
    } else if (!zoo_error_last()->msg[0]) {
        fz_die("the check failed (%d) without a message", rc);
    }
    free(sym);
    zoo_error_clear();
    return 0;
}
