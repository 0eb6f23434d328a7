"""From runs to the cells the paper plots: filters (--filter), groups (--group-by) and
the reduction "max over learning rates of the final value" (docs/paper.md),
keeping failed and unfinished runs visible. No plotting, no fitting, no file reading.
"""
import math
import re

import numpy as np
import pandas as pd

from .results import FAILED_STATUSES, PENDING

# Columns that describe a setting (besides group, seq_len, d_model): when one of them
# varies inside a (group, seq_len, d_model) cell it becomes part of the line's name.
# Only summary columns: pending runs have no run group, so spec-only attributes are
# unknown for them and would split cells.
SETTING_COLUMNS = ("task", "task_knobs", "n_layers", "kv_pairs", "vocab", "train_examples", "batch_size", "epochs",
                   "data_seed", "layer_mixers")
# Varied and then reduced over: lr by max, seed by mean.
REDUCED_COLUMNS = ("lr", "seed")


class SelectError(ValueError):
    """A bad --filter, --group-by or --metric; the message says what is valid."""


# ---- metrics -------------------------------------------------------------------------

def metric_sense(metric):
    """+1 when larger is better (accuracies), -1 for losses."""
    return -1 if "loss" in metric else 1


def metric_label(metric):
    labels = {"final_acc": "final test accuracy (0-1)", "best_acc": "best test accuracy over epochs (0-1)",
              "final_loss": "final test loss (nats)"}
    return labels.get(metric, metric)


def check_metric(df, metric):
    if metric not in df.columns:
        raise SelectError(f"--metric {metric}: no such column (numeric columns: {', '.join(numeric_columns(df))})")
    if not pd.api.types.is_numeric_dtype(df[metric]):
        raise SelectError(f"--metric {metric}: not a numeric column (numeric columns: {', '.join(numeric_columns(df))})")


def numeric_columns(df):
    return [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and df[c].dtype != bool]


# ---- filters -------------------------------------------------------------------------

_FILTER = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(not\s+in|in|==|!=|<=|>=|<|>|=)\s*(.+?)\s*$", re.S)


