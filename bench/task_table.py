#!/usr/bin/python3
"""bench/task_table.py: the learning table of a sweep over tasks, with chance. For every
(task setting) of a results file it makes the runs' own test set with `zoo data` (the
same task, knobs, vocab, seq_len and data seed, split test) and takes as chance the
accuracy of always answering that set's most frequent label (a model that learned
nothing about the inputs can do that well); then it prints a markdown table of each
mixer's final test accuracy (best over learning rates) per task, with chance beside.

    /usr/bin/python3 bench/task_table.py --zoo build/zoo mad-learn.h5

Nothing is judged: a cell is marked * when it is not above chance + 0.02.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "analysis"))
from zoo_analyze import load  # noqa: E402


def knob_flags(text):
    out = []
    for kv in str(text or "").split():
        k, v = kv.split("=", 1)
        out += [f"--{k}", v]
    return out


def chance(zoo, row, n, tmp):
    path = os.path.join(tmp, "test.h5")
    cmd = [zoo, "data", row["task"], "--vocab", str(row["vocab"]), "--seq-len", str(row["seq_len"]),
           "--examples", str(n), "--seed", str(row["data_seed"]), "--split", "test", "-o", path, "--force"]
    if row["task"] in ("mqar", "compositional_mqar", "forgetting_mqar"):
        cmd += ["--kv-pairs", str(row["kv_pairs"])]
    cmd += knob_flags(row.get("task_knobs", ""))
    subprocess.run(cmd, check=True, capture_output=True)
    with h5py.File(path, "r") as f:
        y = f["labels"][()].ravel()
    y = y[y != -100]
    return np.bincount(y).max() / len(y) if len(y) else float("nan")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results")
    p.add_argument("--zoo", default=os.path.join(os.path.dirname(HERE), "build", "zoo"))
    a = p.parse_args()
    df = load(a.results)
    ok = df[df["status"] == "ok"]
    keys = ["task", "task_knobs", "vocab", "seq_len", "kv_pairs", "data_seed"]
    settings = ok[keys + ["test_examples"]].drop_duplicates(keys)
    base = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _, r in settings.iterrows():
            base[tuple(r[k] for k in keys)] = chance(a.zoo, r, int(r["test_examples"]), tmp)
    best = ok.groupby(["mixer"] + keys)["final_acc"].max().reset_index()
    tasks = sorted(settings["task"].unique())
    cols = []
    for t in tasks:
        s = settings[settings["task"] == t].iloc[0]
        cols.append((t, tuple(s[k] for k in keys)))
    print("| mixer | " + " | ".join(t for t, _ in cols) + " |")
    print("|---|" + "---|" * len(cols))
    print("| chance | " + " | ".join(f"{base[k]:.3f}" for _, k in cols) + " |")
    for m in sorted(best["mixer"].unique(), key=lambda s: (s != "attention", s)):
        cells = []
        for t, k in cols:
            v = best[(best["mixer"] == m) & (best["task"] == t)]["final_acc"]
            if v.empty:
                cells.append("-")
            else:
                x = float(v.max())
                cells.append(f"{x:.3f}" + ("" if x > base[k] + 0.02 else "*"))
        print(f"| {m} | " + " | ".join(cells) + " |")
    for t, k in cols:
        print(f"  {t}: vocab {k[2]}, seq_len {k[3]}" + (f", {k[1]}" if k[1] else ""), file=sys.stderr)


if __name__ == "__main__":
    main()
