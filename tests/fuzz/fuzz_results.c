/* fuzz_results.c: zoo_results_open on results files built from the layout a sweep
 * writes (schema attributes, the /summary table of run rows as a compound, /sessions,
 * /runs/<id> groups), edited by the input (h5build.h): rows, members, types and
 * shapes included. A file the reader accepts must give rows with ids 0..n-1 and
 * NUL-terminated strings, which the sweep driver and `zoo merge` rely on. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "h5build.h"
#include "zoo/error.h"
#include "zoo/results.h"

static const char *const names[] = {"schema", "schema_version", "sweep_text", "created", "updated", "/summary",
                                    "/sessions", "/runs", "/runs/000000", "/runs/000001", "backend", "id", "hash",
                                    "status", "mixer", "family", "host", "message", "device", "tf32", "summary",
                                    "ranks", "hosts", NULL};

/* The /summary row of schema version 3 (docs/results.md), member by member. */
static const struct {
    const char *name;
    h5b_type type;
    int strsize;
} row_members[] = {
    {"id", H5B_I64, 0},          {"hash", H5B_STR_FIXED, 17},        {"status", H5B_STR_FIXED, 16},
    {"mixer", H5B_STR_FIXED, 128}, {"family", H5B_STR_FIXED, 32},    {"layer_mixers", H5B_STR_FIXED, 256},
    {"d_model", H5B_I64, 0},     {"n_layers", H5B_I32, 0},           {"seq_len", H5B_I64, 0},
    {"kv_pairs", H5B_I64, 0},    {"vocab", H5B_I64, 0},              {"batch_size", H5B_I64, 0},
    {"train_examples", H5B_I64, 0}, {"lr", H5B_F64, 0},              {"seed", H5B_U64, 0},
    {"data_seed", H5B_U64, 0},   {"epochs", H5B_I32, 0},             {"params", H5B_I64, 0},
    {"state_size", H5B_F64, 0},  {"flops_per_step", H5B_F64, 0},     {"final_acc", H5B_F64, 0},
    {"best_acc", H5B_F64, 0},    {"final_loss", H5B_F64, 0},         {"epochs_run", H5B_I32, 0},
    {"steps_run", H5B_I64, 0},   {"tokens_per_s", H5B_F64, 0},       {"wall_s", H5B_F64, 0},
    {"peak_bytes", H5B_I64, 0},  {"mem_params_bytes", H5B_I64, 0},   {"mem_grads_bytes", H5B_I64, 0},
    {"mem_optimizer_bytes", H5B_I64, 0}, {"mem_activations_bytes", H5B_I64, 0},
    {"mem_act_grads_bytes", H5B_I64, 0}, {"mem_workspace_bytes", H5B_I64, 0}, {"rank", H5B_I32, 0},
    {"host", H5B_STR_FIXED, 64}, {"crashes", H5B_I32, 0},            {"finished_unix", H5B_F64, 0},
    {"message", H5B_STR_FIXED, 256}, {"backend", H5B_STR_FIXED, 16}, {"device", H5B_STR_FIXED, 256},
    {"tf32", H5B_I32, 0},        {"ranks", H5B_I32, 0},              {"hosts", H5B_STR_FIXED, 256},
};

static void default_layout(h5b *b)
{
    memset(b, 0, sizeof *b);
    b->crt_order = 1;
    h5b_str_attr(b, -1, "schema", H5B_STR_FIXED, ZOO_RESULTS_SCHEMA);
    h5b_num_attr(b, -1, "schema_version", H5B_I64, ZOO_RESULTS_SCHEMA_VERSION);
    h5b_str_attr(b, -1, "sweep_text", H5B_STR_FIXED, "task: {seq_len: 64}\nmodel: {mixer: attention}\n");
    h5b_str_attr(b, -1, "created", H5B_STR_FIXED, "2026-01-31T12:00:00Z");
    h5b_obj *s = h5b_add(b, H5B_DATASET, "/summary", -1);
    s->type = H5B_COMPOUND;
    s->rank = 1;
    s->dims[0] = 3;
    s->chunked = 1;
    snprintf(s->sval, sizeof s->sval, "ok");
    for (size_t i = 0; i < sizeof row_members / sizeof row_members[0]; i++) {
        h5b_member *m = &s->members[s->n_members++];
        snprintf(m->name, sizeof m->name, "%s", row_members[i].name);
        m->type = row_members[i].type;
        m->strsize = row_members[i].strsize;
    }
    h5b_obj *ss = h5b_add(b, H5B_DATASET, "/sessions", -1);
    ss->type = H5B_COMPOUND;
    ss->rank = 1;
    ss->dims[0] = 1;
    ss->chunked = 1;
    static const struct {
        const char *name;
        h5b_type type;
        int strsize;
    } sess[] = {{"started", H5B_STR_FIXED, 32}, {"finished", H5B_STR_FIXED, 32}, {"ranks", H5B_I32, 0},
                {"hosts", H5B_STR_FIXED, 512}, {"command", H5B_STR_FIXED, 512}, {"exit_code", H5B_I32, 0},
                {"runs_recorded", H5B_I64, 0}};
    for (size_t i = 0; i < sizeof sess / sizeof sess[0]; i++) {
        h5b_member *m = &ss->members[ss->n_members++];
        snprintf(m->name, sizeof m->name, "%s", sess[i].name);
        m->type = sess[i].type;
        m->strsize = sess[i].strsize;
    }
    int g = b->n; /* the group added next */
    h5b_add(b, H5B_GROUP, "/runs/000000", -1);
    h5b_str_attr(b, g, "backend", H5B_STR_FIXED, "cpu");
    h5b_str_attr(b, g, "status", H5B_STR_FIXED, "ok");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static h5b b;
    default_layout(&b);
    fz f = {data, size};
    h5b_mutate(&b, &f, names);
    const char *path = fz_tmpfile("results.h5");
    if (h5b_write(&b, path)) { /* HDF5 refused the layout: nothing to read */
        unlink(path);
        return 0;
    }
    zoo_results *r = NULL;
    int rc = zoo_results_open(path, &r);
    fz_report("zoo_results_open", rc);
    if (rc == 0) {
        int64_t n = -1;
        const zoo_results_row *rows = zoo_results_rows(r, &n);
        if (n < 0 || (n && !rows))
            fz_die("zoo_results_open accepted a file but gives %lld rows", (long long)n);
        for (int64_t i = 0; i < n; i++) {
            const zoo_results_row *x = &rows[i];
            if (x->id != i)
                fz_die("row %lld has id %lld", (long long)i, (long long)x->id);
#define TERMINATED(field)                                                                                            \
    if (strnlen(x->field, sizeof x->field) == sizeof x->field)                                                      \
        fz_die("row %lld: column " #field " is not NUL-terminated", (long long)i);
            TERMINATED(hash)
            TERMINATED(status)
            TERMINATED(mixer)
            TERMINATED(family)
            TERMINATED(layer_mixers)
            TERMINATED(host)
            TERMINATED(message)
            TERMINATED(backend)
            TERMINATED(device)
#undef TERMINATED
        }
        const char *text = zoo_results_sweep_text(r);
        if (!text)
            fz_die("zoo_results_sweep_text gave NULL");
        zoo_results_close(r);
    } else if (r) {
        fz_die("zoo_results_open failed but handed back a file");
    }
    unlink(path);
    zoo_error_clear();
    return 0;
}
