"""Known-answer tests of the scaling fits: the needed-d_model interpolation is exact for a
logistic-in-log-d_model accuracy; the power-law and logistic fits recover known
parameters inside their intervals, the intervals cover at about their nominal rate, and
the fits refuse with too few or uninformative points. Then the same through a whole
synthetic results file (load -> cells -> fits)."""
import math

import numpy as np
import pytest

import zoo_synth as zs
from zoo_analyze import load
from zoo_analyze.fits import FitRefused, fit_logistic, fit_power_law, logistic, needed_d_model
from zoo_analyze.scaling import logistic_fits, power_law_fits
from zoo_analyze.select import add_group, cell_table

GRID = [2.0 ** k for k in range(4, 12)]  # d_model 16 .. 2048


def test_needed_d_model_exact_for_logistic_accuracy():
    for mid, slope, t in ((100.0, 3.0, 0.9), (300.0, 3.0, 0.99), (50.0, 6.0, 0.5)):
        acc = [1 / (1 + (d / mid) ** -slope) for d in GRID]
        d, cens = needed_d_model(GRID, acc, t)
        want = mid * math.exp(math.log(t / (1 - t)) / slope)
        assert cens == "" and d == pytest.approx(want, rel=1e-9), (mid, slope, t, d, want)
    assert needed_d_model(GRID, [0.95] * len(GRID), 0.9) == (16.0, "left")
    assert needed_d_model(GRID, [0.5] * len(GRID), 0.9) == (2048.0, "right")
    d, cens = needed_d_model(GRID, [math.nan] * len(GRID), 0.9)
    assert math.isnan(d) and cens == "none"
    # Not monotone: the first crossing counts (H3 in the paper dips at d=512).
    d, cens = needed_d_model([64, 128, 256, 512], [0.5, 0.95, 0.7, 0.99], 0.9)
    assert 64 < d < 128 and cens == ""


def test_power_law_recovers_exponent_inside_interval():
    rng = np.random.default_rng(7)
    L = np.array([64, 128, 256, 512, 1024], dtype=float)
    for b_true in (1.0, 0.5, 0.0, 1.4):
        y = 0.5 * L ** b_true * np.exp(rng.normal(0, 0.1, L.size))
        f = fit_power_law(L, y)
        assert f["b_lo"] <= b_true <= f["b_hi"], (b_true, f["b"], f["b_lo"], f["b_hi"])
        assert abs(f["b"] - b_true) < 0.2, (b_true, f["b"])
        assert f["b_hi"] - f["b_lo"] < 0.6  # informative, so a wrong exponent is excluded
        assert not (f["b_lo"] <= b_true + 0.5 <= f["b_hi"])
        assert f["a_lo"] <= 0.5 <= f["a_hi"] or abs(math.log(f["a"] / 0.5)) < 0.5
        assert len(f["residuals"]) == 5 and f["dof"] == 3
        np.testing.assert_allclose(np.log(y) - (math.log(f["a"]) + f["b"] * np.log(L)), f["residuals"], atol=1e-12)
    # Exact data: zero residuals, exact exponent.
    f = fit_power_law([64, 128, 256], [32, 64, 128])
    assert f["b"] == pytest.approx(1.0) and f["rms"] < 1e-12


def test_power_law_interval_coverage():
    rng = np.random.default_rng(11)
    L = np.array([64, 128, 256, 512], dtype=float)
    hits, n = 0, 600
    for _ in range(n):
        y = 2.0 * L ** 0.8 * np.exp(rng.normal(0, 0.2, L.size))
        f = fit_power_law(L, y, ci=0.95)
        hits += f["b_lo"] <= 0.8 <= f["b_hi"]
    assert 0.92 <= hits / n <= 0.98, f"95% interval covered the true exponent in {hits} of {n} fits"


def test_power_law_refusals():
    with pytest.raises(FitRefused, match="at least 3 points"):
        fit_power_law([64, 128], [10, 20])
    with pytest.raises(FitRefused, match="at least 3 points"):
        fit_power_law([64, 128, 256], [10, 20, math.nan])
    with pytest.raises(FitRefused, match="2 distinct"):
        fit_power_law([64, 64, 64], [10, 20, 30])


def test_logistic_recovers_parameters_inside_intervals():
    rng = np.random.default_rng(3)
    x = np.arange(10.0, 21.0)
    for x50, k in ((15.0, 1.2), (13.3, 0.6), (17.5, 2.0)):
        y = logistic(x, x50, k) + rng.normal(0, 0.02, x.size)
        f = fit_logistic(x, y)
        assert f["x50_lo"] <= x50 <= f["x50_hi"], (x50, f["x50"], f["x50_lo"], f["x50_hi"])
        assert f["k_lo"] <= k <= f["k_hi"], (k, f["k"], f["k_lo"], f["k_hi"])
        assert abs(f["x50"] - x50) < 0.3 and f["x50_hi"] - f["x50_lo"] < 1.0
        assert f["rms"] < 0.04 and len(f["residuals"]) == x.size


def test_logistic_interval_coverage():
    rng = np.random.default_rng(5)
    x = np.arange(10.0, 21.0)
    hits, n = 0, 300
    for _ in range(n):
        f = fit_logistic(x, logistic(x, 15.0, 1.0) + rng.normal(0, 0.03, x.size))
        hits += f["x50_lo"] <= 15.0 <= f["x50_hi"]
    assert 0.90 <= hits / n <= 0.99, f"95% interval covered the true x50 in {hits} of {n} fits"


