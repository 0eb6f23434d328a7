"""Applies the fits of fits.py to the per-cell values: per line, the d_model needed for a
target accuracy at each sequence length and its power law in L; per line and L, the
logistic curve of accuracy against log2 state bytes. Refusals are kept as results
(with their reason), never dropped. No plotting, no file reading.
"""
import math

import numpy as np
import pandas as pd

from .fits import MIN_POWER_POINTS, FitRefused, fit_logistic, fit_power_law, needed_d_model


def needed_points(cells, target):
    """Per (line, seq_len): d_needed for `target` and its censoring ("", "left",
    "right", "none"); d_min/d_max of the cells with a value."""
    rows = []
    for (line, L), g in cells.groupby(["line", "seq_len"], sort=True):
        valued = g[g["value"].notna()]
        d, cens = needed_d_model(g["d_model"], g["value"], target)
        rows.append(dict(line=line, group=g["group"].iloc[0], seq_len=int(L), d_needed=d, censoring=cens,
                         d_min=float(valued["d_model"].min()) if len(valued) else math.nan,
                         d_max=float(valued["d_model"].max()) if len(valued) else math.nan))
    return pd.DataFrame(rows)


def _censored_words(p):
    words = []
    for _, r in p.iterrows():
        if r["censoring"] == "left":
            words.append(f"L={r['seq_len']}: reached at the smallest d_model ({int(r['d_min'])})")
        elif r["censoring"] == "right":
            words.append(f"L={r['seq_len']}: not reached up to d_model {int(r['d_max'])}")
        elif r["censoring"] == "none":
            words.append(f"L={r['seq_len']}: no finished run")
    return words


def power_law_fits(cells, target=0.9, ci=0.95):
    """Per line: d_needed(L) = a L^b. A list of dicts: line, target, points (the
    needed_points rows of the line), and either fit (fits.fit_power_law's dict) or
    refused (the reason). Only points inside the grid are fitted; censored ones are
    named in the reason or in `censored`."""
    pts = needed_points(cells, target)
    out = []
    for line, p in pts.groupby("line", sort=True):
        inside = p[p["censoring"] == ""]
        cens = _censored_words(p)
        r = dict(line=line, group=p["group"].iloc[0], target=target, points=p.reset_index(drop=True),
                 censored=cens, fit=None, refused=None)
        try:
            r["fit"] = fit_power_law(inside["seq_len"], inside["d_needed"], ci=ci)
        except FitRefused as e:
            why = (f"{e}: needs the target inside the d_model grid at >= {MIN_POWER_POINTS} sequence lengths, "
                   f"has {len(inside)}" + (" (" + "; ".join(cens) + ")" if cens else ""))
            if str(e).startswith("needs at least"):
                why = why.split(": ", 1)[1]
            if len(p) and (p["censoring"] == "left").all():
                why += "; the need does not grow with L within this grid, consistent with an exponent of about 0"
            r["refused"] = why
        out.append(r)
    return out


def logistic_fits(cells, ci=0.95):
    """Per (line, seq_len): accuracy vs log2 state bytes. A list of dicts: line,
    seq_len, x (log2 bytes), y, and fit or refused."""
    out = []
    for (line, L), g in cells.groupby(["line", "seq_len"], sort=True):
        ok = g[g["value"].notna() & g["state_bytes"].notna() & (g["state_bytes"] > 0)] \
            if "state_bytes" in g else g.iloc[0:0]
        x = np.log2(ok["state_bytes"].to_numpy(dtype=float)) if len(ok) else np.array([])
        y = ok["value"].to_numpy(dtype=float) if len(ok) else np.array([])
        r = dict(line=line, group=g["group"].iloc[0], seq_len=int(L), x=x, y=y, fit=None, refused=None)
        try:
            r["fit"] = fit_logistic(x, y, ci=ci)
        except FitRefused as e:
            r["refused"] = str(e)
        out.append(r)
    return out


def power_law_rows(fits):
    """The power-law results as a table (one row per line)."""
    rows = []
    for r in fits:
        f = r["fit"]
        rows.append(dict(line=r["line"], target=r["target"], n=f["n"] if f else len(r["points"]),
                         exponent=f["b"] if f else math.nan, lo=f["b_lo"] if f else math.nan,
                         hi=f["b_hi"] if f else math.nan, prefactor=f["a"] if f else math.nan,
                         rms_log_residual=f["rms"] if f else math.nan,
                         residuals=" ".join(f"{v:+.3f}" for v in f["residuals"]) if f else "",
                         note=r["refused"] or ("; ".join(r["censored"]) if r["censored"] else "")))
    return pd.DataFrame(rows)


def logistic_rows(fits):
    rows = []
    for r in fits:
        f = r["fit"]
        rows.append(dict(line=r["line"], seq_len=r["seq_len"], n=f["n"] if f else len(r["x"]),
                         x50=f["x50"] if f else math.nan, x50_lo=f["x50_lo"] if f else math.nan,
                         x50_hi=f["x50_hi"] if f else math.nan, k=f["k"] if f else math.nan,
                         k_lo=f["k_lo"] if f else math.nan, k_hi=f["k_hi"] if f else math.nan,
                         rms_residual=f["rms"] if f else math.nan, max_abs_residual=f["max_abs_res"] if f else math.nan,
                         note=r["refused"] or ("steeper than the points resolve; x50 bracketed" if f["k_unresolved"] else "")))
    return pd.DataFrame(rows)
