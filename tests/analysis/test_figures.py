"""The figures' log axes: at least two ticks and no tick labels running into each other,
however narrow the span of a panel (one d_model per panel gives spans of a few percent),
and the accuracy-vs-d_model panels draw one line per mixer through every d_model."""
import math

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from zoo_analyze import figures  # noqa: E402

# (lo, hi) spans of a log axis, from a few percent to many decades.
SPANS = [(3.67e10, 3.74e10), (9.9e3, 1.01e4), (4.31e4, 5.45e4), (1.4e4, 2.6e4), (2.4e11, 9.5e11), (2e3, 1e5),
         (1.5e11, 6e11), (0.5, 3.0), (1e3, 1e12), (1e14, 3e16)]


@pytest.mark.parametrize("lo,hi", SPANS)
def test_log10_ticks_in_view_and_few(lo, hi):
    t = figures.Log10NiceLocator().tick_values(lo, hi)
    assert 2 <= len(t) <= figures.MAX_LOG_TICKS
    assert all(lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9) for v in t)
    labels = figures.SIFormatter().format_ticks(t)
    assert len(set(labels)) == len(labels), labels
    assert all(len(l) <= 7 and "e+" not in l for l in labels), labels


@pytest.mark.parametrize("lo,hi", [(4800, 9000), (8000, 9000), (1024, 2.0 ** 30), (4000, 26000), (2 ** 10, 2 ** 16)])
def test_log2_ticks_in_view_and_few(lo, hi):
    t = figures.Log2NiceLocator().tick_values(lo, hi)
    assert 2 <= len(t) <= figures.MAX_LOG_TICKS
    assert all(lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9) for v in t)
    labels = [figures._pow2_label(v) for v in t]
    assert len(set(labels)) == len(labels), labels


def test_si_labels():
    f = figures.SIFormatter()
    assert f.format_ticks([2e3, 5e3, 1e4, 1e5]) == ["2k", "5k", "10k", "100k"]
    assert f.format_ticks([3.675e10, 3.7e10, 3.725e10]) == ["36.75G", "37G", "37.25G"]
    assert f.format_ticks([1e15, 2e15]) == ["1P", "2P"]
    assert figures._pow2_label(2.0 ** 13) == "$2^{13}$"
    assert figures._pow2_label(2.0 ** 13.5) == "$2^{13.5}$"


def _cells(ds, Ls=(64, 128, 256)):
    rows = []
    for line, base in (("attention", 0.95), ("base_conv", 0.3)):
        for L in Ls:
            for D in ds:
                p = 8192 * D + 24 * D * D + (5000 if line == "attention" else 0)
                rows.append(dict(line=line, group=line, seq_len=L, kv_pairs=L // 16, vocab=512, n_layers=2,
                                 d_model=D, value=min(1.0, base + 0.1 * math.log2(D / ds[0])), cell_status="ok",
                                 params=float(p), train_flops=6.0 * 32 * L * p * (1 + 0.01 * L),
                                 state_bytes=4.0 * (2 * L * D if line == "attention" else 8 * D), run_id=len(rows)))
    return pd.DataFrame(rows)


def _overlaps(fig):
    """Pairs of visible x tick labels whose boxes intersect, over every axes."""
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    bad = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        lo, hi = sorted(ax.get_xlim())
        boxes = [(t.get_text(), t.get_window_extent(r)) for t, v in zip(ax.get_xticklabels(), ax.get_xticks())
                 if t.get_text() and lo <= v <= hi]
        boxes.sort(key=lambda b: b[1].x0)
        assert len(boxes) >= 2, f"{ax.get_title()}: {len(boxes)} tick label(s)"
        bad += [(a[0], b[0]) for a, b in zip(boxes, boxes[1:]) if a[1].x1 > b[1].x0 - 1]
    return bad


@pytest.mark.parametrize("ds", [(64,), (64, 128), (16, 32, 64, 128), (64, 128, 256, 512)])
def test_scatter_panels_tick_labels_do_not_overlap(ds):
    cells = _cells(ds)
    for make in (figures.acc_vs_params, figures.acc_vs_flops, figures.acc_vs_state):
        fig = make(cells, "final_acc", "accuracy")
        try:
            assert _overlaps(fig) == [], make.__name__
        finally:
            matplotlib.pyplot.close(fig)


def test_acc_vs_d_model_draws_a_line_per_mixer_through_every_d_model():
    ds = (16, 32, 64, 128)
    fig = figures.acc_vs_d_model(_cells(ds), "final_acc", "accuracy")
    try:
        for ax in fig.axes:
            lines = [l for l in ax.get_lines() if l.get_linestyle() not in ("None", "none", "") and len(l.get_xdata())]
            assert len(lines) == 2
            for l in lines:
                assert list(np.asarray(l.get_xdata(), float)) == [float(d) for d in ds]
        assert _overlaps(fig) == []
    finally:
        matplotlib.pyplot.close(fig)
