/* test_segments.c: data segments (docs/tasks.md, segments). The sets a segmented spec
 * makes (each segment its own examples at its own length, padded to the run's), the
 * epoch's batches (a permutation; no batch mixes segments; the plain set cut in order),
 * a whole run (steps per epoch, one figure per test segment, the overall accuracy their
 * token-weighted mean) and the refusals, each naming the segment. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "zoo/error.h"
#include "zoo/run.h"

static void set_ok(zoo_run_spec *s, const char *k, const char *v)
{
    int rc = zoo_run_spec_set(s, k, v);
    ZT_CHECK(rc == 0, "set %s=%s: %s", k, v, zoo_error_last()->msg);
}

static zoo_run_spec spec_of(const char *segments)
{
    zoo_run_spec s;
    zoo_run_spec_default(&s);
    set_ok(&s, "vocab", "256");
    set_ok(&s, "seq_len", "64");
    set_ok(&s, "d_model", "16");
    set_ok(&s, "batch_size", "16");
    set_ok(&s, "train_examples", "40");
    set_ok(&s, "test_examples", "24");
    set_ok(&s, "epochs", "2");
    set_ok(&s, "segments", segments);
    return s;
}

static int64_t labels_in(const zoo_dataset *d, int64_t r, int64_t from, int64_t to)
{
    int64_t c = 0;
    for (int64_t t = from; t < to; t++)
        c += d->labels[r * d->L + t] != ZOO_IGNORE_LABEL;
    return c;
}

static void test_data(void)
{
    zoo_run_spec s = spec_of("train seq_len=32 examples=30 kv_pairs=2; train examples=50 kv_pairs=8; "
                             "test seq_len=32 kv_pairs=2; test seq_len=32 kv_pairs=2; test kv_pairs=16");
    ZT_CHECK(zoo_run_spec_check(&s) == 0, "check: %s", zoo_error_last()->msg);
    zoo_dataset tr, te;
    ZT_CHECK(zoo_run_spec_data(&s, ZOO_SPLIT_TRAIN, &tr) == 0, "train data: %s", zoo_error_last()->msg);
    ZT_CHECK(zoo_run_spec_data(&s, ZOO_SPLIT_TEST, &te) == 0, "test data: %s", zoo_error_last()->msg);
    ZT_CHECK(tr.n == 80 && tr.L == 64 && tr.n_segments == 2 && tr.seg_start[1] == 30 && tr.seg_start[2] == 80,
             "train segments: n %lld, %d segments", (long long)tr.n, tr.n_segments);
    ZT_CHECK(te.n == 72 && te.n_segments == 3 && te.seg_start[1] == 24 && te.seg_start[2] == 48,
             "test segments: n %lld (the run's test_examples each)", (long long)te.n);
    /* Each row has its segment's K labels, all inside its own length; the padding is blank. */
    const int64_t K[2] = {2, 8}, L[2] = {32, 64};
    int bad = 0;
    for (int i = 0; i < 2; i++)
        for (int64_t r = tr.seg_start[i]; r < tr.seg_start[i + 1]; r++) {
            bad += labels_in(&tr, r, 0, L[i]) != K[i] || labels_in(&tr, r, L[i], 64) != 0;
            for (int64_t t = L[i]; t < 64; t++)
                bad += tr.inputs[r * 64 + t] != 0;
        }
    ZT_CHECK(!bad, "%d rows with the wrong labels or padding", bad);
    /* Two test segments of the same settings are different examples (their own seeds). */
    ZT_CHECK(memcmp(te.inputs, te.inputs + 24 * 64, 24 * 64 * sizeof(int32_t)) != 0,
             "test segments 0 and 1 hold the same examples");
    /* A split without segments is the run's own set, as without any. */
    zoo_run_spec t = spec_of("test kv_pairs=8"), plain = spec_of("none");
    zoo_dataset a, b;
    ZT_CHECK(zoo_run_spec_data(&t, ZOO_SPLIT_TRAIN, &a) == 0 && zoo_run_spec_data(&plain, ZOO_SPLIT_TRAIN, &b) == 0,
             "plain train sets");
    ZT_CHECK(a.n == b.n && !a.n_segments && !memcmp(a.inputs, b.inputs, (size_t)(a.n * a.L) * sizeof(int32_t)),
             "a run with only test segments trains on the run's own set");
    zoo_dataset_free(&a), zoo_dataset_free(&b);

    /* Batches: a permutation, none across segments, keyed by (seed, epoch). */
    const int64_t B = 16, nb = zoo_epoch_steps(&tr, B);
    ZT_CHECK(nb == 2 + 4, "steps per epoch %lld, want ceil(30/16) + ceil(50/16) = 6", (long long)nb);
    int64_t *order = malloc(80 * sizeof *order), *o2 = malloc(80 * sizeof *o2);
    int64_t bf[6], bc[6], bf2[6], bc2[6];
    ZT_CHECK(zoo_epoch_batches(&tr, B, 123, 0, order, bf, bc) == 0, "batches");
    int seen[80] = {0}, mixed = 0, at = 0, shorts = 0;
    for (int64_t st = 0; st < nb; st++) {
        ZT_CHECK(bf[st] == at, "batch %lld starts at %lld, want %d", (long long)st, (long long)bf[st], at);
        int seg = order[bf[st]] >= 30;
        for (int64_t k = 0; k < bc[st]; k++) {
            seen[order[bf[st] + k]]++;
            mixed += (order[bf[st] + k] >= 30) != seg;
        }
        shorts += bc[st] < B;
        at += (int)bc[st];
    }
    int perm = at == 80;
    for (int r = 0; r < 80; r++)
        perm &= seen[r] == 1;
    ZT_CHECK(perm && !mixed && shorts == 2, "order: permutation %d, %d mixed rows, %d short batches", perm, mixed,
             shorts);
    ZT_CHECK(zoo_epoch_batches(&tr, B, 123, 0, o2, bf2, bc2) == 0 && !memcmp(order, o2, 80 * sizeof *order) &&
                 !memcmp(bc, bc2, sizeof bc),
             "the same (seed, epoch) gives another order");
    ZT_CHECK(zoo_epoch_batches(&tr, B, 123, 1, o2, bf2, bc2) == 0 && memcmp(order, o2, 80 * sizeof *order),
             "epoch 1 has epoch 0's order");
    /* One set: cut in order, batches of B and a short last one. */
    zoo_dataset one = tr;
    one.n_segments = 0;
    one.seg_start = NULL;
    int64_t bf1[5], bc1[5];
    ZT_CHECK(zoo_epoch_steps(&one, B) == 5 && zoo_epoch_batches(&one, B, 123, 0, order, bf1, bc1) == 0 &&
                 bf1[4] == 64 && bc1[4] == 16 && bf1[1] == 16,
             "a set of one piece is cut in order");
    free(order), free(o2);
    zoo_dataset_free(&tr), zoo_dataset_free(&te);
}

