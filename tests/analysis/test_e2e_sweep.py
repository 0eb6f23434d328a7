"""Smoke test on a real sweep: `zoo sweep` trains a tiny grid (V=64, L 16/32, d_model
8/16, one epoch, a few examples), then zoo-analyze renders every figure from its file
and load() reads it back. Skipped (exit 77 under ctest) without the zoo binary."""
import os
import shutil
import subprocess
import sys

import pytest

from zoo_analyze import curves, load, segments

pytestmark = pytest.mark.e2e

FIGURES = ("acc_vs_d_model", "acc_vs_state_bytes", "acc_vs_params", "acc_vs_train_flops", "training_curves",
           "scaling_fits")
SWEEP = """name: analysis-smoke
task: {vocab: 64, seq_len: [16, 32], kv_pairs: 2, train_examples: 64, test_examples: 32}
model: {d_model: [8, 16], n_layers: 2, mixers: [attention]}
train: {lr: [0.003], epochs: 1, batch_size: 16, threads: 1}
"""


def zoo_binary():
    z = os.environ.get("ZOO_BIN") or shutil.which("zoo")
    return z if z and os.access(z, os.X_OK) else None


@pytest.fixture(scope="module")
def real_sweep(tmp_path_factory):
    z = zoo_binary()
    if not z:
        pytest.skip("no zoo binary (set ZOO_BIN; ctest does)")
    d = tmp_path_factory.mktemp("e2e")
    (d / "smoke.yaml").write_text(SWEEP)
    r = subprocess.run([z, "sweep", "smoke.yaml", "-o", "results.h5", "--quiet"], cwd=str(d), capture_output=True,
                       text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert r.returncode == 0, f"zoo sweep exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return d


def test_load_reads_the_real_file(real_sweep):
    df = load(str(real_sweep / "results.h5"))
    assert len(df) == 4 and set(df["status"]) == {"ok"}, df[["id", "status", "message"]]
    assert sorted(zip(df["seq_len"], df["d_model"])) == [(16, 8), (16, 16), (32, 8), (32, 16)]
    assert set(df["mixer"]) == {"attention"} and set(df["vocab"]) == {64} and set(df["epochs_run"]) == {1}
    assert (df["params"] > 0).all() and (df["state_bytes"] > 0).all() and (df["train_flops"] > 0).all()
    assert df["final_acc"].between(0, 1).all() and df["has_curves"].all()
    assert (df["test_examples"] == 32).all() and (df["mixer_pattern"] == "attention").all()
    prov = df.attrs["zoo"]
    assert prov["attrs"]["sweep_text"] == SWEEP and prov["attrs"]["schema_version"] == 4
    assert prov["sessions"].loc[0, "ranks"] >= 1 and prov["sessions"].loc[0, "hosts"]
    c = curves(str(real_sweep / "results.h5"), 0)
    assert c["epoch_test_acc"].size == 1 and c["step_loss"].size == df.loc[0, "steps_run"]


def test_every_figure_from_the_real_file(real_sweep):
    out = real_sweep / "report"
    launcher = os.environ.get("ZOO_ANALYZE_LAUNCHER")
    cmd = [launcher] if launcher else [sys.executable, "-m", "zoo_analyze"]
    r = subprocess.run(cmd + [str(real_sweep / "results.h5"), "-o", str(out)], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    for name in FIGURES:
        for ext in ("png", "svg"):
            assert (out / f"{name}.{ext}").stat().st_size > 5000, f"{name}.{ext}"
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == len(FIGURES)
    assert "analysis-smoke" in html and "attention" in html
    assert "attention  16" in r.stdout and "Smallest d_model" in r.stdout and "report.html" in r.stdout


SEGMENTS = """name: segments-smoke
task:
  vocab: 64
  seq_len: 32
  segments:
    train: [{seq_len: 16, kv_pairs: 2, examples: 48}, {kv_pairs: 4, examples: 32}]
    test: [{seq_len: 16, kv_pairs: 2, examples: 16}, {kv_pairs: 8, examples: 16}]
model: {d_model: 8, n_layers: 2, mixers: [attention]}
train: {lr: 0.003, epochs: 1, batch_size: 16, threads: 1}
"""


def test_segments_of_a_real_sweep(tmp_path):
    """A run with train and test segments records each test segment's figures; the
    overall accuracy is their token-weighted mean (2 and 8 labels per example)."""
    z = zoo_binary()
    if not z:
        pytest.skip("no zoo binary (set ZOO_BIN; ctest does)")
    (tmp_path / "seg.yaml").write_text(SEGMENTS)
    r = subprocess.run([z, "sweep", "seg.yaml", "-o", "results.h5", "--quiet"], cwd=str(tmp_path),
                       capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert r.returncode == 0, f"zoo sweep exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    path = str(tmp_path / "results.h5")
    df, seg = load(path), segments(path)
    assert list(seg["segment"]) == [0, 1] and list(seg["segment_seq_len"]) == [16, -1], seg
    assert list(seg["segment_kv_pairs"]) == [2, 8] and seg["segment_acc"].between(0, 1).all()
    want = (seg["segment_acc"][0] * 16 * 2 + seg["segment_acc"][1] * 16 * 8) / (16 * 2 + 16 * 8)
    assert abs(df.loc[0, "final_acc"] - want) < 1e-6, (df.loc[0, "final_acc"], want)
    assert df.loc[0, "steps_run"] == 3 + 2  # ceil(48/16) + ceil(32/16): no batch mixes segments
    assert df.loc[0, "task"] == "mqar" and "test seq_len=16" in df.loc[0, "test_segments"]
