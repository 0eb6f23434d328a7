/* cmd_sweep.c: `zoo sweep` (being built; see the open issues). */
#include <stdio.h>

#include "commands.h"

int zoo_cmd_sweep(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "zoo sweep: not available in this build yet\n");
    return 2;
}
