#!/bin/bash
# test_requeue.sh: preemption. `scontrol requeue` the sweep job while runs are left: it
# goes back to the queue, starts again, resumes from its results file and ends with
# every run present exactly once, equal to a direct run's; its log holds both starts.
# The runs in flight at the requeue save their checkpoints on the way out, and the second
# start continues them from there, not from step 0 (the log names the step).
set -u
. "$(dirname "$0")/lib.sh"
slurm_setup "$@"

# slow.yaml with longer runs (about 2 s) that checkpoint every 0.6 s and on the stop.
sweep=$PWD/slow_ckpt.yaml
sed 's/train_examples: 8000/train_examples: 16000/; s/^name: slurm-slow/name: slurm-slow\ncheckpoint_minutes: 0.01/' \
  "$SRC/tests/slurm/slow.yaml" > "$sweep"
n_runs=12

id=$(sbatch --parsable --job-name=zoo-requeue --nodes=3 --ntasks-per-node=1 --cpus-per-task=1 --time=30:00 \
  "$SRC/jobs/sweep.sbatch" "$sweep" preempted.h5)
log=zoo-requeue-$id.out
echo "job $id"
# The reference, meanwhile (its numbers do not depend on the load).
direct_run "$sweep" direct.h5 &
direct_pid=$!
if ! wait_grep "$log" '^\[2/12\]' 120; then
  fail "job $id recorded no 2 runs within 120 s: $(tail -n 5 "$log" 2>/dev/null)"
  slurm_finish
fi
scontrol requeue "$id" || fail "scontrol requeue $id failed"
requeued_at=$(grep -c '^\[[0-9]*/12\]' "$log")
echo "[${SECONDS}s] requeued after $requeued_at recorded runs"

# Back in the queue; skip SLURM's wait before a requeued job is eligible again.
wait_state "$id" 60 "PENDING" || fail "job $id did not return to the queue after the requeue"
release_job "$id" || fail "cannot make job $id eligible now"
echo "[${SECONDS}s] job $id pending again, made eligible"
wait_state "$id" 60 "RUNNING|COMPLETING|COMPLETED" || fail "job $id did not start again"
cluster_wait_job "$id" 240 || fail "job $id still in the queue 240 s after its restart"
echo "[${SECONDS}s] job $id has ended"

end=$(job_end "$id")
[[ $end == *JobState=COMPLETED* ]] || fail "job $id did not complete after its restart: $end"
restart=$(scontrol show job "$id" | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p')
[ "${restart:-0}" -ge 1 ] || fail "job $id shows Restarts=${restart:-?}, expected at least 1"
starts=$(grep -c '^=== .* start [0-9]' "$log")
[ "$starts" -ge 2 ] && grep -q 'start 2:' "$log" ||
  fail "the log $log does not hold both starts (appended): $(grep '^===' "$log")"
grep -q "zoo sweep slurm-slow: 12 runs, [1-9][0-9]* already recorded" "$log" ||
  fail "the second start did not resume (no 'already recorded' line): $(grep 'zoo sweep slurm-slow' "$log")"

# The first start must have been cut short (75: stopped by SIGTERM with runs left; -1:
# killed before it could say); 0 would mean the requeue came after the sweep had ended.
first=$("$PY" -c 'import h5py,sys; print(int(h5py.File(sys.argv[1])["sessions"][0]["exit_code"]))' preempted.h5)
[[ $first == 75 || $first == -1 ]] || fail "the first start ended with exit code $first, not cut short by the requeue"
# A run in flight at the requeue went on from its checkpoint.
resumed=$(grep -o 'resuming from epoch [0-9]* step [0-9]* (step [0-9]*' "$log" | grep -v '(step 0$' | head -n 1)
if [ -n "$resumed" ]; then
  ok "a run in flight at the requeue went on from its checkpoint: $resumed"
else
  fail "no run continued from a checkpoint after the requeue: $(grep -i 'resuming\|checkpoint' "$log" | head -n 5)"
fi
[ ! -e preempted.h5.ckpt ] || [ -z "$(ls preempted.h5.ckpt)" ] || fail "checkpoints left after the sweep: $(ls preempted.h5.ckpt)"
if "${CHECK[@]}" complete preempted.h5 $n_runs --sessions-min 2; then
  ok "requeued mid-sweep: every run present exactly once, over $starts starts"
else
  fail "the requeued job's results file (above)"
fi
if wait "$direct_pid"; then
  "${CHECK[@]}" same direct.h5 preempted.h5 || fail "the resumed sweep's numbers differ from a direct run's"
else
  fail "the direct run failed: $(tail -n 3 direct.log)"
fi
slurm_finish
