"""Reading a zoo sweep results file (docs/results.md, schema "zoo-sweep-results" v1 to v3).

load() gives the summary table with each run's group attributes joined; curves() one
run's training curves; provenance() the root attributes and sessions. Nothing here
selects, fits or plots; it never writes to the file.

A running sweep keeps its newest runs in a journal beside the file,
"<file>.d/commit-<seq>.h5" (rows and run groups laid out as in the main file), until it
folds them into the main file. load() and curves() lay those files over the main file
in sequence order, skipping the ones the main file says it already holds
(`journal_folded`), so a report on a running sweep is current.
"""
import os
import re
import time

import numpy as np
import pandas as pd

SCHEMA = "zoo-sweep-results"
SCHEMA_VERSIONS = (1, 2, 3, 4)  # the versions this package reads (2 added backend, device, tf32; 3 ranks, hosts;
#                                 4 task, task_knobs)

# Final statuses other than "ok": the run ended and has no usable result.
FAILED_STATUSES = ("diverged", "unsupported", "oom", "failed", "crashed", "timeout")
PENDING = "pending"

# Summary columns every version-1 file has (a subset is enough to analyse).
REQUIRED_COLUMNS = ("id", "status", "mixer", "d_model", "seq_len", "lr")

CURVE_NAMES = ("step_loss", "epoch_train_loss", "epoch_test_loss", "epoch_test_acc", "epoch_lr")


class ZooResultsError(Exception):
    """The file is missing, not HDF5, not a zoo results file, of an unknown schema
    version, or damaged. The message names the file and what to do."""


def _h5py():
    try:
        import h5py
    except ImportError as e:  # pragma: no cover - depends on the machine
        raise ZooResultsError("zoo-analyze needs h5py: install the Debian package python3-h5py") from e
    return h5py


def _text(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray) and v.shape == ():
        return _text(v[()])
    if isinstance(v, np.generic):
        return v.item()
    return v


def _open(path):
    """Open `path` read-only after checking it is a zoo results file we can read."""
    h5py = _h5py()
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ZooResultsError(f"{path}: no such file; give the file `zoo sweep ... -o FILE` wrote")
    if os.path.isdir(path):
        raise ZooResultsError(f"{path} is a folder; give the results file `zoo sweep ... -o FILE` wrote")
    try:
        is_h5 = h5py.is_hdf5(path)
    except OSError as e:
        raise ZooResultsError(f"{path}: cannot be read ({e})") from e
    if not is_h5:
        raise ZooResultsError(f"{path} is not an HDF5 file, so not a zoo results file; "
                              "give the file `zoo sweep ... -o FILE` wrote")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ZooResultsError(f"{path}: HDF5 cannot open it ({e}); the file is truncated or damaged. "
                              "zoo writes results by renaming a finished copy, so a damaged file was "
                              "changed or copied by something else: copy it again from where the sweep ran") from e
    try:
        schema = _text(f.attrs.get("schema"))
        if schema != SCHEMA:
            found = "no 'schema' attribute" if schema is None else f"schema attribute '{schema}'"
            raise ZooResultsError(f"{path} is an HDF5 file but not a zoo sweep results file ({found}; "
                                  f"expected '{SCHEMA}'); give the file `zoo sweep ... -o FILE` wrote")
        ver = f.attrs.get("schema_version")
        try:
            ver = int(_text(ver))
        except (TypeError, ValueError):
            raise ZooResultsError(f"{path}: results schema version is missing or not a number ({ver!r}); "
                                  "the file is damaged") from None
        if ver not in SCHEMA_VERSIONS:
            known = ", ".join(str(v) for v in SCHEMA_VERSIONS)
            raise ZooResultsError(f"{path} has results schema version {ver}; this zoo-analyze reads version "
                                  f"{known}: use the zoo-analyze of the zoo that wrote the file")
        if "summary" not in f or not isinstance(f["summary"], h5py.Dataset) or f["summary"].dtype.names is None:
            raise ZooResultsError(f"{path}: no /summary table; the file is damaged")
        missing = [c for c in REQUIRED_COLUMNS if c not in f["summary"].dtype.names]
        if missing:
            raise ZooResultsError(f"{path}: /summary lacks column(s) {', '.join(missing)}; the file is damaged")
    except Exception:
        f.close()
        raise
    return f


