#!/bin/bash
# test_signal.sh: the time-limit warning. Deliver the signal jobs/sweep.sbatch asks for
# (#SBATCH --signal=B:SIG@...) early with `scancel --batch --signal`: the sweep stops
# handing out runs, records those in flight, exits 75, and the script requeues the job;
# released, the job resumes and ends with every run exactly once, equal to a direct run.
set -u
. "$(dirname "$0")/lib.sh"
slurm_setup "$@"

sweep=$SRC/tests/slurm/slow.yaml
n_runs=12
ranks=3
script=$SRC/jobs/sweep.sbatch
sig=$(sed -n 's/^#SBATCH --signal=B:\([A-Z0-9]*\)@.*/\1/p' "$script")
if [ -z "$sig" ]; then
  fail "$script has no '#SBATCH --signal=B:SIG@seconds' directive"
  slurm_finish
fi

id=$(sbatch --parsable --job-name=zoo-signal --nodes=3 --ntasks-per-node=1 --cpus-per-task=1 --time=30:00 \
  "$script" "$sweep" stopped.h5)
log=zoo-signal-$id.out
echo "job $id; the warning signal is $sig"
direct_run "$sweep" direct.h5 &
direct_pid=$!
if ! wait_grep "$log" '^\[2/12\]' 120; then
  fail "job $id recorded no 2 runs within 120 s: $(tail -n 5 "$log" 2>/dev/null)"
  slurm_finish
fi
scancel --batch --signal="$sig" "$id" || fail "scancel --batch --signal=$sig $id failed"
echo "[${SECONDS}s] sent $sig"

# The script requeues the job itself once the sweep has stopped.
wait_state "$id" 120 "PENDING" || fail "job $id did not requeue itself after $sig"
grep -q "handing out no more runs" "$log" || fail "the sweep did not say it stops handing out runs"
grep -Eq "^zoo sweep: stopped after .* runs left.*\(exit 75\)" "$log" || fail "the sweep did not stop with exit 75"
grep -q "sweep stopped ($sig) with runs left: requeueing job $id" "$log" || fail "the script did not requeue on 75"

# Stopped cleanly: session ended with 75, every recorded run flushed, some left; no
# run was handed out after the signal (at most the ranks' runs in flight finished).
before=$(awk '/handing out no more runs/ { exit } /^\[[0-9]+\/12\]/ { n++ } END { print n + 0 }' "$log")
if counts=$("${CHECK[@]}" stopped stopped.h5); then
  read -r recorded left <<<"$counts"
  if [ "$recorded" -le $((before + ranks)) ]; then
    ok "$sig: stopped with exit 75, $recorded runs recorded ($before before the signal), $left left, requeued"
  else
    fail "$recorded runs recorded but only $before were done at the signal with $ranks ranks: work was handed out after it"
  fi
else
  fail "the results file after the stop (above)"
fi

release_job "$id" || fail "cannot make job $id eligible now"
cluster_wait_job "$id" 240 || fail "job $id still in the queue 240 s after its release"
echo "[${SECONDS}s] job $id has ended"
[[ $(job_end "$id") == *JobState=COMPLETED* ]] || fail "job $id did not complete after the restart: $(job_end "$id")"
grep -q 'start 2:' "$log" || fail "the log does not hold the second start"
if "${CHECK[@]}" complete stopped.h5 $n_runs --sessions-min 2; then
  ok "resumed after the stop: every run present exactly once"
else
  fail "the results file after the restart (above)"
fi
if wait "$direct_pid"; then
  "${CHECK[@]}" same direct.h5 stopped.h5 || fail "the resumed sweep's numbers differ from a direct run's"
else
  fail "the direct run failed: $(tail -n 3 direct.log)"
fi
slurm_finish
