"""The task score table and the per-test-segment cells (zoo_analyze.tasks), on frames
built here with known answers."""
import numpy as np
import pandas as pd

from zoo_analyze.tasks import segment_cells, task_scores


def runs():
    rows = []
    i = 0
    for mixer, base in (("attention", 0.9), ("base_conv", 0.4)):
        for task, bump in (("in_context_recall", 0.0), ("selective_copying", -0.2)):
            for L in (64, 128):
                for lr, drop in ((1e-3, 0.1), (3e-3, 0.0)):
                    rows.append(dict(id=i, group=mixer, task=task, task_knobs="", vocab=16, seq_len=L, kv_pairs=4,
                                     d_model=32, lr=lr, status="ok", final_acc=base + bump - drop - (L == 128) * 0.1,
                                     state_bytes=1024.0 * (1 + (mixer == "attention"))))
                    i += 1
    rows.append(dict(rows[0], id=i, status="diverged", final_acc=np.nan))
    return pd.DataFrame(rows)


def test_task_scores_best_lr_then_mean_over_settings():
    s = task_scores(runs()).set_index("line")
    # attention, in_context_recall: best lr gives 0.9 at L=64 and 0.8 at L=128 -> 0.85
    assert abs(s.loc["attention", "in_context_recall"] - 0.85) < 1e-12
    assert abs(s.loc["attention", "selective_copying"] - 0.65) < 1e-12
    assert abs(s.loc["base_conv", "in_context_recall"] - 0.35) < 1e-12
    assert abs(s.loc["attention", "mean"] - 0.75) < 1e-12 and abs(s.loc["base_conv", "mean"] - 0.25) < 1e-12
    assert list(s.index) == ["attention", "base_conv"]  # best mean first


def test_task_scores_need_two_tasks():
    df = runs()
    assert task_scores(df[df["task"] == "in_context_recall"]).empty


def test_segment_cells_take_the_best_run_over_lr():
    df = runs()
    df = df[df["task"] == "in_context_recall"]
    seg = []
    for r in df.itertuples():
        for k in (0, 1):
            seg.append(dict(id=r.id, segment=k, test_segment=f"test seq_len={64 * (k + 1)}", segment_acc=r.final_acc - k * 0.3,
                            segment_loss=1.0 + k))
    seg = pd.DataFrame(seg)
    c = segment_cells(df, seg)
    a0 = c[(c["line"] == "attention") & (c["segment"] == 0)]
    assert len(a0) == 1 and abs(a0["segment_acc"].iloc[0] - 0.85) < 1e-12 and a0["lr"].iloc[0] == 3e-3
    assert set(c["segment"]) == {0, 1} and (c["state_bytes"] > 0).all()
    assert segment_cells(df, seg.iloc[0:0]).empty
