/* zoo/suggest.h: "did you mean" for user-facing messages: one rule for every unknown
 * name (run-spec keys, YAML keys and axes, mixers, knobs), so a typo is treated alike
 * wherever it is made. */
#ifndef ZOO_SUGGEST_H
#define ZOO_SUGGEST_H

#include "zoo/api.h"

#ifdef __cplusplus
extern "C" {
#endif
ZOO_API_BEGIN

/* The candidate nearest to `word` by edit distance (insert, delete, substitute, swap of
 * neighbours; case ignored), or NULL when none is within max(1, strlen(word) / 3) edits:
 * a farther name is more likely a different word than a typo, and a wrong suggestion
 * misleads more than none. Ties go to the earlier candidate; NULL entries are skipped. */
const char *zoo_suggest_nearest(const char *word, const char *const *cands, int n);

ZOO_API_END
#ifdef __cplusplus
}
#endif
#endif
