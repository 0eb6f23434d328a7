/* label_fault.c: a test-only LD_PRELOAD library. It wraps zoo_task_generate (every task's
 * data goes through it) and puts an out-of-vocabulary label (99999) at the first supervised position of example 3 of every
 * dataset it makes, so that a real sweep sees a kernel failure (ce_head's label check)
 * where no valid input could cause one. Never linked into zoo. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>

#include "zoo/task.h"

int zoo_task_generate(const zoo_task *task, const zoo_hvals *h, const zoo_task_set *set, int64_t n, zoo_dataset *out)
{
    int (*real)(const zoo_task *, const zoo_hvals *, const zoo_task_set *, int64_t, zoo_dataset *) = NULL;
    void *sym = dlsym(RTLD_NEXT, "zoo_task_generate");
    memcpy(&real, &sym, sizeof sym); /* ISO C has no object-to-function pointer cast */
    int rc = real ? real(task, h, set, n, out) : -1;
    if (rc || out->n < 4)
        return rc;
    for (int64_t t = 0; t < out->L; t++)
        if (out->labels[3 * out->L + t] != ZOO_IGNORE_LABEL) {
            out->labels[3 * out->L + t] = 99999;
            break;
        }
    return 0;
}
