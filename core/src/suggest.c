/* suggest.c: nearest-name suggestions for error messages ("did you mean ...").
 * Plain optimal-string-alignment distance; names are short, so O(|a||b|) is fine. */
#include "suggest.h"

#include <stdlib.h>
#include <string.h>

int zoo_edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 255 || m > 255) /* not a typo of a knob name: report as far apart */
        return (int)(n > m ? n : m);
    /* Three rows of the DP table: previous-previous (for swaps), previous, current. */
    int r0[256], r1[256], r2[256];
    int *pp = r0, *p = r1, *c = r2;
    for (size_t j = 0; j <= m; j++)
        p[j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        c[0] = (int)i;
        for (size_t j = 1; j <= m; j++) {
            int cost = a[i - 1] != b[j - 1];
            int v = p[j] + 1;
            if (c[j - 1] + 1 < v)
                v = c[j - 1] + 1;
            if (p[j - 1] + cost < v)
                v = p[j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            c[j] = v;
        }
        int *t = pp;
        pp = p;
        p = c;
        c = t;
    }
    return p[m];
}

const char *zoo_suggest_nearest(const char *word, const char *const *cands, int n)
{
    if (!word)
        return NULL;
    int limit = (int)strlen(word) / 3;
    if (limit < 2)
        limit = 2;
    const char *best = NULL;
    int bd = limit + 1;
    for (int i = 0; i < n; i++) {
        if (!cands[i])
            continue;
        int d = zoo_edit_distance(word, cands[i]);
        if (d < bd) {
            bd = d;
            best = cands[i];
        }
    }
    return best;
}
