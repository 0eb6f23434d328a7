/* test_coverage.c: the backend under test implements every op of the core, forward and
 * backward (the op tests skip an op a backend lacks; this test is what fails then). */
#include <stdio.h>
#include <string.h>

#include "zoo/graph.h"

int main(int argc, char **argv)
{
    zoo_backend b = argc > 1 && !strcmp(argv[1], "cpu") ? ZOO_BACKEND_CPU : ZOO_BACKEND_CUDA;
    if (!zoo_backend_built(b)) {
        printf("SKIP: the %s backend is not built here\n", zoo_backend_name(b));
        return 77;
    }
    int total = 0, have = zoo_backend_op_count(b, &total);
    printf("%s backend: %d of %d ops\n", zoo_backend_name(b), have, total);
    for (int i = 0; zoo_backend_op_missing(b, i); i++)
        printf("  missing: %s\n", zoo_backend_op_missing(b, i));
    return have == total ? 0 : 1;
}
