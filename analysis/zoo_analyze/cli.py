"""`zoo-analyze results.h5 -o report/`: loads the file, selects (filters, groups, max over
learning rates), computes the tables and fits, writes the figures (PNG/SVG), CSV tables
and one self-contained HTML report, and prints the key tables. Exit status: 0 done,
2 bad arguments or not a readable results file. The work is in the other modules.
"""
import argparse
import os
import sys

from . import __version__, figures, report
from .fits import MIN_POWER_POINTS
from .paper import matching
from .results import ZooResultsError, curves, load, segments
from .tasks import segment_cells, task_scores
from .scaling import logistic_fits, logistic_rows, power_law_fits, power_law_rows
from .select import (SelectError, add_group, apply_filters, cell_table, check_metric, metric_label, metric_sense,
                     not_ok_runs, status_counts)
from .tables import (d_model_ratio, gap_table, gap_text, reference_line, smallest_d_model, smallest_text,
                     value_text)

MAX_CURVES = 10


class Analysis:
    """Everything the report and the terminal show, computed once."""


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="zoo-analyze",
        description="Figures, tables and scaling fits from a zoo sweep results file (the HDF5 file "
                    "`zoo sweep ... -o FILE` writes): accuracy vs d_model per sequence length (max over "
                    "learning rates), vs state size, parameters and training FLOPs, training curves, the "
                    "smallest d_model reaching each target, the gap to attention, and power-law and "
                    "logistic fits with confidence intervals.",
        epilog="Example: zoo-analyze results.h5 -o report/ --filter 'mixer in [attention, base_conv]'")
    p.add_argument("results", help="the results file (HDF5) written by `zoo sweep`")
    p.add_argument("-o", "--output", default="report", help="folder for the report, figures and CSV tables "
                   "(created; default: report)")
    p.add_argument("--metric", default="final_acc",
                   help="summary column to plot and tabulate (default final_acc, as the paper; also best_acc, "
                        "final_loss, ...); losses are minimised over learning rates, others maximised")
    p.add_argument("--group-by", default="mixer",
                   help="column(s) naming the lines, comma-separated (default mixer; e.g. family, layer_mixers, "
                        "mixer,n_layers)")
    p.add_argument("--filter", action="append", default=[], metavar="EXPR",
                   help="keep runs matching EXPR, e.g. 'mixer in [attention, base_conv]', 'seq_len <= 256', "
                        "'d_model >= 64 and lr < 0.01'; repeatable (all must hold)")
    p.add_argument("--format", default="both", choices=["png", "svg", "both"], help="figure files (default both)")
    p.add_argument("--runs", default="auto",
                   help="run ids for the training-curve figure, comma-separated (default auto: per line the run "
                        "chosen at its largest sequence length and largest d_model)")
    p.add_argument("--targets", default="0.99,0.9", help="accuracy targets of the smallest-d_model table "
                   "(default 0.99,0.9)")
    p.add_argument("--fit-target", type=float, default=0.9,
                   help="accuracy target whose needed d_model the power law fits (default 0.9)")
    p.add_argument("--reference", default="attention", help="line the gaps are measured to (default attention)")
    p.add_argument("--paper", default="auto", choices=["auto", "off"],
                   help="overlay the Zoology paper's Figure 2 values where the sweep matches its setting "
                        "(default auto)")
    p.add_argument("--ci", type=float, default=0.95, help="confidence level of the fits' intervals (default 0.95)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only where the report is")
    p.add_argument("--version", action="version", version=f"zoo-analyze {__version__}")
    a = p.parse_args(argv)
    try:
        a.targets = [float(t) for t in a.targets.split(",") if t.strip()]
    except ValueError:
        p.error(f"--targets {a.targets}: give numbers separated by commas, e.g. 0.99,0.9")
    if not a.targets or any(not 0 < t <= 1 for t in a.targets):
        p.error("--targets: each target must be in (0, 1]")
    if not 0 < a.fit_target <= 1:
        p.error("--fit-target must be in (0, 1]")
    if not 0.5 <= a.ci < 1:
        p.error("--ci must be in [0.5, 1), e.g. 0.95")
    if a.runs != "auto":
        try:
            a.runs = [int(x) for x in a.runs.split(",") if x.strip()]
        except ValueError:
            p.error(f"--runs {a.runs}: give run ids separated by commas, e.g. 3,17,42")
    return a


def _curve_label(r):
    return f"run {int(r['id'])}: {r['mixer']} L={int(r['seq_len'])} d={int(r['d_model'])} lr={r['lr']:.3g}"


