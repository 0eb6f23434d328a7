/* suggest.h: "did you mean" for user-facing messages (unknown knob, unknown mixer).
 * Core-internal; plugins never see it. */
#ifndef ZOO_SUGGEST_H
#define ZOO_SUGGEST_H

/* Edit distance (insert, delete, substitute, swap of neighbours) between a and b. */
int zoo_edit_distance(const char *a, const char *b);
/* The candidate nearest to `word`, or NULL when none is close enough to be a likely
 * typo (distance above max(2, strlen(word)/3)). Ties go to the earlier candidate. */
const char *zoo_suggest_nearest(const char *word, const char *const *cands, int n);

#endif
