/* test_data_h5.c: dataset files round-trip (data, spec attributes, byte-identical
 * rewrites; a task's knobs and tags), and every read-side check fires with a message
 * naming the file and the fault (bad tokens, shapes, types, missing pieces, not HDF5).
 * Usage: test_data_h5 DIR */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zoo/data_h5.h"
#include "zoo/error.h"
#include "zoo/h5util.h"
#include "zoo/plugin.h"
#include "zoo/task.h"

static int fails;

#define CHECK(cond, ...)                                                                                          \
    do {                                                                                                          \
        if (!(cond)) {                                                                                            \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                                   \
            fprintf(stderr, __VA_ARGS__);                                                                         \
            fprintf(stderr, "\n");                                                                                \
            fails++;                                                                                              \
        }                                                                                                         \
    } while (0)

static char dir[4096];

static const char *in_dir(const char *name)
{
    static char buf[8][4200];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static long file_bytes(const char *p, unsigned char **out)
{
    FILE *f = fopen(p, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    *out = malloc((size_t)n + 1);
    if (fread(*out, 1, (size_t)n, f) != (size_t)n)
        n = -1;
    fclose(f);
    return n;
}

/* No "<name>.tmp.*" left in the directory. */
static int leftover_tmp(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* Reading `path` must fail with `code` and a message containing the path and `needle`. */
static void expect_read_fail(const char *path, int code, const char *needle, const char *what)
{
    zoo_dataset d = {0};
    zoo_error_clear();
    int rc = zoo_data_h5_read(path, &d);
    const char *msg = zoo_error_last()->msg;
    CHECK(rc == code, "%s: read returned %d, expected %d (%s)", what, rc, code, msg);
    CHECK(strstr(msg, path) != NULL, "%s: message '%s' does not name the file", what, msg);
    CHECK(strstr(msg, needle) != NULL, "%s: message '%s' does not mention '%s'", what, msg, needle);
    CHECK(d.inputs == NULL && d.labels == NULL && d.n == 0, "%s: output not empty after failure", what);
    zoo_dataset_free(&d);
}

/* Overwrite one element of dataset `name` in place. */
static void poke(const char *path, const char *name, int64_t row, int64_t col, int32_t v)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    hid_t fs = H5Dget_space(ds);
    hsize_t start[2] = {(hsize_t)row, (hsize_t)col}, one[2] = {1, 1};
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, one, NULL);
    hid_t ms = H5Screate_simple(2, one, NULL);
    if (H5Dwrite(ds, H5T_NATIVE_INT32, ms, fs, H5P_DEFAULT, &v) < 0)
        CHECK(0, "poke %s failed", name);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(ds);
    H5Fclose(f);
}

/* A file from scratch: datasets of the given shapes/types, optional vocab attribute. */
static void make_file(const char *path, hid_t ti, int64_t ni, int64_t li, hid_t tl, int64_t nl, int64_t ll,
                      int64_t vocab, int ndim_inputs)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t di[2] = {(hsize_t)ni, (hsize_t)li}, dl[2] = {(hsize_t)nl, (hsize_t)ll};
    hid_t si = H5Screate_simple(ndim_inputs, di, NULL), sl = H5Screate_simple(2, dl, NULL);
    hid_t a = H5Dcreate2(f, "inputs", ti, si, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t b = H5Dcreate2(f, "labels", tl, sl, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    size_t cells = (size_t)(ni * li > nl * ll ? ni * li : nl * ll);
    double *zeros = calloc(cells, sizeof(double)); /* all-zero of any numeric type */
    H5Dwrite(a, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros);
    H5Dwrite(b, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros);
    free(zeros);
    if (vocab > 0) {
        hid_t sp = H5Screate(H5S_SCALAR);
        hid_t at = H5Acreate2(f, "vocab", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(at, H5T_NATIVE_INT64, &vocab);
        H5Aclose(at);
        H5Sclose(sp);
    }
    H5Dclose(a);
    H5Dclose(b);
    H5Sclose(si);
    H5Sclose(sl);
    H5Fclose(f);
}

static void test_roundtrip(void)
{
    zoo_mqar_spec s = {.vocab = 512, .seq_len = 64, .kv_pairs = 8, .num_examples = 777, .power_a = 0.25,
                       .random_non_queries = 1, .seed = 0xFFFFFFFFFFFFFFF0ull};
    zoo_dataset d = {0}, r = {0};
    CHECK(zoo_mqar_generate(&s, &d) == 0, "generate: %s", zoo_error_last()->msg);
    const char *p = in_dir("rt.h5");
    CHECK(zoo_data_h5_write(p, &d, &s) == 0, "write: %s", zoo_error_last()->msg);
    CHECK(leftover_tmp() == 0, "temporary file left after a successful write");
    CHECK(zoo_data_h5_read(p, &r) == 0, "read: %s", zoo_error_last()->msg);
    CHECK(r.n == d.n && r.L == d.L && r.vocab == d.vocab, "dims (%lld, %lld, V %lld)", (long long)r.n,
          (long long)r.L, (long long)r.vocab);
    CHECK(r.inputs && !memcmp(r.inputs, d.inputs, (size_t)(d.n * d.L) * 4), "inputs differ after round trip");
    CHECK(r.labels && !memcmp(r.labels, d.labels, (size_t)(d.n * d.L) * 4), "labels differ after round trip");
    zoo_mqar_spec q;
    CHECK(zoo_data_h5_read_spec(p, &q) == 0, "read_spec: %s", zoo_error_last()->msg);
    CHECK(q.vocab == s.vocab && q.seq_len == s.seq_len && q.kv_pairs == s.kv_pairs &&
              q.num_examples == s.num_examples && q.power_a == s.power_a && q.random_non_queries == 1 &&
              q.seed == s.seed,
          "spec attributes differ after round trip (seed %llu)", (unsigned long long)q.seed);

    /* Same data, same bytes (no timestamps), so files can be compared with cmp. */
    const char *p2 = in_dir("rt2.h5");
    CHECK(zoo_data_h5_write(p2, &d, &s) == 0, "write 2");
    unsigned char *b1 = NULL, *b2 = NULL;
    long n1 = file_bytes(p, &b1), n2 = file_bytes(p2, &b2);
    CHECK(n1 > 0 && n1 == n2 && !memcmp(b1, b2, (size_t)n1), "rewriting the same data gives different bytes");
    free(b1);
    free(b2);

    /* NULL spec: data plus vocab/shape only; read works, read_spec refuses. */
    const char *p3 = in_dir("nospec.h5");
    CHECK(zoo_data_h5_write(p3, &d, NULL) == 0, "write without spec: %s", zoo_error_last()->msg);
    zoo_dataset_free(&r);
    CHECK(zoo_data_h5_read(p3, &r) == 0 && r.n == d.n, "read without spec: %s", zoo_error_last()->msg);
    CHECK(zoo_data_h5_read_spec(p3, &q) == ZOO_ERR_INVALID && strstr(zoo_error_last()->msg, "task"),
          "read_spec of a spec-less file: %s", zoo_error_last()->msg);

    /* A spec that does not describe the data is refused before anything is written. */
    zoo_mqar_spec wrong = s;
    wrong.seq_len = 128;
    const char *p4 = in_dir("wrong.h5");
    CHECK(zoo_data_h5_write(p4, &d, &wrong) == ZOO_ERR_INVALID && !exists(p4), "mismatched spec accepted");

    /* Unwritable destination: an error naming the path, nothing created. */
    const char *p5 = in_dir("no-such-dir/x.h5");
    zoo_error_clear();
    int rc = zoo_data_h5_write(p5, &d, &s);
    CHECK(rc == ZOO_ERR_IO && strstr(zoo_error_last()->msg, p5), "unwritable path: rc %d, '%s'", rc,
          zoo_error_last()->msg);
    CHECK(!exists(p5), "file created at an unwritable path");

    /* Replacing an existing file: old content stays until the new one is complete. */
    zoo_dataset e = {0};
    zoo_mqar_spec s2 = s;
    s2.seed = 1;
    CHECK(zoo_mqar_generate(&s2, &e) == 0, "generate");
    CHECK(zoo_data_h5_write(p2, &e, &s2) == 0, "overwrite");
    zoo_dataset_free(&r);
    CHECK(zoo_data_h5_read(p2, &r) == 0 && r.inputs && !memcmp(r.inputs, e.inputs, (size_t)(e.n * e.L) * 4),
          "overwritten file does not hold the new data");
    CHECK(leftover_tmp() == 0, "temporary files left behind");
    zoo_dataset_free(&e);
    zoo_dataset_free(&r);
    zoo_dataset_free(&d);
}

static void test_bad_files(void)
{
    zoo_mqar_spec s = {.vocab = 300, .seq_len = 32, .kv_pairs = 4, .num_examples = 20, .power_a = 0.01, .seed = 5};
    zoo_dataset d = {0};
    CHECK(zoo_mqar_generate(&s, &d) == 0, "generate");
    const char *p = in_dir("bad-token.h5");

    CHECK(zoo_data_h5_write(p, &d, &s) == 0, "write");
    poke(p, "inputs", 3, 5, 300);
    expect_read_fail(p, ZOO_ERR_INVALID, "inputs[3, 5] = 300", "input token = vocab");

    CHECK(zoo_data_h5_write(p, &d, &s) == 0, "write");
    poke(p, "inputs", 0, 0, -1);
    expect_read_fail(p, ZOO_ERR_INVALID, "inputs[0, 0] = -1", "negative input token");

    CHECK(zoo_data_h5_write(p, &d, &s) == 0, "write");
    poke(p, "labels", 19, 31, -5);
    expect_read_fail(p, ZOO_ERR_INVALID, "labels[19, 31] = -5", "label neither -100 nor a token");

    CHECK(zoo_data_h5_write(p, &d, &s) == 0, "write");
    poke(p, "labels", 2, 2, 1000);
    expect_read_fail(p, ZOO_ERR_INVALID, "labels[2, 2] = 1000", "label beyond vocab");

    const char *q = in_dir("shapes.h5");
    make_file(q, H5T_STD_I32LE, 4, 8, H5T_STD_I32LE, 4, 9, 100, 2);
    expect_read_fail(q, ZOO_ERR_INVALID, "must match", "inputs/labels shapes differ");
    make_file(q, H5T_STD_I32LE, 4, 8, H5T_STD_I32LE, 4, 8, 0, 2);
    expect_read_fail(q, ZOO_ERR_INVALID, "vocab", "no vocab attribute");
    make_file(q, H5T_IEEE_F32LE, 4, 8, H5T_STD_I32LE, 4, 8, 100, 2);
    expect_read_fail(q, ZOO_ERR_INVALID, "'inputs' is not integer-typed", "float inputs");
    make_file(q, H5T_STD_I32LE, 4, 8, H5T_STD_I32LE, 4, 8, 100, 1);
    expect_read_fail(q, ZOO_ERR_INVALID, "rank 1", "1-D inputs");
    /* 64-bit integers are fine when in range (h5py writes int64 by default). */
    make_file(q, H5T_STD_I64LE, 4, 8, H5T_STD_I64LE, 4, 8, 100, 2);
    zoo_dataset r = {0};
    CHECK(zoo_data_h5_read(q, &r) == 0 && r.n == 4 && r.L == 8 && r.vocab == 100, "int64 file: %s",
          zoo_error_last()->msg);
    zoo_dataset_free(&r);

    /* Attributes that disagree with the datasets. */
    CHECK(zoo_data_h5_write(p, &d, &s) == 0, "write");
    {
        hid_t f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
        int64_t v = 33;
        hid_t a = H5Aopen(f, "seq_len", H5P_DEFAULT);
        H5Awrite(a, H5T_NATIVE_INT64, &v);
        H5Aclose(a);
        H5Fclose(f);
    }
    expect_read_fail(p, ZOO_ERR_INVALID, "seq_len = 33", "seq_len attribute vs shape");

    /* A dataset missing. */
    CHECK(zoo_data_h5_write(p, &d, &s) == 0, "write");
    {
        hid_t f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
        H5Ldelete(f, "labels", H5P_DEFAULT);
        H5Fclose(f);
    }
    expect_read_fail(p, ZOO_ERR_INVALID, "no dataset 'labels'", "labels missing");

    /* Cut short (a copy interrupted, a full disk): says so and how to get a good one. */
    CHECK(zoo_data_h5_write(p, &d, &s) == 0, "write");
    {
        const char *c = in_dir("cut.h5");
        FILE *a = fopen(p, "rb"), *b = fopen(c, "wb");
        char buf[2048];
        size_t n = a ? fread(buf, 1, sizeof buf, a) : 0;
        if (b)
            fwrite(buf, 1, n, b);
        if (a)
            fclose(a);
        if (b)
            fclose(b);
        expect_read_fail(c, ZOO_ERR_IO, "truncated", "truncated file");
        CHECK(strstr(zoo_error_last()->msg, "zoo data mqar") != NULL, "truncated file: no fix in '%s'",
              zoo_error_last()->msg);
    }

    const char *t = in_dir("text.h5");
    FILE *f = fopen(t, "w");
    fputs("not hdf5\n", f);
    fclose(f);
    expect_read_fail(t, ZOO_ERR_IO, "not an HDF5 file", "text file");
    expect_read_fail(in_dir("missing.h5"), ZOO_ERR_IO, "cannot read", "missing file");
    zoo_mqar_spec q2;
    CHECK(zoo_data_h5_read_spec(in_dir("missing.h5"), &q2) == ZOO_ERR_IO, "read_spec of a missing file");
    zoo_dataset_free(&d);
}

/* A task's file: every knob type as its own attribute, the knobs line, seeds and split,
 * tags and their names, and the tags read back; a knob named like a file attribute is
 * refused. The descriptor is only read, never loaded from a file. */
static void test_task_file(void)
{
    static const zoo_hparam knobs[] = {
        {"width", ZOO_HP_INT, "4", "int"},
        {"rate", ZOO_HP_FLOAT, "0.25", "float"},
        {"gated", ZOO_HP_BOOL, "true", "bool"},
        {"kind", ZOO_HP_STRING, "taylor", "string"},
        {"sizes", ZOO_HP_INT_LIST, "[3, -1]", "int list"},
        {NULL, 0, NULL, NULL},
    };
    static const char *const tag_names[] = {"near", "far", "other", NULL};
    zoo_task t = {.hdr = ZOO_TASK_HEADER, .name = "filetask", .family = "test", .hparams = knobs, .tags = tag_names};
    zoo_hvals *h = NULL;
    CHECK(zoo_hvals_new_task(&t, &h) == 0 && zoo_hvals_set(h, "width", "7") == 0, "knobs: %s", zoo_error_last()->msg);
    int32_t x[3 * 4] = {1, 2, 3, 0, 0, 1, 2, 3, 3, 2, 1, 0};
    int32_t y[3 * 4] = {-100, -100, -100, 1, -100, -100, -100, 2, -100, 3, -100, -100};
    int32_t tags[3] = {2, 0, 1};
    zoo_dataset d = {.n = 3, .L = 4, .vocab = 5, .inputs = x, .labels = y, .tags = tags};
    zoo_task_set set = {.vocab = 5, .seq_len = 4, .seed = 17, .task_seed = 7, .split = ZOO_SPLIT_TEST};
    const char *p = in_dir("task.h5");
    CHECK(zoo_data_h5_write_task(p, &d, &t, h, &set) == 0, "write_task: %s", zoo_error_last()->msg);
    zoo_dataset r = {0};
    CHECK(zoo_data_h5_read(p, &r) == 0, "read: %s", zoo_error_last()->msg);
    CHECK(r.tags && !memcmp(r.tags, tags, sizeof tags), "tags read back");
    zoo_dataset_free(&r);
    hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(f >= 0, "open %s", p);
    int64_t i = 0;
    uint64_t u = 0;
    double v = 0;
    char *str = NULL;
    CHECK(zoo_h5_get_i64(f, p, "width", &i) == 1 && i == 7, "width %lld", (long long)i);
    CHECK(zoo_h5_get_f64(f, p, "rate", &v) == 1 && v == 0.25, "rate %g", v);
    CHECK(zoo_h5_get_i64(f, p, "gated", &i) == 1 && i == 1, "gated %lld", (long long)i);
    CHECK(zoo_h5_get_u64(f, p, "seed", &u) == 1 && u == 17, "seed %llu", (unsigned long long)u);
    CHECK(zoo_h5_get_u64(f, p, "task_seed", &u) == 1 && u == 7, "task_seed %llu", (unsigned long long)u);
    struct {
        const char *name, *want;
    } strs[] = {{"task", "filetask"}, {"kind", "taylor"}, {"split", "test"},
                {"knobs", "width=7 rate=0.25 gated=true kind=taylor sizes=[3, -1]"}};
    for (size_t k = 0; k < sizeof strs / sizeof *strs; k++) {
        CHECK(zoo_h5_get_str(f, p, strs[k].name, &str) == 1 && str && !strcmp(str, strs[k].want), "%s = '%s'",
              strs[k].name, str ? str : "(absent)");
        free(str);
        str = NULL;
    }
    hid_t a = H5Aopen(f, "sizes", H5P_DEFAULT), sp = a >= 0 ? H5Aget_space(a) : -1;
    int64_t sizes[2] = {0, 0};
    CHECK(sp >= 0 && H5Sget_simple_extent_npoints(sp) == 2 && H5Aread(a, H5T_NATIVE_INT64, sizes) >= 0 &&
              sizes[0] == 3 && sizes[1] == -1,
          "sizes = [%lld, %lld]", (long long)sizes[0], (long long)sizes[1]);
    if (sp >= 0)
        H5Sclose(sp);
    if (a >= 0)
        H5Aclose(a);
    a = H5Aopen(f, "tag_names", H5P_DEFAULT);
    sp = a >= 0 ? H5Aget_space(a) : -1;
    CHECK(sp >= 0 && H5Sget_simple_extent_npoints(sp) == 3, "tag_names has 3 entries");
    if (sp >= 0)
        H5Sclose(sp);
    if (a >= 0)
        H5Aclose(a);
    H5Fclose(f);
    /* a negative tag is refused on read */
    tags[1] = -1;
    CHECK(zoo_data_h5_write_task(p, &d, &t, h, &set) == 0, "write_task");
    CHECK(zoo_data_h5_read(p, &r) == ZOO_ERR_INVALID && strstr(zoo_error_last()->msg, "tags[1]"),
          "negative tag: %s", zoo_error_last()->msg);
    zoo_dataset_free(&r);
    zoo_hvals_free(h);
    /* a knob that would overwrite the file's own attribute */
    static const zoo_hparam clash[] = {{"seed", ZOO_HP_INT, "1", "clashes"}, {NULL, 0, NULL, NULL}};
    zoo_task tc = {.hdr = ZOO_TASK_HEADER, .name = "clash", .family = "test", .hparams = clash};
    CHECK(zoo_hvals_new_task(&tc, &h) == 0, "clash knobs");
    d.tags = NULL;
    const char *pc = in_dir("clash.h5");
    CHECK(zoo_data_h5_write_task(pc, &d, &tc, h, &set) == ZOO_ERR_INVALID && strstr(zoo_error_last()->msg, "'seed'") &&
              !exists(pc),
          "knob 'seed' accepted: %s", zoo_error_last()->msg);
    zoo_hvals_free(h);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_data_h5 SCRATCH_DIR\n");
        return 2;
    }
    zoo_h5_quiet();
    mkdir(argv[1], 0755);
    snprintf(dir, sizeof dir, "%s/zoo-data-h5-XXXXXX", argv[1]);
    if (!mkdtemp(dir)) {
        perror(dir);
        return 2;
    }
    test_roundtrip();
    test_bad_files();
    test_task_file();
    if (fails) {
        fprintf(stderr, "test_data_h5: %d failure(s); files kept in %s\n", fails, dir);
        return 1;
    }
    /* Clean up the scratch directory only on success. */
    DIR *dd = opendir(dir);
    struct dirent *e;
    while (dd && (e = readdir(dd)))
        if (e->d_name[0] != '.')
            unlink(in_dir(e->d_name));
    if (dd)
        closedir(dd);
    rmdir(dir);
    printf("test_data_h5: ok\n");
    return 0;
}
