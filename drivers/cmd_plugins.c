/* cmd_plugins.c: `zoo plugins` (being built; see the open issues). */
#include <stdio.h>

#include "commands.h"

int zoo_cmd_plugins(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "zoo plugins: not available in this build yet\n");
    return 2;
}