def _value(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def parse_filter(expr):
    """'mixer in [attention, base_conv]', 'seq_len <= 256', 'status != ok' (clauses may be
    joined with ' and ') -> list of (column, op, value)."""
    clauses = []
    for part in re.split(r"\s+and\s+", expr.strip()):
        m = _FILTER.match(part)
        if not m or m.group(3)[:1] in "=<>!":
            raise SelectError(f"--filter '{part}': expected COLUMN in [a, b], COLUMN not in [...] or "
                              "COLUMN (==, !=, <, <=, >, >=) VALUE, e.g. 'mixer in [attention, base_conv]'")
        col, op, rhs = m.group(1), re.sub(r"\s+", " ", m.group(2)), m.group(3)
        if op in ("in", "not in"):
            if not (rhs.startswith("[") and rhs.endswith("]")):
                raise SelectError(f"--filter '{part}': '{op}' needs a list in brackets, e.g. [attention, hyena]")
            vals = [_value(v) for v in rhs[1:-1].split(",") if v.strip()]
            if not vals:
                raise SelectError(f"--filter '{part}': the list is empty")
            clauses.append((col, op, vals))
        else:
            clauses.append((col, "==" if op == "=" else op, _value(rhs)))
    return clauses


def _match(series, op, val):
    def conv(v):
        if pd.api.types.is_numeric_dtype(series) and isinstance(v, str):
            raise SelectError(f"--filter: column {series.name} is numeric, '{v}' is not a number")
        if not pd.api.types.is_numeric_dtype(series):
            return str(v)
        return v
    if op in ("in", "not in"):
        hit = series.isin([conv(v) for v in val])
        return ~hit if op == "not in" else hit
    v = conv(val)
    return {"==": series == v, "!=": series != v, "<": series < v, "<=": series <= v,
            ">": series > v, ">=": series >= v}[op]


def apply_filters(df, exprs):
    """Keep the rows matching every expression (each a --filter string)."""
    keep = pd.Series(True, index=df.index)
    for expr in exprs or ():
        for col, op, val in parse_filter(expr):
            if col not in df.columns:
                raise SelectError(f"--filter: no column '{col}' (columns: {', '.join(map(str, df.columns[:40]))})")
            keep &= _match(df[col], op, val).fillna(False).astype(bool)
            if op in ("in", "==") and pd.api.types.is_object_dtype(df[col]):
                known = set(df[col].dropna().astype(str))
                absent = [v for v in (val if isinstance(val, list) else [val]) if str(v) not in known]
                if absent:
                    raise SelectError(f"--filter: {col} has no value {', '.join(map(str, absent))} in this file "
                                      f"(values: {', '.join(sorted(known))})")
    return df[keep].copy()


# ---- groups --------------------------------------------------------------------------

def parse_group_by(df, group_by):
    cols = [c.strip() for c in (group_by or "mixer").split(",") if c.strip()]
    for c in cols:
        if c not in df.columns:
            raise SelectError(f"--group-by: no column '{c}' (e.g. mixer, family, layer_mixers, n_layers)")
    return cols


def add_group(df, group_by):
    """A 'group' column: the --group-by columns' values joined (one line per group)."""
    cols = parse_group_by(df, group_by)
    df = df.copy()
    if len(cols) == 1:
        df["group"] = df[cols[0]].astype(str)
    else:
        df["group"] = df[cols].astype(str).agg(lambda r: ", ".join(f"{c}={v}" for c, v in zip(cols, r)), axis=1)
        if "mixer" in cols:
            df["group"] = df[cols].astype(str).agg(
                lambda r: " ".join([r[cols.index("mixer")]] + [f"{c}={v}" for c, v in zip(cols, r) if c != "mixer"]),
                axis=1)
    return df


def extra_keys(df, group_col="group", group_by=("mixer",)):
    """Setting columns that vary inside some (group, seq_len, d_model) cell, each taken
    only if it still varies once the ones before it are keys. The mixer pattern
    (layer_mixers) splits lines only when the lines are mixers: grouped by a coarser
    column (family), a cell holds the group's best member."""
    out = []
    base = [group_col, "seq_len", "d_model"]
    for c in SETTING_COLUMNS:
        if c == "layer_mixers" and not {"mixer", "layer_mixers"} & set(group_by):
            continue
        if c in df.columns and c not in base and df.groupby(base + out, dropna=False)[c].nunique().max() > 1:
            out.append(c)
    return out


# ---- the reduction -------------------------------------------------------------------

def cell_table(df, metric="final_acc", group_by="mixer"):
    """One row per (line, seq_len, d_model): the paper's value, max over lr (min for a
    loss) of the metric of the runs with status ok, seeds averaged first. With lines
    coarser than mixers (group_by family) the max is also over the group's mixers.

    `df` needs a 'group' column (add_group). Columns of the result: line (group, plus
    any setting that varies within it), group, seq_len, d_model, the varying settings,
    value, lr (the chosen one), run_id (the chosen run; the best seed), n_runs, n_ok,
    n_failed, n_pending, n_seeds, statuses (e.g. "ok:3 diverged:1"), cell_status
    ("ok", "partial" = some runs of the cell failed or are unfinished, "failed" = none
    finished ok, "pending" = none finished yet, "absent" = the sweep has no such
    run while it has the line, seq_len and d_model elsewhere), and for the chosen run:
    params, state_bytes, train_flops, kv_pairs, vocab, n_layers.
    """
    extras = extra_keys(df, group_by=parse_group_by(df, group_by))
    sense = metric_sense(metric)
    df = df.copy()
    df["line"] = df["group"]
    if extras:
        df["line"] = df["group"] + df[extras].astype(str).agg(
            lambda r: " [" + ", ".join(f"{c}={v}" for c, v in zip(extras, r)) + "]", axis=1)
    key = ["line", "group", "seq_len", "d_model"] + extras
    rows = []
    for k, cell in df.groupby(key, sort=True, dropna=False):
        k = dict(zip(key, k))
        ok = cell[(cell["status"] == "ok") & cell[metric].notna()]
        n_failed = int(cell["status"].isin(FAILED_STATUSES).sum() + ((cell["status"] == "ok") & cell[metric].isna()).sum())
        n_pending = int((cell["status"] == PENDING).sum())
        counts = cell["status"].value_counts()
        row = dict(k, n_runs=len(cell), n_ok=len(ok), n_failed=n_failed, n_pending=n_pending,
                   statuses=" ".join(f"{s}:{counts[s]}" for s in sorted(counts.index)),
                   value=np.nan, lr=np.nan, run_id=-1, n_seeds=0)
        if len(ok):
            # A configuration = lr and mixer pattern; its seeds are averaged.
            cfg = ["lr", "layer_mixers"] if "layer_mixers" in ok.columns else ["lr"]
            per = ok.groupby(cfg)[metric].agg(["mean", "count"])
            best_cfg = (per["mean"] * sense).idxmax()
            sel = pd.Series(True, index=ok.index)
            for c, v in zip(cfg, best_cfg if isinstance(best_cfg, tuple) else (best_cfg,)):
                sel &= ok[c] == v
            at = ok[sel]
            best = at.loc[(at[metric] * sense).idxmax()]
            row.update(value=float(per.loc[best_cfg, "mean"]), lr=float(best["lr"]), run_id=int(best["id"]),
                       n_seeds=int(per.loc[best_cfg, "count"]))
            src = best
        else:
            src = cell.iloc[0]
        for c in ("params", "state_bytes", "train_flops", "kv_pairs", "vocab", "n_layers"):
            if c in cell.columns and c not in row:
                v = src[c]
                row[c] = float(v) if v is not None and not (isinstance(v, (int, np.integer)) and v < 0) else np.nan
        if len(ok):
            row["cell_status"] = "ok" if n_failed + n_pending == 0 else "partial"
        else:
            row["cell_status"] = "pending" if n_pending else "failed"
        rows.append(row)
    cells = pd.DataFrame(rows)
    if cells.empty:
        return cells
    for c in ("params", "state_bytes", "train_flops"):
        if c in cells:
            cells.loc[cells[c] < 0, c] = np.nan
    # Holes: a line run at some (seq_len, d_model) but not at others of the grid.
    absent = []
    for line, g in cells.groupby("line"):
        have = set(zip(g["seq_len"], g["d_model"]))
        first = g.iloc[0]
        for L in sorted(cells["seq_len"].unique()):
            if L not in set(g["seq_len"]):
                continue
            for D in sorted(cells.loc[cells["seq_len"] == L, "d_model"].unique()):
                if (L, D) not in have:
                    r = {c: first[c] for c in ["line", "group"] + extras}
                    r.update(seq_len=L, d_model=D, n_runs=0, n_ok=0, n_failed=0, n_pending=0, statuses="",
                             value=np.nan, lr=np.nan, run_id=-1, n_seeds=0, cell_status="absent")
                    absent.append(r)
    if absent:
        cells = pd.concat([cells, pd.DataFrame(absent)], ignore_index=True)
    cells = cells.sort_values(["line", "seq_len", "d_model"], kind="stable").reset_index(drop=True)
    cells["run_id"] = cells["run_id"].astype(int)
    cells.attrs["metric"] = metric
    cells.attrs["extras"] = extras
    return cells


def status_counts(df):
    """{'ok': n, 'diverged': n, ...} over all runs, in a fixed order."""
    order = ["ok", PENDING] + list(FAILED_STATUSES)
    c = df["status"].value_counts()
    return {s: int(c[s]) for s in order + sorted(set(c.index) - set(order)) if s in c}


def not_ok_runs(df):
    """The runs that did not finish ok (failed, diverged, ... and pending), for tables."""
    cols = [c for c in ("id", "status", "mixer", "seq_len", "d_model", "lr", "seed", "crashes", "host", "message")
            if c in df.columns]
    return df.loc[df["status"] != "ok", cols].sort_values("id").reset_index(drop=True)


def fmt_num(v, digits=3):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return f"{v:.{digits}g}"
