#!/bin/bash
# test_dp_sweep.sh: multi-rank runs in a sweep (docs/training.md, data parallel).
#   mix    a sweep of 1-, 2- and 3-rank runs on mpirun -np 4: every run recorded once and
#          ok; a run's numbers on 2 and 3 ranks agree with its 1-rank twin (first 50 step
#          losses within 1e-3 relative, final accuracy within 0.01); rerunning the sweep
#          into a fresh file repeats every number bit for bit.
#   crash  the training process of one part of a 3-rank run is killed (kill -9): the
#          other parts give the run up instead of waiting forever, the run counts one
#          crash, is retried and ends ok; every run recorded once.
#   toomany a run asking for more ranks than the sweep has workers: refused before
#          anything trains (exit 2, a message saying what to change).
#   train_resume  mpirun -np 2 zoo train --ranks 2 --checkpoint, killed with kill -9 at
#          random moments after a fresh checkpoint and rerun until done: the final
#          parameters equal an uninterrupted 2-rank run's bit for bit.
#   sweep_resume  a sweep of 1-, 2- and 3-rank runs on -np 4 with frequent checkpoints,
#          killed with kill -9 at random moments and rerun until done: every run recorded
#          once, ok, and equal bit for bit to an uninterrupted sweep's; the multi-rank
#          runs went on from their checkpoints.
#   sweep_stop  the same sweep stopped with SIGUSR1 (as SLURM's time limit does) while a
#          2-rank run trains: it exits 75 at once, every run left pending kept its
#          checkpoint (every part saved and stopped at one step); the rerun goes on from
#          them and equals an uninterrupted sweep.
# usage: test_dp_sweep.sh MODE ZOO PYTHON WORKDIR
set -u
mode=$1 zoo=$2 py=$3 work=$4/$1
fail() { echo "FAIL ($mode): $*"; exit 1; }
command -v mpirun > /dev/null || { echo "skipped: no mpirun"; exit 77; }
"$py" -c "import h5py" 2> /dev/null || { echo "skipped: no h5py"; exit 77; }
rm -rf "$work" && mkdir -p "$work/scratch" && cd "$work/scratch" || exit 1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
launch() { mpirun -np "$1" --oversubscribe -x OMP_NUM_THREADS "$zoo" sweep "${@:2}"; }
source "$(dirname "$0")/../sweep/lib.sh"

case $mode in
mix)
    cat > mix.yaml <<EOF
name: dp-mix
task: {vocab: 64, seq_len: 32, kv_pairs: 4, train_examples: 1500, test_examples: 200}
model: {d_model: 32, mixer: attention}
train: {epochs: 3, batch_size: 64, lr: [0.003, 0.006], ranks: [1, 2, 3], threads: 1}
EOF
    launch 4 mix.yaml -o a.h5 > a.log 2>&1 || fail "sweep exit $?: $(tail -5 a.log)"
    launch 4 mix.yaml -o b.h5 > b.log 2>&1 || fail "second sweep exit $?: $(tail -5 b.log)"
    "$py" - a.h5 b.h5 <<'EOF' || fail "results differ"
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:3])
s = a["summary"][()]
assert len(s) == 6, f"{len(s)} rows, want 6"
assert all(x.decode() == "ok" for x in s["status"]), list(s["status"])
assert len(set(s["hash"])) == 6, "a run recorded twice"
def curve(f, i): return f["runs/%06d/step_loss" % i][()]
by_lr = {}
# pair runs by learning rate through the spec text kept with each run
import re
for r in s:
    g = a["runs/%06d" % r["id"]]
    t = g.attrs["spec"]
    t = t.decode() if isinstance(t, bytes) else str(t)
    lr = re.search(r"^lr=(.*)$", t, re.M).group(1)
    m = re.search(r"^ranks=(.*)$", t, re.M)
    n = int(m.group(1)) if m else 1
    by_lr.setdefault(lr, {})[n] = r
for lr, runs in by_lr.items():
    assert sorted(runs) == [1, 2, 3], (lr, sorted(runs))
    one = curve(a, runs[1]["id"])
    for n in (2, 3):
        c = curve(a, runs[n]["id"])
        assert len(c) == len(one), (lr, n, len(c), len(one))
        k = min(50, len(c))
        rel = np.max(np.abs(c[:k] - one[:k]) / np.abs(one[:k]))
        assert rel <= 1e-3, f"lr {lr} ranks {n}: step losses differ by {rel:.3g} relative"
        assert abs(runs[n]["final_acc"] - runs[1]["final_acc"]) <= 0.01, (lr, n, runs[n]["final_acc"], runs[1]["final_acc"])
        print(f"lr {lr} ranks {n}: worst relative step-loss difference {rel:.3g} over {k} steps, "
              f"acc {runs[n]['final_acc']:.4f} vs {runs[1]['final_acc']:.4f}")