def _choose_runs(a, df, cells):
    """(label, curves) of the runs to draw, and notes about the ones left out."""
    notes = []
    if a.runs == "auto":
        ids = []
        for line, g in cells[cells["run_id"] >= 0].groupby("line", sort=True):
            top = g[g["seq_len"] == g["seq_len"].max()]
            ids.append(int(top.sort_values("d_model")["run_id"].iloc[-1]))
        if not ids:
            notes.append("no run finished ok, so there are no training curves to draw (choose runs with --runs)")
    else:
        ids = list(a.runs)
    if len(ids) > MAX_CURVES:
        notes.append(f"{len(ids) - MAX_CURVES} more run(s) not drawn (at most {MAX_CURVES}); choose with --runs")
        ids = ids[:MAX_CURVES]
    out = []
    for i in ids:
        row = a.df_all.loc[i]
        c = curves(a.path, i)
        if not c:
            notes.append(f"run {i} ({row['status']}) has no curves: " +
                         (row["message"] or "it has not finished") if row["status"] != "ok" else f"run {i} has no curves")
            continue
        out.append((_curve_label(row), c))
    return out, notes


def analyze(a, out=None):
    """Run the whole analysis for parsed arguments `a`; returns the Analysis."""
    out = out or sys.stdout
    x = Analysis()
    x.version = __version__
    x.path = a.path = a.results
    df_all = load(a.results)
    a.df_all, a.n_total = df_all, len(df_all)
    x.prov = df_all.attrs["zoo"]
    if df_all.empty:
        raise SelectError(f"{a.results} holds no runs")
    check_metric(df_all, a.metric)
    df = apply_filters(df_all, a.filter)
    if df.empty:
        raise SelectError(f"no run matches --filter {' and '.join(a.filter)} (the file has {len(df_all)} runs)")
    df = add_group(df, a.group_by)
    if a.runs != "auto":
        bad = [i for i in a.runs if not 0 <= i < len(df_all)]
        if bad:
            raise SelectError(f"--runs: no run {', '.join(map(str, bad))}; ids go from 0 to {len(df_all) - 1}")
    x.df, x.n_total, x.filters, x.group_by, x.ci = df, len(df_all), a.filter, a.group_by, a.ci
    x.metric, x.metric_label = a.metric, metric_label(a.metric)
    x.reduction = ("min" if metric_sense(a.metric) < 0 else "max") + " over learning rates (seeds averaged)"
    x.cells = cell_table(df, a.metric, a.group_by)
    x.counts = status_counts(df)
    x.not_ok = not_ok_runs(df)
    x.fit_target, x.targets = a.fit_target, a.targets
    is_acc = "acc" in a.metric
    x.ref_line = reference_line(x.cells, a.reference)
    x.smallest = x.ratio = x.gaps = x.power_rows = x.logistic_rows = None
    x.smallest_note = x.gap_note = x.fit_note = ""
    x.power_fits, x.log_fits = [], []
    if is_acc:
        x.smallest = smallest_d_model(x.cells, a.targets)
        x.smallest_text = smallest_text(x.smallest, a.targets)
        x.ratio = d_model_ratio(x.smallest, x.ref_line)
        x.power_fits = power_law_fits(x.cells, a.fit_target, a.ci)
        x.log_fits = logistic_fits(x.cells, a.ci)
        x.power_rows = power_law_rows(x.power_fits)
        x.logistic_rows = logistic_rows(x.log_fits)
    else:
        x.smallest_note = x.fit_note = f"accuracy targets and fits need an accuracy metric (--metric {a.metric})"
    if x.ref_line is not None:
        x.gaps = gap_table(x.cells, a.reference)
        x.gap_text = gap_text(x.gaps)
        if x.gaps.empty:
            x.gap_note = f"no line besides {x.ref_line} to measure a gap for"
    else:
        x.gap_note = f"no line named '{a.reference}' to measure gaps to (--reference)"
    paper_rows = None
    x.paper_notes = []
    if a.paper == "auto" and a.metric == "final_acc":
        paper_rows, x.paper_notes = matching(x.cells)
        if len(paper_rows) == 0:
            paper_rows = None
    os.makedirs(a.output, exist_ok=True)
    fmts = ["png", "svg"] if a.format == "both" else [a.format]
    base = lambda n: os.path.join(a.output, n)  # noqa: E731
    x.figs = {}
    x.figs["acc_vs_d_model"] = figures.save(
        figures.acc_vs_d_model(x.cells, a.metric, x.metric_label, paper_rows), base("acc_vs_d_model"), fmts)
    x.figs["acc_vs_state"] = figures.save(
        figures.acc_vs_state(x.cells, a.metric, x.metric_label, x.log_fits), base("acc_vs_state_bytes"), fmts)
    x.figs["acc_vs_params"] = figures.save(figures.acc_vs_params(x.cells, a.metric, x.metric_label),
                                           base("acc_vs_params"), fmts)
    x.figs["acc_vs_flops"] = figures.save(figures.acc_vs_flops(x.cells, a.metric, x.metric_label),
                                          base("acc_vs_train_flops"), fmts)
    x.curve_runs, x.curve_notes = _choose_runs(a, df, x.cells)
    if x.curve_runs:
        x.figs["curves"] = figures.save(figures.training_curves(x.curve_runs), base("training_curves"), fmts)
    if is_acc:
        x.figs["fits"] = figures.save(figures.scaling_fits(x.power_fits, x.log_fits, x.metric_label, a.ci),
                                      base("scaling_fits"), fmts)
    x.task_scores = task_scores(df, a.metric)
    if len(x.task_scores):
        x.figs["tasks"] = figures.save(figures.task_scores(x.task_scores, x.metric_label), base("task_scores"), fmts)
        x.task_scores.to_csv(base("task_scores.csv"), index=False)
    x.segment_cells = segment_cells(df, segments(a.results))
    if len(x.segment_cells):
        x.figs["segments"] = figures.save(figures.segment_acc_vs_state(x.segment_cells), base("segment_acc_vs_state"),
                                          fmts)
        x.segment_cells.to_csv(base("segment_cells.csv"), index=False)
    x.cells.to_csv(base("cells.csv"), index=False)
    df.drop(columns=[c for c in ("spec",) if c in df.columns]).to_csv(base("runs.csv"), index=False)
    if x.smallest is not None:
        x.smallest.to_csv(base("smallest_d_model.csv"), index=False)
        x.power_rows.to_csv(base("fit_power_law.csv"), index=False)
        x.logistic_rows.to_csv(base("fit_logistic.csv"), index=False)
    if x.gaps is not None:
        x.gaps.to_csv(base("gap_to_reference.csv"), index=False)
    x.report = base("report.html")
    with open(x.report, "w", encoding="utf-8") as f:
        f.write(report.render(x))
    if not a.quiet:
        print(terminal_text(x), file=out)
    print(f"report: {x.report} (figures and CSV tables in {a.output}/)", file=out)
    return x


