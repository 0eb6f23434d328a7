"""zoo_analyze.load/curves/provenance on synthetic files written to docs/results.md, and the
refusals: missing, not HDF5, foreign HDF5, other schema, unknown version, truncated,
damaged tables."""
import math
import os
import shutil

import h5py
import numpy as np
import pytest

import zoo_synth as zs
from zoo_analyze import ZooResultsError, curves, load, provenance


def small_runs():
    runs = []
    for m in ("attention", "base_conv"):
        for L in (64, 128):
            for D in (64, 128):
                runs.append(zs.run(len(runs), m, D, L, 1e-3, final_acc=0.1 * len(runs) / 2))
    runs.append(zs.run(len(runs), "hyena", 64, 64, 1e-3, status="pending"))
    runs.append(zs.run(len(runs), "hyena", 128, 64, 1e-3, status="failed", message="plugin hyena.so not found"))
    runs.append(zs.run(len(runs), "hyena", 64, 128, 1e-3, status="diverged"))
    return runs


@pytest.fixture
def results(tmp_path):
    runs = small_runs()
    return zs.write(str(tmp_path / "r.h5"), runs, sweep_text="name: synth\nmodel: {d_model: [64, 128]}\n"), runs


def test_load_rows_columns_and_joined_attributes(results):
    path, runs = results
    df = load(path)
    assert len(df) == len(runs)
    assert list(df["id"]) == list(range(len(runs)))
    for c in zs.SUMMARY_DTYPE.names:
        assert c in df.columns, c
    # Strings are decoded.
    assert df.loc[0, "mixer"] == "attention" and isinstance(df.loc[0, "status"], str)
    assert list(df["status"]) == [r["status"] for r in runs]
    # Run-group attributes joined: spec fields for final runs, NaN for the pending one.
    assert df.loc[0, "test_examples"] == 3000
    assert math.isnan(df.loc[8, "test_examples"])
    assert df.loc[9, "message"] == "plugin hyena.so not found"
    assert df.loc[0, "mixer_pattern"] == "attention"
    assert df.loc[0, "weight_decay"] == pytest.approx(0.1)
    # Derived columns.
    assert df.loc[0, "state_bytes"] == pytest.approx(4 * runs[0]["state_size"])
    assert df.loc[0, "train_flops"] == pytest.approx(runs[0]["flops_per_step"] * runs[0]["steps_run"])
    assert math.isnan(df.loc[8, "train_flops"])  # steps_run -1
    assert list(df["has_curves"]) == [True] * 8 + [False, False, True]
    assert list(df["final"]) == [True] * 8 + [False, True, True]
    for i, r in enumerate(runs):
        if r["status"] == "ok":
            assert df.loc[i, "final_acc"] == pytest.approx(r["final_acc"]), i


def test_curves_match_what_was_written(results):
    path, runs = results
    c = curves(path, 3)
    want = zs.synth_curves(runs[3])
    assert sorted(c) == sorted(want)
    for k in want:
        np.testing.assert_allclose(c[k], np.asarray(want[k], dtype=np.float32), rtol=0, atol=0, err_msg=k)
    assert curves(path, 8) == {}  # pending: no group
    assert curves(path, 9) == {}  # failed before training: group without datasets
    with pytest.raises(ZooResultsError, match="no run 11; run ids go from 0 to 10"):
        curves(path, 11)


def test_provenance(results):
    path, _ = results
    p = provenance(path)
    assert p["attrs"]["zoo_version"] == "0.1.0" and p["attrs"]["git_rev"] == "abc1234"
    assert p["attrs"]["sweep_text"].startswith("name: synth")
    assert p["sessions"].loc[0, "hosts"] == "node1,node2" and p["sessions"].loc[0, "ranks"] == 3
    assert p["sweep_texts"] == ["name: synth\nmodel: {d_model: [64, 128]}\n"]
    assert load(path).attrs["zoo"]["attrs"]["git_rev"] == "abc1234"


def test_missing_and_folder(tmp_path):
    with pytest.raises(ZooResultsError, match="no such file"):
        load(str(tmp_path / "nope.h5"))
    with pytest.raises(ZooResultsError, match="is a folder"):
        load(str(tmp_path))


def test_not_hdf5(tmp_path):
    p = tmp_path / "r.h5"
    p.write_text("id,status\n0,ok\n")
    with pytest.raises(ZooResultsError, match="not an HDF5 file"):
        load(str(p))


def test_foreign_hdf5(tmp_path):
    p = str(tmp_path / "data.h5")
    with h5py.File(p, "w") as f:
        f["inputs"] = np.zeros((4, 8), dtype=np.int32)
    with pytest.raises(ZooResultsError, match="not a zoo sweep results file .no 'schema' attribute"):
        load(p)
    with h5py.File(p, "a") as f:
        f.attrs["schema"] = "zoo-mqar-data"
    with pytest.raises(ZooResultsError, match="schema attribute 'zoo-mqar-data'; expected 'zoo-sweep-results'"):
        load(p)


