#!/usr/bin/python3
"""bench/sweep_efficiency.py: the parallel efficiency of a real sweep. The same sweep file
runs once as one process and once under `mpirun -np P` (P ranks on this machine), both
with OMP_NUM_THREADS=1 per rank, into fresh results files; efficiency = T1 / (P * TP).

    /usr/bin/python3 bench/sweep_efficiency.py --build build --np 2 configs/quick.yaml

It also prints what explains a shortfall, from the two results files:
- the granularity bound: the best makespan any one-run-at-a-time dispatch can reach
  with these runs (longest processing time first over the one-process run times, the
  order zoo hands runs out), and the efficiency that bound allows;
- the per-run slowdown when P runs share the machine (sum of run times under mpirun
  over the sum in one process): contention for caches and memory bandwidth.
Results must agree: every run's final accuracy is compared between the two files.
Nothing is judged; the numbers are printed.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import h5py

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run(cmd, env, log):
    t0 = time.monotonic()
    with open(log, "w") as f:
        rc = subprocess.call(cmd, env=env, stdout=f, stderr=subprocess.STDOUT)
    t = time.monotonic() - t0
    if rc != 0:
        sys.exit("command failed (rc %d, log %s): %s" % (rc, log, " ".join(cmd)))
    return t


def summary(path):
    with h5py.File(path, "r") as f:
        s = f["summary"][()]
    return {int(r["id"]): (float(r["wall_s"]), float(r["final_acc"]), r["status"].decode()) for r in s}


def lpt(times, p):
    loads = [0.0] * p
    for t in sorted(times, reverse=True):
        i = loads.index(min(loads))
        loads[i] += t
    return max(loads)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sweep", nargs="?", default=os.path.join(ROOT, "configs", "quick.yaml"))
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--np", type=int, default=2)
    ap.add_argument("--keep", help="folder for the results files and logs (default: a temporary one)")
    a = ap.parse_args()
    zoo = os.path.join(a.build, "zoo")
    out = a.keep or tempfile.mkdtemp(prefix="zoo-eff-")
    os.makedirs(out, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if os.geteuid() == 0:  # Open MPI refuses root unless told
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    r1, rp = os.path.join(out, "np1.h5"), os.path.join(out, "np%d.h5" % a.np)
    for f in (r1, rp):
        if os.path.exists(f):
            os.remove(f)
    print("sweep %s, %d ranks vs 1 process, 1 thread each; load average before: %s" % (a.sweep, a.np, loadavg()))
    t1 = run([zoo, "sweep", a.sweep, "-o", r1], env, os.path.join(out, "np1.log"))
    print("1 process:  %.1f s  (load average after: %s)" % (t1, loadavg()))
    tp = run(["mpirun", "-np", str(a.np), "--oversubscribe", "-x", "OMP_NUM_THREADS=1", zoo, "sweep", a.sweep, "-o", rp],
             env, os.path.join(out, "np%d.log" % a.np))
    print("%d ranks:    %.1f s  (load average after: %s)" % (a.np, tp, loadavg()))
    s1, sp = summary(r1), summary(rp)
    same = all(s1[i][1] == sp[i][1] for i in s1) and set(s1) == set(sp)
    w1 = [v[0] for v in s1.values()]
    wp = [v[0] for v in sp.values()]
    bound = lpt(w1, a.np)
    print("efficiency T1 / (P TP):            %.1f%%" % (100.0 * t1 / (a.np * tp)))
    print("granularity bound (LPT on 1-process run times): makespan %.1f s, efficiency <= %.1f%%"
          % (bound, 100.0 * sum(w1) / (a.np * bound)))
    print("per-run slowdown sharing the machine: %.1f%% (sum of run times %.1f s vs %.1f s)"
          % (100.0 * (sum(wp) / sum(w1) - 1), sum(wp), sum(w1)))
    print("sweep overhead beyond run times, 1 process: %.1f s" % (t1 - sum(w1)))
    print("final accuracies identical in both files: %s" % ("yes" if same else "NO"))
    print("runs (id: 1-process s, %d-rank s, acc):" % a.np)
    for i in sorted(s1):
        print("  %3d: %7.1f %7.1f  %.4f" % (i, s1[i][0], sp[i][0], s1[i][1]))
    print("files and logs in %s" % out)


if __name__ == "__main__":
    main()