sb = b["summary"][()]
for r in s:
    j = [i for i in range(len(sb)) if sb["hash"][i] == r["hash"]][0]
    assert curve(a, r["id"]).tobytes() == curve(b, sb["id"][j]).tobytes(), f"run {r['id']} did not repeat bit for bit"
    assert r["final_acc"] == sb["final_acc"][j] and r["final_loss"] == sb["final_loss"][j]
print("every run once, ok; 2 and 3 ranks agree with 1; the repeat is bitwise")
EOF
    ;;
crash)
    cat > c.yaml <<EOF
name: dp-crash
task: {vocab: 128, seq_len: 64, kv_pairs: 4, train_examples: 4000, test_examples: 200}
model: {d_model: 64, mixer: attention}
train: {epochs: 8, batch_size: 64, lr: 0.003, ranks: 3, threads: 1}
EOF
    launch 4 c.yaml -o c.h5 > c.log 2>&1 &
    sweep=$!
    # the training processes: sweep processes whose parent is a sweep process (a rank)
    victim=
    for _ in $(seq 200); do
        sleep 0.1
        ours=$(pgrep -f "^$zoo sweep c.yaml -o c.h5" | tr '\n' ' ')
        for p in $ours; do
            pp=$(ps -o ppid= -p "$p" | tr -d ' ')
            # a part that has trained a second (not a short-lived helper process)
            [[ " $ours " == *" $pp "* ]] && [ "$(ps -o etimes= -p "$p" | tr -d ' ')" -ge 1 ] 2> /dev/null && victim=$p
        done
        [ -n "$victim" ] && break
    done
    [ -n "$victim" ] || { kill -9 $(tree $sweep) 2> /dev/null; fail "no training process found: $(cat c.log)"; }
    kill -9 "$victim" || fail "the training process $victim was gone before the kill"
    wait $sweep
    code=$?
    [ $code = 0 ] || fail "sweep exit $code: $(tail -5 c.log)"
    grep -q "killed by signal 9" c.log || fail "the crash was not reported: $(cat c.log)"
    "$py" - c.h5 <<'EOF' || fail "results: $(cat c.log)"
import sys, h5py
s = h5py.File(sys.argv[1], "r")["summary"][()]
assert len(s) == 1 and s["status"][0].decode() == "ok" and s["crashes"][0] == 1, s
print("one crash, retried, ok")
EOF
    ;;
toomany)
    cat > t.yaml <<EOF
name: dp-toomany
task: {vocab: 64, seq_len: 32, kv_pairs: 4, train_examples: 500, test_examples: 100}
model: {d_model: 16, mixer: attention}
train: {epochs: 1, batch_size: 64, ranks: 3, threads: 1}
EOF
    launch 3 t.yaml -o t.h5 > t.log 2>&1
    code=$?
    [ $code = 2 ] || fail "exit $code, want 2: $(cat t.log)"
    grep -q "asks for ranks: 3, but only 2 of the sweep.s 3 ranks can train a multi-rank run" t.log || fail "message: $(cat t.log)"
    grep -q "at least 4 ranks" t.log || fail "no fix named: $(cat t.log)"
    ;;
train_resume)
    A=(--vocab 64 --seq-len 32 --kv-pairs 4 --d-model 32 --train-examples 6000 --test-examples 64
       --batch-size 16 --epochs 2 --threads 1 --seed 3 --quiet --ranks 2)
    T=(mpirun -np 2 --oversubscribe -x OMP_NUM_THREADS "$zoo" train "${A[@]}")
    "${T[@]}" --save ref.h5 > ref.log 2>&1 || fail "reference run: $(tail -3 ref.log)"
    resumes=0
    for i in 1 2 3 4; do
        before=$(stat -c %i k.ckpt.h5 2> /dev/null || echo none) # each save renames a new file in
        "${T[@]}" --save k.h5 --checkpoint k.ckpt.h5 --checkpoint-every 0.1 > k$i.log 2>&1 &
        pid=$!
        [ $i -lt 4 ] && kill_after_save k.ckpt.h5 $pid "$before"
        wait $pid
        grep -q 'resuming from epoch' k$i.log && resumes=$((resumes + 1))
        [ -e k.h5 ] && break
    done
    [ -e k.h5 ] || fail "never finished: $(tail -3 k4.log)"
    [ $resumes -ge 1 ] || fail "no rerun resumed from a checkpoint: $(cat k*.log)"
    same_params k.h5 ref.h5 || fail "the resumed run's parameters differ from the uninterrupted run's"
    [ ! -e k.ckpt.h5 ] || fail "the checkpoint was left after the run ended"
    echo "2 ranks: killed and resumed $resumes time(s); final parameters equal the uninterrupted run's"
    ;;
sweep_resume)
    cat > s.yaml <<EOF