def test_unknown_schema_version(tmp_path):
    p = zs.write(str(tmp_path / "r.h5"), small_runs(), version=5)
    with pytest.raises(ZooResultsError, match="schema version 5; this zoo-analyze reads version 1, 2, 3, 4"):
        load(p)
    p = zs.write(str(tmp_path / "r0.h5"), small_runs(), extra_root={"schema_version": None})  # not written
    with pytest.raises(ZooResultsError, match="version is missing"):
        load(p)


@pytest.mark.parametrize("fraction", [0.02, 0.3, 0.6, 0.9, 0.999])
def test_truncated(tmp_path, fraction):
    src = zs.write(str(tmp_path / "whole.h5"), small_runs())
    size = os.path.getsize(src)
    p = str(tmp_path / "cut.h5")
    with open(src, "rb") as f, open(p, "wb") as g:
        g.write(f.read(max(1, int(size * fraction))))
    with pytest.raises(ZooResultsError, match="truncated or damaged|not an HDF5 file") as e:
        df = load(p)
        curves(p, 0)  # pragma: no cover - only reached if load wrongly succeeded
        print(df)
    assert "cut.h5" in str(e.value)


def test_damaged_tables(tmp_path):
    p = zs.write(str(tmp_path / "r.h5"), small_runs())
    q = str(tmp_path / "noid.h5")
    shutil.copy(p, q)
    with h5py.File(q, "a") as f:
        del f["summary"]
    with pytest.raises(ZooResultsError, match="no /summary table"):
        load(q)
    q = str(tmp_path / "cols.h5")
    shutil.copy(p, q)
    with h5py.File(q, "a") as f:
        s = f["summary"][()]
        del f["summary"]
        names = [n for n in s.dtype.names if n != "seq_len"]
        f["summary"] = s[names]
    with pytest.raises(ZooResultsError, match="lacks column.* seq_len"):
        load(q)
    q = str(tmp_path / "ids.h5")
    shutil.copy(p, q)
    with h5py.File(q, "a") as f:
        s = f["summary"][()]
        s["id"][3] = 7
        f["summary"][...] = s
    with pytest.raises(ZooResultsError, match="row 3 has id 7"):
        load(q)


@pytest.mark.parametrize("seed", range(6))
def test_corrupted_bytes_give_a_clear_error_or_load(tmp_path, seed):
    """Garbage written over the middle of the file: load either works (the bytes hit
    unused space or data) or raises ZooResultsError, never another exception."""
    src = zs.write(str(tmp_path / "whole.h5"), small_runs())
    data = bytearray(open(src, "rb").read())
    rng = np.random.default_rng(seed)
    start = int(rng.integers(512, len(data) - 4096))
    data[start:start + 2048] = rng.integers(0, 256, 2048, dtype=np.uint8).tobytes()
    p = str(tmp_path / "bad.h5")
    open(p, "wb").write(bytes(data))
    try:
        df = load(p)
        for i in range(len(df)):
            curves(p, i)
    except ZooResultsError as e:
        assert "bad.h5" in str(e)


def test_version_2_backend_columns(tmp_path):
    """Version 2: the summary's backend/device/tf32 columns are the run's; the spec's
    backend (auto) comes as backend_spec, and backend_used is not repeated."""
    p = zs.write(str(tmp_path / "r.h5"), small_runs(), version=2)
    with h5py.File(p, "a") as f:
        s = f["summary"][()]
        dt = np.dtype([(n, s.dtype[n]) for n in s.dtype.names] + [("backend", "S16"), ("device", "S256"),
                                                                    ("tf32", "<i4")])
        t = np.zeros(len(s), dtype=dt)
        for n in s.dtype.names:
            t[n] = s[n]
        t["backend"] = [b"cuda" if x != b"pending" else b"" for x in s["status"]]
        t["device"] = [b"cuda:0 of 1 (stand-in)" if x != b"pending" else b"" for x in s["status"]]
        t["tf32"] = 1
        del f["summary"]
        f.create_dataset("summary", data=t, maxshape=(None,), chunks=(64,))
        for g in f["runs"].values():
            g.attrs["backend"] = np.bytes_("auto")
            g.attrs["backend_used"] = np.bytes_("cuda")
    df = load(p)
    fin = df[df["final"]]
    assert len(fin) and (fin["backend"] == "cuda").all() and (fin["backend_spec"] == "auto").all(), df
    assert (fin["device"] == "cuda:0 of 1 (stand-in)").all() and (df["tf32"] == 1).all()
    assert "backend_used" not in df.columns


