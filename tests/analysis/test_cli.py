"""The command: every figure in the formats asked, a self-contained HTML report with the
provenance, the key tables printed, failed and unfinished runs reported, --filter /
--metric / --group-by / --runs, clear errors with exit status 2, and the launcher."""
import os
import re
import subprocess
import sys

import matplotlib.image as mpimg
import pandas as pd
import pytest

import zoo_synth as zs
from zoo_analyze.cli import main

FIGURES = ("acc_vs_d_model", "acc_vs_state_bytes", "acc_vs_params", "acc_vs_train_flops", "training_curves",
           "scaling_fits")


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """The paper's grid shape (L 64..512 with the paper's K, d_model 64..512, 2 lrs) for
    three mixers, one diverged run, one oom cell, one unfinished run."""
    R = []
    truth = {"attention": (30.0, 0.0), "base_conv": (0.25, 1.0), "hyena": (0.15, 1.1)}
    for m, (c, b) in truth.items():
        for L in (64, 128, 256, 512):
            for D in (64, 128, 256, 512):
                for lr in (1e-3, 1e-2):
                    acc = zs.logistic_acc(D, L, c, b, 3.0) * (0.9 if lr == 1e-3 else 1.0)
                    status = "ok"
                    if (m, L, D) == ("hyena", 64, 64):
                        status = "oom"
                    elif (m, L, D, lr) == ("hyena", 256, 128, 1e-3):
                        status = "diverged"
                    elif (m, L, D, lr) == ("base_conv", 64, 512, 1e-2):
                        status = "pending"
                    R.append(zs.run(len(R), m, D, L, lr, status=status, final_acc=acc,
                                    message="out of memory" if status == "oom" else ""))
    sessions = [dict(started="2026-01-01T00:00:00Z", finished="2026-01-01T01:00:00Z", ranks=4,
                     hosts="gpu-a01,gpu-a02", command="zoo sweep fig2.yaml -o r.h5", exit_code=75,
                     runs_recorded=len(R) - 1)]
    p = str(tmp_path_factory.mktemp("cli") / "results.h5")
    return zs.write(p, R, sweep_text="name: synth-fig2\nmodel: {d_model: [64, 128, 256, 512]}\n",
                    sessions=sessions), R


def run_main(argv, capsys):
    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture(scope="module")
def report(sweep, tmp_path_factory):
    path, runs = sweep
    out = str(tmp_path_factory.mktemp("rep") / "report")
    import io
    from contextlib import redirect_stdout
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = main([path, "-o", out])
    return rc, out, buf.getvalue(), runs


def test_writes_every_figure_in_both_formats(report):
    rc, out, text, _ = report
    assert rc == 0, text
    for name in FIGURES:
        for ext in ("png", "svg"):
            p = os.path.join(out, f"{name}.{ext}")
            assert os.path.getsize(p) > 5000, p
        img = mpimg.imread(os.path.join(out, f"{name}.png"))
        h, w = img.shape[:2]
        assert w >= 1200 and h >= 400, (name, w, h)
        # Not blank: a good share of the pixels differ from white.
        inked = (img[..., :3] < 0.9).any(axis=-1).mean()
        assert inked > 0.02, (name, inked)
        svg = open(os.path.join(out, f"{name}.svg"), encoding="utf-8").read()
        assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    for csv in ("cells.csv", "runs.csv", "smallest_d_model.csv", "fit_power_law.csv", "fit_logistic.csv",
                "gap_to_reference.csv"):
        assert os.path.getsize(os.path.join(out, csv)) > 50, csv


def test_html_is_self_contained_with_provenance(report):
    rc, out, _, runs = report
    html = open(os.path.join(out, "report.html"), encoding="utf-8").read()
    assert html.count("data:image/png;base64,") == len(FIGURES)
    # Nothing fetched from elsewhere: no external src/href, no scripts.
    assert not re.search(r"""(src|href)\s*=\s*['"](?!data:)""", html)
    assert "<script" not in html.lower()
    for want in ("zoo_version", "0.1.0", "abc1234", "name: synth-fig2", "gpu-a01,gpu-a02",
                 "zoo sweep fig2.yaml -o r.h5", "out of memory", "Smallest d_model", "Gap to attention",
                 "Power law", "Logistic fit", "Runs that did not finish ok", "node1"):
        assert want in html, want


def test_terminal_key_table_and_failures(report):
    rc, out, text, runs = report
    assert "Smallest d_model reaching final_acc >= 0.99 / >= 0.9" in text
    # attention: midpoint 30, slope 3: acc = 1/(1+(d/30)^-3): 0.907 at 64, 0.998 at 256, any L
    line = next(l for l in text.splitlines() if l.startswith("attention ") and "/" in l)
    assert line.split()[1:4] == ["256", "/", "64"], line
    assert re.search(r"hyena\s+64\s+failed\s+0\.\d+", text), text
    assert "run " in text and " oom: hyena L=64 d=64" in text and "out of memory" in text
    assert " diverged: hyena L=256 d=128" in text and " pending: base_conv L=64 d=512" in text
    # Needs for 0.9 inside the grid at L=128..512 (the midpoint is c L^b): exact exponents.
    assert re.search(r"base_conv: d_model ~ L\^1\.00, 95% interval \[1\.00, 1\.00\] from 3 L", text), text
    assert re.search(r"hyena: d_model ~ L\^1\.10, 95% interval \[1\.10, 1\.10\] from 3 L", text), text
    assert re.search(r"attention: no fit: .*about 0", text), text
    assert "report: " in text and "report.html" in text


