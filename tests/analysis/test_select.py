"""Max over learning rates (final value, as the paper), seeds averaged, status of each
cell (partial, failed, pending, absent), filters, group-by, and the tables built on the
cells: smallest d_model per target with its '?' and '>N' marks, the gap to attention."""
import math

import pytest

import zoo_synth as zs
from zoo_analyze import load
from zoo_analyze.select import (SelectError, add_group, apply_filters, cell_table, not_ok_runs, parse_filter,
                                status_counts)
from zoo_analyze.tables import gap_table, smallest_d_model


def cells_of(runs, tmp_path, metric="final_acc", group_by="mixer", filters=()):
    df = load(zs.write(str(tmp_path / "r.h5"), runs))
    df = add_group(apply_filters(df, list(filters)), group_by)
    return df, cell_table(df, metric, group_by)


def one(cells, **key):
    m = cells
    for k, v in key.items():
        m = m[m[k] == v]
    assert len(m) == 1, f"{len(m)} cells match {key}"
    return m.iloc[0]


def test_max_over_lr_of_the_final_value(tmp_path):
    R = []
    add = lambda *a, **k: R.append(zs.run(len(R), *a, **k))  # noqa: E731
    # Cell A: lr 1e-3 has the best final value; lr 1e-2 the best *best_acc*.
    add("base_conv", 64, 64, 1e-4, final_acc=0.30)
    add("base_conv", 64, 64, 1e-3, final_acc=0.80, best_acc=0.81)
    add("base_conv", 64, 64, 1e-2, final_acc=0.60, best_acc=0.95)
    # A run that crashed must not count, whatever numbers its row holds.
    add("base_conv", 64, 64, 3e-2, status="crashed")
    R[-1]["final_acc"] = 0.999
    # Cell B: the best lr differs.
    add("base_conv", 128, 64, 1e-4, final_acc=0.91)
    add("base_conv", 128, 64, 1e-3, final_acc=0.50)
    df, cells = cells_of(R, tmp_path)
    a = one(cells, d_model=64)
    assert (a["run_id"], a["lr"], a["value"]) == (1, 1e-3, pytest.approx(0.80))
    assert (a["n_runs"], a["n_ok"], a["n_failed"], a["cell_status"]) == (4, 3, 1, "partial")
    b = one(cells, d_model=128)
    assert (b["run_id"], b["lr"], b["value"], b["cell_status"]) == (4, 1e-4, pytest.approx(0.91), "ok")
    # --metric best_acc chooses by the best epoch instead.
    _, cells = cells_of(R, tmp_path, metric="best_acc")
    assert one(cells, d_model=64)["run_id"] == 2
    # A loss is minimised.
    _, cells = cells_of(R, tmp_path, metric="final_loss")
    assert one(cells, d_model=64)["run_id"] == 1  # -log(0.8) is the smallest loss


def test_seeds_averaged_before_the_max(tmp_path):
    R = []
    add = lambda *a, **k: R.append(zs.run(len(R), *a, **k))  # noqa: E731
    add("attention", 64, 64, 1e-3, final_acc=0.95, seed=1)
    add("attention", 64, 64, 1e-3, final_acc=0.45, seed=2)  # mean 0.70
    add("attention", 64, 64, 1e-2, final_acc=0.80, seed=1)
    add("attention", 64, 64, 1e-2, final_acc=0.78, seed=2)  # mean 0.79: chosen
    _, cells = cells_of(R, tmp_path)
    c = one(cells, d_model=64)
    assert (c["lr"], c["value"], c["n_seeds"], c["run_id"]) == (1e-2, pytest.approx(0.79), 2, 2)