static void test_run(void)
{
    zoo_run_spec s = spec_of("train seq_len=32 examples=30 kv_pairs=2; train examples=20 kv_pairs=4; "
                             "test seq_len=32 examples=24 kv_pairs=2; test examples=8 kv_pairs=8");
    zoo_run_result res;
    int rc = zoo_run(&s, NULL, &res, NULL);
    ZT_CHECK(rc == 0, "run: %s", res.message[0] ? res.message : zoo_error_last()->msg);
    ZT_CHECK(res.n_steps == 2 * (2 + 2), "%lld steps, want 2 epochs x (ceil(30/16) + ceil(20/16))",
             (long long)res.n_steps);
    ZT_CHECK(res.n_segments == 2, "%d test segment figures, want 2", res.n_segments);
    /* Accuracy is per token: the overall one is the segments' weighted by their labels. */
    double want = (res.segment_test_acc[0] * 24 * 2 + res.segment_test_acc[1] * 8 * 8) / (24 * 2 + 8 * 8);
    ZT_CHECK(fabs(res.final_acc - want) < 1e-12, "overall accuracy %.15g, segments give %.15g", res.final_acc, want);
    ZT_CHECK(isfinite(res.segment_test_loss[0]) && res.segment_test_loss[1] > 0, "segment losses %g %g",
             res.segment_test_loss[0], res.segment_test_loss[1]);
    zoo_run_result_free(&res);
}

