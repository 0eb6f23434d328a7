"""compare_results.py: check a sweep results file against a reference file of the same
sweep, for the sweep tests. Every run must be present exactly once with a final status,
and its numbers (summary metrics and every curve) must equal the reference's bit for
bit; columns that describe where and how fast a run went (rank, host, device, wall time,
throughput, memory, time of recording) are not compared.

usage: compare_results.py GOT.h5 REF.h5 [--runs N] [--status ok]
Exit 0 when equal, 1 with the first differences listed otherwise."""
import argparse
import sys

import h5py
import numpy as np

SKIP = {"rank", "host", "wall_s", "tokens_per_s", "peak_bytes", "finished_unix", "message", "device"}


def rows_by_hash(f, path):
    s = f["summary"][()]
    hashes = [h.decode() for h in s["hash"]]
    dup = {h for h in hashes if hashes.count(h) > 1}
    if dup:
        sys.exit(f"FAIL {path}: runs present more than once: {sorted(dup)[:5]}")
    return s, {h: i for i, h in enumerate(hashes)}


def same(a, b):
    """Bit for bit (NaN equals NaN with the same bits)."""
    a, b = np.atleast_1d(np.asarray(a)), np.atleast_1d(np.asarray(b))
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("got")
    ap.add_argument("ref")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--status", default=None, help="every run must have this status")
    a = ap.parse_args()
    bad = []
    with h5py.File(a.got, "r") as g, h5py.File(a.ref, "r") as r:
        sg, hg = rows_by_hash(g, a.got)
        sr, hr = rows_by_hash(r, a.ref)
        if a.runs is not None and len(sg) != a.runs:
            bad.append(f"{len(sg)} rows, want {a.runs}")
        if set(hg) != set(hr):
            bad.append(f"different runs: {len(set(hg) - set(hr))} only in {a.got}, {len(set(hr) - set(hg))} only in {a.ref}")
        for h in sorted(set(hg) & set(hr)):
            i, j = hg[h], hr[h]
            st = sg["status"][i].decode()
            if st == "pending":
                bad.append(f"run {sg['id'][i]} ({h}) is still pending")
                continue
            if a.status and st != a.status:
                bad.append(f"run {sg['id'][i]} status {st}, want {a.status}")
            for col in sg.dtype.names:
                if col in SKIP or col == "id":
                    continue
                if not same(sg[col][i], sr[col][j]):
                    bad.append(f"run {sg['id'][i]} column {col}: {sg[col][i]!r} != {sr[col][j]!r}")
            gg = g[f"runs/{sg['id'][i]:06d}"]
            rg = r[f"runs/{sr['id'][j]:06d}"]
            if set(gg.keys()) != set(rg.keys()):
                bad.append(f"run {sg['id'][i]}: datasets {sorted(gg.keys())} != {sorted(rg.keys())}")
            for d in gg.keys() & rg.keys():
                if not same(gg[d][()], rg[d][()]):
                    x, y = gg[d][()], rg[d][()]
                    k = int(np.argmax(x != y)) if x.shape == y.shape else -1
                    bad.append(f"run {sg['id'][i]} {d}: first difference at {k}")
    if bad:
        print(f"FAIL {a.got} vs {a.ref}: {len(bad)} differences", file=sys.stderr)
        for b in bad[:20]:
            print("  " + b, file=sys.stderr)
        return 1
    print(f"{a.got}: {len(sg)} runs, equal to {a.ref}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
