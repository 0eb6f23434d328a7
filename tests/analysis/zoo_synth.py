"""Writes synthetic zoo sweep results files for the analysis tests, following
docs/results.md (schema "zoo-sweep-results", version 1) field by field: the /summary
compound with the C struct's layout, root attributes as fixed-size strings, one
/runs/NNNNNN group per final run (spec attributes, summary values, float32 curves),
/sessions and /sweep_texts. It trains nothing: the numbers are what the test says.
"""
import hashlib
import math

import h5py
import numpy as np

# /summary: names, types and offsets of zoo_results_row (io/results.c row_type()).
SUMMARY_DTYPE = np.dtype({
    "names": ["id", "hash", "status", "mixer", "family", "layer_mixers", "d_model", "n_layers", "seq_len",
              "kv_pairs", "vocab", "batch_size", "train_examples", "lr", "seed", "data_seed", "epochs", "params",
              "state_size", "flops_per_step", "final_acc", "best_acc", "final_loss", "epochs_run", "steps_run",
              "tokens_per_s", "wall_s", "peak_bytes", "rank", "host", "crashes", "finished_unix", "message"],
    "formats": ["<i8", "S17", "S16", "S128", "S32", "S256", "<i8", "<i4", "<i8", "<i8", "<i8", "<i8", "<i8",
                "<f8", "<u8", "<u8", "<i4", "<i8", "<f8", "<f8", "<f8", "<f8", "<f8", "<i4", "<i8", "<f8", "<f8",
                "<i8", "<i4", "S64", "<i4", "<f8", "S256"],
    "offsets": [0, 8, 25, 41, 169, 201, 464, 472, 480, 488, 496, 504, 512, 520, 528, 536, 544, 552, 560, 568,
                576, 584, 592, 600, 608, 616, 624, 632, 640, 644, 708, 712, 720],
    "itemsize": 976})
SESSION_DTYPE = np.dtype([("started", "S32"), ("finished", "S32"), ("ranks", "<i4"), ("hosts", "S512"),
                          ("command", "S512"), ("exit_code", "<i4"), ("runs_recorded", "<i8")])
FINAL = ("ok", "diverged", "unsupported", "oom", "failed", "crashed")
UNITS = ("wall_s: seconds; tokens_per_s: training tokens per second; peak_bytes: bytes; state_size: floats at "
         "seq_len summed over layers; flops_per_step: estimated floating point operations of one training step; "
         "accuracies: fraction (0..1); losses: nats")
KV_BY_L = {64: 4, 128: 8, 256: 16, 512: 64}


def state_floats(mixer, d_model, seq_len, n_layers=2):
    """A plausible state size (floats): attention keeps K and V; others a fixed state."""
    if mixer == "attention":
        return 2.0 * seq_len * d_model * n_layers
    return 8.0 * d_model * n_layers


