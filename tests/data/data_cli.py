"""data_cli.py: end to end `zoo data mqar ... -o FILE`: the file as h5py sees it (int32
datasets, shapes, attributes, MQAR format), byte-identical output whatever
OMP_NUM_THREADS, --random-non-queries, --help, and bad input: exit 2, one line on
stderr starting "zoo data:", no file created and an existing file left untouched.
With TASK_DIR (the folder of the example task my_task.so): `zoo data` of another task,
its knobs and tags in the file, --split test, and its refusals (exit 2 naming the knob).
Usage: data_cli.py ZOO_BINARY SCRATCH_DIR [TASK_DIR]. Exit 0 pass, 1 fail, 77 skip.
"""
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
try:
    import h5py
    import numpy as np
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(SKIP)

failures = []


def check(ok, msg):
    print(("ok   " if ok else "FAIL ") + msg)
    if not ok:
        failures.append(msg)


def run(zoo, args, threads=None, plugin_path=None):
    env = dict(os.environ)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    if plugin_path is not None:
        env["ZOO_PLUGIN_PATH"] = plugin_path
    return subprocess.run([zoo] + args, capture_output=True, text=True, env=env)


def attrs(path):
    with h5py.File(path, "r") as f:
        return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}


def check_task_files(zoo, task_dir, p):
    """Another task through the same command: my_task (examples/my_task) with a knob and tags."""
    args = ["data", "my_task", "--vocab", "64", "--seq-len", "32", "--n", "300", "--seed", "3", "--min-gap", "6"]
    r = run(zoo, args + ["--split", "test", "-o", p("t.h5")], plugin_path=task_dir)
    check(r.returncode == 0 and "my_task" in r.stdout and "tags" in r.stdout,
          f"zoo data my_task: exit {r.returncode}: {r.stdout.strip()} {r.stderr.strip()}")
    if r.returncode != 0:
        return
    at = attrs(p("t.h5"))
    want = {"task": "my_task", "vocab": 64, "seq_len": 32, "num_examples": 300, "min_gap": 6, "seed": 13,
            "task_seed": 3, "split": "test", "knobs": "min_gap=6"}
    for k, v in want.items():
        check(at.get(k) == v, f"my_task attribute {k} = {at.get(k)!r}, expected {v!r}")
    with h5py.File(p("t.h5"), "r") as f:
        x, y, tags = f["inputs"][...], f["labels"][...], f["tags"][...]
        names = [n.decode() if isinstance(n, bytes) else n for n in f.attrs["tag_names"]]
    check(tags.dtype == np.int32 and tags.shape == (300,), f"tags int32 (300,): {tags.dtype} {tags.shape}")
    check(names == ["near", "far"], f"tag_names {names}")
    check(set(np.unique(tags)) == {0, 1}, f"both tags occur: {np.unique(tags)}")
    sup = y != -100
    check(np.all(sup.sum(axis=1) == 1), "one label per example")
    rows, q = np.nonzero(sup)
    first = np.argmax(x == 0, axis=1)  # the marked pair's marker
    check(np.all(x[rows, q] == 0) and np.all(y[rows, q] == x[rows, first + 1]) and np.all(q - first - 2 >= 6),
          "the label is the token after the first marker, min_gap or more tokens before the query")
    check(np.all(tags == (q - first - 2 >= 16)), "tags: far when the gap is >= L/2")
    # --n and --examples are one option; the same command gives the same bytes
    r = run(zoo, ["data", "my_task", "--vocab=64", "--seq-len=32", "--examples=300", "--seed=3", "--min_gap=6",
                  "--split=test", "-o", p("t2.h5")], plugin_path=task_dir)
    check(r.returncode == 0 and filecmp.cmp(p("t.h5"), p("t2.h5"), shallow=False),
          f"--name=value and --min_gap spellings give the same file: {r.stderr.strip()}")
    # the train split draws with the seed itself
    r = run(zoo, args + ["-o", p("t3.h5")], plugin_path=task_dir)
    check(r.returncode == 0 and attrs(p("t3.h5")).get("seed") == 3 and attrs(p("t3.h5")).get("split") == "train",
          "default split train, seed 3")
    # refusals: exit 2, one line naming the knob (or listing the tasks), nothing written
    bad = [
        (args + ["--min-gap", "40"], "min_gap 40"),
        (args + ["--min-gapp", "4"], "--min-gapp"),
        (args + ["--min-gap", "four"], "min_gap"),
        (args + ["--split", "dev"], "dev"),
        (args + ["--kv-pairs", "4"], "--kv-pairs"),
        (["data", "no_such_task", "-o"], "known: "),
    ]
    for i, (a, needle) in enumerate(bad):
        out = p(f"tbad{i}.h5")
        r = run(zoo, a + [out], plugin_path=task_dir) if a[-1] == "-o" else run(zoo, a + ["-o", out],
                                                                               plugin_path=task_dir)
        err = r.stderr.strip().splitlines()
        check(r.returncode == 2 and len(err) == 1 and err[0].startswith("zoo data:") and needle in err[0]
              and not os.path.exists(out), f"{' '.join(a[1:])}: exit {r.returncode}, stderr {err}")
    r = run(zoo, ["data", "no_such_task", "-o", p("x.h5")], plugin_path=task_dir)
    check("my_task" in r.stderr and "mqar" in r.stderr, f"unknown task lists the tasks: {r.stderr.strip()}")
    r = run(zoo, ["data", "my_task", "--help"], plugin_path=task_dir)
    check(r.returncode == 0 and "--min-gap N" in r.stdout and "example: recall" in r.stdout,
          f"zoo data my_task --help lists its knobs: {r.stdout[-400:]}")


