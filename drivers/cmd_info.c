/* cmd_info.c: `zoo info` (being built; see the open issues). */
#include <stdio.h>

#include "commands.h"

int zoo_cmd_info(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "zoo info: not available in this build yet\n");
    return 2;
}