def test_logistic_refusals_and_steps():
    with pytest.raises(FitRefused, match="at least 4 points"):
        fit_logistic([10, 11, 12], [0.1, 0.5, 0.9])
    with pytest.raises(FitRefused, match="3 distinct"):
        fit_logistic([10, 10, 12, 12], [0.1, 0.2, 0.8, 0.9])
    with pytest.raises(FitRefused, match="every accuracy is above 0.8"):
        fit_logistic([10, 11, 12, 13], [0.95, 0.97, 0.99, 1.0])
    with pytest.raises(FitRefused, match="every accuracy is below 0.2"):
        fit_logistic([10, 11, 12, 13], [0.01, 0.02, 0.01, 0.05])
    # A step between 12 and 13, no point inside it: the slope is open above and x50 is
    # bracketed by the points.
    for y in ([0.0, 0.0, 0.01, 1.0, 1.0], [0.0, 0.0, 0.0, 0.99, 1.0]):
        f = fit_logistic([10, 11, 12, 13, 14], y)
        assert f["k_unresolved"] and f["k_hi"] == math.inf
        assert (f["x50_lo"], f["x50_hi"]) == (12.0, 13.0)
    # One point inside the transition resolves it.
    f = fit_logistic([10, 11, 12, 13, 14], [0.0, 0.02, 0.5, 0.98, 1.0])
    assert not f["k_unresolved"] and f["k_hi"] < math.inf and f["x50_lo"] <= 12 <= f["x50_hi"]


# ---- through a results file ----------------------------------------------------------

TRUTH = {"gconv": (0.5, 1.0), "half": (3.0, 0.5), "attention": (40.0, 0.0),  # midpoint c * L**b
         "tiny": (1.0, 0.0)}  # solved at the smallest d_model at every L
SLOPE = 2.5


@pytest.fixture(scope="module")
def sweep_df(tmp_path_factory):
    """One synthetic sweep for the file-based tests: accuracy logistic in log d_model with
    noise in logit space; the lower learning rate is worse, so max over lr must skip it."""
    rng = np.random.default_rng(1)
    R = []
    for m, (c, b) in TRUTH.items():
        for L in (64, 128, 256, 512):
            for D in GRID:
                for lr in (1e-3, 1e-2):
                    p = zs.logistic_acc(D, L, c, b, SLOPE)
                    lo = math.log(p / (1 - p)) + rng.normal(0, 0.12)
                    acc = 1 / (1 + math.exp(-lo))
                    if lr == 1e-3:
                        acc *= 0.8
                    R.append(zs.run(len(R), m, int(D), L, lr, final_acc=acc))
    return add_group(load(zs.write(str(tmp_path_factory.mktemp("fits") / "sweep.h5"), R)), "mixer")


def test_power_law_from_a_results_file(sweep_df):
    cells = cell_table(sweep_df, "final_acc")
    fits = {r["line"]: r for r in power_law_fits(cells, target=0.9)}
    for m, (c, b) in TRUTH.items():
        if m == "tiny":
            continue
        f = fits[m]["fit"]
        assert f is not None, fits[m]["refused"]
        assert f["b_lo"] <= b <= f["b_hi"], (m, b, f["b"], f["b_lo"], f["b_hi"])
        assert abs(f["b"] - b) < 0.15, (m, b, f["b"])
        assert f["n"] == 4
    # The known need at the target: c L^b exp(logit(0.9)/slope).
    p = fits["gconv"]["points"]
    want = 0.5 * p["seq_len"] * math.exp(math.log(9) / SLOPE)
    np.testing.assert_allclose(p["d_needed"], want, rtol=0.15)
    # Solved at the smallest d_model everywhere: refused, with the reason.
    r = fits["tiny"]
    assert r["fit"] is None
    assert "reached at the smallest d_model (16)" in r["refused"] and "about 0" in r["refused"]


def test_power_law_refused_with_too_few_lengths(sweep_df):
    cells = cell_table(sweep_df[sweep_df["seq_len"] <= 128], "final_acc")
    for r in power_law_fits(cells, target=0.9):
        assert r["fit"] is None and "has 2" in r["refused"] or r["line"] == "tiny", r["refused"]


def test_logistic_from_a_results_file(sweep_df):
    cells = cell_table(sweep_df, "final_acc")
    fits = {(r["line"], r["seq_len"]): r for r in logistic_fits(cells)}
    # gconv: state bytes = 4 * 8 * D * 2 = 64 D, so x50 = 6 + log2(c L^b) and k = slope ln 2.
    for L in (64, 128, 256, 512):
        f = fits[("gconv", L)]["fit"]
        assert f is not None, fits[("gconv", L)]["refused"]
        x50 = 6 + math.log2(0.5 * L)
        assert f["x50_lo"] <= x50 <= f["x50_hi"], (L, x50, f["x50"], f["x50_lo"], f["x50_hi"])
        assert abs(f["k"] - SLOPE * math.log(2)) < 0.5, f["k"]
    assert fits[("tiny", 64)]["fit"] is None and "above 0.8" in fits[("tiny", 64)]["refused"]
