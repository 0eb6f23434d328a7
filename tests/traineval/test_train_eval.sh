#!/bin/bash
# test_train_eval.sh ZOO: `zoo train` end to end on a tiny run with --save, then
# `zoo eval` on its own test set (must reproduce the final test accuracy) and on a
# dataset file with --logits; a YAML run file with flag overrides; its max_run_seconds;
# SIGTERM; and the
# bad-input cases: each exits 2 with one "zoo train: ..." line and writes nothing.
# Exit 0 pass, 1 fail.
set -u
ZOO=${1:?usage: test_train_eval.sh path/to/zoo}
W=$(mktemp -d "${TMPDIR:-/tmp}/zoo-traineval-XXXXXX")
FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
ok() { echo "ok   $*"; }

SMALL=(--vocab 64 --seq-len 16 --kv-pairs 2 --d-model 16 --n-layers 2 --train-examples 256
       --test-examples 64 --batch-size 32 --epochs 3 --lr 3e-3 --threads 1)

# ---- a good run, saved, evaluated ----
"$ZOO" train "${SMALL[@]}" --attention.num-heads 2 --save "$W/m.h5" >"$W/train.out" 2>"$W/train.err"
rc=$?
if [ $rc -ne 0 ]; then
    fail "zoo train exited $rc"; cat "$W/train.err" >&2
else
    n=$(grep -c '^epoch ' "$W/train.out")
    [ "$n" -ge 1 ] && [ "$n" -le 3 ] || fail "expected 1-3 epoch lines, got $n"
    grep -q '^done: status ok' "$W/train.out" || fail "no summary line"
    [ -s "$W/m.h5" ] || fail "no checkpoint written"
    [ -z "$(ls "$W" | grep '\.tmp\.')" ] || fail "temporary file left: $(ls "$W")"
    ok "zoo train: $n epoch line(s), $(grep '^done' "$W/train.out")"
fi

if [ -s "$W/m.h5" ]; then
    "$ZOO" eval "$W/m.h5" >"$W/eval.out" 2>"$W/eval.err" || { fail "zoo eval exited $?"; cat "$W/eval.err" >&2; }
    # The spec's own test set through the checkpoint gives the final epoch's accuracy.
    final=$(sed -n 's/.*final_acc \([0-9.]*\).*/\1/p' "$W/train.out")
    acc=$(sed -n 's/.* acc \([0-9.]*\) .*/\1/p' "$W/eval.out")
    if [ -n "$acc" ] && [ -n "$final" ] && [ "$(printf '%.4f' "$acc")" = "$final" ]; then
        ok "zoo eval on the test set: acc $acc = training's final_acc $final"
    else
        fail "zoo eval acc '$acc' != training final_acc '$final'"; cat "$W/eval.out" >&2
    fi
    # ... and the last epoch's test loss (a continuous value: a wrong weight shows here)
    tl=$(grep '^epoch ' "$W/train.out" | tail -1 | sed -n 's/.*test_loss \([0-9.]*\).*/\1/p')
    loss=$(sed -n 's/.* loss \([0-9.]*\) .*/\1/p' "$W/eval.out")
    if [ -n "$loss" ] && [ -n "$tl" ] && [ "$(printf '%.4f' "$loss")" = "$tl" ]; then
        ok "zoo eval on the test set: loss $loss = last epoch's test_loss $tl"
    else
        fail "zoo eval loss '$loss' != last epoch's test_loss '$tl'"; cat "$W/eval.out" >&2
    fi

    "$ZOO" data mqar --vocab 64 --seq-len 16 --kv-pairs 2 --examples 40 --seed 5 -o "$W/d.h5" >/dev/null 2>&1 ||
        fail "zoo data exited $?"
    "$ZOO" eval "$W/m.h5" --data "$W/d.h5" --logits "$W/l.h5" --threads 1 >"$W/eval2.out" 2>"$W/eval2.err"
    rc=$?
    if [ $rc -ne 0 ]; then
        fail "zoo eval --data --logits exited $rc"; cat "$W/eval2.err" >&2
    else
        acc=$(sed -n 's/.* acc \([0-9.]*\) .*/\1/p' "$W/eval2.out")
        # The logits file: shapes, and the accuracy recomputed from it.
        if /usr/bin/python3 -c 'import h5py, numpy' 2>/dev/null; then
            /usr/bin/python3 - "$W/l.h5" "$W/d.h5" "$acc" <<'EOF' || fail "logits file check"