def test_version_3_ranks_columns(tmp_path):
    """Version 3: the summary's ranks/hosts are what each run trained on; the spec's ranks
    (auto) comes as ranks_spec. Older files read 1 rank on the run's host."""
    p = zs.write(str(tmp_path / "r.h5"), small_runs(), version=3)
    with h5py.File(p, "a") as f:
        s = f["summary"][()]
        dt = np.dtype([(n, s.dtype[n]) for n in s.dtype.names] + [("backend", "S16"), ("device", "S256"),
                                                                    ("tf32", "<i4"), ("ranks", "<i4"),
                                                                    ("hosts", "S256")])
        t = np.zeros(len(s), dtype=dt)
        for n in s.dtype.names:
            t[n] = s[n]
        fin = s["status"] != b"pending"
        t["ranks"] = np.where(fin, 4, -1)
        t["hosts"] = [b"node1x4" if x else b"" for x in fin]
        del f["summary"]
        f.create_dataset("summary", data=t, maxshape=(None,), chunks=(64,))
        for g in f["runs"].values():
            g.attrs["ranks"] = np.bytes_("auto")
            g.attrs["ranks_used"] = np.int64(4)
    df = load(p)
    done = df[df["final"]]
    assert len(done) and (done["ranks"] == 4).all() and (done["hosts"] == "node1x4").all(), df
    assert (done["ranks_spec"] == "auto").all() and "ranks_used" not in df.columns
    old = load(zs.write(str(tmp_path / "old.h5"), small_runs()))
    assert (old[old["final"]]["ranks"] == 1).all() and (old[~old["final"]]["ranks"] == -1).all()
    assert (old[old["final"]]["hosts"] == old[old["final"]]["host"]).all()


def test_version_4_task_columns(tmp_path):
    """Version 4: task and task_knobs per run. Older files read mqar and no knobs for
    every run, pending ones included."""
    p = zs.write(str(tmp_path / "r.h5"), small_runs(), version=4)
    with h5py.File(p, "a") as f:
        s = f["summary"][()]
        dt = np.dtype([(n, s.dtype[n]) for n in s.dtype.names] + [("backend", "S16"), ("device", "S256"),
                                                                    ("tf32", "<i4"), ("ranks", "<i4"),
                                                                    ("hosts", "S256"), ("task", "S32"),
                                                                    ("task_knobs", "S256")])
        t = np.zeros(len(s), dtype=dt)
        for n in s.dtype.names:
            t[n] = s[n]
        t["task"] = [b"parity" if i % 2 else b"mqar" for i in range(len(s))]
        t["task_knobs"] = [b"n_bits=3" if i % 2 else b"" for i in range(len(s))]
        del f["summary"]
        f.create_dataset("summary", data=t, maxshape=(None,), chunks=(64,))
    df = load(p)
    assert list(df["task"]) == ["parity" if i % 2 else "mqar" for i in range(len(df))], df["task"]
    assert (df[df["task"] == "parity"]["task_knobs"] == "n_bits=3").all()
    old = load(zs.write(str(tmp_path / "old.h5"), small_runs(), version=3))
    assert (old["task"] == "mqar").all() and (old["task_knobs"] == "").all(), old[["task", "task_knobs"]]


def test_version_1_backend_is_the_spec_one(tmp_path):
    p = zs.write(str(tmp_path / "r.h5"), small_runs())
    with h5py.File(p, "a") as f:
        for g in f["runs"].values():
            g.attrs["backend"] = np.bytes_("cpu")
    df = load(p)
    assert (df[df["final"]]["backend"] == "cpu").all() and "backend_spec" not in df.columns


def test_journal_of_a_running_sweep_is_laid_over(tmp_path):
    """A running sweep keeps its newest runs in "<file>.d/commit-<seq>.h5" until it folds
    them in; load() and curves() see them, and skip the files the main file holds."""
    runs = small_runs()
    path = zs.write(str(tmp_path / "r.h5"), runs)
    later = [dict(r) for r in small_runs()]
    later[8] = zs.run(8, "hyena", 64, 64, 1e-3, final_acc=0.77)  # the pending run finished
    jdir = tmp_path / "r.h5.d"
    jdir.mkdir()
    zs.write(str(jdir / "commit-00000002.h5"), later)
    stale = [dict(r) for r in small_runs()]
    stale[8] = zs.run(8, "hyena", 64, 64, 1e-3, final_acc=0.11)
    zs.write(str(jdir / "commit-00000001.h5"), stale)
    (jdir / "commit-00000003.h5.tmp.99").write_bytes(b"half a file")  # a killed write: ignored
    df = load(path)
    assert df.loc[8, "status"] == "ok" and df.loc[8, "final_acc"] == pytest.approx(0.77)
    assert bool(df.loc[8, "has_curves"]) and df.loc[8, "test_examples"] == 3000
    assert len(curves(path, 8)["step_loss"]) > 0
    # Folded: the main file says it holds sequence 2, so the journal is skipped.
    with h5py.File(path, "a") as f:
        f.attrs["journal_folded"] = np.int64(2)
    df = load(path)
    assert df.loc[8, "status"] == "pending" and curves(path, 8) == {}
    # A whole journal file that cannot be read is named.
    with h5py.File(path, "a") as f:
        f.attrs["journal_folded"] = np.int64(0)
    (jdir / "commit-00000004.h5").write_bytes(b"not hdf5")
    with pytest.raises(ZooResultsError, match="commit-00000004.h5"):
        load(path)