/* A tagged task (the example task, near and far): figures per tag, their positions
 * adding up to the set's and the overall accuracy their weighted mean; with segments,
 * per segment too. */
static void test_tags(void)
{
    zoo_run_spec s = spec_of("none");
    set_ok(&s, "task", "my_task");
    set_ok(&s, "vocab", "32");
    set_ok(&s, "seq_len", "32");
    set_ok(&s, "test_examples", "50");
    if (zoo_run_spec_check(&s) == ZOO_ERR_PLUGIN_NOT_FOUND) {
        printf("skip tags: the example task is not on the plugin path (%s)\n", zoo_error_last()->msg);
        return;
    }
    set_ok(&s, "segments", "test seq_len=16 min_gap=2; test examples=30");
    zoo_run_result res;
    int rc = zoo_run(&s, NULL, &res, NULL);
    ZT_CHECK(rc == 0, "tagged run: %s", res.message);
    ZT_CHECK(res.n_tags == 2 && !strcmp(res.tag_names[0], "near") && !strcmp(res.tag_names[1], "far"),
             "%d tags '%s' '%s'", res.n_tags, res.tag_names[0], res.tag_names[1]);
    int64_t tags = res.tag_test_count[0] + res.tag_test_count[1], segs = res.segment_test_count[0] + res.segment_test_count[1];
    ZT_CHECK(tags == 50 + 30 && segs == 80 && res.segment_test_count[1] == 30, "positions: tags %lld, segments %lld",
             (long long)tags, (long long)segs);
    double by_tag = (res.tag_test_acc[0] * (double)res.tag_test_count[0] + res.tag_test_acc[1] * (double)res.tag_test_count[1]) / 80;
    double by_seg = (res.segment_test_acc[0] * 50 + res.segment_test_acc[1] * 30) / 80;
    ZT_CHECK(fabs(by_tag - res.final_acc) < 1e-12 && fabs(by_seg - res.final_acc) < 1e-12,
             "accuracy %.15g, by tag %.15g, by segment %.15g", res.final_acc, by_tag, by_seg);
    zoo_run_result_free(&res);
}

static void refused(const char *segments, const char *want1, const char *want2)
{
    zoo_run_spec s;
    zoo_run_spec_default(&s);
    zoo_run_spec_set(&s, "vocab", "256");
    int rc = zoo_run_spec_set(&s, "segments", segments);
    if (!rc)
        rc = zoo_run_spec_check(&s);
    const char *msg = zoo_error_last()->msg;
    ZT_CHECK(rc != 0 && strstr(msg, want1) && (!want2 || strstr(msg, want2)), "'%s': rc %d, message '%s'", segments,
             rc, msg);
}

static void test_refusals(void)
{
    refused("train seq_len=128", "segments[0]", "raise seq_len");
    refused("train kv_pairs=4; test kv_pairs=40", "segments[1]", "kv_pairs");
    refused("test num_pases=2", "segments[0]", "num_passes");
    refused("valid seq_len=64", "segments[0]", "train or test");
    refused("train seq_len", "segments[0]", "key=value");
    refused("test task=nosuchtask", "unknown task 'nosuchtask'", NULL);
    /* A test segment of another task is fine, and takes none of the run's MQAR knobs. */
    zoo_run_spec s = spec_of("test task=parity seq_len=16");
    set_ok(&s, "kv_pairs", "8");
    ZT_CHECK(zoo_run_spec_check(&s) == 0, "a parity test segment in an mqar run: %s", zoo_error_last()->msg);
}

int main(void)
{
    test_data();
    test_refusals();
    test_run();
    test_tags();
    return zt_fails ? 1 : 0;
}
