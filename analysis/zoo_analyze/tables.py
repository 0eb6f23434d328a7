"""The key tables from the per-cell values (select.cell_table): the smallest d_model that
reaches an accuracy target per line and sequence length, the gap to a reference mixer
(attention), and their plain-text forms for the terminal. No plotting, no fitting.
"""
import math

import numpy as np
import pandas as pd

from .select import fmt_num


def smallest_d_model(cells, targets=(0.99, 0.9)):
    """One row per (line, seq_len, target): d_model (the smallest grid d_model whose
    value reaches the target; NaN if none), text ("64"; ">512" never reached up to 512;
    a trailing "?" when a smaller d_model of that line and L has no value because its
    runs failed, are unfinished or absent, so the true answer may be smaller; "n/a"
    when no cell has a value), reached (bool), unsure (bool), d_max (largest d_model
    with a value)."""
    rows = []
    for (line, L), g in cells.groupby(["line", "seq_len"], sort=True):
        g = g.sort_values("d_model")
        valued = g[g["value"].notna()]
        for t in targets:
            r = dict(line=line, group=g["group"].iloc[0], seq_len=int(L), target=t, d_model=np.nan,
                     reached=False, unsure=False, d_max=np.nan)
            if valued.empty:
                r["text"] = "n/a"
                rows.append(r)
                continue
            r["d_max"] = float(valued["d_model"].max())
            hit = valued[valued["value"] >= t]
            if len(hit):
                d = float(hit["d_model"].iloc[0])
                holes = g[(g["d_model"] < d) & g["value"].isna()]
                r.update(d_model=d, reached=True, unsure=bool(len(holes)))
                r["text"] = f"{int(d)}" + ("?" if len(holes) else "")
            else:
                holes = g[g["value"].isna()]
                r["unsure"] = bool(len(holes))
                r["text"] = f">{int(r['d_max'])}" + ("?" if len(holes) else "")
            rows.append(r)
    return pd.DataFrame(rows)


def reference_line(cells, reference):
    """The line that is the reference (e.g. 'attention'), or None."""
    if not reference:
        return None
    lines = sorted(cells.loc[cells["group"] == reference, "line"].unique())
    if not lines:
        return None
    return lines[0]


def gap_table(cells, reference="attention"):
    """One row per (line, seq_len, d_model) of a non-reference line: gap = reference
    value - value at the same seq_len and d_model (positive: the line trails the
    reference), NaN where either has no value."""
    ref = reference_line(cells, reference)
    if ref is None:
        return pd.DataFrame(columns=["line", "seq_len", "d_model", "value", "ref_value", "gap"])
    rv = cells[cells["line"] == ref].set_index(["seq_len", "d_model"])["value"]
    out = cells[cells["line"] != ref][["line", "group", "seq_len", "d_model", "value", "cell_status"]].copy()
    out["ref_value"] = [rv.get((L, D), np.nan) for L, D in zip(out["seq_len"], out["d_model"])]
    out["gap"] = out["ref_value"] - out["value"]
    out.attrs["reference"] = ref
    return out.reset_index(drop=True)


def d_model_ratio(smallest, reference_line_name):
    """Per (line, seq_len, target): the line's smallest d_model / the reference's."""
    if reference_line_name is None or smallest.empty:
        return pd.DataFrame()
    ref = smallest[smallest["line"] == reference_line_name].set_index(["seq_len", "target"])
    out = smallest[smallest["line"] != reference_line_name].copy()
    out["ref_d_model"] = [ref["d_model"].get((L, t), np.nan) for L, t in zip(out["seq_len"], out["target"])]
    out["ratio"] = out["d_model"] / out["ref_d_model"]
    return out


# ---- text ----------------------------------------------------------------------------

def text_table(header, rows, align=None):
    """Rows of strings -> aligned text (first column left, others right)."""
    cols = len(header)
    width = [max(len(str(r[i])) for r in [header] + rows) for i in range(cols)]
    out = []
    for r in [header] + rows:
        cells = [str(r[i]).ljust(width[i]) if i == 0 else str(r[i]).rjust(width[i]) for i in range(cols)]
        out.append("  ".join(cells).rstrip())
    out.insert(1, "  ".join("-" * w for w in width))
    return "\n".join(out)


def smallest_text(smallest, targets):
    """line x seq_len grid of 'd@t1 / d@t2'."""
    if smallest.empty:
        return "(no cells)"
    Ls = sorted(smallest["seq_len"].unique())
    header = ["mixer"] + [f"L={L}" for L in Ls]
    rows = []
    for line, g in smallest.groupby("line", sort=True):
        row = [line]
        for L in Ls:
            parts = []
            for t in targets:
                m = g[(g["seq_len"] == L) & (g["target"] == t)]
                parts.append(m["text"].iloc[0] if len(m) else "")
            row.append(" / ".join(parts) if any(parts) else "")
        rows.append(row)
    return text_table(header, rows)


def gap_text(gaps):
    """(line, L) x d_model grid of gaps."""
    if gaps.empty:
        return ""
    Ds = sorted(gaps["d_model"].unique())
    header = ["mixer", "L"] + [f"D={int(D)}" for D in Ds]
    rows = []
    for (line, L), g in gaps.groupby(["line", "seq_len"], sort=True):
        byd = g.set_index("d_model")
        row = [line, str(int(L))]
        for D in Ds:
            if D not in byd.index:
                row.append("")
                continue
            r = byd.loc[D]
            if math.isnan(r["gap"]):
                row.append("failed" if r["cell_status"] == "failed" else
                           ("pending" if r["cell_status"] == "pending" else "-"))
            else:
                row.append(f"{r['gap']:+.3f}")
        rows.append(row)
    return text_table(header, rows)


def value_text(cells):
    """(line, L) x d_model grid of the selected values with their status marks."""
    Ds = sorted(cells["d_model"].unique())
    header = ["mixer", "L"] + [f"D={int(D)}" for D in Ds]
    rows = []
    for (line, L), g in cells.groupby(["line", "seq_len"], sort=True):
        byd = g.set_index("d_model")
        row = [line, str(int(L))]
        for D in Ds:
            if D not in byd.index:
                row.append("")
                continue
            r = byd.loc[D]
            st = r["cell_status"]
            if st in ("failed", "pending", "absent"):
                row.append(st)
            else:
                row.append(fmt_num(r["value"], 3) + ("*" if st == "partial" else ""))
        rows.append(row)
    return text_table(header, rows)
