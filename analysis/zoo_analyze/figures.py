"""The report's figures (matplotlib, no display): accuracy vs d_model per sequence length
(with the paper's values when the grid matches), accuracy vs state bytes, vs parameters
and vs training FLOPs, training curves of chosen runs, and the scaling fits with their
residuals. Each function takes tables already computed and returns a Figure; nothing
here selects runs or fits.
"""
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import (FixedLocator, Formatter, FuncFormatter, Locator, LogLocator,  # noqa: E402
                               MaxNLocator, NullFormatter, NullLocator)

from .fits import MIN_POWER_POINTS, logistic  # noqa: E402

STYLE = {"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9,
         "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
         "svg.hashsalt": "zoo", "figure.dpi": 100}
MARKERS = "os^Dv<>pP*hX"
FAILED_COLOR = "#c0392b"


def colors(lines):
    """A fixed colour and marker per line (sorted order, attention first as the reference)."""
    cmap = plt.get_cmap("tab10")
    order = sorted(lines, key=lambda s: (not s.startswith("attention"), s))
    return {l: (cmap(i % 10), MARKERS[i % len(MARKERS)]) for i, l in enumerate(order)}


def _grid(n, width=3.9, height=3.5, max_cols=4):
    cols = min(n, max_cols)
    rows = int(math.ceil(n / cols))
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(rows, cols, figsize=(width * cols + 2.4, height * rows + 0.6), squeeze=False,
                                 sharey=True)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _pow2_axis(ax, values):
    """log2 axis with ticks at the grid's values (d_model 64, 128, ...)."""
    ax.set_xscale("log", base=2)
    vals = sorted(set(float(v) for v in values if np.isfinite(v) and v > 0))
    if vals:
        ax.xaxis.set_major_locator(FixedLocator(vals))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        lo, hi = vals[0], vals[-1]
        ax.set_xlim(lo / 1.3, hi * 1.3)


# Log axes of the scatter panels (state bytes, parameters, FLOPs). A panel is narrow
# (about 4 inches) and often spans well under a decade (one d_model per panel, or sizes
# close together), where matplotlib's LogLocator falls back to linear ticks whose long
# "m x 10^e" labels run into each other. These locators pick between 2 and MAX_LOG_TICKS
# ticks whatever the span, and the formatters write short labels (SI prefixes, 2^k).
MAX_LOG_TICKS = 6
_MANTISSAS = ((1.0,), (1.0, 2.0, 5.0), (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0))


def _in_view(ticks, lo, hi):
    eps = 1e-9 * (hi - lo if hi > lo else abs(hi) or 1.0)
    return [t for t in ticks if lo - eps <= t <= hi + eps]


def _thin(ticks, most):
    """Every n-th tick (n as small as keeps at most `most`)."""
    if len(ticks) <= most:
        return ticks
    n = int(math.ceil(len(ticks) / most))
    return ticks[::n]


def _linear_nice(lo, hi, most):
    """Round linear ticks inside [lo, hi] (a span too narrow for any log tick set)."""
    t = _in_view(list(MaxNLocator(nbins=max(1, most - 2), steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)), lo, hi)
    if len(t) >= 2:
        return t
    return [lo, hi] if hi > lo else [lo]


class _LogLocator(Locator):
    """A log axis's view in, at most `most` ticks out; subclasses pick the ticks."""

    def __init__(self, most=MAX_LOG_TICKS):
        self.most = most

    def __call__(self):
        lo, hi = self.axis.get_view_interval()
        return self.tick_values(lo, hi)

    def tick_values(self, vmin, vmax):
        lo, hi = sorted((float(vmin), float(vmax)))
        if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= 0:
            return []
        return self._ticks(max(lo, hi * 1e-12), hi)


class Log10NiceLocator(_LogLocator):
    """Ticks for a log10 axis: of whole decades, 1-2-5 x 10^k and 1..9 x 10^k, the finest
    set that puts between 2 and `most` ticks in view; whole decades thinned when even they
    are too many; round linear ticks when the span is too narrow for any of them."""

    def _ticks(self, lo, hi):
        e0, e1 = int(math.floor(math.log10(lo))), int(math.ceil(math.log10(hi)))
        sets = [_in_view([m * 10.0 ** e for e in range(e0, e1 + 1) for m in subs], lo, hi) for subs in _MANTISSAS]
        fit = [t for t in sets if 2 <= len(t) <= self.most]
        if fit:
            return fit[-1]
        if len(sets[0]) > self.most:
            return _thin(sets[0], self.most)
        return _linear_nice(lo, hi, self.most)


