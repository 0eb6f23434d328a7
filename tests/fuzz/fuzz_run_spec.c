/* fuzz_run_spec.c: the run-spec flag parser as `zoo train` drives it. The input is one
 * argument per line; "--key value" and "--key=value" become zoo_run_spec_set(key with
 * '-' read as '_', value), in order, as in drivers/cmd_train.c. Then the spec is
 * checked, and its text form must read back: the "key=value" lines of
 * zoo_run_spec_format, set on a default spec, give the same text and the same hash. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "zoo/error.h"
#include "zoo/run.h"

#define MAX_ARGS 64
#define TEXT_LEN (1 << 16)

/* Set every "key=value" line of text on a default spec; 0 or the first failure. */
static int read_back(const char *text, zoo_run_spec *s)
{
    zoo_run_spec_default(s);
    char *copy = strdup(text), *save = NULL;
    if (!copy)
        fz_die("out of memory");
    int rc = 0;
    for (char *line = strtok_r(copy, "\n", &save); line && !rc; line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        if (!eq)
            fz_die("zoo_run_spec_format wrote a line without '=': '%s'", line);
        *eq = 0;
        if ((rc = zoo_run_spec_set(s, line, eq + 1)))
            fz_die("zoo_run_spec_format wrote '%s=%s', which zoo_run_spec_set refuses: %s", line, eq + 1,
                   zoo_error_last()->msg);
    }
    free(copy);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memchr(data, 0, size)) /* argv strings cannot hold NUL */
        return 0;
    char *text = fz_cstr(data, size);
    char *argv[MAX_ARGS];
    int argc = 0;
    for (char *p = text; p && argc < MAX_ARGS;) {
        argv[argc++] = p;
        p = strchr(p, '\n');
        if (p)
            *p++ = 0;
    }
    zoo_run_spec s;
    zoo_run_spec_default(&s);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2)) /* `zoo train` refuses it before any flag is applied */
            break;
        const char *eq = strchr(a, '=');
        const char *val = eq ? eq + 1 : i + 1 < argc ? argv[i + 1] : NULL;
        if (!eq)
            i++;
        if (!val)
            break;
        char key[256];
        size_t kl = eq ? (size_t)(eq - a) - 2 : strlen(a) - 2;
        if (kl == 0 || kl >= sizeof key)
            break;
        memcpy(key, a + 2, kl);
        key[kl] = 0;
        for (char *c = key; *c; c++)
            if (*c == '-')
                *c = '_';
        static char before[TEXT_LEN], after[TEXT_LEN];
        zoo_run_spec_format(&s, before, sizeof before);
        if (zoo_run_spec_set(&s, key, val)) {
            /* A refused value leaves the spec as it was. */
            zoo_run_spec_format(&s, after, sizeof after);
            if (strcmp(before, after))
                fz_die("zoo_run_spec_set('%s', '%s') failed but changed the spec", key, val);
            continue; /* `zoo train` stops here; going on reaches more of the parser */
        }
    }
    zoo_run_spec_check(&s);
    static char t1[TEXT_LEN], t2[TEXT_LEN];
    char h1[17], h2[17];
    if (zoo_run_spec_format(&s, t1, sizeof t1))
        fz_die("zoo_run_spec_format: %s", zoo_error_last()->msg);
    zoo_run_spec_hash(&s, h1);
    zoo_run_spec r;
    read_back(t1, &r);
    if (zoo_run_spec_format(&r, t2, sizeof t2))
        fz_die("zoo_run_spec_format (read back): %s", zoo_error_last()->msg);
    zoo_run_spec_hash(&r, h2);
    if (strcmp(t1, t2))
        fz_die("the text form does not read back:\n--- written\n%s--- read back\n%s", t1, t2);
    if (strcmp(h1, h2))
        fz_die("the hash changes on reading the text form back: %s vs %s", h1, h2);
    zoo_error_clear();
    free(text);
    return 0;
}