def test_failed_pending_absent_cells_and_reports(tmp_path):
    R = []
    add = lambda *a, **k: R.append(zs.run(len(R), *a, **k))  # noqa: E731
    for D in (32, 64, 128):
        add("attention", D, 64, 1e-3, final_acc=0.995)
    add("hyena", 32, 64, 1e-3, status="oom", message="cudaMalloc failed")
    add("hyena", 32, 64, 1e-2, status="diverged")
    add("hyena", 64, 64, 1e-3, status="pending")
    # hyena has no run at d_model 128: an absent cell.
    df, cells = cells_of(R, tmp_path)
    assert one(cells, group="hyena", d_model=32)["cell_status"] == "failed"
    assert one(cells, group="hyena", d_model=64)["cell_status"] == "pending"
    assert one(cells, group="hyena", d_model=128)["cell_status"] == "absent"
    assert all(math.isnan(v) for v in cells.loc[cells["group"] == "hyena", "value"])
    assert status_counts(df) == {"ok": 3, "pending": 1, "diverged": 1, "oom": 1}
    bad = not_ok_runs(df)
    assert list(bad["id"]) == [3, 4, 5]
    assert list(bad["status"]) == ["oom", "diverged", "pending"]
    assert bad.loc[0, "message"] == "cudaMalloc failed"
    sm = smallest_d_model(cells, (0.99,))
    assert one(sm, line="attention")["text"] == "32"
    assert one(sm, line="hyena")["text"] == "n/a"


def test_smallest_d_model_marks_and_gap(tmp_path):
    R = []
    add = lambda *a, **k: R.append(zs.run(len(R), *a, **k))  # noqa: E731
    for D in (64, 128, 256, 512):
        add("attention", D, 128, 1e-3, final_acc=0.995)
    for D, acc in ((64, 0.3), (128, 0.92), (256, 0.97), (512, 0.991)):
        add("base_conv", D, 128, 1e-3, final_acc=acc)
    add("hyena", 64, 128, 1e-3, status="failed")
    for D, acc in ((128, 0.95), (256, 0.5), (512, 0.6)):
        add("hyena", D, 128, 1e-3, final_acc=acc)
    _, cells = cells_of(R, tmp_path)
    sm = smallest_d_model(cells, (0.99, 0.9))
    t = {(r.line, r.target): r.text for r in sm.itertuples()}
    assert t[("attention", 0.99)] == "64" and t[("attention", 0.9)] == "64"
    assert t[("base_conv", 0.99)] == "512" and t[("base_conv", 0.9)] == "128"
    # hyena reached 0.9 at 128 but 64 failed: maybe smaller; never 0.99 up to 512.
    assert t[("hyena", 0.9)] == "128?" and t[("hyena", 0.99)] == ">512?"
    g = gap_table(cells, "attention")
    gap = {(r.line, r.d_model): r.gap for r in g.itertuples()}
    assert gap[("base_conv", 64)] == pytest.approx(0.995 - 0.3)
    assert gap[("base_conv", 512)] == pytest.approx(0.995 - 0.991)
    assert math.isnan(gap[("hyena", 64)])
    assert gap_table(cells, "mamba").empty


def test_filters_and_group_by(tmp_path):
    R = []
    for m in ("attention", "base_conv", "hyena"):
        for L in (64, 128, 256):
            for lr in (1e-3, 1e-2):
                R.append(zs.run(len(R), m, 64, L, lr, final_acc=0.5, n_layers=2 if m != "hyena" else 4))
    df, cells = cells_of(R, tmp_path, filters=["mixer in [attention, 'base_conv']"])
    assert set(df["mixer"]) == {"attention", "base_conv"}
    df, _ = cells_of(R, tmp_path, filters=["mixer not in [hyena]", "seq_len <= 128 and lr < 0.005"])
    assert set(df["mixer"]) == {"attention", "base_conv"} and set(df["seq_len"]) == {64, 128}
    assert set(df["lr"]) == {1e-3}
    df, _ = cells_of(R, tmp_path, filters=["seq_len == 256", "status = ok"])
    assert len(df) == 6
    df, cells = cells_of(R, tmp_path, group_by="mixer,n_layers")
    assert set(cells["line"]) == {"attention n_layers=2", "base_conv n_layers=2", "hyena n_layers=4"}
    # Lines coarser than mixers: a cell is the family's best member; n_layers still splits.
    df, cells = cells_of(R, tmp_path, group_by="family")
    assert set(cells["line"]) == {"test [n_layers=2]", "test [n_layers=4]"}
    assert cells.attrs["extras"] == ["n_layers"]
    R[0]["final_acc"] = 0.7  # attention L=64 lr=1e-3 is now the family's best at L=64
    _, cells = cells_of(R, tmp_path, group_by="family")
    c = one(cells, line="test [n_layers=2]", seq_len=64)
    assert (c["run_id"], c["value"]) == (0, pytest.approx(0.7))


