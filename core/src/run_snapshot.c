/* run_snapshot.c: a run's training state taken out between two steps and put back
 * before the loop starts (docs/training.md, checkpoints): parameters, AdamW moments,
 * position and curves. Files are io's; this is the in-memory side only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "run_internal.h"
#include "zoo/run.h"

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t zoo_run_snapshot_layout(const zoo_model *m)
{
    uint64_t h = 0xcbf29ce484222325ull;
    if (!m || !m->g)
        return h;
    for (int i = 0; i < zoo_graph_nparams(m->g); i++) {
        const zoo_tensor *t = zoo_graph_param(m->g, i);
        const char *name = zoo_tensor_name(t);
        h = fnv(h, name, strlen(name) + 1);
        int32_t kind[3] = {zoo_tensor_ndim(t), zoo_tensor_is_alias(t), zoo_tensor_is_trainable(t)};
        h = fnv(h, kind, sizeof kind);
        for (int d = 0; d < kind[0]; d++) {
            int64_t n = zoo_tensor_dim(t, d);
            h = fnv(h, &n, sizeof n);
        }
    }
    int64_t n = zoo_graph_flat_size(m->g);
    return fnv(h, &n, sizeof n);
}

void zoo_run_snapshot_drop(zoo_run_snapshot *s)
{
    if (!s)
        return;
    free(s->params);
    free(s->adam_m);
    free(s->adam_v);
    s->params = s->adam_m = s->adam_v = NULL;
}

void zoo_run_snapshot_free(zoo_run_snapshot *s)
{
    if (!s)
        return;
    zoo_run_snapshot_drop(s);
    free(s->step_loss);
    free(s->epoch_test_loss);
    free(s->epoch_test_acc);
    free(s->epoch_lr);
    free(s->epoch_train_loss);
    s->step_loss = s->epoch_test_loss = s->epoch_test_acc = s->epoch_lr = s->epoch_train_loss = NULL;
}

int zoo_run_snapshot_take(zoo_run_snapshot *s, zoo_model *m, const zoo_run_result *res, const zoo_run_progress *p)
{
    int64_t n = zoo_graph_flat_size(m->g);
    if (!s->params || s->n_flat != n) {
        zoo_run_snapshot_drop(s);
        size_t bytes = (size_t)(n ? n : 1) * sizeof(float);
        s->params = malloc(bytes), s->adam_m = malloc(bytes), s->adam_v = malloc(bytes);
        if (!s->params || !s->adam_m || !s->adam_v) {
            zoo_run_snapshot_drop(s);
            return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory for a checkpoint of %lld parameter floats", (long long)n);
        }
        s->n_flat = n;
        s->layout = zoo_run_snapshot_layout(m);
    }
    int rc;
    if ((rc = zoo_graph_flat_get(m->g, ZOO_FLAT_PARAMS, s->params, 0, n)) ||
        (rc = zoo_graph_flat_get(m->g, ZOO_FLAT_ADAM_M, s->adam_m, 0, n)) ||
        (rc = zoo_graph_flat_get(m->g, ZOO_FLAT_ADAM_V, s->adam_v, 0, n))) {
        zoo_error_prefix("taking a checkpoint at step %lld: ", (long long)p->step);
        return rc;
    }
    s->epoch = p->epoch;
    s->epoch_step = p->epoch_step;
    s->step = p->step;
    s->epoch_loss_sum = p->lsum;
    s->tokens = p->tokens;
    s->train_s = p->train_s;
    s->wall_s = p->wall_s;
    s->epochs_run = res->epochs_run;
    s->best_acc = res->best_acc;
    s->final_acc = res->final_acc;
    s->final_loss = res->final_loss;
    s->step_loss = res->step_loss;
    s->epoch_test_loss = res->epoch_test_loss;
    s->epoch_test_acc = res->epoch_test_acc;
    s->epoch_lr = res->epoch_lr;
    s->epoch_train_loss = res->epoch_train_loss;
    s->origin = NULL;
    return 0;
}

/* Why r cannot go on in this run, or NULL. */
static const char *misfit(const zoo_run_snapshot *r, zoo_model *m, const zoo_run_spec *spec, int64_t spe, char *why,
                          size_t n)
{
    int64_t nf = zoo_graph_flat_size(m->g);
    if (r->n_flat != nf)
        snprintf(why, n, "it holds %lld parameter floats, this model has %lld", (long long)r->n_flat, (long long)nf);
    else if (r->layout != zoo_run_snapshot_layout(m))
        snprintf(why, n, "its parameters are laid out differently from this model's (another zoo version or plugin)");
    else if (!r->params || !r->adam_m || !r->adam_v)
        snprintf(why, n, "it has no parameters or AdamW moments");
    else if (r->epoch < 0 || r->epoch > spec->epochs || r->epochs_run != r->epoch)
        snprintf(why, n, "it is at epoch %d (%d complete) of a run of %d epochs", r->epoch, r->epochs_run, spec->epochs);
    /* epoch_step == spe: all steps of the epoch done, its evaluation not yet (data parallel) */
    else if (r->epoch_step < 0 || r->epoch_step > spe || (r->epoch == spec->epochs && r->epoch_step))
        snprintf(why, n, "it is at step %lld of an epoch of %lld steps", (long long)r->epoch_step, (long long)spe);
    else if (r->step != (int64_t)r->epoch * spe + r->epoch_step)
        snprintf(why, n, "its step %lld is not epoch %d x %lld steps + %lld", (long long)r->step, r->epoch,
                 (long long)spe, (long long)r->epoch_step);
    else if ((r->step && !r->step_loss) ||
             (r->epoch && (!r->epoch_test_loss || !r->epoch_test_acc || !r->epoch_lr || !r->epoch_train_loss)))
        snprintf(why, n, "its curves are missing");
    else if (!isfinite(r->epoch_loss_sum) || r->tokens < 0)
        snprintf(why, n, "its epoch loss sum (%g) or token count (%lld) is not valid", r->epoch_loss_sum,
                 (long long)r->tokens);
    else
        return NULL;
    return why;
}

