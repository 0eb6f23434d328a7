#!/usr/bin/env bash
# test_resume_cli.sh: mid-run checkpoints through the `zoo` command. One mode per test:
#   train  zoo train --checkpoint: killed with kill -9 at random moments and rerun until
#          done, the final --save parameters equal an uninterrupted run's bit for bit; a
#          SIGTERM saves, exits 143 and the rerun says "resuming from epoch E step S" and
#          ends the same; a damaged checkpoint is named and the run starts from step 0;
#          the file is removed when the run is done (kept with --keep-checkpoint)
#   sweep  a sweep killed with kill -9 while its long run is in flight, then rerun: the
#          long run goes on from its checkpoint (the log names the step), every run is
#          recorded once and the results equal an uninterrupted sweep's bit for bit; the
#          checkpoint folder is gone when the sweep is done
# usage: test_resume_cli.sh MODE ZOO PYTHON SWEEP_SRC_DIR PLUGIN_DIR WORK_DIR
set -u
mode=$1 zoo=$2 py=$3 sweep_src=$4 plugins=$5 work=$6/$1
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
export OMP_NUM_THREADS=1
fail() { echo "FAIL ($mode): $*" >&2; exit 1; }
ok() { echo "ok   $*"; }
. "$sweep_src/lib.sh" # tree, kill_after_save, same_params
"$py" -c 'import h5py' 2>/dev/null || { echo "skip: no h5py for $py"; exit 77; }

case $mode in
train)
    A=(--vocab 64 --seq-len 32 --kv-pairs 4 --d-model 32 --n-layers 2 --train-examples 12000 --test-examples 64
       --batch-size 16 --epochs 2 --threads 1 --seed 3 --quiet)
    "$zoo" train "${A[@]}" --save ref.h5 > ref.log 2>&1 || fail "reference run: $(tail -3 ref.log)"
    # kill -9 three times at a random moment after a fresh checkpoint (so each run has
    # trained; waiting for the file, not a fixed time, keeps this right under load), then
    # let the fourth run finish.
    kills=0 resumes=0
    for i in 1 2 3 4; do
        before=$(stat -c %i k.ckpt.h5 2>/dev/null || echo none) # a save renames a new file in: a new inode
        "$zoo" train "${A[@]}" --save k.h5 --checkpoint k.ckpt.h5 --checkpoint-every 0.1 > k$i.log 2>&1 &
        pid=$!
        if [ $i -lt 4 ]; then
            kill_after_save k.ckpt.h5 $pid "$before" && kills=$((kills + 1))
        fi
        wait $pid
        grep -q 'resuming from epoch' k$i.log && resumes=$((resumes + 1))
        [ -e k.h5 ] && break
    done
    [ -e k.h5 ] || fail "no run got through after $kills kills"
    [ $kills -ge 2 ] && [ $resumes -ge 2 ] || fail "only $kills kills, $resumes resumes: make the run longer"
    same_params k.h5 ref.h5 || fail "after $kills kill -9: parameters differ from the uninterrupted run"
    [ ! -e k.ckpt.h5 ] || fail "the checkpoint was not removed after the run"
    ok "$kills x kill -9, $resumes resumes: parameters equal the uninterrupted run's bit for bit, checkpoint removed"

    # SIGTERM: saved, exit 143, the rerun resumes and ends the same.
    "$zoo" train "${A[@]}" --save t.h5 --checkpoint t.ckpt.h5 --checkpoint-every 0.2 > t1.log 2>&1 &
    pid=$!
    for t in $(seq 1 600); do [ -e t.ckpt.h5 ] && break; sleep 0.05; done # training, handlers in place
    sleep 0.3
    kill -TERM $pid
    wait $pid; rc=$?
    [ $rc -eq 143 ] || fail "SIGTERM: exit $rc, want 143: $(tail -2 t1.log)"
    grep -q "its state is in t.ckpt.h5 (step" t1.log || fail "SIGTERM: no word of the checkpoint: $(tail -2 t1.log)"
    "$zoo" train "${A[@]}" --save t.h5 --checkpoint t.ckpt.h5 --keep-checkpoint > t2.log 2>&1 || fail "rerun: $(tail -3 t2.log)"
    line=$(grep -o 'resuming from epoch [0-9]* step [0-9]*' t2.log) || fail "rerun did not resume: $(cat t2.log)"
    same_params t.h5 ref.h5 || fail "after SIGTERM: parameters differ"
    [ -e t.ckpt.h5 ] || fail "--keep-checkpoint: the checkpoint is gone"
    ok "SIGTERM: exit 143, state saved; the rerun: '$line', parameters equal; --keep-checkpoint kept it"

    # A damaged checkpoint (one parameter changed): named, then training from step 0
    # (and the same result).
    cp t.ckpt.h5 d.ckpt.h5
    "$py" -c 'import sys, h5py; d = h5py.File(sys.argv[1], "r+")["state/params"]; d[3] = d[3] + 1' d.ckpt.h5
    "$zoo" train "${A[@]}" --save d.h5 --checkpoint d.ckpt.h5 > d.log 2>&1 || fail "damaged: $(tail -3 d.log)"
    grep -q "d.ckpt.h5: its checksum does not match.*training from step 0" d.log || fail "damaged: no message: $(cat d.log)"
    same_params d.h5 ref.h5 || fail "damaged: parameters differ"
    # Another run's checkpoint: refused.
    "$zoo" train "${A[@]}" --seed 4 --epochs 1 --checkpoint o.ckpt.h5 --checkpoint-every 0.1 > o1.log 2>&1 &
    pid=$!
    for t in $(seq 1 600); do [ -e o.ckpt.h5 ] && break; sleep 0.05; done
    kill -TERM $pid; wait $pid
    [ -e o.ckpt.h5 ] || fail "no checkpoint of the other run: $(cat o1.log)"
    "$zoo" train "${A[@]}" --save o.h5 --checkpoint o.ckpt.h5 > o.log 2>&1 || fail "other run: $(tail -3 o.log)"
    grep -q "the checkpoint of another run" o.log || fail "other run's checkpoint not refused: $(cat o.log)"
    # A results file is not overwritten by --checkpoint.
    "$zoo" train "${A[@]}" --checkpoint ref.h5 > r.log 2>&1; rc=$?
    [ $rc -eq 2 ] || fail "--checkpoint over a model checkpoint: exit $rc"
    ok "a damaged and another run's checkpoint are refused with the reason; the run starts from step 0"
    ;;
