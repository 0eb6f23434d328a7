#!/usr/bin/env python3
"""ab_builds.py: training throughput of two zoo builds of the same configurations, run
alternately in one invocation (A, B, B, A, ...) so that load on a shared machine falls
on both alike; prints the median tokens/s of each and the ratio B/A per configuration,
by wall time and by CPU time of the process (the steadier of the two on a loaded machine).
For checking that a change to the engine costs nothing. A benchmark: it judges nothing.

    /usr/bin/python3 bench/ab_builds.py --a build-before --b build --mixers attention,base_conv \\
        --d 64,256 --l 64,256 --reps 5 --markdown ab.md
"""
import argparse
import json
import os
import statistics
import subprocess
import sys


def run(build, mixer, d, l, threads, steps, batch):
    exe = os.path.join(build, "bench", "zoo_bench_train")
    cmd = [exe, "--mixer", mixer, "--d_model", str(d), "--seq_len", str(l), "--threads", str(threads),
           "--steps", str(steps), "--batch_size", str(batch)]
    env = dict(os.environ, ZOO_PLUGIN_PATH=os.path.join(build, "plugins"))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return r["tokens_per_s"], r["tokens_per_cpu_s"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--a", required=True, help="build folder A (the baseline)")
    ap.add_argument("--b", required=True, help="build folder B (the change)")
    ap.add_argument("--mixers", default="attention,base_conv")
    ap.add_argument("--d", default="64,256")
    ap.add_argument("--l", default="64,256")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--markdown", help="also write the table here")
    a = ap.parse_args()
    rows = []
    for mixer in a.mixers.split(","):
        for d in map(int, a.d.split(",")):
            for l in map(int, a.l.split(",")):
                ta, tb = [], []
                for r in range(a.reps):
                    order = [("a", a.a), ("b", a.b)] if r % 2 == 0 else [("b", a.b), ("a", a.a)]
                    for which, build in order:
                        (ta if which == "a" else tb).append(run(build, mixer, d, l, a.threads, a.steps, a.batch))
                ma, mb = statistics.median(t[0] for t in ta), statistics.median(t[0] for t in tb)
                ca, cb = statistics.median(t[1] for t in ta), statistics.median(t[1] for t in tb)
                rows.append((mixer, d, l, ma, mb, mb / ma, ca, cb, cb / ca))
                print(f"{mixer:>10} D={d:<4} L={l:<4} A {ma:10.0f}  B {mb:10.0f}  B/A {mb / ma:.3f}  "
                      f"per CPU-s: A {ca:10.0f}  B {cb:10.0f}  B/A {cb / ca:.3f}", flush=True)
    lines = ["| mixer | D | L | A tokens/s | B tokens/s | B / A | A tokens/CPU-s | B tokens/CPU-s | B / A (CPU) |",
             "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {m} | {d} | {l} | {x:.0f} | {y:.0f} | {r:.3f} | {u:.0f} | {v:.0f} | {w:.3f} |"
              for m, d, l, x, y, r, u, v, w in rows]
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
