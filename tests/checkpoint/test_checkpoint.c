/* test_checkpoint.c: the HDF5 checkpoint format: a bit-exact round trip of every
 * parameter and of the spec, the tied-head link, and each way a file can fail to fit a
 * model (wrong shape, missing or extra dataset, bad head, not a checkpoint, unknown
 * spec key), each a one-line error naming the file and the dataset. Also that a failed
 * save leaves nothing behind. Exit 0 pass, 1 fail. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testlib.h"
#include "zoo/checkpoint.h"
#include "zoo/h5util.h"
#include "zoo/run.h"

#define EMBED "backbone.embeddings.word_embeddings.weight"

static int failures;

#define CHECK(cond, ...)                                                                                              \
    do {                                                                                                              \
        if (!(cond)) {                                                                                                \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                                      \
            fprintf(stderr, __VA_ARGS__);                                                                             \
            fprintf(stderr, "\n");                                                                                    \
            failures++;                                                                                               \
        }                                                                                                             \
    } while (0)

static void make_spec(zoo_run_spec *s, int64_t D, const char *state)
{
    zoo_run_spec_default(s);
    const char *kv[][2] = {{"vocab", "64"},         {"seq_len", "16"},       {"kv_pairs", "2"},
                           {"n_layers", "2"},       {"mixer", "attention"},  {"attention.num_heads", "2"},
                           {"state_mixer", state},  {"train_examples", "8"}, {"test_examples", "4"},
                           {"seed", "11"},          {"lr", "0.00123"},       {"batch_size", "4"}};
    for (size_t i = 0; i < sizeof kv / sizeof *kv; i++)
        if (zoo_run_spec_set(s, kv[i][0], kv[i][1]))
            fprintf(stderr, "setting %s: %s\n", kv[i][0], zoo_error_last()->msg);
    char d[32];
    snprintf(d, sizeof d, "%lld", (long long)D);
    zoo_run_spec_set(s, "d_model", d);
}

/* Expect rc == code and every needle in the last error message, which is one line. */
static void expect_err(int rc, int code, const char *what, const char *n1, const char *n2, const char *n3)
{
    const char *msg = zoo_error_last()->msg;
    CHECK(rc == code, "%s: returned %d (%s), expected %d; message: %s", what, rc, zoo_strerror(rc), code, msg);
    CHECK(!strchr(msg, '\n'), "%s: message has several lines: %s", what, msg);
    const char *needles[] = {n1, n2, n3};
    for (int i = 0; i < 3; i++)
        CHECK(!needles[i] || strstr(msg, needles[i]), "%s: message lacks '%s': %s", what, needles[i], msg);
    if (rc == code)
        printf("ok   %s: %s\n", what, msg);
}

static int copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    int bad = !a || !b;
    char buf[65536];
    size_t n;
    while (!bad && (n = fread(buf, 1, sizeof buf, a)) > 0)
        bad = fwrite(buf, 1, n, b) != n;
    if (a)
        fclose(a);
    if (b && fclose(b))
        bad = 1;
    return bad;
}

/* Open a copy of the checkpoint for tampering. */
static hid_t tamper(const char *src, const char *dst)
{
    if (copy_file(src, dst))
        return H5I_INVALID_HID;
    return H5Fopen(dst, H5F_ACC_RDWR, H5P_DEFAULT);
}

static void add_dataset(hid_t f, const char *name, int nd, const hsize_t *dims)
{
    hid_t sp = H5Screate_simple(nd, dims, NULL);
    hid_t d = H5Dcreate2(f, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t n = 1;
    for (int i = 0; i < nd; i++)
        n *= dims[i];
    float *z = calloc(n, sizeof *z);
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, z);
    free(z);
    H5Dclose(d);
    H5Sclose(sp);
}

static int count_tmp_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return n;
}