def check_file(path, V, L, K, n, seed, a, rnq):
    with h5py.File(path, "r") as f:
        x, y = f["inputs"], f["labels"]
        check(x.dtype == np.int32 and y.dtype == np.int32, f"dtypes int32 ({x.dtype}, {y.dtype})")
        check(x.shape == (n, L) and y.shape == (n, L), f"shapes {x.shape} {y.shape} == ({n}, {L})")
        at = dict(f.attrs)
        want = {"task": "mqar", "vocab": V, "seq_len": L, "kv_pairs": K, "num_examples": n, "power_a": a,
                "random_non_queries": int(rnq), "seed": seed}
        for k, v in want.items():
            got = at.get(k)
            if isinstance(got, bytes):
                got = got.decode()
            check(got == v, f"attribute {k} = {got!r}, expected {v!r}")
        ver = at.get("zoo_version")
        check(isinstance(ver, str) and len(ver) > 0, f"attribute zoo_version = {ver!r}")
        x, y = x[...], y[...]
    C = 2 * K
    sup = y != -100
    check(np.all(sup.sum(axis=1) == K), "exactly K labels per row")
    check(not sup[:, :C].any() and not sup[:, C + 1::2].any(), "labels only at even offsets of the query region")
    keys, vals = x[:, 0:C:2], x[:, 1:C:2]
    check(keys.min() >= 1 and keys.max() < V // 2 and vals.min() >= V // 2 and vals.max() < V, "token ranges")
    rows, pos = np.nonzero(sup)
    j = np.argmax(keys[rows] == x[rows, pos][:, None], axis=1)
    check(np.all(keys[rows, j] == x[rows, pos]) and np.all(vals[rows, j] == y[rows, pos]),
          "each label is the value of the key at its position")
    blanks = (~sup)[:, C:] & True
    q = x[:, C:]
    if rnq:
        check((q[blanks] != 0).mean() > 0.99, "blanks filled with random tokens")
    else:
        check(np.all(q[blanks] == 0), "blanks are 0")
    return x, y


def main():
    if len(sys.argv) < 3:
        print("usage: data_cli.py ZOO_BINARY SCRATCH_DIR")
        return 2
    zoo = sys.argv[1]
    os.makedirs(sys.argv[2], exist_ok=True)
    tmp = tempfile.mkdtemp(dir=sys.argv[2], prefix="zoo-data-cli-")
    p = lambda name: os.path.join(tmp, name)  # noqa: E731

    args = ["mqar", "--vocab", "512", "--seq-len", "64", "--kv-pairs", "4", "--examples", "300", "--seed", "5"]
    r = run(zoo, ["data"] + args + ["-o", p("a.h5")], threads=1)
    check(r.returncode == 0, f"zoo data exit {r.returncode}: {r.stderr.strip()}")
    lines = r.stdout.strip().splitlines()
    check(len(lines) == 1 and p("a.h5") in lines[0] and "(300, 64)" in lines[0], f"one summary line: {lines}")
    check_file(p("a.h5"), 512, 64, 4, 300, 5, 0.01, False)

    r = run(zoo, ["data"] + args + ["-o", p("b.h5")], threads=2)
    check(r.returncode == 0 and filecmp.cmp(p("a.h5"), p("b.h5"), shallow=False),
          "OMP_NUM_THREADS=1 and 2 give byte-identical files")
    r = run(zoo, ["data"] + args[:-1] + ["6", "-o", p("c.h5")])
    with h5py.File(p("a.h5"), "r") as fa, h5py.File(p("c.h5"), "r") as fc:
        check(r.returncode == 0 and not np.array_equal(fa["inputs"][...], fc["inputs"][...]),
              "seed 6 differs from seed 5")

    r = run(zoo, ["data", "mqar", "--vocab=8192", "--seq-len=128", "--kv-pairs=8", "--examples=200", "--seed=7",
                  "--power-a=0.5", "--random-non-queries", "--output", p("d.h5")])
    check(r.returncode == 0, f"--name=value form, --random-non-queries: exit {r.returncode} {r.stderr.strip()}")
    if r.returncode == 0:
        check_file(p("d.h5"), 8192, 128, 8, 200, 7, 0.5, True)

    for h in (["data", "--help"], ["data", "mqar", "--help"]):
        r = run(zoo, h)
        check(r.returncode == 0 and "--kv-pairs" in r.stdout and "--random-non-queries" in r.stdout,
              f"{' '.join(h)}: exit {r.returncode}, lists the options")

    # Bad input: exit 2, one line "zoo data: ...", nothing written.
    base = ["data", "mqar", "--examples", "10"]
    bad = [
        (base + ["--bogus", "1"], "--bogus"),
        (base + ["--vocab", "12x"], "12x"),
        (base + ["--vocab", ""], "vocab"),
        (base + ["--seq-len", "63"], "63"),
        (base + ["--kv-pairs", "17"], "17"),
        (base + ["--vocab", "64"], "vocab 64"),
        (base + ["--power-a", "0"], "power_a"),
        (base + ["--power-a", "nan"], "nan"),
        (["data", "mqar", "--examples", "0"], "num_examples 0"),
        (base + ["--seed", "-1"], "-1"),
        (base + ["--random-non-queries=1"], "no value"),
        (base + ["--seed"], "needs a value"),
        (["data", "foo"], "foo"),
    ]
    for i, (a, needle) in enumerate(bad):
        out = p(f"bad{i}.h5")
        r = run(zoo, a + (["-o", out] if a[-1] != "--seed" else []))
        err = r.stderr.strip().splitlines()
        check(r.returncode == 2 and len(err) == 1 and err[0].startswith("zoo data:") and needle in err[0]
              and not os.path.exists(out), f"{' '.join(a[1:])}: exit {r.returncode}, stderr {err}")
    r = run(zoo, base)
    check(r.returncode == 2 and r.stderr.startswith("zoo data:") and "-o" in r.stderr, "missing -o: exit 2")
    out = os.path.join(tmp, "no-such-dir", "x.h5")
    r = run(zoo, base + ["-o", out])
    err = r.stderr.strip().splitlines()
    check(r.returncode == 2 and len(err) == 1 and out in err[0] and not os.path.exists(out),
          f"unwritable path: exit {r.returncode}, stderr {err}")
    # A failing command must not touch an existing file.
    shutil.copy(p("a.h5"), p("keep.h5"))
    r = run(zoo, base + ["--seq-len", "63", "-o", p("keep.h5")])
    check(r.returncode == 2 and filecmp.cmp(p("a.h5"), p("keep.h5"), shallow=False), "existing file untouched")
    # --split test draws with seed + 10, as a run's test set: for mqar (which does not
    # read task_seed) the data equals the train split of seed + 10
    r = run(zoo, ["data"] + args[:-1] + ["15", "-o", p("s15.h5")])
    r2 = run(zoo, ["data"] + args + ["--split", "test", "-o", p("s5test.h5")])
    if r.returncode == 0 and r2.returncode == 0:
        with h5py.File(p("s15.h5"), "r") as fa, h5py.File(p("s5test.h5"), "r") as fb:
            check(np.array_equal(fa["inputs"][...], fb["inputs"][...]) and fb.attrs["split"] == "test"
                  and fb.attrs["seed"] == 15 and fb.attrs["task_seed"] == 5, "--seed 5 --split test = seed 15")
    else:
        check(False, f"--split test: exit {r.returncode} {r2.returncode}: {r.stderr} {r2.stderr}")
    if len(sys.argv) > 3:
        check_task_files(zoo, sys.argv[3], p)
    left = [f for f in os.listdir(tmp) if ".tmp." in f]
    check(not left, f"no temporary files left ({left})")

    if failures:
        print(f"{len(failures)} failure(s); files kept in {tmp}")
        return 1
    shutil.rmtree(tmp)
    print("data_cli: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
