/* model_trace.h: the zoo side of a whole-model comparison against PyTorch (used by
 * tests/torchmodel and tests/mamba). Given a built model and its spec, it moves every
 * trainable value off its init, saves the checkpoint, writes an MQAR dataset, records
 * the step-0 gradients and ZT_TRACE_STEPS AdamW-step losses into ref.h5 in a fresh
 * folder, then runs the Python check script on that folder (which loads the
 * checkpoint by state_dict name, so names and shapes are checked as well). */
#ifndef ZOO_TESTS_MODEL_TRACE_H
#define ZOO_TESTS_MODEL_TRACE_H

#include <stdint.h>

#include "zoo/run.h"

#define ZT_TRACE_STEPS 20

typedef struct zt_trace_case {
    const char *name;      /* the temporary folder's name and the printed label */
    int64_t V, L, K, B, batches;
    uint64_t perturb_seed;
} zt_trace_case;

/* Takes ownership of m (freed). Returns 0 pass, 1 fail, ZT_SKIP (77) when torch is
 * missing. The folder is kept (and named) on failure. */
int zt_model_trace(zoo_model *m, const zoo_run_spec *spec, const zt_trace_case *c, const char *script);

/* zoo_run_spec_set with a FAIL line on error; the integer form formats v. */
int zt_spec_set(zoo_run_spec *s, const char *k, const char *v);
int zt_spec_seti(zoo_run_spec *s, const char *k, int64_t v);

#endif