name: dp-resume
checkpoint_minutes: 0.01
task: {vocab: 64, seq_len: 32, kv_pairs: 4, train_examples: 4000, test_examples: 128}
model: {d_model: 32, mixer: attention}
train: {epochs: 3, batch_size: 32, lr: 0.003, ranks: [1, 2, 3], threads: 1}
EOF
    sed 's/checkpoint_minutes: 0.01/checkpoint_minutes: 0/' s.yaml > clean.yaml
    launch 4 clean.yaml -o clean.h5 --quiet > clean.log 2>&1 || fail "clean sweep: $(tail -3 clean.log)"
    for i in 1 2 3 4 5 6; do
        launch 4 s.yaml -o r.h5 > r$i.log 2>&1 &
        pid=$!
        if [ $i -lt 4 ]; then
            for t in $(seq 1 400); do # until a checkpoint exists, then a random moment
                ls r.h5.ckpt/*.h5 > /dev/null 2>&1 && break
                kill -0 $pid 2> /dev/null || break
                sleep 0.05
            done
            sleep "$((RANDOM % 2)).$((RANDOM % 10))"
            kill -9 $(tree $pid) 2> /dev/null
        fi
        wait $pid && break
    done
    grep -q "done in" r$i.log || fail "never finished: $(tail -5 r$i.log)"
    grep -h "resuming from epoch" r*.log | grep -v "(step 0 " > resumed.txt
    [ -s resumed.txt ] || fail "no run resumed from a checkpoint: $(cat r*.log)"
    "$py" "$(dirname "$0")/../sweep/compare_results.py" r.h5 clean.h5 --runs 3 --status ok ||
        fail "results differ from the uninterrupted sweep's"
    [ ! -e r.h5.ckpt ] || [ -z "$(ls r.h5.ckpt)" ] || fail "checkpoints left: $(ls r.h5.ckpt)"
    echo "killed $((i - 1)) time(s); $(wc -l < resumed.txt) resume(s), e.g. $(head -1 resumed.txt)"
    ;;
sweep_stop)
    cat > s.yaml <<EOF
name: dp-stop
checkpoint_minutes: 0.01
task: {vocab: 64, seq_len: 32, kv_pairs: 4, train_examples: 8000, test_examples: 128}
model: {d_model: 32, mixer: attention}
train: {epochs: 6, batch_size: 32, lr: 0.003, ranks: [1, 2], threads: 1}
EOF
    sed 's/checkpoint_minutes: 0.01/checkpoint_minutes: 0/' s.yaml > clean.yaml
    launch 3 clean.yaml -o clean.h5 --quiet > clean.log 2>&1 || fail "clean sweep: $(tail -3 clean.log)"
    (exec mpirun -np 3 --oversubscribe -x OMP_NUM_THREADS "$zoo" sweep s.yaml -o r.h5 > r1.log 2>&1) &
    pid=$! # mpirun itself: it forwards SIGUSR1 to the ranks
    for t in $(seq 1 400); do # both runs have a checkpoint
        [ "$(ls r.h5.ckpt/*.h5 2> /dev/null | wc -l)" -ge 2 ] && break
        kill -0 $pid 2> /dev/null || break
        sleep 0.05
    done
    t0=$(date +%s)
    kill -USR1 $pid
    wait $pid
    code=$? t1=$(date +%s)
    [ $code = 75 ] || fail "stopped sweep exit $code, want 75: $(tail -5 r1.log)"
    [ $((t1 - t0)) -le 30 ] || fail "the stop took $((t1 - t0)) s"
    # every run left pending kept its checkpoint (one that ended during the stop is recorded)
    "$py" - r.h5 > left.txt <<'EOF' || fail "after the stop: $(cat left.txt) $(ls r.h5.ckpt)"
import os, sys, h5py
s = h5py.File(sys.argv[1], "r")["summary"][()]
left = [r["hash"].decode() for r in s if r["status"].decode() == "pending"]
assert left, "no run left pending"
missing = [h for h in left if not os.path.exists(f"r.h5.ckpt/{h}.h5")]
assert not missing, f"pending runs without a checkpoint: {missing}"
print(len(left))
EOF
    launch 3 s.yaml -o r.h5 > r2.log 2>&1 || fail "rerun: $(tail -5 r2.log)"
    [ "$(grep -c 'resuming from epoch' r2.log)" -ge "$(cat left.txt)" ] || fail "the rerun did not resume every run left: $(cat r2.log)"
    "$py" "$(dirname "$0")/../sweep/compare_results.py" r.h5 clean.h5 --runs 2 --status ok ||
        fail "results differ from the uninterrupted sweep's"
    echo "stopped in $((t1 - t0)) s with exit 75; rerun: $(grep -o 'resuming from epoch [0-9]* step [0-9]*' r2.log | tr '\n' ';')"
    ;;
*) fail "unknown mode" ;;
esac
echo "PASS ($mode)"
