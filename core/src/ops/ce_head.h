/* ce_head.h: what ce_head.c and its CUDA kernels (backends/cuda/ce_head.cu) must agree
 * on: the label that marks an unsupervised entry, the integer parameter slot, the side
 * output's counts, and the rows of dlogits materialised at once in backward. The
 * workspace starts Hs (M, D) | logits (M, V) on every backend: zoo_ce_head_logits reads
 * the logits there. */
#ifndef ZOO_CE_HEAD_H
#define ZOO_CE_HEAD_H

#include <stdint.h>

#define IGNORE_LABEL (-100)
#define CHUNK_ROWS 512 /* rows of dlogits materialised at once in backward */

/* ip[] slot: M, fixed by the builder. The forward pass writes its counts into the side
 * output (int32): rows computed, valid entries, correct entries, done flag. Kernels
 * never write host metadata, so the counts are read with zoo_tensor_get. A done flag
 * below 0 is -1 - i where i is the first entry whose position or label is out of range:
 * how a forward pass that cannot fail synchronously (CUDA) reports one. */
enum { IP_M = 0 };
enum { ST_ROWS = 0, ST_VALID, ST_CORRECT, ST_DONE, ST_N };

static inline int64_t zoo_ce_chunk_rows(int64_t M) { return M < CHUNK_ROWS ? M : CHUNK_ROWS; }

#endif
