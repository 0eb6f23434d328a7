/* suggest.c: nearest-name suggestions for error messages ("did you mean ..."), the one
 * rule zoo/suggest.h states. Optimal-string-alignment distance; names are short, so
 * O(|a||b|) is fine. */
#include "zoo/suggest.h"

#include <ctype.h>
#include <string.h>

#define MAX_NAME 255 /* longer words are not typos of a name: reported as far apart */

static int edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > MAX_NAME || m > MAX_NAME)
        return (int)(n > m ? n : m);
    /* Three rows of the table: previous-previous (for swaps), previous, current. */
    int r0[MAX_NAME + 1], r1[MAX_NAME + 1], r2[MAX_NAME + 1];
    int *pp = r0, *p = r1, *c = r2;
    for (size_t j = 0; j <= m; j++)
        p[j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        c[0] = (int)i;
        for (size_t j = 1; j <= m; j++) {
            int ai = tolower((unsigned char)a[i - 1]), bj = tolower((unsigned char)b[j - 1]);
            int v = p[j] + 1;
            if (c[j - 1] + 1 < v)
                v = c[j - 1] + 1;
            if (p[j - 1] + (ai != bj) < v)
                v = p[j - 1] + (ai != bj);
            if (i > 1 && j > 1 && ai == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == bj && pp[j - 2] + 1 < v)
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
    if (!word || !cands)
        return NULL;
    int limit = (int)strlen(word) / 3;
    if (limit < 1)
        limit = 1;
    const char *best = NULL;
    int bd = limit + 1;
    for (int i = 0; i < n; i++) {
        if (!cands[i])
            continue;
        int d = edit_distance(word, cands[i]);
        if (d < bd) {
            bd = d;
            best = cands[i];
        }
    }
    return best;
}