_JOURNAL_NAME = re.compile(r"^commit-(\d+)\.h5$")


def _journal(f, path):
    """The journal files of `path` not yet folded into the open main file `f`, in order."""
    folded = int(_text(f.attrs.get("journal_folded", 0)) or 0)
    jdir = os.fspath(path) + ".d"
    try:
        names = os.listdir(jdir)
    except (FileNotFoundError, NotADirectoryError):
        return []
    seqs = []
    for n in names:
        m = _JOURNAL_NAME.match(n)
        if m and int(m.group(1)) > folded:
            seqs.append((int(m.group(1)), os.path.join(jdir, n)))
    return [p for _, p in sorted(seqs)]


class _Moved(Exception):
    """A journal file went while it was read: the writer folded; read again."""


def _open_side(side):
    try:
        return _h5py().File(side, "r")
    except FileNotFoundError as e:
        raise _Moved() from e
    except OSError as e:
        if not os.path.exists(side):
            raise _Moved() from e
        raise ZooResultsError(f"{side}: a journal file of the results cannot be read ({e}); it was damaged "
                              "after zoo wrote it: move it away to read the results without its runs") from e


def _consistent(path, read):
    """read() over the main file and its journal, again if a writer folded meanwhile."""
    for _ in range(50):
        before = os.stat(path).st_ino if os.path.exists(path) else None
        try:
            out = read()
        except _Moved:
            time.sleep(0.01)
            continue
        if before is None or os.stat(path).st_ino == before:
            return out
        time.sleep(0.01)
    raise ZooResultsError(f"{path}: the file kept changing while it was read; try again")


def _decode_frame(arr):
    df = pd.DataFrame(arr)
    for c in df.columns:
        if df[c].dtype == object:
            df[c] = df[c].map(lambda v: v.decode("utf-8", "replace") if isinstance(v, bytes) else v)
    return df


def _read(dset, path, what):
    try:
        return dset[()]
    except (OSError, RuntimeError, ValueError) as e:
        raise ZooResultsError(f"{path}: cannot read {what} ({e}); the file is truncated or damaged") from e


def load(path):
    """The summary table of `path` as a DataFrame, one row per run in id order.

    Columns: every /summary column (strings decoded), then each run group's attributes
    that are not summary columns (the run spec: test_examples, weight_decay, pos_emb,
    mixer.0.<knob>, spec, ...; the spec's mixer pattern as `mixer_pattern`, and in
    version 2 files the spec's backend (cpu, cuda, auto) as `backend_spec` beside the
    summary's `backend`, the one the run used; the spec's ranks (1, N or auto) as
    `ranks_spec` beside the summary's `ranks`, the count it trained on, which files
    before version 3 lack: there it is 1 for every run a rank took and `hosts` is
    `host`; `task` and `task_knobs`, which files before version 4 lack: every run there
    was MQAR, with no task knobs), and derived columns: `state_bytes` (state_size * 4, fp32), `train_flops`
    (flops_per_step * steps_run), `has_curves`, `final` (status is not pending).
    Runs without a group (pending) have NaN/None there. df.attrs["zoo"] holds
    provenance(path). Raises ZooResultsError for anything that is not a readable
    version 1 to 4 zoo results file.
    """
    def read():
        with _open(path) as f:
            try:
                return _load(f, path)
            except (OSError, RuntimeError, KeyError, ValueError, TypeError) as e:
                raise ZooResultsError(f"{path}: cannot read it ({e}); the file is damaged") from e

    df, prov = _consistent(path, read)
    if "ranks" not in df and "rank" in df:  # before version 3 every run trained on one rank
        df["ranks"] = np.where(df["rank"].astype(int) >= 0, 1, -1).astype(np.int32)
        df["hosts"] = df["host"] if "host" in df else ""
    if "task_knobs" not in df:  # before version 4 every run was MQAR (its knobs were run fields)
        df["task"] = "mqar"
        df["task_knobs"] = ""
    df["final"] = df["status"] != PENDING
    if "state_size" in df:
        df["state_bytes"] = df["state_size"].astype(float) * 4.0
    if "flops_per_step" in df and "steps_run" in df:
        steps = df["steps_run"].astype(float).where(df["steps_run"] >= 0)
        df["train_flops"] = df["flops_per_step"].astype(float) * steps
    df.attrs["zoo"] = prov
    return df


