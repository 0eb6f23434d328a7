"""Tables of sweeps over tasks and of runs with test segments: the task score table
(one value per mixer line and task: the mean over the task's settings of the best
accuracy over learning rates, as the MAD benchmark scores architectures, and the mean
over tasks), and the per-test-segment cells (best over learning rates per line, d_model
and test segment). No plotting, no file reading.
"""
import numpy as np
import pandas as pd

from .select import metric_sense

# What makes two runs of one task a different setting (the MAD grid varies these).
TASK_SETTING = ("task_knobs", "vocab", "seq_len", "kv_pairs", "d_model")


def task_scores(df, metric="final_acc", line_col="group"):
    """Rows: one per line; columns: one per task (the mean over its settings of the
    best value over learning rates among ok runs, seeds averaged), then 'mean' over the
    tasks the line has. Empty when the runs hold a single task."""
    if "task" not in df or df["task"].nunique() < 2:
        return pd.DataFrame()
    sense = metric_sense(metric)
    ok = df[(df["status"] == "ok") & df[metric].notna()]
    if ok.empty:
        return pd.DataFrame()
    keys = [line_col, "task"] + [c for c in TASK_SETTING if c in ok.columns]
    per_lr = ok.groupby(keys + ["lr"], dropna=False)[metric].mean().reset_index()
    best = per_lr.groupby(keys, dropna=False)[metric].agg(lambda v: (v * sense).max() * sense).reset_index()
    score = best.groupby([line_col, "task"])[metric].mean().unstack("task")
    score = score.reindex(columns=sorted(score.columns))
    score["mean"] = score.mean(axis=1)
    score = score.sort_values("mean", ascending=sense < 0)
    score.index.name = "line"
    return score.reset_index()


def segment_cells(df, seg, line_col="group"):
    """One row per (line, d_model, test segment): the segment's accuracy of the run
    whose final accuracy is best over learning rates (seeds averaged), its loss, the
    run's state_bytes and the segment's text. `seg` is zoo_analyze.segments(path)."""
    if seg is None or seg.empty:
        return pd.DataFrame()
    ok = df[(df["status"] == "ok") & df["final_acc"].notna()]
    m = seg.merge(ok[["id", line_col, "d_model", "lr", "state_bytes"]], on="id")
    if m.empty:
        return pd.DataFrame()
    per_lr = m.groupby([line_col, "d_model", "segment", "test_segment", "lr"], dropna=False).agg(
        segment_acc=("segment_acc", "mean"), segment_loss=("segment_loss", "mean"),
        state_bytes=("state_bytes", "first")).reset_index()
    idx = per_lr.groupby([line_col, "d_model", "segment"])["segment_acc"].idxmax()
    out = per_lr.loc[idx].rename(columns={line_col: "line"}).sort_values(["segment", "line", "d_model"])
    return out.reset_index(drop=True)