def test_svg_only_inlines_svg(sweep, tmp_path, capsys):
    path, _ = sweep
    rc, text, err = run_main([path, "-o", str(tmp_path), "--format", "svg", "-q",
                              "--filter", "mixer in [attention, base_conv]", "--filter", "seq_len <= 256"], capsys)
    assert rc == 0, err
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".png")]
    html = open(tmp_path / "report.html", encoding="utf-8").read()
    assert html.count("<svg") >= len(FIGURES) and "data:image/png" not in html
    assert "were left out by the filters" in html
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert set(runs["mixer"]) == {"attention", "base_conv"} and set(runs["seq_len"]) == {64, 128, 256}
    assert text.strip().startswith("report: ")


def test_metric_group_by_runs(sweep, tmp_path, capsys):
    path, _ = sweep
    rc, text, err = run_main([path, "-o", str(tmp_path), "--format", "png", "--metric", "final_loss",
                              "--group-by", "family", "--runs", "0,5,9"], capsys)
    assert rc == 0, err
    assert "min over learning rates" in text and "accuracy targets and fits need an accuracy metric" in open(
        tmp_path / "report.html").read()
    assert "run 0: attention" in open(tmp_path / "report.html").read()
    assert not os.path.exists(tmp_path / "scaling_fits.png")


@pytest.mark.parametrize("args, msg", [
    (["--metric", "colour"], "--metric colour: no such column"),
    (["--metric", "mixer"], "not a numeric column"),
    (["--filter", "mixer in [mamba]"], "mixer has no value mamba"),
    (["--filter", "seq_len > 4096"], "no run matches"),
    (["--group-by", "flavour"], "--group-by: no column 'flavour'"),
    (["--runs", "9999"], "--runs: no run 9999"),
])
def test_bad_options_exit_2(sweep, tmp_path, capsys, args, msg):
    path, _ = sweep
    rc, _, err = run_main([path, "-o", str(tmp_path), "--format", "png", "-q"] + args, capsys)
    assert rc == 2 and msg in err and err.startswith("zoo-analyze: error: "), err


def test_bad_file_exit_2(tmp_path, capsys):
    p = tmp_path / "x.h5"
    p.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    rc, _, err = run_main([str(p), "-o", str(tmp_path / "r")], capsys)
    assert rc == 2 and "x.h5" in err and ("truncated or damaged" in err or "not an HDF5" in err), err
    assert not os.path.exists(tmp_path / "r")
    rc, _, err = run_main([str(tmp_path / "none.h5")], capsys)
    assert rc == 2 and "no such file" in err


def test_module_and_launcher(sweep, tmp_path):
    """python3 -m zoo_analyze, and the build-tree launcher when ctest names it."""
    path, _ = sweep
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-m", "zoo_analyze", "--help"], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and "--filter" in r.stdout and "--group-by" in r.stdout
    launcher = os.environ.get("ZOO_ANALYZE_LAUNCHER")
    if not launcher:
        pytest.skip("ZOO_ANALYZE_LAUNCHER not set (ctest sets it to <build>/zoo-analyze)")
    env.pop("PYTHONPATH", None)
    r = subprocess.run([launcher, path, "-o", str(tmp_path / "r"), "--format", "png", "-q", "--filter",
                        "mixer in [attention] and seq_len <= 128"], capture_output=True,
                       text=True, env=env, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert os.path.exists(tmp_path / "r" / "report.html")
    r = subprocess.run([launcher, str(tmp_path / "none.h5")], capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "no such file" in r.stderr


@pytest.mark.parametrize("status", ["pending", "failed"])
def test_nothing_finished_ok_still_reports(tmp_path, capsys, status):
    """A sweep where no run finished ok (all unfinished, or all failed) gives every figure
    and says so, instead of crashing on empty data."""
    R = [zs.run(i, m, D, 64, 1e-3, status=status, message="no plugin" if status == "failed" else "")
         for i, (m, D) in enumerate((m, D) for m in ("attention", "hyena") for D in (64, 128))]
    p = zs.write(str(tmp_path / "r.h5"), R)
    rc, text, err = run_main([p, "-o", str(tmp_path / "rep"), "--format", "png"], capsys)
    assert rc == 0, err
    for name in FIGURES:
        if name != "training_curves":  # no run has curves
            assert os.path.exists(tmp_path / "rep" / f"{name}.png"), name
    assert f"4 runs: 4 {status}" in text and text.count(f" {status}: ") == 4
    assert re.search(rf"attention\s+64\s+{status}\s+{status}", text), text
    assert "attention  n/a / n/a" in text
    html = open(tmp_path / "rep" / "report.html").read()
    assert "no run finished ok, so there are no training curves to draw" in html