int zoo_run_snapshot_apply(const zoo_run_snapshot *r, zoo_model *m, const zoo_run_spec *spec, int64_t steps_per_epoch,
                           zoo_run_result *res, zoo_run_progress *p)
{
    char why[256];
    if (misfit(r, m, spec, steps_per_epoch, why, sizeof why))
        return ZOO_FAIL(ZOO_ERR_INVALID, "%s: refused, %s; training from step 0", r->origin ? r->origin : "the resume state",
                        why);
    int64_t n = r->n_flat;
    int rc;
    if ((rc = zoo_graph_flat_set(m->g, ZOO_FLAT_PARAMS, r->params, 0, n)) ||
        (rc = zoo_graph_flat_set(m->g, ZOO_FLAT_ADAM_M, r->adam_m, 0, n)) ||
        (rc = zoo_graph_flat_set(m->g, ZOO_FLAT_ADAM_V, r->adam_v, 0, n))) {
        zoo_error_prefix("restoring %s: ", r->origin ? r->origin : "the resume state");
        return rc;
    }
    if (r->step)
        memcpy(res->step_loss, r->step_loss, (size_t)r->step * sizeof(float));
    if (r->epoch) {
        size_t b = (size_t)r->epoch * sizeof(float);
        memcpy(res->epoch_test_loss, r->epoch_test_loss, b);
        memcpy(res->epoch_test_acc, r->epoch_test_acc, b);
        memcpy(res->epoch_lr, r->epoch_lr, b);
        memcpy(res->epoch_train_loss, r->epoch_train_loss, b);
    }
    res->n_steps = r->step;
    res->n_epochs = res->epochs_run = r->epoch;
    res->best_acc = r->best_acc;
    res->final_acc = r->final_acc;
    res->final_loss = r->final_loss;
    *p = (zoo_run_progress){r->epoch, r->epoch_step, r->step, r->epoch_loss_sum, r->tokens, r->train_s, r->wall_s};
    return 0;
}
