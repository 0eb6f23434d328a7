#!/bin/bash
# test_submit.sh: jobs/submit on a 3-node test cluster: --dry-run prints a sized sbatch
# line and submits nothing; the node count follows the estimate; sweep.sbatch refuses a
# time limit within its time-limit warning; the submitted job
# (3 nodes x 1 rank, srun + PMIx) records every run, equal to a direct run's.
set -u
. "$(dirname "$0")/lib.sh"
slurm_setup "$@"

sweep=$SRC/tests/slurm/tiny.yaml
submit=$SRC/jobs/submit
n_runs=6

direct_run "$sweep" direct.h5 || slurm_finish

# --dry-run: the sbatch line, sized as asked, and nothing in the queue.
out=$("$submit" --dry-run --nodes 3 --ranks-per-node 1 --cpus-per-task 1 "$sweep" slurm.h5 2>&1)
line=$(printf '%s\n' "$out" | grep '^sbatch ')
if [[ $line == *--nodes=3* && $line == *--ntasks-per-node=1* && $line == *--cpus-per-task=1* &&
  $line =~ --time=[0-9]+:[0-9]{2}:[0-9]{2} && $line == *sweep.sbatch* ]] &&
  [[ $out == *"nothing submitted"* ]] && [ -z "$(squeue -h -o %i)" ]; then
  ok "submit --dry-run prints the sbatch line and submits nothing"
else
  fail "submit --dry-run: $out / queue: $(squeue -h)"
fi
[[ $out == *"$n_runs runs"* ]] || fail "submit does not report the sweep's $n_runs runs: $out"

# Sizing from the dry run's costs: at 0.001 GFLOP/s the tiny sweep's runs take 69 s
# (D=8) and 189 s (D=16); 2 ranks finish in ~6.6 min, 3 in ~4.3 min.
for case in "5:00 3" "8:00 2" "20:00 1"; do
  set -- $case
  out=$("$submit" --dry-run --gflops 0.001 --target "$1" --ranks-per-node 1 --max-nodes 3 "$sweep" 2>&1)
  if printf '%s\n' "$out" | grep -q "^sbatch .*--nodes=$2 "; then
    ok "target $1 -> $2 node(s)"
  else
    fail "target $1: expected --nodes=$2: $out"
  fi
done
out=$("$submit" --dry-run --nodes 2 --bogus "$sweep" 2>&1) && fail "an unknown option was accepted: $out"
out=$("$submit" --dry-run missing.yaml 2>&1) && fail "a missing sweep file was accepted: $out"

# A time limit within sweep.sbatch's time-limit warning would requeue for ever: refused.
short=$(sbatch --parsable --job-name=zoo-short --nodes=1 --ntasks-per-node=1 --cpus-per-task=1 --time=5:00 \
  "$SRC/jobs/sweep.sbatch" "$sweep" short.h5)
cluster_wait_job "$short" 60 || fail "job $short (--time=5:00) still in the queue after 60 s"
end=$(job_end "$short")
if [[ $end == *JobState=FAILED* && $end == *"ExitCode=2:0"* ]] &&
  grep -q "within the 600 s time-limit warning" "zoo-short-$short.out" && [ ! -e short.h5 ]; then
  ok "a job with --time=5:00 is refused (exit 2, no results file): $(grep -o 'Give --time[^.]*' "zoo-short-$short.out")"
else
  fail "job $short with --time=5:00 was not refused: $end; $(cat "zoo-short-$short.out" 2>/dev/null)"
fi

# The real thing.
out=$("$submit" --nodes 3 --ranks-per-node 1 --cpus-per-task 1 "$sweep" slurm.h5 2>&1)
id=$(printf '%s\n' "$out" | sed -n 's/.*submitted job \([0-9]*\).*/\1/p')
if [ -z "$id" ]; then
  fail "submit did not submit: $out"
  slurm_finish
fi
echo "$out"
cluster_wait_job "$id" 180 || fail "job $id still in the queue after 180 s: $(squeue -h)"
end=$(job_end "$id")
[[ $end == *JobState=COMPLETED* && $end == *"ExitCode=0:0"* ]] || fail "job $id did not complete cleanly: $end"
log=zoo-slurm-tiny-$id.out
[ -f "$log" ] && grep -q "sweep complete: every run recorded" "$log" || fail "job log $log lacks the completion line"
grep -q "3 nodes (n\[1-3\]), 3 ranks" "$log" || fail "job $id did not run on the 3 nodes with 3 ranks: $(head -n 2 "$log")"
if "${CHECK[@]}" complete slurm.h5 $n_runs && "${CHECK[@]}" same direct.h5 slurm.h5; then
  ok "the job's results file is complete and equal to the direct run's"
else
  fail "the job's results differ from the direct run's (above)"
fi
"$PY" -c 'import h5py,sys; s=h5py.File(sys.argv[1])["sessions"][()]; sys.exit(0 if int(s[-1]["ranks"]) == 3 else 1)' \
  slurm.h5 || fail "the session of job $id does not say 3 ranks"
slurm_finish