class Log2NiceLocator(_LogLocator):
    """Ticks for a log2 axis at 2^(j*step): the largest step of 8, 4, 2, 1, 1/2, 1/4 that
    puts at least 2 ticks in view, thinned to at most `most`."""

    def _ticks(self, lo, hi):
        a, b = math.log2(lo), math.log2(hi)
        for step in (1.0, 0.5, 0.25):
            t = [2.0 ** (j * step) for j in range(int(math.floor(a / step)), int(math.ceil(b / step)) + 1)]
            t = _in_view(t, lo, hi)
            if len(t) >= 2:
                return _thin(t, self.most)
        return _linear_nice(lo, hi, self.most)


_SI = ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""))


def _si(v, digits):
    """v with an SI prefix and `digits` significant digits (never fewer than the integer
    part has), trailing zeros dropped: 100000 -> 100k, 36750000000 -> 36.75G."""
    scale, prefix = next(((s, p) for s, p in _SI if abs(v) >= s), (1.0, ""))
    x = v / scale
    if x == 0 or not math.isfinite(x):
        return f"{x:g}{prefix}"
    dec = max(0, digits - 1 - int(math.floor(math.log10(abs(x)))))
    txt = f"{x:.{dec}f}"
    if "." in txt:
        txt = txt.rstrip("0").rstrip(".")
    return txt + prefix


class SIFormatter(Formatter):
    """Short labels with SI prefixes (2k, 50k, 1.2M, 36.75G, 2P), with the fewest
    significant digits (2 to 6) that write every tick exactly (the ticks are round
    numbers), else that tell them apart."""

    def format_ticks(self, values):
        vals = [float(v) for v in values]
        distinct = None
        for d in range(2, 7):
            labels = [_si(v, d) if v > 0 else "" for v in vals]
            if all(_si(v, d) == _si(v, 9) for v in vals if v > 0):
                return labels
            shown = [l for l in labels if l]
            if distinct is None and len(set(shown)) == len(shown):
                distinct = labels
        return distinct or labels

    def __call__(self, x, pos=None):
        return _si(float(x), 3) if x > 0 else ""


def _pow2_label(v, _pos=None):
    """2^13, 2^13.5, 2^13.25 (mathtext); a value between those (the linear ticks of a very
    narrow span) with an SI prefix instead, 8.2k."""
    if v <= 0:
        return ""
    e = math.log2(v)
    if abs(e * 4 - round(e * 4)) < 1e-6:
        return f"$2^{{{round(e * 4) / 4:g}}}$"
    return _si(v, 3)


def _pow2_bytes_axis(ax):
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(Log2NiceLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(_pow2_label))
    ax.xaxis.set_minor_locator(NullLocator())


def _log10_axis(ax):
    """log10 axis with at most MAX_LOG_TICKS short labels (a panel often spans less than a
    decade, sometimes a few percent)."""
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(Log10NiceLocator())
    ax.xaxis.set_major_formatter(SIFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())


