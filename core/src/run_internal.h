/* run_internal.h: rules shared by the run-spec, model and training files (resolved
 * batch sizes). Core sources only; nothing here is part of the public API. */
#ifndef ZOO_RUN_INTERNAL_H
#define ZOO_RUN_INTERNAL_H

#include <stdint.h>

#include "zoo/run.h"

/* Training batch: spec->batch_size, or when 0 the paper's rule by L (docs/training.md):
 * 512 for L <= 128, 256 for L <= 256, 128 for L <= 512, else 64. */
int64_t zoo_run_spec_batch(const zoo_run_spec *s);
/* Evaluation batch: spec->eval_batch_size, or the training batch when 0. */
int64_t zoo_run_spec_eval_batch(const zoo_run_spec *s);

#endif
