/* fmt.h: how the `zoo` commands print durations, one way for all of them. Driver-internal. */
#ifndef ZOO_DRIVERS_FMT_H
#define ZOO_DRIVERS_FMT_H

#include <stddef.h>

/* Seconds as "2:03", "1:02:03" or "2d01:02:03"; "?" when negative, NaN or absurd. */
void zoo_cli_fmt_time(char *out, size_t n, double s);

#endif
