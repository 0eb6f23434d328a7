"""results_check.py: checks on sweep results files for the slurm tests (h5py only).

  results_check.py complete FILE N [--sessions-min K]
      N rows, every one ok, hashes unique, one run group per row with matching id,
      every run recorded exactly once over all sessions (sum of runs_recorded == N),
      at least K sessions.
  results_check.py same A B
      the same runs with the same numbers: summary rows matched by hash (ids too),
      run group attributes and curves equal; where/when/how fast a run ran is ignored.
  results_check.py stopped FILE
      the last session ended with exit code 75 (graceful stop) and its recorded runs
      are in the file; prints "recorded pending" counts.

Exit 0 on success, 1 with the first mismatches printed otherwise.
"""
import math
import sys

import h5py
import numpy as np

# Columns/attributes that describe where, when and how fast a run ran, not what it computed.
# (device: which GPU or CPU, and for auto on the CPU why; the backend column is compared.)
VOLATILE = {"host", "rank", "wall_s", "tokens_per_s", "finished_unix", "peak_bytes", "id", "device"}


def dec(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.bytes_):
        return bytes(v).decode()
    return v


def summary(f):
    s = f["summary"][()]
    return [{k: dec(r[k]) for k in s.dtype.names} for r in s]


def same_value(a, b):
    if isinstance(a, float) or isinstance(b, float):
        try:
            a, b = float(a), float(b)
        except (TypeError, ValueError):
            return False
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)
    return a == b


def check_complete(path, n, sessions_min):
    bad = []
    with h5py.File(path, "r") as f:
        rows = summary(f)
        if len(rows) != n:
            bad.append(f"{len(rows)} rows, expected {n}")
        hashes = [r["hash"] for r in rows]
        if len(set(hashes)) != len(hashes):
            bad.append(f"duplicate hashes: {len(hashes) - len(set(hashes))}")
        not_ok = [(r["id"], r["status"]) for r in rows if r["status"] != "ok"]
        if not_ok:
            bad.append(f"{len(not_ok)} rows not ok, first: {not_ok[:3]}")
        groups = sorted(f["runs"].keys())
        if groups != [f"{i:06d}" for i in range(len(rows))]:
            bad.append(f"run groups {groups[:8]}... do not match rows 0..{len(rows) - 1}")
        for i, r in enumerate(rows):
            g = f["runs"].get(f"{i:06d}")
            if r["id"] != i:
                bad.append(f"row {i} has id {r['id']}")
            if g is not None and (g.attrs["id"] != i or dec(g.attrs["hash"]) != r["hash"]):
                bad.append(f"group {i:06d}: id {g.attrs['id']} hash {dec(g.attrs['hash'])} vs row hash {r['hash']}")
        sess = f["sessions"][()]
        recorded = int(sum(int(s["runs_recorded"]) for s in sess))
        if recorded != n:
            bad.append(f"sessions recorded {recorded} runs in all, expected exactly {n} (each run once)")
        if len(sess) < sessions_min:
            bad.append(f"{len(sess)} sessions, expected at least {sessions_min}")
        if len(f["sweep_texts"]) != len(sess):
            bad.append(f"{len(f['sweep_texts'])} sweep texts for {len(sess)} sessions")
        print(f"{path}: {len(rows)} rows, {len(sess)} sessions (runs recorded per session: "
              f"{[int(s['runs_recorded']) for s in sess]}, exit codes {[int(s['exit_code']) for s in sess]})")
    return bad


def check_same(pa, pb):
    bad = []
    with h5py.File(pa, "r") as fa, h5py.File(pb, "r") as fb:
        ra, rb = summary(fa), summary(fb)
        if len(ra) != len(rb):
            bad.append(f"{pa} has {len(ra)} rows, {pb} has {len(rb)}")
        ib = {r["hash"]: r for r in rb}
        for a in ra:
            b = ib.get(a["hash"])
            if b is None:
                bad.append(f"run {a['id']} (hash {a['hash']}) of {pa} is not in {pb}")
                continue
            if a["id"] != b["id"]:
                bad.append(f"hash {a['hash']}: id {a['id']} in {pa}, {b['id']} in {pb}")
            for k in a:
                if k not in VOLATILE and not same_value(a[k], b[k]):
                    bad.append(f"run {a['id']} column {k}: {a[k]!r} vs {b[k]!r}")
            ga, gb = fa["runs"].get(f"{a['id']:06d}"), fb["runs"].get(f"{b['id']:06d}")
            if (ga is None) != (gb is None):
                bad.append(f"run {a['id']}: run group in one file only")
                continue
            if ga is None:
                continue
            for k in set(ga.attrs) | set(gb.attrs):
                if k in VOLATILE:
                    continue
                if k not in ga.attrs or k not in gb.attrs:
                    bad.append(f"run {a['id']}: attribute {k} in one file only")
                elif not same_value(dec(ga.attrs[k]), dec(gb.attrs[k])):
                    bad.append(f"run {a['id']} attribute {k}: {ga.attrs[k]!r} vs {gb.attrs[k]!r}")
            if sorted(ga.keys()) != sorted(gb.keys()):
                bad.append(f"run {a['id']}: datasets {sorted(ga.keys())} vs {sorted(gb.keys())}")
                continue
            for k in ga.keys():
                x, y = ga[k][()], gb[k][()]
                if x.shape != y.shape or not np.array_equal(x, y, equal_nan=True):
                    d = np.abs(x - y) if x.shape == y.shape else None
                    w = int(np.nanargmax(d)) if d is not None and d.size else -1
                    bad.append(f"run {a['id']} curve {k}: shapes {x.shape} {y.shape}"
                               + (f", worst index {w}: {x[w]} vs {y[w]}, {int((d > 0).sum())} differ" if w >= 0 else ""))
        print(f"{pa} vs {pb}: {len(ra)} runs compared")
    return bad


def check_stopped(path):
    bad = []
    with h5py.File(path, "r") as f:
        rows = summary(f)
        sess = f["sessions"][()]
        last = sess[-1]
        done = sum(r["status"] != "pending" for r in rows)
        if int(last["exit_code"]) != 75:
            bad.append(f"last session exit code {int(last['exit_code'])}, expected 75 (stopped, runs left)")
        if done != int(sum(int(s["runs_recorded"]) for s in sess)):
            bad.append(f"{done} final rows but the sessions say {int(sum(int(s['runs_recorded']) for s in sess))}")
        if done == len(rows):
            bad.append("no run left pending: the stop came too late to test anything")
        for i, r in enumerate(rows):
            if r["status"] != "pending" and f"{i:06d}" not in f["runs"]:
                bad.append(f"row {i} is {r['status']} but has no run group")
        print(f"{done} {len(rows) - done}")
    return bad


def main(argv):
    if len(argv) >= 3 and argv[1] == "complete":
        k = int(argv[argv.index("--sessions-min") + 1]) if "--sessions-min" in argv else 1
        bad = check_complete(argv[2], int(argv[3]), k)
    elif len(argv) == 4 and argv[1] == "same":
        bad = check_same(argv[2], argv[3])
    elif len(argv) == 3 and argv[1] == "stopped":
        bad = check_stopped(argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for b in bad[:20]:
        print("MISMATCH:", b, file=sys.stderr)
    if len(bad) > 20:
        print(f"... and {len(bad) - 20} more", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