import sys, h5py, numpy as np
lf, df, acc = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r"), float(sys.argv[3])
lg, lab, pos = lf["logits"][...], lf["labels"][...], lf["positions"][...]
labels = df["labels"][...]
assert lg.shape == (40 * 2, 64) and lg.dtype == np.float32, lg.shape
assert lab.shape == (80,) and pos.shape == (80, 2), (lab.shape, pos.shape)
assert (labels[pos[:, 0], pos[:, 1]] == lab).all(), "labels do not sit at the positions"
assert (np.argwhere(labels != -100) == pos).all(), "positions not in dataset order"
mine = float((lg.argmax(1) == lab).mean())
assert abs(mine - acc) < 1e-6, (mine, acc)
print("ok   logits file: %s logits, accuracy from them %.6f = printed %.6f" % (lg.shape, mine, acc))
EOF
        else
            h5ls "$W/l.h5" | grep -q 'logits .*{80, 64}' || fail "logits dataset shape: $(h5ls "$W/l.h5")"
            ok "logits file shapes (h5py missing: accuracy not recomputed)"
        fi
    fi

    # eval's own bad input: wrong L, missing checkpoint, a tampered checkpoint
    "$ZOO" data mqar --vocab 64 --seq-len 32 --kv-pairs 2 --examples 8 -o "$W/d32.h5" >/dev/null 2>&1
    for args in "$W/nosuch.h5" "$W/m.h5 --data $W/d32.h5" "$W/m.h5 --data $W/nosuch.h5" "$W/m.h5 --bogus"; do
        # shellcheck disable=SC2086
        "$ZOO" eval $args >/dev/null 2>"$W/e.err"
        rc=$?
        lines=$(wc -l <"$W/e.err")
        if [ $rc -eq 2 ] && [ "$lines" -eq 1 ] && grep -q '^zoo eval: ' "$W/e.err"; then
            ok "zoo eval $args -> 2: $(cat "$W/e.err")"
        else
            fail "zoo eval $args: exit $rc, $lines stderr line(s): $(cat "$W/e.err")"
        fi
    done
    if /usr/bin/python3 -c 'import h5py' 2>/dev/null; then
        cp "$W/m.h5" "$W/bad.h5"
        /usr/bin/python3 -c '
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "a") as f:
    del f["backbone.ln_f.weight"]
    f["backbone.ln_f.weight"] = np.ones(17, dtype=np.float32)' "$W/bad.h5"
        "$ZOO" eval "$W/bad.h5" --logits "$W/bad_logits.h5" >/dev/null 2>"$W/e.err"
        rc=$?
        if [ $rc -eq 2 ] && grep -q "backbone.ln_f.weight.*(17,).*(16,)" "$W/e.err" && [ ! -e "$W/bad_logits.h5" ]; then
            ok "tampered checkpoint -> 2: $(cat "$W/e.err")"
        else
            fail "tampered checkpoint: exit $rc: $(cat "$W/e.err")"
        fi
    fi
fi

# ---- a YAML run file; flags override it ----
cat >"$W/run.yaml" <<'EOF'
task:
  vocab: 64
  seq_len: 16
  kv_pairs: 2
  train_examples: 128
  test_examples: 32
model:
  d_model: 16
  mixer: attention
train:
  epochs: 3
  batch_size: 32
  lr: 0.003
EOF
"$ZOO" train --config "$W/run.yaml" --epochs 1 --early-stop 2 >"$W/yaml.out" 2>"$W/yaml.err"
rc=$?
n=$(grep -c '^epoch ' "$W/yaml.out")
if [ $rc -eq 0 ] && [ "$n" -eq 1 ] && grep -q 'd_model 16' "$W/yaml.out"; then
    ok "zoo train --config run.yaml --epochs 1: one epoch"
else
    fail "run file: exit $rc, $n epoch lines: $(cat "$W/yaml.out" "$W/yaml.err")"
fi
sed 's/d_model: 16/d_model: [16, 32]/' "$W/run.yaml" >"$W/sweep.yaml"

# ---- a run file's max_run_seconds stops the run: status timeout, exit 1, no checkpoint ----
{ echo "max_run_seconds: 1"; sed 's/epochs: 3/epochs: 100000/; s/train_examples: 128/train_examples: 2048/' "$W/run.yaml"; } >"$W/limit.yaml"
"$ZOO" train --config "$W/limit.yaml" --early-stop 2 --save "$W/limit.h5" >"$W/limit.out" 2>"$W/limit.err"
rc=$?
if [ $rc -eq 1 ] && [ ! -e "$W/limit.h5" ] && grep -q 'status timeout' "$W/limit.out" &&
    grep -q 'ran past max_run_seconds = 1 s' "$W/limit.err"; then
    ok "max_run_seconds: 1 in the run file -> exit 1, status timeout, no checkpoint"
else
    fail "max_run_seconds: exit $rc: $(tail -2 "$W/limit.out") $(cat "$W/limit.err")"
fi

# ---- SIGTERM stops cleanly, writes nothing ----
"$ZOO" train "${SMALL[@]}" --epochs 100000 --early-stop 2 --save "$W/sig.h5" >"$W/sig.out" 2>"$W/sig.err" &
pid=$!
for _ in $(seq 1 600); do
    grep -q '^epoch ' "$W/sig.out" 2>/dev/null && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
done
kill -TERM $pid 2>/dev/null
wait $pid
rc=$?
if [ $rc -eq 143 ] && [ ! -e "$W/sig.h5" ] && grep -q 'status interrupted' "$W/sig.out"; then
    ok "SIGTERM -> exit 143, summary says interrupted, no checkpoint"
else
    fail "SIGTERM: exit $rc, checkpoint $( [ -e "$W/sig.h5" ] && echo exists || echo absent): $(tail -2 "$W/sig.out") $(cat "$W/sig.err")"