int main(void)
{
    zoo_h5_quiet();
    char dir[1024], path[1200], other[1200];
    if (zt_tmpdir(dir, sizeof dir, "ckpt"))
        return 1;
    snprintf(path, sizeof path, "%s/model.h5", dir);

    zoo_run_spec spec;
    make_spec(&spec, 16, "mlp");
    zoo_model *m = NULL;
    if (zt_check_rc(zoo_model_build(&spec, 4, 8, &m), "build"))
        return 1;
    zt_fill_params(m->g, 5, 0.3f); /* values that differ from a fresh init */

    /* ---- round trip ---- */
    CHECK(!zoo_checkpoint_save(m, &spec, path), "save: %s", zoo_error_last()->msg);
    CHECK(count_tmp_files(dir) == 0, "a temporary file was left in %s", dir);
    zoo_run_spec back;
    CHECK(!zoo_checkpoint_read_spec(path, &back), "read_spec: %s", zoo_error_last()->msg);
    char t1[8192], t2[8192], h1[17], h2[17];
    zoo_run_spec_format(&spec, t1, sizeof t1);
    zoo_run_spec_format(&back, t2, sizeof t2);
    CHECK(!strcmp(t1, t2), "spec differs after the round trip:\n%s---\n%s", t1, t2);
    zoo_run_spec_hash(&spec, h1);
    zoo_run_spec_hash(&back, h2);
    CHECK(!strcmp(h1, h2), "spec hash %s != %s", h1, h2);

    zoo_model *m2 = NULL;
    int rc = zoo_checkpoint_load(path, 2, 4, &back, &m2);
    CHECK(!rc && m2, "load: %s", zoo_error_last()->msg);
    if (m2) {
        CHECK(zoo_graph_nparams(m2->g) == zoo_graph_nparams(m->g), "tensor count %d != %d", zoo_graph_nparams(m2->g),
              zoo_graph_nparams(m->g));
        int diff = 0;
        for (int i = 0; i < zoo_graph_nparams(m->g) && i < zoo_graph_nparams(m2->g); i++) {
            zoo_tensor *a = zoo_graph_param(m->g, i), *b = zoo_graph_find_param(m2->g, zoo_tensor_name(a));
            if (!b || zoo_tensor_numel(a) != zoo_tensor_numel(b) ||
                memcmp(zoo_tensor_data(a), zoo_tensor_data(b), (size_t)zoo_tensor_numel(a) * sizeof(float))) {
                fprintf(stderr, "FAIL tensor %s differs after the round trip\n", zoo_tensor_name(a));
                diff++;
            }
        }
        failures += diff;
        if (!diff)
            printf("ok   round trip: %d tensors bit-identical\n", zoo_graph_nparams(m->g));
    }

    /* ---- the file as h5py sees it: names, tied head, attributes ---- */
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(f >= 0, "cannot reopen %s", path);
    if (f >= 0) {
        CHECK(H5Lexists(f, "lm_head.weight", H5P_DEFAULT) > 0, "no lm_head.weight");
        CHECK(H5Lexists(f, "backbone.layers.0.sequence_mixer.Wqkv.weight", H5P_DEFAULT) > 0, "no Wqkv weight");
        /* the same object (a hard link, not a copy), referenced twice */
        hid_t oa = H5Oopen(f, EMBED, H5P_DEFAULT), ob = H5Oopen(f, "lm_head.weight", H5P_DEFAULT);
#if H5_VERSION_GE(1, 12, 0)
        H5O_info2_t a, b;
        int cmp = 1;
        int same = oa >= 0 && ob >= 0 && H5Oget_info3(oa, &a, H5O_INFO_BASIC) >= 0 &&
                   H5Oget_info3(ob, &b, H5O_INFO_BASIC) >= 0 && H5Otoken_cmp(oa, &a.token, &b.token, &cmp) >= 0 &&
                   cmp == 0 && a.rc == 2;
#else
        H5O_info_t a, b;
        int same = oa >= 0 && ob >= 0 && H5Oget_info(oa, &a) >= 0 && H5Oget_info(ob, &b) >= 0 && a.addr == b.addr &&
                   a.rc == 2;
#endif
        CHECK(same, "lm_head.weight is not a hard link to the word embedding");
        if (oa >= 0)
            H5Oclose(oa);
        if (ob >= 0)
            H5Oclose(ob);
        int ver = 0;
        hid_t at = H5Aopen(f, "format_version", H5P_DEFAULT);
        CHECK(at >= 0 && H5Aread(at, H5T_NATIVE_INT, &ver) >= 0 && ver == 1, "format_version %d", ver);
        if (at >= 0)
            H5Aclose(at);
        const char *want[] = {"format", "zoo_version", "zoo_git_rev", "spec_hash", "d_model", "mixer", "mixer.0.num_heads"};
        for (size_t i = 0; i < sizeof want / sizeof *want; i++)
            CHECK(H5Aexists(f, want[i]) > 0, "attribute '%s' missing", want[i]);
        H5Fclose(f);
    }

    /* ---- shapes that do not fit ---- */
    zoo_run_spec wide;
    make_spec(&wide, 32, "mlp");
    zoo_model *mw = NULL;
    if (!zt_check_rc(zoo_model_build(&wide, 2, 4, &mw), "build wide")) {
        rc = zoo_checkpoint_load_into(path, mw);
        expect_err(rc, ZOO_ERR_INVALID, "shape mismatch", path, EMBED, "(64, 16)");
        CHECK(strstr(zoo_error_last()->msg, "(64, 32)") != NULL, "expected shape missing: %s", zoo_error_last()->msg);
        zoo_model_free(mw);
    }
    zoo_run_spec ident;
    make_spec(&ident, 16, "identity");
    zoo_model *mi = NULL;
    if (!zt_check_rc(zoo_model_build(&ident, 2, 4, &mi), "build identity")) {
        rc = zoo_checkpoint_load_into(path, mi);
        expect_err(rc, ZOO_ERR_INVALID, "extra dataset (mlp checkpoint into identity model)", path, "unexpected",
                   "state_mixer.fc");
        zoo_model_free(mi);
    }

    /* ---- tampered copies ---- */
    snprintf(other, sizeof other, "%s/tampered.h5", dir);
    if ((f = tamper(path, other)) >= 0) {
        H5Ldelete(f, "backbone.ln_f.bias", H5P_DEFAULT);
        H5Fclose(f);
        rc = zoo_checkpoint_load_into(other, m);
        expect_err(rc, ZOO_ERR_INVALID, "missing dataset", other, "backbone.ln_f.bias", "(16,)");
    }
    if ((f = tamper(path, other)) >= 0) {
        hsize_t dims[2] = {3, 5};
        add_dataset(f, "backbone.layers.0.extra.weight", 2, dims);
        H5Fclose(f);
        rc = zoo_checkpoint_load_into(other, m);
        expect_err(rc, ZOO_ERR_INVALID, "extra dataset", other, "backbone.layers.0.extra.weight", "(3, 5)");
    }
    if ((f = tamper(path, other)) >= 0) {
        hsize_t dims[2] = {63, 16};
        H5Ldelete(f, "lm_head.weight", H5P_DEFAULT);
        add_dataset(f, "lm_head.weight", 2, dims);
        H5Fclose(f);
        rc = zoo_checkpoint_load_into(other, m);
        expect_err(rc, ZOO_ERR_INVALID, "bad head shape", other, "lm_head.weight", "(63, 16)");
    }
    if ((f = tamper(path, other)) >= 0) {
        hid_t sp = H5Screate(H5S_SCALAR), ty = H5Tcopy(H5T_C_S1);
        H5Tset_size(ty, H5T_VARIABLE);
        const char *v = "3";
        hid_t at = H5Acreate2(f, "d_modle", ty, sp, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(at, ty, &v);
        H5Aclose(at);
        H5Tclose(ty);
        H5Sclose(sp);
        H5Fclose(f);
        rc = zoo_checkpoint_read_spec(other, &back);
        expect_err(rc, ZOO_ERR_INVALID, "unknown spec attribute", other, "d_modle", NULL);
        zoo_model *mx = NULL;
        rc = zoo_checkpoint_load(other, 2, 4, NULL, &mx);
        CHECK(rc == ZOO_ERR_INVALID && !mx, "load with a bad spec attribute returned %d", rc);
    }
    if ((f = tamper(path, other)) >= 0) {
        H5Adelete(f, "format");
        H5Fclose(f);
        rc = zoo_checkpoint_read_spec(other, &back);
        expect_err(rc, ZOO_ERR_INVALID, "no format attribute", other, "not a zoo checkpoint", NULL);
    }

    /* A spec attribute that decides the model's shape, missing: refused naming it (not a
     * shape mismatch against a default-sized model). */
    if ((f = tamper(path, other)) >= 0) {
        H5Adelete(f, "d_model");
        H5Fclose(f);
        rc = zoo_checkpoint_read_spec(other, &back);
        expect_err(rc, ZOO_ERR_INVALID, "no d_model attribute", other, "no 'd_model' attribute", NULL);
        zoo_model *mx = NULL;
        rc = zoo_checkpoint_load(other, 2, 4, NULL, &mx);
        CHECK(rc == ZOO_ERR_INVALID && !mx && strstr(zoo_error_last()->msg, "'d_model'"),
              "load without d_model: %d %s", rc, zoo_error_last()->msg);
    }
    /* Cut short (a copy interrupted, a full disk): says so, names the file and the fix. */
    {
        FILE *src = fopen(path, "rb");
        snprintf(other, sizeof other, "%s/truncated.h5", dir);
        FILE *dst = fopen(other, "wb");
        char buf[4096];
        size_t n = src ? fread(buf, 1, sizeof buf, src) : 0;
        if (dst)
            fwrite(buf, 1, n, dst);
        if (src)
            fclose(src);
        if (dst)
            fclose(dst);
        rc = zoo_checkpoint_read_spec(other, &back);
        expect_err(rc, ZOO_ERR_IO, "truncated file", other, "truncated", "zoo train --save");
    }

    /* ---- files that are not checkpoints ---- */
    snprintf(other, sizeof other, "%s/missing.h5", dir);
    rc = zoo_checkpoint_read_spec(other, &back);
    expect_err(rc, ZOO_ERR_IO, "missing file", other, NULL, NULL);
    snprintf(other, sizeof other, "%s/text.h5", dir);
    FILE *tf = fopen(other, "w");
    if (tf) {
        fputs("not hdf5\n", tf);
        fclose(tf);
    }
    rc = zoo_checkpoint_read_spec(other, &back);
    expect_err(rc, ZOO_ERR_IO, "text file", other, "not an HDF5 file", NULL);

    /* ---- a save that cannot succeed leaves nothing ---- */
    snprintf(other, sizeof other, "%s/no/such/folder/model.h5", dir);
    rc = zoo_checkpoint_save(m, &spec, other);
    CHECK(rc != 0, "save into a missing folder succeeded");
    struct stat st;
    CHECK(stat(other, &st) != 0, "%s exists after a failed save", other);
    CHECK(count_tmp_files(dir) == 0, "temporary files left in %s", dir);

    /* ---- Hyena's shared sine frequency: trained values under every state_dict name ---- */
    zoo_run_spec hs;
    make_spec(&hs, 16, "mlp");
    zoo_run_spec_set(&hs, "mixer", "hyena");
    zoo_model *mh = NULL, *mh2 = NULL;
    if (!zt_check_rc(zoo_model_build(&hs, 2, 4, &mh), "build hyena")) {
        const char *f1 = "backbone.layers.1.sequence_mixer.filter_fn.implicit_filter.1.freq";
        zoo_tensor *fr = zoo_graph_find_param(mh->g, f1);
        CHECK(fr && zoo_tensor_is_trainable(fr), "%s is not a trainable parameter", f1);
        if (fr) {
            float *v = zoo_tensor_data(fr); /* what training would leave: no longer the init */
            for (int64_t i = 0; i < zoo_tensor_numel(fr); i++)
                v[i] = 0.5f + 0.03f * (float)i;
            snprintf(other, sizeof other, "%s/hyena.h5", dir);
            CHECK(!zoo_checkpoint_save(mh, &hs, other), "save hyena: %s", zoo_error_last()->msg);
            hid_t hf = H5Fopen(other, H5F_ACC_RDONLY, H5P_DEFAULT);
            int n_alias = 0;
            for (int k = 3; hf >= 0; k += 2) {
                char nm[256];
                snprintf(nm, sizeof nm, "backbone.layers.1.sequence_mixer.filter_fn.implicit_filter.%d.freq", k);
                if (H5Lexists(hf, nm, H5P_DEFAULT) <= 0)
                    break;
                float got[256] = {0};
                hid_t d = H5Dopen2(hf, nm, H5P_DEFAULT);
                CHECK(d >= 0 && zoo_tensor_numel(fr) <= 256 &&
                          H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, got) >= 0,
                      "reading %s", nm);
                if (d >= 0)
                    H5Dclose(d);
                CHECK(!memcmp(got, v, sizeof(float) * (size_t)zoo_tensor_numel(fr)),
                      "%s does not hold the trained frequency of implicit_filter.1.freq", nm);
                n_alias++;
            }
            if (hf >= 0)
                H5Fclose(hf);
            CHECK(n_alias == 2, "expected implicit_filter.3.freq and .5.freq, found %d", n_alias);
            rc = zoo_checkpoint_load(other, 2, 4, &back, &mh2);
            CHECK(!rc && mh2, "load hyena: %s", zoo_error_last()->msg);
            zoo_tensor *fr2 = mh2 ? zoo_graph_find_param(mh2->g, f1) : NULL;
            CHECK(fr2 && !memcmp(zoo_tensor_data(fr2), v, sizeof(float) * (size_t)zoo_tensor_numel(fr)),
                  "the trained frequency did not survive a hyena round trip");
            if (!failures)
                printf("ok   hyena: trained sine frequency saved under .1, .3 and .5 and loaded back\n");
        }
    }
    zoo_model_free(mh2);
    zoo_model_free(mh);

    zoo_model_free(m2);
    zoo_model_free(m);
    if (failures) {
        fprintf(stderr, "%d failure(s); files kept in %s\n", failures, dir);
        return 1;
    }
    zt_rmtree(dir);
    printf("all checkpoint checks passed\n");
    return 0;
}
