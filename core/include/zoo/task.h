/* zoo/task.h: synthetic recall tasks. MQAR as the Zoology paper defines it (paper-era
 * semantics; docs/task.md). Generation is deterministic for a seed whatever the thread count:
 * every example draws from its own counter-based stream keyed by (seed, index). */
#ifndef ZOO_TASK_H
#define ZOO_TASK_H

#include <stdint.h>
#include "zoo/api.h"

#ifdef __cplusplus
extern "C" {
#endif
ZOO_API_BEGIN

#define ZOO_IGNORE_LABEL (-100)

typedef struct zoo_mqar_spec {
    int64_t vocab;          /* V (paper 8192) */
    int64_t seq_len;        /* L, even */
    int64_t kv_pairs;       /* K */
    int64_t num_examples;
    double power_a;         /* 0.01 */
    int random_non_queries; /* 0 (paper); 1 fills blanks with uniform tokens of [0, V) */
    uint64_t seed;
} zoo_mqar_spec;

/* A dataset of n examples of length L: inputs and labels (n, L) int32, labels -100
 * where unsupervised. */
typedef struct zoo_dataset {
    int64_t n, L, vocab;
    int32_t *inputs;
    int32_t *labels;
} zoo_dataset;

/* Check the hard constraints (L even, V > L, 4K <= L, K <= V/2-1, ...): 0 or
 * ZOO_ERR_INVALID with a message naming the value and the fix. */
int zoo_mqar_check(const zoo_mqar_spec *s);
/* Generate; on success *out owns its arrays (free with zoo_dataset_free). */
int zoo_mqar_generate(const zoo_mqar_spec *s, zoo_dataset *out);
void zoo_dataset_free(zoo_dataset *d); /* accepts NULL and zeroed structs */

ZOO_API_END
#ifdef __cplusplus
}
#endif
#endif