sweep)
    export ZOO_PLUGIN_PATH=$plugins
    cat > s.yaml <<'EOF'
name: ckpt
checkpoint_minutes: 0.002
task: {vocab: 64, seq_len: 32, kv_pairs: 4, train_examples: [256, 60000], test_examples: 128}
model: {n_layers: 2, d_model: 16, mixer: sweeptoy}
train: {lr: 0.01, epochs: 3, batch_size: 16}
EOF
    sed 's/checkpoint_minutes: 0.002/checkpoint_minutes: 0/' s.yaml > clean.yaml
    "$zoo" sweep clean.yaml -o clean.h5 --quiet > clean.log 2>&1 || fail "clean sweep: $(tail -3 clean.log)"
    "$zoo" sweep s.yaml -o r.h5 > r1.log 2>&1 &
    pid=$!
    for i in $(seq 1 300); do
        ls r.h5.ckpt/*.h5 > /dev/null 2>&1 && break
        sleep 0.05
    done
    sleep "0.$((RANDOM % 3))" # a random moment after the first checkpoint, well before the long run ends
    ls r.h5.ckpt/*.h5 > /dev/null 2>&1 || { kill -9 $(tree $pid); fail "no checkpoint appeared: $(cat r1.log)"; }
    kill -9 $(tree $pid)
    wait $pid 2>/dev/null
    "$zoo" sweep s.yaml -o r.h5 > r2.log 2>&1 || fail "rerun: $(tail -3 r2.log)"
    line=$(grep -o 'resuming from epoch [0-9]* step [0-9]* (step [0-9]*' r2.log) || fail "the long run did not resume: $(cat r2.log)"
    case $line in *"(step 0") fail "resumed from step 0: $line" ;; esac
    "$py" "$sweep_src/compare_results.py" r.h5 clean.h5 --runs 2 --status ok || fail "results differ from the clean sweep"
    [ ! -e r.h5.ckpt ] || [ -z "$(ls r.h5.ckpt)" ] || fail "checkpoints left: $(ls r.h5.ckpt)"
    ok "sweep killed with kill -9 mid-run; the rerun: '$line'; results equal the uninterrupted sweep's"
    ;;
*)
    fail "unknown mode"
    ;;
esac
