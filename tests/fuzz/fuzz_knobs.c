/* fuzz_knobs.c: the knob-value parser (zoo_hvals_set) on the knob tables of the real
 * plugins, and the knob keys of the run spec ("<mixer>.<knob>", "mixer.<i>.<knob>").
 * Input: a byte choosing the plugin, then lines "knob=value" (a leading byte below
 * 0x20 picks a declared knob by index instead of naming one). Afterwards the one-line
 * text form (zoo_hvals_format) must read back to the same values. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "zoo/error.h"
#include "zoo/plugin.h"
#include "zoo/run.h"

#define TEXT_LEN (1 << 16)

static zoo_plugin **plugins;
static int n_plugins;

void fz_setup(void)
{
    if (zoo_plugin_list(&plugins, &n_plugins, NULL, NULL) || n_plugins == 0)
        fz_die("no plugins found in %s", getenv("ZOO_PLUGIN_PATH"));
}

static int n_knobs(const zoo_mixer *m)
{
    int n = 0;
    while (m->hparams && m->hparams[n].name)
        n++;
    return n;
}

/* Every knob of a and b holds the same value (floats bit for bit, -0 and 0 apart). */
static void same_values(const zoo_mixer *m, const zoo_hvals *a, const zoo_hvals *b, const char *text)
{
    for (int i = 0; i < n_knobs(m); i++) {
        const zoo_hparam *h = &m->hparams[i];
        int same = 1;
        switch (h->type) {
        case ZOO_HP_INT:
        case ZOO_HP_BOOL: same = zoo_hvals_int(a, h->name) == zoo_hvals_int(b, h->name); break;
        case ZOO_HP_FLOAT: {
            double x = zoo_hvals_float(a, h->name), y = zoo_hvals_float(b, h->name);
            same = !memcmp(&x, &y, sizeof x);
            break;
        }
        case ZOO_HP_STRING: same = !strcmp(zoo_hvals_str(a, h->name), zoo_hvals_str(b, h->name)); break;
        case ZOO_HP_INT_LIST: {
            const int64_t *x, *y;
            int nx = zoo_hvals_list(a, h->name, &x), ny = zoo_hvals_list(b, h->name, &y);
            same = nx == ny && (!nx || !memcmp(x, y, (size_t)nx * sizeof *x));
            break;
        }
        }
        if (!same)
            fz_die("mixer %s: knob %s does not read back from its text form '%s'", m->name, h->name, text);
    }
}

/* Read the text form back: "k1=v1 k2=v2 ..." in declaration order (a string value may
 * hold spaces, so each value ends where " <next knob>=" starts). */
static void read_back(const zoo_mixer *m, const zoo_hvals *h, const char *text)
{
    zoo_hvals *r = NULL;
    if (zoo_hvals_new(m, &r))
        fz_die("zoo_hvals_new(%s): %s", m->name, zoo_error_last()->msg);
    int n = n_knobs(m);
    const char *p = text;
    for (int i = 0; i < n; i++) {
        size_t kl = strlen(m->hparams[i].name);
        if (strncmp(p, m->hparams[i].name, kl) || p[kl] != '=')
            fz_die("mixer %s: text form '%s' lacks knob %s in place", m->name, text, m->hparams[i].name);
        p += kl + 1;
        const char *end = p + strlen(p);
        if (i + 1 < n) {
            char next[300];
            snprintf(next, sizeof next, " %s=", m->hparams[i + 1].name);
            /* the last occurrence would be wrong for a value holding " next=": take the
             * first after this value's start, which is right unless a string holds it */
            const char *q = strstr(p, next);
            if (!q)
                fz_die("mixer %s: text form '%s' lacks knob %s", m->name, text, m->hparams[i + 1].name);
            end = q;
        }
        char value[TEXT_LEN];
        snprintf(value, sizeof value, "%.*s", (int)(end - p), p);
        /* A string value is stored as given, spaces and all; the text form cannot show
         * where it ends when it holds " <next knob>=", nor leading/trailing spaces of
         * the others (they are trimmed on reading): only compare what it can show. */
        if (m->hparams[i].type == ZOO_HP_STRING) {
            const char *sv = zoo_hvals_str(h, m->hparams[i].name);
            if (strcmp(sv ? sv : "", value))
                goto skip;
        }
        if (zoo_hvals_set(r, m->hparams[i].name, value))
            fz_die("mixer %s: knob %s: its text '%s' does not read back: %s", m->name, m->hparams[i].name, value,
                   zoo_error_last()->msg);
    skip:
        p = end + (i + 1 < n ? 1 : 0);
    }
    same_values(m, h, r, text);
    zoo_hvals_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size || memchr(data, 0, size))
        return 0;
    const zoo_mixer *m = plugins[data[0] % n_plugins]->mixer;
    char *text = fz_cstr(data + 1, size - 1);
    zoo_hvals *h = NULL;
    if (zoo_hvals_new(m, &h))
        fz_die("zoo_hvals_new(%s): %s", m->name, zoo_error_last()->msg);
    zoo_run_spec s;
    zoo_run_spec_default(&s);
    char mix[80];
    snprintf(mix, sizeof mix, "%s", m->name);
    if (zoo_run_spec_set(&s, "mixer", mix))
        fz_die("mixer=%s refused: %s", mix, zoo_error_last()->msg);
    int n = n_knobs(m);
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[300];
        const char *value;
        if ((unsigned char)line[0] < 0x20 && n) {
            snprintf(name, sizeof name, "%s", m->hparams[(unsigned char)line[0] % n].name);
            value = line + 1;
        } else {
            char *eq = strchr(line, '=');
            if (!eq)
                continue;
            snprintf(name, sizeof name, "%.*s", (int)(eq - line), line);
            value = eq + 1;
        }
        zoo_hvals_set(h, name, value);
        /* The same value through the run spec's knob keys. */
        char key[400];
        snprintf(key, sizeof key, "%s%s.%s", line[0] & 1 ? "" : "mixer.", line[0] & 1 ? m->name : "0", name);
        zoo_run_spec_set(&s, key, value);
    }
    static char out[TEXT_LEN];
    if (zoo_hvals_format(h, out, sizeof out))
        fz_die("zoo_hvals_format(%s): %s", m->name, zoo_error_last()->msg);
    /* A string value holding '=' can look like the next knob: that text form is
     * ambiguous by design, so only the others are read back. */
    int ambiguous = 0;
    for (int i = 0; i < n; i++)
        if (m->hparams[i].type == ZOO_HP_STRING && strchr(zoo_hvals_str(h, m->hparams[i].name), '='))
            ambiguous = 1;
    if (!ambiguous)
        read_back(m, h, out);
    zoo_hvals_free(h);
    zoo_error_clear();
    free(text);
    return 0;
}
