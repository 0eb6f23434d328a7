/* live.c: the live status file beside a results file (zoo/live.h): written whole under a
 * temporary name and renamed, read back line by line. Knows nothing of MPI or of the
 * results file itself. */
#define _POSIX_C_SOURCE 200809L
#include "zoo/live.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zoo/error.h"

void zoo_live_path(const char *results, char *out, size_t n) { snprintf(out, n, "%s%s", results, ZOO_LIVE_SUFFIX); }

/* Values are space-separated words on a line: no blank or newline may get into one. */
static void put_word(FILE *f, const char *s)
{
    if (!*s)
        fputc('-', f);
    for (; *s; s++)
        fputc(*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' ? '_' : *s, f);
}

int zoo_live_write(const char *results, const zoo_live *l)
{
    char path[4200], tmp[4300];
    zoo_live_path(results, path, sizeof path);
    /* One writer (the lock holder), so a fixed name: a temporary left by a kill is
     * simply overwritten next time. */
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return ZOO_FAIL(ZOO_ERR_IO, "%s: cannot write the live status: %s", tmp, strerror(errno));
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    fprintf(f, "# live status of the sweep writing %s (zoo status reads it; see docs/results.md)\n", results);
    fprintf(f, "format %s %d\nstate ", ZOO_LIVE_FORMAT, ZOO_LIVE_VERSION);
    put_word(f, l->state);
    fprintf(f, "\npid %lld\nhost ", (long long)l->pid);
    put_word(f, l->host);
    fprintf(f, "\nranks %d\ntrainers %d\nstarted %.3f\nupdated %.3f\nexit_code %d\ncommand ", l->ranks, l->trainers,
            l->started, (double)now.tv_sec + 1e-9 * (double)now.tv_nsec, l->exit_code);
    for (const char *s = l->command; *s; s++)
        fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
    fputc('\n', f);
    for (int64_t i = 0; i < l->n_runs; i++) {
        fprintf(f, "run %lld %d ", (long long)l->runs[i].id, l->runs[i].rank);
        put_word(f, l->runs[i].host);
        fprintf(f, " %.3f\n", l->runs[i].started);
    }
    int bad = ferror(f), why = bad ? errno : 0;
    if (fclose(f) || bad) {
        why = bad ? why : errno; /* the write's reason, before remove() may change errno */
        remove(tmp);
        return ZOO_FAIL(ZOO_ERR_IO, "%s: writing the live status failed: %s", tmp, strerror(why));
    }
    if (rename(tmp, path)) {
        int e = errno;
        remove(tmp);
        return ZOO_FAIL(ZOO_ERR_IO, "renaming %s to %s failed: %s", tmp, path, strerror(e));
    }
    return 0;
}

static void copy_word(char *dst, size_t n, const char *src)
{
    size_t k = strcspn(src, " \t\r\n");
    if (k >= n)
        k = n - 1;
    memcpy(dst, src, k);
    dst[k] = 0;
}

/* One "key value" line into *l: 0, 1 when the value does not parse, or an error code. */
static int parse_line(zoo_live *l, const char *key, const char *v, int64_t *cap)
{
    char *end = NULL;
    if (!strcmp(key, "state"))
        copy_word(l->state, sizeof l->state, v);
    else if (!strcmp(key, "host"))
        copy_word(l->host, sizeof l->host, v);
    else if (!strcmp(key, "command")) {
        snprintf(l->command, sizeof l->command, "%s", v);
        l->command[strcspn(l->command, "\r\n")] = 0;
    } else if (!strcmp(key, "pid"))
        l->pid = strtoll(v, &end, 10);
    else if (!strcmp(key, "ranks"))
        l->ranks = (int32_t)strtol(v, &end, 10);
    else if (!strcmp(key, "trainers"))
        l->trainers = (int32_t)strtol(v, &end, 10);
    else if (!strcmp(key, "exit_code"))
        l->exit_code = (int32_t)strtol(v, &end, 10);
    else if (!strcmp(key, "started"))
        l->started = strtod(v, &end);
    else if (!strcmp(key, "updated"))
        l->updated = strtod(v, &end);
    else if (!strcmp(key, "run")) {
        if (l->n_runs == *cap) {
            int64_t nc = *cap ? 2 * *cap : 16;
            zoo_live_run *nr = realloc(l->runs, (size_t)nc * sizeof *nr);
            if (!nr)
                return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
            l->runs = nr;
            *cap = nc;
        }
        zoo_live_run *r = &l->runs[l->n_runs];
        char host[64];
        long long id;
        int rank;
        if (sscanf(v, "%lld %d %63s %lf", &id, &rank, host, &r->started) != 4)
            return 1;
        r->id = id, r->rank = rank;
        snprintf(r->host, sizeof r->host, "%s", host);
        l->n_runs++;
        return 0;
    }
    return end && (end == v || (*end && *end != '\n' && *end != '\r')) ? 1 : 0;
}

int zoo_live_read(const char *results, zoo_live *l)
{
    memset(l, 0, sizeof *l);
    l->exit_code = -1;
    char path[4200];
    zoo_live_path(results, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        return ZOO_FAIL(ZOO_ERR_IO, "%s: cannot read the live status: %s", path, strerror(errno));
    }
    char *line = NULL;
    size_t cap = 0;
    int64_t rcap = 0;
    int rc = 0, lineno = 0, format = 0;
    while (!rc && getline(&line, &cap, f) >= 0) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char key[32];
        copy_word(key, sizeof key, line);
        const char *v = line + strlen(key);
        v += strspn(v, " \t");
        if (!format) {
            int ver = 0;
            char name[32] = "";
            if (strcmp(key, "format") || sscanf(v, "%31s %d", name, &ver) != 2 || strcmp(name, ZOO_LIVE_FORMAT))
                rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s:%d: not a zoo live status file (no 'format %s' line)", path,
                              lineno, ZOO_LIVE_FORMAT);
            else if (ver != ZOO_LIVE_VERSION)
                rc = ZOO_FAIL(ZOO_ERR_INVALID,
                              "%s:%d: live status version %d; this zoo reads version %d: use a matching zoo", path,
                              lineno, ver, ZOO_LIVE_VERSION);
            format = 1;
            continue;
        }
        int e = parse_line(l, key, v, &rcap);
        if (e == 1)
            rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s:%d: cannot read the value of '%s'", path, lineno, key);
        else if (e)
            rc = e;
    }
    free(line);
    fclose(f);
    if (!rc && (!format || !l->state[0] || l->pid <= 0))
        rc = ZOO_FAIL(ZOO_ERR_INVALID, "%s: incomplete live status (no %s line)", path,
                      !format ? "format" : !l->state[0] ? "state" : "pid");
    if (rc) {
        zoo_live_free(l);
        return rc;
    }
    return 1;
}

void zoo_live_free(zoo_live *l)
{
    free(l->runs);
    l->runs = NULL;
    l->n_runs = 0;
}