def _fit_lines(x):
    lines = []
    for r in x.power_fits:
        f = r["fit"]
        if f:
            lines.append(f"  {r['line']}: d_model ~ L^{f['b']:.2f}, {x.ci:.0%} interval [{f['b_lo']:.2f}, "
                         f"{f['b_hi']:.2f}] from {f['n']} L values (rms log residual {f['rms']:.3f})")
        else:
            lines.append(f"  {r['line']}: no fit: {r['refused']}")
    return lines


def terminal_text(x):
    at = x.prov["attrs"]
    counts = ", ".join(f"{n} {s}" for s, n in x.counts.items())
    s = [f"zoo-analyze: {x.prov['path']}: sweep '{at.get('sweep_name', '')}' (zoo {at.get('zoo_version', '?')}, "
         f"git {at.get('git_rev', '?')}), {len(x.df)} runs: {counts}"]
    if x.n_total != len(x.df):
        s.append(f"  ({x.n_total - len(x.df)} runs left out by --filter)")
    s.append("")
    s.append(f"{x.metric_label}, {x.reduction} ('*' = some runs of the cell failed or are unfinished):")
    s.append(value_text(x.cells))
    if x.smallest is not None:
        t = " / ".join(f">= {v:g}" for v in x.targets)
        s += ["", f"Smallest d_model reaching {x.metric} {t} ('>N' not reached up to N; '?' a smaller d_model "
                  "failed, is unfinished or absent):", x.smallest_text]
    if x.gaps is not None and len(x.gaps):
        s += ["", f"Gap to {x.ref_line} ({x.ref_line} minus mixer, same L and d_model):", x.gap_text]
    if x.power_fits:
        s += ["", f"Power law of the d_model needed for {x.metric} >= {x.fit_target:g} vs L "
                  f"(theory: ~1 gated convolutions, ~0 attention; needs >= {MIN_POWER_POINTS} L values):"]
        s += _fit_lines(x)
    bad = x.not_ok
    if len(bad):
        s += ["", f"Runs not ok ({len(bad)}):"]
        for _, r in bad.head(15).iterrows():
            msg = f": {r['message']}" if r.get("message") else ""
            s.append(f"  run {int(r['id'])} {r['status']}: {r['mixer']} L={int(r['seq_len'])} d={int(r['d_model'])} "
                     f"lr={r['lr']:.3g}{msg}")
        if len(bad) > 15:
            s.append(f"  ... {len(bad) - 15} more in the report")
    return "\n".join(s)


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        analyze(a)
    except (ZooResultsError, SelectError) as e:
        print(f"zoo-analyze: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"zoo-analyze: error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 2
    return 0