def _plain_log_y(ax):
    """Log y with plain numbers at 1, 2, 5 x 10^k (losses in nats)."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _metric_ylim(ax, metric):
    if "acc" in metric:
        ax.set_ylim(-0.03, 1.03)


def _setting_title(g):
    L = int(g["seq_len"].iloc[0])
    kv = g["kv_pairs"].dropna()
    return f"L = {L}" + (f" (K = {int(kv.iloc[0])})" if len(kv) else "")


def _status_handles(cells, which=("partial", "failed", "pending")):
    h = []
    st = set(cells["cell_status"]) & set(which)
    if "partial" in st:
        h.append(Line2D([], [], marker="o", color="k", mfc="white", ls="none",
                        label="some runs of the cell failed or unfinished"))
    if "failed" in st:
        h.append(Line2D([], [], marker="x", color="k", ls="none", ms=8, mew=2,
                        label="failed: no run of the cell finished ok"))
    if "pending" in st:
        h.append(Line2D([], [], marker="o", color="k", mfc="none", ls="none", ms=8,
                        label="unfinished (pending)"))
    return h


def _finish(fig, handles, title, hspace=0.45):
    fig.suptitle(title, fontsize=12)
    if handles:
        fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0 - 2.3 / fig.get_figwidth(), 0.5),
                   frameon=False)
    fig.subplots_adjust(left=0.07, right=1.0 - 2.4 / fig.get_figwidth(), top=0.85 if fig.get_figheight() < 5 else 0.9,
                        bottom=0.16 if fig.get_figheight() < 5 else 0.1, wspace=0.12, hspace=hspace)
    return fig


def acc_vs_d_model(cells, metric, metric_label, paper=None, reduction="max over learning rates"):
    """One panel per sequence length, one line per mixer; failed and unfinished cells
    marked at the bottom; the paper's values dashed when given (rows of the paper data
    for the panels whose setting matches)."""
    Ls = sorted(cells["seq_len"].unique())
    fig, axes = _grid(len(Ls))
    col = colors(cells["line"].unique())
    y_fail = -0.0 if "acc" in metric else np.nan
    handles = {}
    order = sorted(col)
    for ax, L in zip(axes, Ls):
        g = cells[cells["seq_len"] == L]
        for line, h in g.groupby("line", sort=True):
            c, m = col[line]
            # Markers of failed cells of several lines would coincide at the bottom: dodge.
            dodge = 2.0 ** (0.05 * (order.index(line) - (len(order) - 1) / 2))
            h = h.sort_values("d_model")
            v = h[h["value"].notna()]
            handles[line] = ax.plot(v["d_model"], v["value"], marker=m, color=c, lw=1.8, ms=6, label=line)[0]
            part = v[v["cell_status"] == "partial"]
            ax.plot(part["d_model"], part["value"], marker=m, ls="none", mfc="white", mec=c, ms=6, mew=1.5)
            # Failed / unfinished cells: at the bottom, in the line's colour.
            fail = h[h["cell_status"] == "failed"]
            if len(fail) and np.isfinite(y_fail):
                ax.plot(fail["d_model"] * dodge, [y_fail] * len(fail), marker="x", ls="none", color=c, ms=9, mew=2.2)
            pend = h[h["cell_status"] == "pending"]
            if len(pend) and np.isfinite(y_fail):
                ax.plot(pend["d_model"] * dodge, [y_fail] * len(pend), marker="o", ls="none", mfc="none", mec=c, ms=9,
                        mew=1.5)
            if paper is not None and len(paper):
                p = paper[(paper["seq_len"] == L) & (paper["mixer"] == h["group"].iloc[0])].sort_values("d_model")
                if len(p):
                    ax.plot(p["d_model"], p["acc"], ls="--", marker=m, mfc="none", color=c, alpha=0.55, lw=1.2, ms=5)
        _pow2_axis(ax, g["d_model"])
        _metric_ylim(ax, metric)
        ax.set_title(_setting_title(g))
        ax.set_xlabel("model dimension d_model")
    axes[0].set_ylabel(metric_label)
    hl = [handles[k] for k in sorted(handles, key=lambda s: (not s.startswith("attention"), s))]
    if paper is not None and len(paper):
        hl.append(Line2D([], [], ls="--", color="grey", marker="o", mfc="none",
                         label="paper (Zoology Fig. 2, read off the figure, ±0.02)"))
    hl += _status_handles(cells)
    return _finish(fig, hl, f"MQAR: {metric_label} vs model dimension ({reduction})")


def _scatter_panels(cells, xcol, xlabel, metric_label, title, axis, fits=None, metric="final_acc"):
    Ls = sorted(cells["seq_len"].unique())
    fig, axes = _grid(len(Ls))
    col = colors(cells["line"].unique())
    handles = {}
    notes = False
    for ax, L in zip(axes, Ls):
        g = cells[cells["seq_len"] == L]
        unplaced = []
        for line, h in g.groupby("line", sort=True):
            c, m = col[line]
            v = h[h["value"].notna() & h[xcol].notna() & (h[xcol] > 0)].sort_values(xcol)
            handles[line] = ax.plot(v[xcol], v["value"], marker=m, color=c, lw=1.0, ms=6, alpha=0.9, label=line)[0]
            part = v[v["cell_status"] == "partial"]
            ax.plot(part[xcol], part["value"], marker=m, ls="none", mfc="white", mec=c, ms=6, mew=1.5)
            bad = h[h["cell_status"].isin(["failed", "pending"])]
            unplaced += [f"{line} d={int(r.d_model)}: {r.cell_status}" for r in bad.itertuples()]
            if fits:
                f = fits.get((line, int(L)))
                if f is not None:
                    xs = np.linspace(f["x"].min() - 1, f["x"].max() + 1, 200)
                    ax.plot(2.0 ** xs, logistic(xs, f["x50"], f["k"]), ls=":", color=c, lw=1.4)
        axis(ax)
        ax.margins(x=0.06)
        _metric_ylim(ax, metric)
        ax.set_title(_setting_title(g))
        ax.set_xlabel(xlabel)
        if unplaced:
            # Below the axis label, where it hides no data (savefig's tight box keeps it).
            more = f" (+{len(unplaced) - 3} more)" if len(unplaced) > 3 else ""
            ax.text(0.0, -0.2, "no value, not shown: " + "; ".join(unplaced[:3]) + more, transform=ax.transAxes,
                    va="top", ha="left", fontsize=8, color=FAILED_COLOR, wrap=True)
            notes = True
    axes[0].set_ylabel(metric_label)
    hl = [handles[k] for k in sorted(handles, key=lambda s: (not s.startswith("attention"), s))]
    if fits:
        hl.append(Line2D([], [], ls=":", color="grey", label="logistic fit in log2(state bytes)"))
    hl += _status_handles(cells, ("partial",))
    return _finish(fig, hl, title, hspace=0.75 if notes else 0.45)


def acc_vs_state(cells, metric, metric_label, logistic_fits=None):
    fits = {(r["line"], r["seq_len"]): r["fit"] for r in (logistic_fits or []) if r["fit"] is not None}
    return _scatter_panels(cells, "state_bytes", "state size (bytes, fp32; log scale)", metric_label,
                           f"MQAR: {metric_label} vs state size (max over learning rates)", _pow2_bytes_axis, fits,
                           metric)


def acc_vs_params(cells, metric, metric_label):
    return _scatter_panels(cells, "params", "trainable parameters (log scale)", metric_label,
                           f"MQAR: {metric_label} vs parameters (max over learning rates)", _log10_axis, None, metric)


def acc_vs_flops(cells, metric, metric_label):
    return _scatter_panels(cells, "train_flops", "training FLOPs (log scale)", metric_label,
                           f"MQAR: {metric_label} vs training compute (max over learning rates; "
                           "FLOPs = estimate per step x steps run)",
                           _log10_axis, None, metric)


def _smooth(y, n):
    if n <= 1 or y.size < n:
        return y
    k = np.ones(n) / n
    s = np.convolve(y, k, mode="valid")
    return np.concatenate([np.full(n - 1, np.nan), s])


def training_curves(runs):
    """runs: list of (label, curves dict). Three panels: training loss per step, test
    loss per epoch, test accuracy per epoch."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    cmap = plt.get_cmap("tab10")
    handles = []
    for i, (label, c) in enumerate(runs):
        color = cmap(i % 10)
        sl = c.get("step_loss")
        if sl is not None and sl.size:
            x = np.arange(1, sl.size + 1)
            axes[0].plot(x, sl, color=color, alpha=0.25, lw=0.6)
            axes[0].plot(x, _smooth(sl, max(1, sl.size // 50)), color=color, lw=1.5)
        for ax, name in ((axes[1], "epoch_test_loss"), (axes[2], "epoch_test_acc")):
            y = c.get(name)
            if y is not None and y.size:
                ax.plot(np.arange(1, y.size + 1), y, marker="o", ms=3, color=color, lw=1.5)
        handles.append(Line2D([], [], color=color, lw=2, label=label))
    _plain_log_y(axes[0])
    axes[0].set_xlabel("optimizer step")
    axes[0].set_ylabel("training loss (nats; log scale)")
    axes[0].set_title("training loss (faint: each step; solid: moving mean)")
    _plain_log_y(axes[1])
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("test loss (nats; log scale)")
    axes[1].set_title("test loss after each epoch")
    axes[2].set_xlabel("epoch")
    axes[2].set_ylabel("test accuracy (0-1)")
    axes[2].set_ylim(-0.03, 1.03)
    axes[2].set_title("test accuracy after each epoch")
    n_epochs = max([c[k].size for _, c in runs for k in ("epoch_test_loss", "epoch_test_acc") if k in c] + [1])
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    axes[0].xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k" if v >= 10000 else f"{v:g}"))
    for ax in axes[1:]:
        ax.set_xlim(0.5, n_epochs + 0.5)
        if n_epochs <= 16:
            ax.xaxis.set_major_locator(FixedLocator(range(1, n_epochs + 1)))
    fig.legend(handles=handles, loc="lower center", ncol=min(3, max(1, len(handles))), frameon=False,
               bbox_to_anchor=(0.5, 0.0))
    rows = int(math.ceil(len(handles) / 3))
    fig.suptitle("Training curves of chosen runs", fontsize=12)
    fig.subplots_adjust(left=0.06, right=0.98, top=0.85, bottom=0.18 + 0.05 * rows, wspace=0.28)
    return fig


def _sym_ylim(ax, arrays, least):
    """Symmetric y limits around 0, at least +-least, so exact fits look flat, not noisy."""
    m = max([float(np.nanmax(np.abs(a))) for a in arrays if len(a)] + [0.0])
    m = max(m * 1.25, least)
    ax.set_ylim(-m, m)


def _empty_note(ax, text):
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=10, color="#555",
            bbox=dict(boxstyle="round,pad=0.5", fc="#f7f7f7", ec="#ccc"))


def scaling_fits(power_fits, log_fits, metric_label, ci=0.95):
    """Left: d_model needed for the target vs L (log-log) with the power-law fits and their
    bands; middle: their residuals; right: residuals of the logistic state-size fits."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(16.5, 4.6))
    lines = sorted({r["line"] for r in power_fits} | {r["line"] for r in log_fits})
    col = colors(lines)
    handles = []
    target = power_fits[0]["target"] if power_fits else float("nan")
    ci_txt = f"{ci:.0%}"
    allL = sorted({int(L) for r in power_fits for L in r["points"]["seq_len"]})
    n_lines = max(1, len(power_fits))
    for i, r in enumerate(power_fits):
        c, m = col[r["line"]]
        p = r["points"]
        # Censored points of different lines often coincide (the grid's ends): dodge them.
        dodge = 2.0 ** (0.06 * (i - (n_lines - 1) / 2))
        inside = p[p["censoring"] == ""]
        axes[0].plot(inside["seq_len"], inside["d_needed"], marker=m, ls="none", color=c, ms=7)
        left = p[p["censoring"] == "left"]
        axes[0].plot(left["seq_len"] * dodge, left["d_needed"], marker="v", ls="none", color=c, mfc="none", ms=8,
                     mew=1.5)
        right = p[p["censoring"] == "right"]
        axes[0].plot(right["seq_len"] * dodge, right["d_needed"], marker="^", ls="none", color=c, mfc="none", ms=8,
                     mew=1.5)
        f = r["fit"]
        if f is not None:
            xs = np.geomspace(min(f["x"]) / 1.15, max(f["x"]) * 1.15, 100)
            fit, lo, hi = f["predict"](xs)
            axes[0].plot(xs, fit, color=c, lw=1.6)
            axes[0].fill_between(xs, lo, hi, color=c, alpha=0.15, lw=0)
            lab = f"{r['line']}: exponent {f['b']:.2f} [{f['b_lo']:.2f}, {f['b_hi']:.2f}]"
            axes[1].plot(f["x"], f["residuals"], marker=m, color=c, lw=1, ms=6)
        else:
            n_in = int((p["censoring"] == "").sum())
            lab = f"{r['line']}: no fit ({n_in} L with the target inside the d_model grid; needs {MIN_POWER_POINTS})"
        handles.append(Line2D([], [], color=c, marker=m, lw=1.6 if f is not None else 0, label=lab))
    for ax in axes[:2]:
        ax.set_xscale("log", base=2)
        if allL:
            ax.xaxis.set_major_locator(FixedLocator(allL))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xlim(min(allL) / 1.3, max(allL) * 1.3)
        ax.set_xlabel("sequence length L (tokens; log scale)")
    has_points = any(np.isfinite(r["points"]["d_needed"]).any() for r in power_fits if len(r["points"]))
    if has_points:
        axes[0].set_yscale("log", base=2)
        axes[0].yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    else:
        _empty_note(axes[0], "no setting has a finished run")
    axes[0].set_ylabel("d_model needed (log scale)")
    axes[0].set_title(f"d_model needed for accuracy ≥ {target:g} vs L\n(power law with {ci_txt} band)")
    axes[1].axhline(0, color="k", lw=0.8)
    axes[1].set_ylabel("residual of log d_model (natural log)")
    axes[1].set_title("power-law residuals")
    _sym_ylim(axes[1], [f["residuals"] for r in power_fits if (f := r["fit"]) is not None], 0.05)
    for r in log_fits:
        f = r["fit"]
        if f is None:
            continue
        c, m = col[r["line"]]
        axes[2].plot(f["x"], f["residuals"], marker=m, ls="none", color=c, ms=5, alpha=0.8)
    if not any(r["fit"] is not None for r in power_fits):
        _empty_note(axes[1], "no power-law fit:\ntoo few sequence lengths with the target\n"
                             "inside the d_model grid (reasons in the legend)")
    if not any(r["fit"] is not None for r in log_fits):
        _empty_note(axes[2], "no logistic fit:\ntoo few points, or no accuracy\nbetween 0.2 and 0.8 "
                             "(reasons in the report)")
    axes[2].axhline(0, color="k", lw=0.8)
    axes[2].set_xlabel("log2(state bytes)")
    axes[2].set_ylabel("accuracy residual (measured - fit)")
    axes[2].set_title("residuals of the logistic fits\nof accuracy vs log2(state bytes)")
    _sym_ylim(axes[2], [f["residuals"] for r in log_fits if (f := r["fit"]) is not None], 0.02)
    handles += [Line2D([], [], marker="v", ls="none", color="k", mfc="none",
                       label="reached at the smallest d_model (need ≤ this)"),
                Line2D([], [], marker="^", ls="none", color="k", mfc="none",
                       label="never reached (need > the largest d_model)")]
    fig.legend(handles=handles, loc="lower center", ncol=2, frameon=False, bbox_to_anchor=(0.5, 0.0))
    rows = int(math.ceil(len(handles) / 2))
    # The legend below the panels grows with the lines (a sweep over tasks has many): the
    # figure grows with it, the panels keep their 4.6 inches.
    height = 4.6 + 0.21 * rows
    fig.set_figheight(height)
    fig.suptitle("Scaling fits", fontsize=12)
    fig.subplots_adjust(left=0.06, right=0.98, top=1.0 - 0.64 / height, bottom=(0.92 + 0.21 * rows) / height,
                        wspace=0.3)
    return fig


def task_scores(scores, metric_label):
    """The task score table as a heat map: lines down, tasks (and their mean) across."""
    cols = [c for c in scores.columns if c != "line"]
    vals = scores[cols].to_numpy(dtype=float)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(1.1 * len(cols) + 3.0, 0.45 * len(scores) + 1.8))
    im = ax.imshow(vals, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=35, ha="right")
    ax.set_yticks(range(len(scores)), scores["line"])
    ax.grid(False)
    for (i, j), v in np.ndenumerate(vals):
        if not np.isnan(v):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8, color="white" if v < 0.6 else "black")
    fig.colorbar(im, ax=ax, fraction=0.04, label=metric_label)
    ax.set_title(f"{metric_label} per task (mean over the task's settings of the best over learning rates)")
    fig.tight_layout()
    return fig


def segment_acc_vs_state(cells):
    """Accuracy on each test segment against state size: one panel per test segment
    (its text as the title), one line per mixer line."""
    segs = cells[["segment", "test_segment"]].drop_duplicates().sort_values("segment")
    fig, axes = _grid(len(segs))
    col = colors(cells["line"].unique())
    handles = {}
    for ax, s in zip(axes, segs.itertuples()):
        g = cells[cells["segment"] == s.segment]
        for line, h in g.groupby("line", sort=True):
            c, m = col[line]
            v = h[h["state_bytes"].notna() & (h["state_bytes"] > 0)].sort_values("state_bytes")
            handles[line] = ax.plot(v["state_bytes"], v["segment_acc"], marker=m, color=c, lw=1.0, ms=6,
                                    label=line)[0]
        _pow2_bytes_axis(ax)
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(s.test_segment.replace("test ", ""), fontsize=9)
        ax.set_xlabel("state size (bytes, fp32; log scale)")
    axes[0].set_ylabel("test accuracy of the segment")
    hl = [handles[k] for k in sorted(handles, key=lambda t: (not t.startswith("attention"), t))]
    return _finish(fig, hl, "Accuracy on each test segment vs state size (best run over learning rates)")


def save(fig, base, formats):
    """Write base.png / base.svg as asked; returns {format: path}."""
    out = {}
    if "png" in formats:
        out["png"] = f"{base}.png"
        fig.savefig(out["png"], dpi=150, bbox_inches="tight", metadata={"Software": None})
    if "svg" in formats:
        out["svg"] = f"{base}.svg"
        fig.savefig(out["svg"], bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return out
