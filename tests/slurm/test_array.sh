#!/bin/bash
# test_array.sh: the job-array path. jobs/submit --array 3 submits three single-rank
# tasks, each running a slice of the sweep into its own file, and a merge job that
# runs when they have ended; the merged file equals the single MPI job's (submitted
# alongside) and a direct run's, run for run.
set -u
. "$(dirname "$0")/lib.sh"
if ! "$1" sweep --help | grep -q -- "--slice"; then
  fail "zoo sweep has no --slice option: the job array cannot split the sweep (see jobs/README.md)"
  exit 1
fi
slurm_setup "$@"

sweep=$SRC/tests/slurm/tiny.yaml
submit=$SRC/jobs/submit
n_runs=6
parts=3


out=$("$submit" --array $parts --cpus-per-task 1 "$sweep" arr.h5 2>&1)
echo "$out"
aid=$(printf '%s\n' "$out" | sed -n 's/.*submitted job \([0-9]*\).*/\1/p')
mid=$(printf '%s\n' "$out" | sed -n 's/.*submitted merge job \([0-9]*\).*/\1/p')
[ -n "$aid" ] && [ -n "$mid" ] || { fail "submit --array did not submit the array and the merge job"; slurm_finish; }
printf '%s\n' "$out" | grep -q "^sbatch .*--array=0-2 " || fail "the printed sbatch line lacks --array=0-2"
printf '%s\n' "$out" | grep -q "^sbatch .*--dependency=afterany:JOBID .*merge" || fail "no merge job line printed"
sid=$("$submit" --nodes 3 --ranks-per-node 1 --cpus-per-task 1 "$sweep" single.h5 2>&1 |
  sed -n 's/.*submitted job \([0-9]*\).*/\1/p')
[ -n "$sid" ] || fail "the single job was not submitted"
direct_run "$sweep" direct.h5

for j in $aid $mid $sid; do
  cluster_wait_job "$j" 240 || fail "job $j still in the queue after 240 s: $(squeue -h)"
done
echo "[${SECONDS}s] jobs $aid (array), $mid (merge), $sid (single) have ended"
for ((i = 0; i < parts; i++)); do
  f=arr.part-$i-of-$parts.h5
  rows=$("$PY" -c 'import h5py,sys; print(len(h5py.File(sys.argv[1])["summary"]))' "$f" 2>/dev/null)
  [ "${rows:-0}" -ge 1 ] || fail "array task $i wrote no rows into $f"
  echo "part $i: ${rows:-no} rows"
done
end=$(grep "^JobId=[0-9]* .*Name=zoo-slurm-tiny " "$T/cluster/jobcomp.txt" | grep -c "JobState=COMPLETED")
[ "$end" -ge $((parts + 1)) ] || fail "$end of the $parts array tasks and the single job completed: $(cat "$T/cluster/jobcomp.txt")"
merge_end=$(job_end "$mid")
[[ $merge_end == *JobState=COMPLETED* && $merge_end == *"ExitCode=0:0"* ]] ||
  fail "the merge job did not complete with exit 0: $merge_end $(cat zoo-slurm-tiny-merge-"$mid".out 2>/dev/null)"
if "${CHECK[@]}" complete arr.h5 $n_runs --sessions-min $((parts + 1)) && "${CHECK[@]}" same single.h5 arr.h5 &&
  "${CHECK[@]}" same direct.h5 arr.h5; then
  ok "job array + zoo merge == the single job == a direct run"
else
  fail "the merged results differ (above)"
fi
slurm_finish
