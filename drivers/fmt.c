/* fmt.c: durations for the `zoo` commands' progress and summary lines. */
#include "fmt.h"

#include <stdio.h>

void zoo_cli_fmt_time(char *out, size_t n, double s)
{
    if (!(s >= 0) || s > 1e10) { /* unknown (NaN), or an estimate with nothing to go on */
        snprintf(out, n, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 86400)
        snprintf(out, n, "%ldd%02ld:%02ld:%02ld", t / 86400, t / 3600 % 24, t / 60 % 60, t % 60);
    else if (t >= 3600)
        snprintf(out, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(out, n, "%ld:%02ld", t / 60, t % 60);
}