fi

# ---- a diverging run: exit 1, summary says so, nothing written ----
"$ZOO" train "${SMALL[@]}" --lr 1e6 --save "$W/div.h5" >"$W/div.out" 2>"$W/div.err"
rc=$?
if [ $rc -eq 1 ] && [ ! -e "$W/div.h5" ] && grep -q 'status diverged' "$W/div.out"; then
    ok "diverging run -> 1: $(cat "$W/div.err")"
else
    fail "diverging run: exit $rc: $(cat "$W/div.out" "$W/div.err")"
fi

# ---- bad input: exit 2, one line, nothing written ----
bad() { # bad NAME PATTERN ARGS...
    local name=$1 pat=$2
    shift 2
    rm -f "$W/x.h5"
    "$ZOO" train "$@" --save "$W/x.h5" >"$W/b.out" 2>"$W/b.err"
    local rc=$? lines
    lines=$(wc -l <"$W/b.err")
    if [ $rc -ne 2 ]; then
        fail "$name: exit $rc (want 2): $(cat "$W/b.err")"
    elif [ "$lines" -ne 1 ] || ! grep -q '^zoo train: ' "$W/b.err"; then
        fail "$name: want one 'zoo train: ...' line, got $lines: $(cat "$W/b.err")"
    elif ! grep -qiE "$pat" "$W/b.err"; then
        fail "$name: message does not match /$pat/: $(cat "$W/b.err")"
    elif [ -e "$W/x.h5" ] || ls "$W" | grep -q '^x\.h5\.tmp'; then
        fail "$name: a checkpoint was written"
    else
        ok "$name -> 2: $(cat "$W/b.err")"
    fi
}
bad "unknown mixer" "attention" "${SMALL[@]}" --mixer no_such_mixer
bad "unknown key" "d_model" "${SMALL[@]}" --d-modle 16
bad "mistyped knob" "num_heads" "${SMALL[@]}" --attention.num-head 2
bad "bad value" "lr" "${SMALL[@]}" --lr fast
bad "odd L" "15" "${SMALL[@]}" --seq-len 15
bad "V <= L" "vocab|V" "${SMALL[@]}" --vocab 16
bad "4K > L" "kv_pairs|K" "${SMALL[@]}" --kv-pairs 5
bad "heads do not divide D" "head" "${SMALL[@]}" --d-model 18 --attention.num-heads 4
bad "unreadable config" "nosuch.yaml" --config "$W/nosuch.yaml"
bad "sweep file" "zoo sweep" --config "$W/sweep.yaml"
bad "missing value" "value" "${SMALL[@]}" --epochs
bad "stray argument" "unexpected" "${SMALL[@]}" stray
# task knobs: an unknown one names it; a run file's bad task knob says file:line:col
bad "unknown task knob" "task\.bogus: unknown hyperparameter 'bogus' for task 'mqar'" "${SMALL[@]}" --task mqar --task.bogus 1
bad "unknown task" "unknown task 'mqr'" "${SMALL[@]}" --task mqr
printf 'task:\n  name: mqar\n  bogus: 1\n' >"$W/badknob.yaml"
bad "run file: unknown task knob" "badknob\.yaml:3:3: unknown key 'bogus' in task" --config "$W/badknob.yaml"
printf 'task:\n  name: mqar\n  vocab: 64\n  seq_len: 16\n  kv_pairs: 5\n' >"$W/badkv.yaml"
bad "run file: knob the task refuses" "badkv\.yaml:5:13: .*kv_pairs 5 needs seq_len" --config "$W/badkv.yaml"
# the CUDA backend where it cannot run (no GPU or driver here, or not built) is
# refused before anything is allocated, saying why and what to use instead
if ! "$ZOO" info | grep -q "^backend cuda   usable"; then
    bad "backend cuda here" "(no usable CUDA device here|no CUDA device here|is not built).*use backend cpu" \
        "${SMALL[@]}" --backend cuda
fi
rm -f "$W/y.h5"
"$ZOO" train "${SMALL[@]}" --save "$W/no/such/dir/m.h5" >/dev/null 2>"$W/b.err"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$W/b.err")" -eq 1 ] && ok "unwritable --save -> 2: $(cat "$W/b.err")" ||
    fail "unwritable --save: exit $rc: $(cat "$W/b.err")"
# a folder as --save is refused before training, not after it
for dir in "$W" "$W/"; do
    "$ZOO" train "${SMALL[@]}" --save "$dir" >"$W/b.out" 2>"$W/b.err"
    rc=$?
    [ $rc -eq 2 ] && grep -q "that is a folder" "$W/b.err" && ! grep -q "epoch" "$W/b.out" &&
        ok "--save $dir -> 2: $(cat "$W/b.err")" || fail "--save $dir: exit $rc: $(cat "$W/b.err")"
done

if [ $FAILS -ne 0 ]; then
    echo "$FAILS failure(s); files kept in $W" >&2
    exit 1
fi
rm -rf "$W"
echo "all train/eval checks passed"
exit 0
