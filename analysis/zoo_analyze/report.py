"""The self-contained HTML report: provenance (zoo version, git revision, sweep text,
sessions with hosts and ranks), run status, the key tables, the fits and every figure
inline (PNG as base64, or the SVG itself). No external files, scripts or fonts. Takes
computed tables; computes nothing itself.
"""
import base64
import html
import math

import numpy as np
import pandas as pd

from .results import FAILED_STATUSES

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;max-width:1250px;
     padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.88em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:right;vertical-align:top}
th{background:#f3f3f3}td.l,th.l{text-align:left}
pre{background:#f7f7f7;padding:.8em;overflow-x:auto;font-size:.85em;border:1px solid #e3e3e3}
.bad{color:#c0392b;font-weight:600}.pend{color:#7f8c8d;font-weight:600}.note{color:#555;font-size:.9em}
figure{margin:1em 0}figure img,figure svg{max-width:100%;height:auto}figcaption{color:#555;font-size:.9em}
"""


def esc(v):
    return html.escape(str(v), quote=True)


def fmt(v, digits=3):
    if v is None:
        return "-"
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return "-"
        if math.isinf(v):
            return "∞" if v > 0 else "-∞"
        if float(v).is_integer() and abs(v) < 1e15:
            return str(int(v))
        return f"{v:.{digits}g}"
    return str(v)


def table(df, columns=None, digits=3, left=None):
    """A DataFrame as an HTML table; text columns (or those named in `left`)
    left-aligned, numbers right-aligned; status words (failed, pending, ...) coloured."""
    if df is None or len(df) == 0:
        return "<p class='note'>(none)</p>"
    cols = columns or list(df.columns)
    left = set(left) if left is not None else {c for c in cols if df[c].dtype == object}
    out = ["<table><tr>" + "".join(f"<th class='{'l' if c in left else ''}'>{esc(c)}</th>" for c in cols) + "</tr>"]
    for i, r in df[cols].iterrows():
        tds = []
        for c in cols:
            cls = ["l"] if c in left else []
            s = str(r[c])
            if s in FAILED_STATUSES:
                cls.append("bad")
            elif s in ("pending", "absent"):
                cls.append("pend")
            tds.append(f"<td class='{' '.join(cls)}'>{esc(fmt(r[c], digits))}</td>")
        out.append("<tr>" + "".join(tds) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def pre(text):
    return f"<pre>{esc(text)}</pre>"


def figure(paths, caption):
    """Inline a figure: base64 PNG when there is one, else the SVG markup."""
    if "png" in paths:
        with open(paths["png"], "rb") as f:
            data = base64.b64encode(f.read()).decode("ascii")
        body = f"<img alt='{esc(caption)}' src='data:image/png;base64,{data}'>"
    else:
        with open(paths["svg"], encoding="utf-8") as f:
            svg = f.read()
        start = svg.find("<svg")
        body = svg[start:] if start >= 0 else svg
    return f"<figure>{body}<figcaption>{esc(caption)}</figcaption></figure>"


def grid(cells, value_fmt):
    """(line, L) x d_model table of value_fmt(row) strings."""
    Ds = sorted(cells["d_model"].unique())
    rows = []
    for (line, L), g in cells.groupby(["line", "seq_len"], sort=True):
        byd = g.set_index("d_model")
        row = {"mixer": line, "L": int(L)}
        for D in Ds:
            row[f"d_model={int(D)}"] = value_fmt(byd.loc[D]) if D in byd.index else ""
        rows.append(row)
    return pd.DataFrame(rows)


def render(a):
    """The report of analysis `a` (cli.Analysis) as one HTML string."""
    prov = a.prov
    at = prov["attrs"]
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>zoo report: "
             f"{esc(at.get('sweep_name', ''))}</title><style>{CSS}</style></head><body>"]
    parts.append(f"<h1>zoo sweep report: {esc(at.get('sweep_name', ''))}</h1>")
    counts = ", ".join(f"{n} {s}" for s, n in a.counts.items())
    parts.append(f"<p>{len(a.df)} runs analysed ({counts}); metric <b>{esc(a.metric_label)}</b>, "
                 f"{esc(a.reduction)}; lines grouped by <code>{esc(a.group_by)}</code>"
                 + (f"; filters: <code>{esc(' and '.join(a.filters))}</code>" if a.filters else "") + ".</p>")
    if a.n_total != len(a.df):
        parts.append(f"<p class='note'>{a.n_total - len(a.df)} of the file's {a.n_total} runs were left out by "
                     "the filters.</p>")

    parts.append("<h2>1. Accuracy vs model dimension</h2>")
    parts.append(figure(a.figs["acc_vs_d_model"], "One panel per sequence length, one line per mixer: "
                        f"{a.metric_label}, {a.reduction}. Log-2 x axis."))
    for n in a.paper_notes:
        parts.append(f"<p class='note'>Paper overlay: {esc(n)}</p>")
    parts.append("<p>Values per cell (<span class='pend'>pending</span> = unfinished, "
                 "<span class='bad'>failed</span> = no run of the cell finished ok, * = some runs of the cell "
                 "failed or are unfinished):</p>")
    parts.append(table(grid(a.cells, lambda r: r["cell_status"] if np.isnan(r["value"]) else
                            fmt(r["value"]) + ("*" if r["cell_status"] == "partial" else "")), left=["mixer"]))

    parts.append("<h2>2. Accuracy vs state size</h2>")
    parts.append(figure(a.figs["acc_vs_state"], "State size in bytes (floats x 4, summed over layers, at the "
                        "run's sequence length), log-2 axis; dotted: logistic fits."))
    parts.append("<h2>3. Accuracy vs parameters and training compute</h2>")
    parts.append(figure(a.figs["acc_vs_params"], "Trainable parameters (tied head counted once), log axis."))
    parts.append(figure(a.figs["acc_vs_flops"], "Training FLOPs = estimated FLOPs per step x optimizer steps "
                        "run (early stopping shortens runs), log axis."))

    parts.append("<h2>4. Training curves</h2>")
    if "curves" in a.figs:
        parts.append(figure(a.figs["curves"], "Chosen runs: " + "; ".join(l for l, _ in a.curve_runs)))
    for n in a.curve_notes:
        parts.append(f"<p class='note'>{esc(n)}</p>")

    parts.append("<h2>5. Smallest d_model that solves each setting, and the gap to attention</h2>")
    if a.smallest is not None and len(a.smallest):
        parts.append("<p>Smallest d_model whose value (max over learning rates) reaches each target. "
                     "'&gt;N': not reached up to N; '?': a smaller d_model of that setting has no value "
                     "(failed, unfinished or not in the sweep), so the answer may be smaller.</p>")
        parts.append(pre(a.smallest_text))
        if a.ratio is not None and len(a.ratio):
            r = a.ratio[["line", "seq_len", "target", "d_model", "ref_d_model", "ratio"]]
            parts.append(f"<p>d_model needed relative to {esc(a.ref_line)}:</p>" + table(r))
    else:
        parts.append(f"<p class='note'>{esc(a.smallest_note)}</p>")
    if a.gaps is not None and len(a.gaps):
        parts.append(f"<p>Gap to {esc(a.ref_line)} ({esc(a.ref_line)} minus the mixer, same L and d_model; "
                     "positive = the mixer trails):</p>" + pre(a.gap_text))
    else:
        parts.append(f"<p class='note'>{esc(a.gap_note)}</p>")

    parts.append("<h2>6. Scaling fits</h2>")
    if "fits" in a.figs:
        parts.append(figure(a.figs["fits"], "Left: d_model needed for the target vs L with the power-law fit "
                            f"and its {a.ci:.0%} band; middle: residuals; right: residuals of the logistic fits."))
    if a.power_rows is not None:
        parts.append(f"<p>Power law d_model_needed = a L<sup>b</sup> for {esc(a.metric_label)} ≥ "
                     f"{a.fit_target:g} (interpolated between grid points in log d_model and logit accuracy; "
                     f"OLS on logs, {a.ci:.0%} t-interval; theory: about 1 for gated convolutions, about 0 for "
                     "attention):</p>")
        parts.append(table(a.power_rows.rename(columns={"lo": f"b {a.ci:.0%} low", "hi": f"b {a.ci:.0%} high"})))
        parts.append(f"<p>Logistic fit of accuracy = 1/(1+exp(-k (log2 bytes - x50))) per mixer and L "
                     f"({a.ci:.0%} intervals; x50 = log2 of the state bytes at accuracy 0.5, k per doubling):</p>")
        parts.append(table(a.logistic_rows))
    else:
        parts.append(f"<p class='note'>{esc(a.fit_note)}</p>")

    if "tasks" in a.figs:
        parts.append("<h2>7. Tasks</h2>")
        parts.append("<p>Per line and task: the mean over the task's settings (knobs, vocab, L, K, d_model) of "
                     f"the best {esc(a.metric_label)} over learning rates; <i>mean</i> averages the tasks, the "
                     "way the MAD benchmark scores an architecture.</p>")
        parts.append(figure(a.figs["tasks"], "Task scores: rows are mixer lines, columns tasks."))
        parts.append(table(a.task_scores, left=["line"]))
    if "segments" in a.figs:
        parts.append("<h2>8. Test segments</h2>")
        parts.append("<p>Runs with test segments: the accuracy on each segment of the run with the best final "
                     "accuracy over learning rates, per line and d_model (segments longer or harder than the "
                     "training ones measure extrapolation).</p>")
        parts.append(figure(a.figs["segments"], "One panel per test segment; state size in bytes, log-2 axis."))
        st = a.segment_cells[["line", "d_model", "test_segment", "segment_acc", "segment_loss", "lr"]]
        parts.append(table(st, left=["line", "test_segment"]))

    parts.append("<h2>Runs that did not finish ok</h2>")
    parts.append(table(a.not_ok))

    parts.append("<h2>Provenance</h2>")
    keys = ["zoo_version", "git_rev", "schema", "schema_version", "sweep_name", "sweep_path", "created", "updated"]
    parts.append(table(pd.DataFrame({"attribute": keys, "value": [str(at.get(k, "")) for k in keys]})))
    parts.append(f"<p>File: <code>{esc(prov['path'])}</code></p>")
    if len(prov["sessions"]):
        parts.append("<p>Sessions (each invocation of <code>zoo sweep</code> on the file):</p>")
        parts.append(table(prov["sessions"]))
    hosts = a.df["host"].replace("", np.nan).dropna() if "host" in a.df else pd.Series(dtype=object)
    if len(hosts):
        per = a.df[a.df["host"] != ""].groupby(["host", "rank"]).size().reset_index(name="runs")
        parts.append("<p>Runs per host and MPI rank:</p>" + table(per))
    parts.append("<p>Sweep file (as last used):</p>" + pre(at.get("sweep_text", "")))
    if len(set(prov["sweep_texts"])) > 1:
        parts.append("<details><summary>Earlier sweep texts</summary>"
                     + "".join(pre(t) for t in prov["sweep_texts"][:-1]) + "</details>")
    if at.get("units"):
        parts.append(f"<p class='note'>Units: {esc(at['units'])}</p>")
    parts.append("<details><summary>All runs (summary table)</summary>")
    cols = [c for c in ("id", "status", "mixer", "seq_len", "kv_pairs", "d_model", "lr", "seed", "final_acc",
                        "best_acc", "final_loss", "epochs_run", "params", "state_size", "wall_s", "host", "rank")
            if c in a.df.columns]
    parts.append(table(a.df, cols) + "</details>")
    parts.append(f"<p class='note'>Written by zoo-analyze {esc(a.version)}.</p></body></html>")
    return "\n".join(parts)