def _load(f, path):
    """The summary with run-group attributes joined, and the provenance."""
    df = _decode_frame(_read(f["summary"], path, "/summary"))
    if len(df) and not np.array_equal(df["id"].to_numpy(), np.arange(len(df))):
        bad = int(np.flatnonzero(df["id"].to_numpy() != np.arange(len(df)))[0])
        raise ZooResultsError(f"{path}: /summary row {bad} has id {df['id'].iloc[bad]}; the file is damaged")
    extra = {}
    cols = set(df.columns)
    has_curves = np.zeros(len(df), dtype=bool)
    _join_groups(f.get("runs"), path, len(df), cols, extra, has_curves)
    # The journal: newer rows and groups, in order.
    for side in _journal(f, path):
        with _open_side(side) as j:
            rows = _decode_frame(_read(j["summary"], side, "/summary"))
            for _, row in rows.iterrows():
                rid = int(row["id"])
                if not 0 <= rid < len(df):
                    raise ZooResultsError(f"{side}: row id {rid}, but {path} has {len(df)} rows; "
                                          "the journal does not belong to it")
                for c in rows.columns:
                    if c in cols:
                        df.at[rid, c] = row[c]
            _join_groups(j.get("runs"), side, len(df), cols, extra, has_curves)
    for k in sorted(extra):
        df[k] = pd.Series(extra[k], dtype=object).reindex(df.index)
        # Numeric attribute columns become numeric (NaN where a run has none).
        conv = pd.to_numeric(df[k], errors="coerce")
        if conv.notna().sum() == df[k].notna().sum():
            df[k] = conv
    df["has_curves"] = has_curves
    return df, _provenance(f, path)


def _join_groups(runs, path, n, cols, extra, has_curves):
    """Each run group's attributes the summary lacks into extra[name][id]; has_curves."""
    if runs is None:
        return
    for name in runs:
        try:
            rid = int(name)
        except ValueError:
            continue
        if not 0 <= rid < n:
            raise ZooResultsError(f"{path}: /runs/{name} has no row in /summary; the file is damaged")
        g = runs[name]
        try:
            # Only what the summary lacks (the summary values are repeated there).
            for k in g.attrs.keys():
                # The spec's own mixer and backend ("auto") would clash with the summary's
                # columns of those names: they come as mixer_pattern and backend_spec.
                # (Version 1 has no backend column: there the spec's is the one used.)
                # The spec's ranks is the request (1, N, auto): always ranks_spec.
                if k in ("mixer_names", "backend_used", "ranks_used") or \
                        (k in cols and k not in ("mixer", "backend", "ranks")):
                    continue
                rename = {"mixer": "mixer_pattern", "backend": "backend_spec" if "backend" in cols else "backend",
                          "ranks": "ranks_spec"}
                extra.setdefault(rename.get(k, k), {})[rid] = _text(g.attrs[k])
        except (OSError, RuntimeError) as e:
            raise ZooResultsError(f"{path}: cannot read /runs/{name} ({e}); the file is damaged") from e
        has_curves[rid] = any(c in g for c in CURVE_NAMES)


def _provenance(f, path):
    attrs = {k: _text(v) for k, v in f.attrs.items()}
    sessions = pd.DataFrame()
    if "sessions" in f and f["sessions"].dtype.names:
        sessions = _decode_frame(_read(f["sessions"], path, "/sessions"))
    texts = []
    if "sweep_texts" in f:
        texts = [_text(t) for t in _read(f["sweep_texts"], path, "/sweep_texts")]
    if texts:
        # The attribute holds only a note when the text is too long for one (64 KiB).
        attrs["sweep_text"] = texts[-1]
    return {"path": os.path.abspath(path), "attrs": attrs, "sessions": sessions, "sweep_texts": texts}


