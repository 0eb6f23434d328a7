/* run_ckpt.c: the checkpoint file of one run, for `zoo train --checkpoint` and the sweep's
 * children (run_ckpt.h). The state itself is zoo_run's (zoo_run_hooks), the file io's. */
#define _POSIX_C_SOURCE 200809L
#include "run_ckpt.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zoo/checkpoint.h"
#include "zoo/error.h"

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void run_ckpt_open(run_ckpt *c, const char *path, const zoo_run_spec *spec, double every_s, const char *who)
{
    memset(c, 0, sizeof *c);
    c->path = path;
    c->spec = spec;
    c->who = who;
    c->every_s = every_s > 0 ? every_s : 0;
    c->last = mono_s();
    c->saved_step = -1;
    if (!path || access(path, F_OK) != 0)
        return;
    if (zoo_checkpoint_load_state(path, spec, &c->state) == 0)
        c->loaded = 1;
    else
        fprintf(stderr, "%s: %s; training from step 0\n", who, zoo_error_last()->msg);
}

static int due(void *ud)
{
    run_ckpt *c = ud;
    return !c->broken && c->every_s > 0 && mono_s() - c->last >= c->every_s;
}

static int save(const zoo_run_snapshot *s, void *ud)
{
    run_ckpt *c = ud;
    c->last = mono_s();
    if (c->reader_only || c->broken || s->step == c->saved_step) /* nothing new since the last one */
        return 0;
    if (zoo_checkpoint_save_state(s, c->spec, c->path)) {
        /* A checkpoint only saves time: the run goes on without them. */
        fprintf(stderr, "%s: %s; training on without checkpoints\n", c->who, zoo_error_last()->msg);
        c->broken = 1;
        return 0;
    }
    c->saved_step = s->step;
    return 0;
}

static void on_resume(const zoo_run_snapshot *s, int refused, const char *why, void *ud)
{
    run_ckpt *c = ud;
    if (refused) {
        if (!c->reader_only)
            fprintf(stderr, "%s: %s\n", c->who, why);
        return;
    }
    c->resumed = 1;
    c->saved_step = s->step;
    if (c->reader_only)
        return;
    fprintf(stderr, "%s: resuming from epoch %d step %lld (step %lld of the run) of %s\n", c->who, s->epoch + 1,
            (long long)s->epoch_step, (long long)s->step, c->path);
}

void run_ckpt_hooks(run_ckpt *c, zoo_run_hooks *h)
{
    if (!c->path)
        return;
    h->checkpoint_due = due;
    h->save = save;
    h->on_resume = on_resume;
    h->resume = c->loaded ? &c->state : NULL;
}

void run_ckpt_close(run_ckpt *c, int finished, int keep)
{
    if (c->path && finished && !keep && !c->reader_only)
        unlink(c->path);
    if (c->loaded)
        zoo_run_snapshot_free(&c->state);
    c->loaded = 0;
}
