/* fuzz_checkpoint.c: zoo_checkpoint_read_spec and zoo_checkpoint_load_into on
 * checkpoints built from the layout zoo_checkpoint_save writes for a small attention
 * model (every parameter as a float32 dataset, lm_head.weight a hard link to the
 * embedding, the run spec as string attributes in creation order), edited by the
 * input (h5build.h). The model is built once; loading only overwrites its values. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "h5build.h"
#include "zoo/checkpoint.h"
#include "zoo/error.h"
#include "zoo/run.h"

static zoo_model *model;
static zoo_run_spec spec0;
static char spec_text[8192];
static const char *names[64];

void fz_setup(void)
{
    zoo_run_spec_default(&spec0);
    static const char *const set[][2] = {{"vocab", "16"},  {"seq_len", "8"},        {"kv_pairs", "2"},
                                         {"d_model", "8"}, {"n_layers", "1"},       {"mixer", "attention"},
                                         {"threads", "1"}, {"train_examples", "8"}, {"test_examples", "8"}};
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
        if (zoo_run_spec_set(&spec0, set[i][0], set[i][1]))
            fz_die("setting %s: %s", set[i][0], zoo_error_last()->msg);
    spec0.backend = ZOO_BACKEND_CPU;
    if (zoo_model_build(&spec0, 1, 2, &model))
        fz_die("building the model: %s", zoo_error_last()->msg);
    if (zoo_run_spec_format(&spec0, spec_text, sizeof spec_text))
        fz_die("formatting the spec: %s", zoo_error_last()->msg);
    int n = 0;
    static const char *const extra[] = {"format", "format_version", "zoo_version", "spec_hash", "lm_head.weight",
                                        "mixer", "mixer.0.num_heads", "attention.num_heads", "d_model", "vocab"};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        names[n++] = extra[i];
    for (int i = 0; i < zoo_graph_nparams(model->g) && n < 63; i++)
        names[n++] = zoo_tensor_name(zoo_graph_param(model->g, i));
    names[n] = NULL;
}

static void default_layout(h5b *b)
{
    memset(b, 0, sizeof *b);
    b->crt_order = 1;
    zoo_graph *g = model->g;
    for (int i = 0; i < zoo_graph_nparams(g); i++) {
        zoo_tensor *t = zoo_graph_param(g, i);
        h5b_obj *d = h5b_add(b, H5B_DATASET, zoo_tensor_name(t), -1);
        if (!d)
            break;
        d->type = H5B_F32;
        d->rank = zoo_tensor_ndim(t);
        for (int k = 0; k < d->rank && k < H5B_MAX_RANK; k++)
            d->dims[k] = (hsize_t)zoo_tensor_dim(t, k);
        d->fbase = 0.01 * i;
        d->fstep = 0.001;
    }
    h5b_obj *head = h5b_add(b, H5B_HARDLINK, "lm_head.weight", -1);
    if (head && model->embed)
        snprintf(head->target, sizeof head->target, "%s", zoo_tensor_name(model->embed));
    /* The spec, one string attribute per "key=value" line, in the order written. */
    char text[sizeof spec_text];
    memcpy(text, spec_text, sizeof text);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = 0;
        h5b_str_attr(b, -1, line, H5B_STR_VLEN, eq + 1);
    }
    h5b_str_attr(b, -1, "format", H5B_STR_VLEN, ZOO_CHECKPOINT_FORMAT);
    h5b_num_attr(b, -1, "format_version", H5B_I32, ZOO_CHECKPOINT_VERSION);
    h5b_str_attr(b, -1, "zoo_version", H5B_STR_VLEN, "0.1.0");
    h5b_str_attr(b, -1, "zoo_git_rev", H5B_STR_VLEN, "fuzz");
    h5b_str_attr(b, -1, "spec_hash", H5B_STR_VLEN, "0123456789abcdef");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static h5b b;
    default_layout(&b);
    fz f = {data, size};
    h5b_mutate(&b, &f, names);
    const char *path = fz_tmpfile("ckpt.h5");
    if (h5b_write(&b, path)) { /* HDF5 refused the layout: nothing to read */
        unlink(path);
        return 0;
    }
    zoo_run_spec spec;
    int rc = zoo_checkpoint_read_spec(path, &spec);
    fz_report("zoo_checkpoint_read_spec", rc);
    if (rc == 0) {
        /* What the reader hands back is a spec zoo_run_spec_set accepted field by field:
         * it formats and hashes. */
        char buf[8192], hash[17];
        zoo_run_spec_format(&spec, buf, sizeof buf);
        zoo_run_spec_hash(&spec, hash);
        zoo_run_spec_check(&spec);
    }
    fz_report("zoo_checkpoint_load_into", zoo_checkpoint_load_into(path, model));
    unlink(path);
    zoo_error_clear();
    return 0;
}
