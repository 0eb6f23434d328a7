/* cmd_data.c: `zoo data` (being built; see the open issues). */
#include <stdio.h>

#include "commands.h"

int zoo_cmd_data(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "zoo data: not available in this build yet\n");
    return 2;
}
