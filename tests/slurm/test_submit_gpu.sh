#!/bin/bash
# test_submit_gpu.sh: jobs/submit's GPU mode (--gpus N per node, --tasks-per-gpu K ranks
# per GPU) through --dry-run, which needs no cluster: the sbatch options it generates,
# its argument checks, its warnings when the sweep's backends and the job's GPUs do not
# match, and the CPU path byte for byte as before GPU mode existed.
# usage: test_submit_gpu.sh ZOO PYTHON SOURCE_DIR
set -u
export ZOO=$1
SRC=$3
submit=$SRC/jobs/submit
sweep=$SRC/tests/slurm/tiny.yaml
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
W=$(mktemp -d /tmp/zoo-submit-gpu.XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1
esc_zoo=$(printf '%q' "ALL,ZOO=$ZOO")

# run NAME ARGS...: submit --dry-run ARGS; stdout in $W/out, stderr in $W/err, exit in $rc.
run() {
  "$submit" --dry-run "$@" >out 2>err
  rc=$?
}
line() { grep '^sbatch ' out | head -n 1; }

# The CPU path: the same sbatch line as before (pinned), and not a word on stderr.
run --nodes 2 --ranks-per-node 3 --cpus-per-task 2 --gflops 1000000 "$sweep" x.h5
want="sbatch --parsable --job-name=zoo-slurm-tiny --nodes=2 --ntasks-per-node=3 --cpus-per-task=2 --time=0:15:00 --export=$esc_zoo $SRC/jobs/sweep.sbatch $sweep x.h5"
if [ $rc = 0 ] && [ "$(line)" = "$want" ] && [ ! -s err ] && grep -q "^submit: 2 node(s) x 3 rank(s) = 6 rank(s): estimated" out; then
  ok "CPU path unchanged: $(line)"
else
  fail "CPU path: exit $rc: '$(line)' want '$want'; stderr: $(cat err)"
fi
run --gpus-per-task 1 --nodes 1 --ranks-per-node 2 --gflops 1000000 "$sweep" x.h5
[[ $rc = 0 && $(line) == *" --ntasks-per-node=2 --cpus-per-task=4 --gpus-per-task=1 --time="* ]] ||
  fail "--gpus-per-task: exit $rc: $(line)"

# GPU mode: N GPUs per node, K ranks each -> N x K ranks per node, no per-task binding.
run --gpus 2 --tasks-per-gpu 3 --nodes 2 "$sweep" g.h5
l=$(line)
if [ $rc = 0 ] && [[ $l == *" --nodes=2 --ntasks-per-node=6 --cpus-per-task=4 --gpus-per-node=2 --time="* ]] &&
  [[ $l != *gpus-per-task* && $l == *" $SRC/jobs/sweep.sbatch $sweep g.h5" ]] &&
  grep -q "2 node(s) x 6 rank(s) = 12 rank(s), 2 GPU(s) per node x 3 rank(s) each" out; then
  ok "--gpus 2 --tasks-per-gpu 3: $l"
else
  fail "--gpus 2 --tasks-per-gpu 3: exit $rc: $l / $(cat out err)"
fi
# tiny.yaml asks for the default backend, cpu: the GPUs would idle. And the time estimate
# assumes a CPU core unless --gflops says otherwise.
grep -q "warning: 6 of 6 runs ask for backend cpu and will not use the GPUs" err &&
  grep -q "note: the time estimate assumes 10 GFLOP/s per rank" err || fail "GPU mode warnings: $(cat err)"
sed 's/  batch_size: 32/  batch_size: 32\n  backend: auto/' "$sweep" >auto.yaml
run --gpus 4 --gflops 500 auto.yaml
l=$(line)
[[ $rc = 0 && $l == *" --ntasks-per-node=4 --cpus-per-task=4 --gpus-per-node=4 --time="* && ! -s err ]] ||
  fail "--gpus 4 on an auto sweep: exit $rc: $l / stderr: $(cat err)"
[ $rc = 0 ] && [ ! -s err ] && ok "--gpus 4 with backend auto and --gflops: no warning ($l)"
run --gpus 2 --tasks-per-gpu 2 --ranks-per-node 4 --gflops 500 auto.yaml
[[ $rc = 0 && $(line) == *" --ntasks-per-node=4 "*"--gpus-per-node=2 "* ]] || fail "a matching --ranks-per-node: $rc $(line)"
# A job array: single-rank tasks, one GPU each.
run --array 3 --gpus 1 --gflops 500 auto.yaml r.h5
l=$(line)
[[ $rc = 0 && $l == *" --ntasks-per-node=1 --cpus-per-task=4 --gpus-per-node=1 --time="*"--array=0-2 "* ]] &&
  grep -q "array of 3 tasks x 1 rank, 1 GPU each" out && ok "--array 3 --gpus 1: $l" || fail "--array --gpus 1: $rc $l"
# A CPU job for runs that ask for cuda: they would be recorded unsupported.
sed 's/  batch_size: 32/  batch_size: 32\n  backend: [cpu, cuda]/' "$sweep" >cuda.yaml
run --gflops 1000000 cuda.yaml
[[ $rc = 0 && $(line) != *gpus* ]] && grep -q "warning: 6 of 12 runs ask for backend cuda but the job has no GPUs" err ||
  fail "cuda runs on a CPU job: $rc $(cat err)"

# Refused, exit 2, with the reason.
bad() { # PATTERN ARGS...
  local pat=$1
  shift
  run "$@"
  if [ $rc = 2 ] && grep -q -- "$pat" err && [ ! -s out ]; then
    ok "refused: $* -> $(cat err)"
  else
    fail "$*: exit $rc (want 2 and /$pat/): $(cat out err)"
  fi
}
bad "--tasks-per-gpu needs --gpus" --tasks-per-gpu 2 "$sweep"
bad "--gpus needs the GPUs per node" --gpus 0 "$sweep"
bad "--gpus needs the GPUs per node" --gpus two "$sweep"
bad "--gpus needs a value" --gpus
bad "--tasks-per-gpu needs a positive whole number" --gpus 2 --tasks-per-gpu 0 "$sweep"
bad "exclude each other" --gpus 2 --gpus-per-task 1 "$sweep"
bad "disagrees with --gpus 2 x --tasks-per-gpu 2 = 4" --gpus 2 --tasks-per-gpu 2 --ranks-per-node 3 "$sweep"
bad "single-rank" --array 4 --gpus 2 "$sweep"
bad "single-rank" --array 4 --gpus 1 --tasks-per-gpu 2 "$sweep"
"$submit" --help | grep -q -- "--tasks-per-gpu K" || fail "--help lacks --tasks-per-gpu"

if [ $fails = 0 ]; then
  echo PASS
  exit 0
fi
echo "$fails check(s) failed" >&2
exit 1
