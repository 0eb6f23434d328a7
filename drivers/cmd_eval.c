/* cmd_eval.c: `zoo eval` (being built; see the open issues). */
#include <stdio.h>

#include "commands.h"

int zoo_cmd_eval(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "zoo eval: not available in this build yet\n");
    return 2;
}
