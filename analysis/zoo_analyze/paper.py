"""The Zoology paper's Figure 2 values (data/zoology_fig2.csv, source noted there) and the
rule for when a sweep's panel matches the paper's setting closely enough to overlay
them. Nothing here plots.
"""
import os

import pandas as pd

DATA = os.path.join(os.path.dirname(__file__), "data", "zoology_fig2.csv")


def paper_values():
    """The paper's table: seq_len, kv_pairs, vocab, n_layers, mixer, d_model, acc,
    acc_low, acc_high."""
    return pd.read_csv(DATA, comment="#")


def matching(cells, paper=None):
    """The paper rows to overlay: for each seq_len of `cells` whose runs all use the
    paper's kv_pairs, vocab and layer count at that L, and share at least one d_model
    with it, the rows of the mixers (groups) the sweep has. Empty when nothing matches.
    Returns (rows, notes): notes say why a panel was not overlaid."""
    paper = paper_values() if paper is None else paper
    keep, notes = [], []
    for L, g in cells[cells["value"].notna()].groupby("seq_len"):
        p = paper[paper["seq_len"] == L]
        if p.empty:
            continue
        want = p.iloc[0]
        why = []
        for col in ("kv_pairs", "vocab", "n_layers"):
            have = set(g[col].dropna().astype(int))
            if have != {int(want[col])}:
                why.append(f"{col} {sorted(have)} (paper {int(want[col])})")
        if not set(g["d_model"].astype(int)) & set(p["d_model"]):
            why.append("no d_model in common")
        if why:
            notes.append(f"L={int(L)}: not overlaid: " + ", ".join(why))
            continue
        keep.append(p[p["mixer"].isin(set(g["group"]))])
    rows = pd.concat(keep, ignore_index=True) if keep else paper.iloc[0:0]
    return rows, notes