def test_setting_that_varies_inside_a_group_splits_lines(tmp_path):
    R = []
    for n_layers in (2, 4):
        for lr in (1e-3, 1e-2):
            R.append(zs.run(len(R), "based", 64, 64, lr, final_acc=0.3 * n_layers + lr, n_layers=n_layers))
    _, cells = cells_of(R, tmp_path)
    assert sorted(cells["line"]) == ["based [n_layers=2]", "based [n_layers=4]"]
    assert one(cells, line="based [n_layers=4]")["value"] == pytest.approx(1.21)


@pytest.mark.parametrize("expr, msg", [
    ("mixer = = x", "expected COLUMN"),
    ("mixer in attention", "needs a list in brackets"),
    ("mixer in []", "the list is empty"),
    ("flavour in [a]", "no column 'flavour'"),
    ("mixer in [mamba]", "mixer has no value mamba"),
    ("seq_len > big", "is numeric, 'big' is not a number"),
])
def test_bad_filters(tmp_path, expr, msg):
    R = [zs.run(0, "attention", 64, 64, 1e-3, final_acc=0.9)]
    with pytest.raises(SelectError, match=msg):
        cells_of(R, tmp_path, filters=[expr])


def test_parse_filter():
    assert parse_filter("mixer in [a, 'b c'] and d_model >= 64") == [("mixer", "in", ["a", "b c"]),
                                                                     ("d_model", ">=", 64)]
    assert parse_filter("lr != 1e-3") == [("lr", "!=", 1e-3)]


def test_paper_values_and_when_they_are_overlaid(tmp_path):
    from zoo_analyze.paper import matching, paper_values
    p = paper_values()
    assert len(p) == 4 * 5 * 4 and set(p["mixer"]) == {"attention", "hyena", "rwkv", "h3", "base_conv"}
    get = lambda L, m, D: float(p[(p.seq_len == L) & (p.mixer == m) & (p.d_model == D)]["acc"].iloc[0])  # noqa
    # Spot checks against the Figure 2 table in docs/paper.md.
    assert (get(512, "base_conv", 512), get(128, "h3", 512), get(64, "hyena", 64), get(256, "rwkv", 256)) == \
        (0.70, 0.75, 0.51, 0.66)
    R = []
    for m in ("attention", "base_conv", "based"):
        for L in (64, 128):
            R.append(zs.run(len(R), m, 64, L, 1e-3, final_acc=0.5))
    R.append(zs.run(len(R), "base_conv", 64, 256, 1e-3, final_acc=0.5, kv_pairs=4))  # not the paper's K=16
    _, cells = cells_of(R, tmp_path)
    rows, notes = matching(cells)
    assert set(rows["seq_len"]) == {64, 128} and set(rows["mixer"]) == {"attention", "base_conv"}
    assert notes == ["L=256: not overlaid: kv_pairs [4] (paper 16)"]
    R2 = [zs.run(0, "attention", 64, 64, 1e-3, final_acc=0.5, vocab=64)]
    rows, notes = matching(cells_of(R2, tmp_path)[1])
    assert rows.empty and "vocab [64] (paper 8192)" in notes[0]