def run(id, mixer, d_model, seq_len, lr, status="ok", final_acc=None, **kw):
    """One run: the summary row values (a dict) with defaults for everything else.
    Metrics are NaN/-1 unless the run finished ok or diverged."""
    r = dict(id=id, status=status, mixer=mixer, family=kw.pop("family", "test"), d_model=d_model, n_layers=2,
             seq_len=seq_len, kv_pairs=KV_BY_L.get(seq_len, max(1, seq_len // 16)), vocab=8192, batch_size=512,
             train_examples=100000, lr=lr, seed=123, data_seed=0, epochs=64, params=-1, state_size=math.nan,
             flops_per_step=6.0 * 512 * seq_len * (12 * d_model * d_model * 2 + 8192 * d_model),
             final_acc=math.nan, best_acc=math.nan, final_loss=math.nan, epochs_run=-1, steps_run=-1,
             tokens_per_s=math.nan, wall_s=math.nan, peak_bytes=-1, rank=-1, host="", crashes=0,
             finished_unix=math.nan, message="")
    r.update(kw)
    r.setdefault("layer_mixers", ", ".join([mixer] * r["n_layers"]))
    if status in ("ok", "diverged"):
        acc = 0.5 if final_acc is None else final_acc
        r.setdefault("params", 8192 * d_model + 12 * d_model * d_model * r["n_layers"])
        if r["params"] == -1:
            r["params"] = 8192 * d_model + 12 * d_model * d_model * r["n_layers"]
        if math.isnan(r["state_size"]):
            r["state_size"] = state_floats(mixer, d_model, seq_len, r["n_layers"])
        r["final_acc"] = acc if status == "ok" else math.nan
        r["best_acc"] = kw.get("best_acc", acc) if status == "ok" else math.nan
        r["final_loss"] = kw.get("final_loss", -math.log(max(acc, 1e-3))) if status == "ok" else math.nan
        r["epochs_run"] = kw.get("epochs_run", 4)
        r["steps_run"] = kw.get("steps_run", 4 * 196)
        r["tokens_per_s"], r["wall_s"], r["peak_bytes"] = 1e5, 12.5, 1 << 28
        r["rank"], r["host"], r["finished_unix"] = kw.get("rank", 1), kw.get("host", "node1"), 1.7e9
    elif status in FINAL:
        r["rank"], r["host"], r["finished_unix"] = kw.get("rank", 1), kw.get("host", "node1"), 1.7e9
        r["message"] = kw.get("message", f"synthetic {status}")
    r["hash"] = hashlib.sha1(repr(sorted((k, str(v)) for k, v in r.items() if k != "id")).encode()).hexdigest()[:16]
    return r


def _spec_attrs(r):
    """The run spec keys (zoo_run_spec_format) with types as results.c writes them."""
    return dict(task="mqar", vocab=r["vocab"], seq_len=r["seq_len"], kv_pairs=r["kv_pairs"],
                train_examples=r["train_examples"], test_examples=3000, power_a=0.01, random_non_queries=0,
                data_seed=r["data_seed"], d_model=r["d_model"], n_layers=r["n_layers"], mixer=r["mixer"],
                state_mixer="identity", pos_emb="auto", embed_dropout=0.1, lr=r["lr"], weight_decay=0.1, beta1=0.9,
                beta2=0.999, adam_eps=1e-8, epochs=r["epochs"], batch_size=r["batch_size"], eval_batch_size=512,
                early_stop=0.99, seed=r["seed"], threads=0, backend="cpu")


def _attr(obj, key, v):
    if isinstance(v, str):
        obj.attrs[key] = np.bytes_(v.encode())  # fixed-size, like the C writer
    elif isinstance(v, (bool, int, np.integer)):
        obj.attrs[key] = np.int64(v)
    else:
        obj.attrs[key] = np.float64(v)


def synth_curves(r, n_epochs=None):
    """Curves consistent with the row: accuracy rising to final_acc, loss falling."""
    n = n_epochs or max(1, r["epochs_run"])
    acc = float(r["final_acc"]) if np.isfinite(r["final_acc"]) else 0.0
    e = np.arange(1, n + 1, dtype=np.float32)
    test_acc = acc * (1 - np.exp(-e / max(1.0, n / 3))) / (1 - math.exp(-n / max(1.0, n / 3)))
    steps = max(1, r["steps_run"]) if r["steps_run"] > 0 else n * 10
    s = np.arange(steps, dtype=np.float32)
    step_loss = 9.0 * np.exp(-s / (steps / 3)) + 0.1 + 0.05 * np.sin(s)
    return dict(step_loss=step_loss, epoch_train_loss=9.0 * np.exp(-e / 2) + 0.2,
                epoch_test_loss=9.0 * np.exp(-e / 2) + 0.3, epoch_test_acc=test_acc,
                epoch_lr=np.float32(r["lr"]) * (0.5 + 0.5 * np.cos(np.pi * (e - 1) / n)))


def write(path, runs, sweep_text="name: synth\n", version=1, schema="zoo-sweep-results", curves=True,
          sessions=None, extra_root=None):
    """Write `runs` (dicts from run(), ids 0..n-1 in order) to `path`."""
    arr = np.zeros(len(runs), dtype=SUMMARY_DTYPE)
    for i, r in enumerate(runs):
        assert r["id"] == i, "ids must be 0..n-1 in order"
        for k in SUMMARY_DTYPE.names:
            v = r[k]
            arr[i][k] = v.encode() if isinstance(v, str) else v
    with h5py.File(path, "w", libver="earliest") as f:
        root = dict(schema=schema, schema_version=version, zoo_version="0.1.0", git_rev="abc1234",
                    sweep_name="synth", sweep_path="synth.yaml", sweep_text=sweep_text, created="2026-01-01T00:00:00Z",
                    updated="2026-01-01T01:00:00Z", units=UNITS)
        root.update(extra_root or {})
        for k, v in root.items():
            if v is not None:
                _attr(f, k, v)
        f.create_dataset("summary", data=arr, maxshape=(None,), chunks=(64,))
        runs_g = f.create_group("runs")
        for r in runs:
            if r["status"] not in FINAL:
                continue
            g = runs_g.create_group(f"{r['id']:06d}")
            spec = _spec_attrs(r)
            for k, v in spec.items():
                _attr(g, k, v)
            _attr(g, "spec", "".join(f"{k}={v}\n" for k, v in spec.items()))
            for k in ("id", "hash", "status", "message", "family", "layer_mixers", "params", "state_size",
                      "flops_per_step", "final_acc", "best_acc", "final_loss", "epochs_run", "steps_run",
                      "tokens_per_s", "wall_s", "peak_bytes", "rank", "host", "crashes", "finished_unix"):
                _attr(g, k, r[k])
            _attr(g, "mixer_names", r["mixer"])
            if curves and r["status"] in ("ok", "diverged"):
                for name, data in synth_curves(r).items():
                    d = g.create_dataset(name, data=np.asarray(data, dtype=np.float32))
                    _attr(d, "description", name.replace("_", " "))
        ss = np.zeros(1 if sessions is None else len(sessions), dtype=SESSION_DTYPE)
        for i, s in enumerate(sessions or [dict(started="2026-01-01T00:00:00Z", finished="2026-01-01T01:00:00Z",
                                                ranks=3, hosts="node1,node2", command="zoo sweep synth.yaml -o r.h5",
                                                exit_code=0, runs_recorded=len(runs))]):
            for k, v in s.items():
                ss[i][k] = v.encode() if isinstance(v, str) else v
        f.create_dataset("sessions", data=ss, maxshape=(None,), chunks=(16,))
        f.create_dataset("sweep_texts", data=[sweep_text], dtype=h5py.string_dtype("utf-8"), maxshape=(None,),
                         chunks=(16,))
    return path


def logistic_acc(d_model, seq_len, c, b, slope):
    """Accuracy as a logistic in log d_model with its midpoint at c * seq_len**b: then the
    d_model needed for any target grows exactly as seq_len**b."""
    return 1.0 / (1.0 + math.exp(-slope * (math.log(d_model) - math.log(c * seq_len ** b))))
