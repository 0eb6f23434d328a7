/* fuzz_sweep.c: the sweep/run file reader (zoo_sweep_parse) on text in memory. Plugins
 * the text names are the build's real ones (they are loaded to check knobs, and closed
 * again before zoo_sweep_parse returns, so each input starts from nothing open). Every
 * run of an accepted sweep must pass zoo_run_spec_check, format and hash. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "zoo/config.h"
#include "zoo/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* zoo_sweep_load refuses NUL bytes before parsing; the text form cannot hold them. */
    if (memchr(data, 0, size))
        return 0;
    char *text = fz_cstr(data, size);
    zoo_sweep sw;
    zoo_error_clear();
    int rc = zoo_sweep_parse(text, "fuzz.yaml", &sw);
    fz_report("zoo_sweep_parse", rc);
    if (rc == 0) {
        if (sw.n_runs < 1 || !sw.runs)
            fz_die("zoo_sweep_parse accepted a sweep of %lld runs", (long long)sw.n_runs);
        for (int64_t i = 0; i < sw.n_runs; i++) {
            static char buf[1 << 16];
            char hash[17];
            if (zoo_run_spec_check(&sw.runs[i]))
                fz_die("run %lld of an accepted sweep fails its check: %s", (long long)i, zoo_error_last()->msg);
            if (zoo_run_spec_format(&sw.runs[i], buf, sizeof buf))
                fz_die("run %lld does not format: %s", (long long)i, zoo_error_last()->msg);
            zoo_run_spec_hash(&sw.runs[i], hash);
        }
    } else {
        if (sw.runs || sw.n_runs || sw.text || sw.path)
            fz_die("zoo_sweep_parse failed (%d) but left a sweep in its output", rc);
        if (!zoo_error_last()->msg[0])
            fz_die("zoo_sweep_parse failed (%d) without a message", rc);
    }
    zoo_sweep_free(&sw);
    free(text);
    return 0;
}
