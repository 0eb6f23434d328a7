/* fuzz_data_h5.c: zoo_data_h5_read and zoo_data_h5_read_spec on data files built from
 * the layout `zoo data` writes, edited by the input (h5build.h). Besides crashes and
 * leaks, a file the reader accepts must hold what its contract promises. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "h5build.h"
#include "zoo/data_h5.h"
#include "zoo/error.h"

static const char *const names[] = {"inputs", "labels", "task", "vocab", "seq_len", "num_examples", "kv_pairs",
                                    "power_a", "random_non_queries", "seed", "zoo_version", "/inputs", "g/inputs",
                                    NULL};

/* The layout zoo_data_h5_write makes for 4 examples of length 8, vocab 16. */
static void default_layout(h5b *b)
{
    memset(b, 0, sizeof *b);
    for (int k = 0; k < 2; k++) {
        h5b_obj *d = h5b_add(b, H5B_DATASET, k ? "labels" : "inputs", -1);
        d->type = H5B_I32;
        d->rank = 2;
        d->dims[0] = 4;
        d->dims[1] = 8;
        d->chunked = 1;
        d->base = 0;
        d->step = k ? 5 : 3;
        d->mod = 16;
    }
    h5b_str_attr(b, -1, "task", H5B_STR_VLEN, "mqar");
    h5b_num_attr(b, -1, "vocab", H5B_I64, 16);
    h5b_num_attr(b, -1, "seq_len", H5B_I64, 8);
    h5b_num_attr(b, -1, "num_examples", H5B_I64, 4);
    h5b_str_attr(b, -1, "zoo_version", H5B_STR_VLEN, "0.1.0");
    h5b_num_attr(b, -1, "kv_pairs", H5B_I64, 2);
    h5b_float_attr(b, -1, "power_a", 0.01);
    h5b_num_attr(b, -1, "random_non_queries", H5B_I64, 1);
    h5b_num_attr(b, -1, "seed", H5B_U64, 7);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static h5b b;
    default_layout(&b);
    fz f = {data, size};
    h5b_mutate(&b, &f, names);
    const char *path = fz_tmpfile("data.h5");
    if (h5b_write(&b, path)) { /* HDF5 refused the layout: nothing to read */
        unlink(path);
        return 0;
    }
    zoo_error_clear();
    zoo_dataset d;
    int rc = zoo_data_h5_read(path, &d);
    fz_report("zoo_data_h5_read", rc);
    if (rc == 0) {
        /* The reader's promise: shapes >= 1, vocab >= 1, every token and label in range. */
        if (d.n < 1 || d.L < 1 || d.vocab < 1 || !d.inputs || !d.labels)
            fz_die("zoo_data_h5_read accepted an empty dataset (%lld x %lld, vocab %lld)", (long long)d.n,
                   (long long)d.L, (long long)d.vocab);
        for (int64_t i = 0; i < d.n * d.L; i++)
            if (d.inputs[i] < 0 || d.inputs[i] >= d.vocab ||
                (d.labels[i] != ZOO_IGNORE_LABEL && (d.labels[i] < 0 || d.labels[i] >= d.vocab)))
                fz_die("zoo_data_h5_read accepted token %lld out of range", (long long)i);
        zoo_dataset_free(&d);
    } else if (d.inputs || d.labels || d.n) {
        fz_die("zoo_data_h5_read failed (%d) but left data in its output", rc);
    } else if (!zoo_error_last()->msg[0]) {
        fz_die("zoo_data_h5_read failed (%d) without a message", rc);
    }
    zoo_mqar_spec spec;
    fz_report("zoo_data_h5_read_spec", zoo_data_h5_read_spec(path, &spec));
    unlink(path);
    zoo_error_clear();
    return 0;
}