def provenance(path):
    """Root attributes (zoo_version, git_rev, sweep_text, created, ...), the /sessions
    table (hosts, ranks, command, exit code) and every stored sweep text."""
    with _open(path) as f:
        try:
            return _provenance(f, path)
        except (OSError, RuntimeError, KeyError, ValueError, TypeError) as e:
            raise ZooResultsError(f"{path}: cannot read it ({e}); the file is damaged") from e


def curves(path, run_id):
    """The training curves of run `run_id`: a dict name -> float64 array with the keys
    of CURVE_NAMES that the run has (step_loss per optimizer step; the epoch_* arrays
    per epoch). Empty for a run that failed before training or has not finished.
    Raises ZooResultsError for an id that is not a run of the file."""
    def read():
        with _open(path) as f:
            n = f["summary"].shape[0]
            rid = int(run_id)
            if not 0 <= rid < n:
                raise ZooResultsError(f"{path}: no run {run_id}; run ids go from 0 to {n - 1}")
            name = f"runs/{rid:06d}"
            # The newest version of the group: the last journal file holding it, else the main file.
            for side in reversed(_journal(f, path)):
                with _open_side(side) as j:
                    if name in j:
                        return _curves_of(j, side, name)
            if name not in f:
                return {}
            return _curves_of(f, path, name)

    return _consistent(path, read)


def _curves_of(f, path, name):
    try:
        g = f[name]
        return {c: np.asarray(_read(g[c], path, f"/{name}/{c}"), dtype=np.float64) for c in CURVE_NAMES if c in g}
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as e:
        raise ZooResultsError(f"{path}: cannot read /{name} ({e}); the file is damaged") from e


def _segment_rows(g, path, name, rid):
    if "segment_test_acc" not in g:
        return []
    acc = np.asarray(_read(g["segment_test_acc"], path, f"/{name}/segment_test_acc"), dtype=np.float64)
    loss = np.asarray(_read(g["segment_test_loss"], path, f"/{name}/segment_test_loss"), dtype=np.float64)
    names = _text(g.attrs.get("test_segments", "")).split("; ")
    rows = []
    for i in range(len(acc)):
        text = names[i] if i < len(names) else ""
        kv = dict(w.split("=", 1) for w in text.split()[1:] if "=" in w)
        rows.append({"id": rid, "segment": i, "test_segment": text, "segment_task": kv.get("task", ""),
                     "segment_seq_len": int(kv["seq_len"]) if "seq_len" in kv else -1,
                     "segment_kv_pairs": int(kv["kv_pairs"]) if "kv_pairs" in kv else -1,
                     "segment_acc": float(acc[i]), "segment_loss": float(loss[i] if i < len(loss) else np.nan)})
    return rows


def segments(path):
    """Per test segment figures of every finished run with test segments: one row per
    (run, segment) with id, segment (its index among the run's test segments),
    test_segment (its text, "test seq_len=256 kv_pairs=16"), segment_task,
    segment_seq_len and segment_kv_pairs (-1 when the segment takes the run's value;
    the run's own are load()'s seq_len and kv_pairs), segment_acc and segment_loss
    (after the last epoch). Empty when no run has test segments. Join with load() on id."""
    def read():
        out = []
        with _open(path) as f:
            n = f["summary"].shape[0]
            sides = _journal(f, path)
            for rid in range(n):
                name = f"runs/{rid:06d}"
                done = False
                for side in reversed(sides):
                    with _open_side(side) as j:
                        if name in j:
                            out += _segment_rows(j[name], side, name, rid)
                            done = True
                            break
                if not done and name in f:
                    out += _segment_rows(f[name], path, name, rid)
        return out

    try:
        rows = _consistent(path, read)
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as e:
        raise ZooResultsError(f"{path}: cannot read the segment figures ({e}); the file is damaged") from e
    cols = ["id", "segment", "test_segment", "segment_task", "segment_seq_len", "segment_kv_pairs", "segment_acc",
            "segment_loss"]
    return pd.DataFrame(rows, columns=cols)
