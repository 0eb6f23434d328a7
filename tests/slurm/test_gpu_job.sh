#!/bin/bash
# test_gpu_job.sh: GPU mode on a 1-node test cluster whose node has 2 `gpu` generic
# resources (counted only: no devices behind them, so SLURM cannot bind or hide one).
# The ranks run zoo on the stand-in CUDA device (build/fakedev, 2 devices), which is
# what every rank sees on a real node under --gpus-per-node without per-task binding:
#   - 4 ranks on 2 GPUs (--gpus-per-node=2, 4 tasks) pick devices 0, 1, 0, 1 by
#     SLURM_LOCALID: 2 ranks on each GPU, with no CUDA_VISIBLE_DEVICES set by anyone;
#   - jobs/submit --gpus 2 --tasks-per-gpu 2 submits a job that runs, says its GPUs in
#     the log and records every run of a backend-auto sweep (on the GPU of its rank, or
#     on the CPU naming the kernels the cuda backend still lacks), equal to a direct
#     run wherever both ran on the CPU.
set -u
. "$(dirname "$0")/lib.sh"
fakedev=$(cd "$(dirname "$1")" && pwd)/fakedev
if [ ! -e "$fakedev/libzoo.so.0" ]; then
  echo "skipped: no stand-in device library ($fakedev/libzoo.so.0)"
  exit 77
fi
slurm_setup "$@" 1 4 2

# Every job gets this environment (sbatch exports it): zoo on the stand-in, 2 devices.
export LD_LIBRARY_PATH=$fakedev${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} ZOO_FAKEDEV_DEVICES=2
unset ZOO_CUDA_DEVICE

# Which device each of 4 ranks on 2 GPUs takes.
id=$(sbatch --parsable --job-name=zoo-gpu-map --nodes=1 --ntasks-per-node=4 --cpus-per-task=1 --gpus-per-node=2 \
  --time=10:00 --output=map.out --wrap "srun bash -c 'echo rank \$SLURM_LOCALID gpus \$SLURM_GPUS_ON_NODE cvd \${CUDA_VISIBLE_DEVICES-unset}; \"$ZOO\" info | grep \"device: \"'")
cluster_wait_job "$id" 120 || fail "job $id still queued after 120 s"
devs=$(sed -n 's/^ *device: \(cuda:[0-9]* of [0-9]*\) .*/\1/p' map.out | sort | uniq -c | awk '{print $1 "x " $2, $3, $4}' | paste -sd, -)
if [[ $(job_end "$id") == *JobState=COMPLETED* ]] && [ "$devs" = "2x cuda:0 of 2,2x cuda:1 of 2" ] &&
  [ "$(grep -c '^rank [0-3] gpus 2 ' map.out)" = 4 ]; then
  ok "4 ranks on --gpus-per-node=2: $devs ($(grep -c 'cvd unset' map.out) of 4 without CUDA_VISIBLE_DEVICES)"
else
  fail "rank -> device under --gpus-per-node=2: '$devs'; $(cat map.out); $(job_end "$id")"
fi

# The real thing: jobs/submit in GPU mode, a sweep whose runs may use the GPU.
sed 's/  batch_size: 32/  batch_size: 32\n  backend: auto/' "$SRC/tests/slurm/tiny.yaml" >gpu.yaml
n_runs=6
out=$("$SRC/jobs/submit" --gpus 2 --tasks-per-gpu 2 --nodes 1 --cpus-per-task 1 --gflops 1000 gpu.yaml gpu.h5 2>&1)
echo "$out"
line=$(printf '%s\n' "$out" | grep '^sbatch ')
[[ $line == *" --nodes=1 --ntasks-per-node=4 --cpus-per-task=1 --gpus-per-node=2 "* ]] ||
  fail "submit's sbatch line: $line"
id=$(printf '%s\n' "$out" | sed -n 's/.*submitted job \([0-9]*\).*/\1/p')
[ -n "$id" ] || { fail "submit did not submit: $out"; slurm_finish; }
cluster_wait_job "$id" 240 || fail "job $id still queued after 240 s: $(squeue -h)"
end=$(job_end "$id")
log=$(ls zoo-*-"$id".out 2>/dev/null | head -n 1)
[[ $end == *JobState=COMPLETED* && $end == *"ExitCode=0:0"* ]] || fail "job $id: $end; $(tail -n 20 "$log" 2>/dev/null)"
grep -q "1 nodes (n1), 4 ranks x 1 CPUs, 2 GPUs per node" "$log" || fail "the log's header lacks the GPUs: $(head -n 3 "$log")"
"${CHECK[@]}" complete gpu.h5 $n_runs || fail "the GPU job's results are not complete (above)"
"$PY" - gpu.h5 <<'EOF' || fail "devices of the GPU job's runs"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
s = f["summary"][()]
assert int(f["sessions"][()]["ranks"][-1]) == 4
for r, b, d in zip(s["rank"], s["backend"], s["device"]):
    b, d = b.decode(), d.decode()
    if b == "cuda":  # one node: the node-local rank is the rank
        assert d.startswith("cuda:%d of 2 " % (r % 2)), (r, d)
    else:
        assert b == "cpu" and d.startswith("cpu (auto: the cuda backend cannot run this model: no kernel for "), (r, b, d)
print("rank, backend, device:", sorted({(int(r), b.decode(), d.decode()[:48]) for r, b, d in zip(s["rank"], s["backend"], s["device"])}))
EOF
# Where both ran on the CPU, the numbers equal a direct run's.
if "$PY" -c 'import h5py,sys; s=h5py.File(sys.argv[1])["summary"][()]; sys.exit(0 if all(b == b"cpu" for b in s["backend"]) else 1)' gpu.h5; then
  env -u LD_LIBRARY_PATH "$ZOO" sweep gpu.yaml -o direct.h5 --quiet >direct.log 2>&1 || fail "direct run: $(tail -n 3 direct.log)"
  "${CHECK[@]}" same direct.h5 gpu.h5 && ok "the GPU job's results equal a direct run's (all on the CPU for now)" ||
    fail "the GPU job's results differ from a direct run's (above)"
fi
slurm_finish
