#!/usr/bin/env python3
"""ab_builds.py: training throughput of two zoo builds of the same configurations, run
alternately in one invocation (A, B, B, A, ...) so that load on a shared machine falls
on both alike; prints the median tokens/s of each and the ratio B/A per configuration.
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
    return json.loads(out.strip().splitlines()[-1])["tokens_per_s"]


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
                ma, mb = statistics.median(ta), statistics.median(tb)
                rows.append((mixer, d, l, ma, mb, mb / ma))
                print(f"{mixer:>10} D={d:<4} L={l:<4} A {ma:10.0f}  B {mb:10.0f}  B/A {mb / ma:.3f}", flush=True)
    lines = ["| mixer | D | L | A tokens/s | B tokens/s | B / A |", "|---|---|---|---|---|---|"]
    lines += [f"| {m} | {d} | {l} | {x:.0f} | {y:.0f} | {r:.3f} |" for m, d, l, x, y, r in rows]
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
