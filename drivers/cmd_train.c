/* cmd_train.c: `zoo train` (being built; see the open issues). */
#include <stdio.h>

#include "commands.h"

int zoo_cmd_train(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "zoo train: not available in this build yet\n");
    return 2;
}
