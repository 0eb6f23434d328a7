#!/usr/bin/env bash
# test_iofault.sh: what every zoo writer does when the disk fills up, and what it refuses
# to overwrite. One mode per ctest test:
#   refuse   each writer (train --save, eval --logits, data -o, merge -o) refuses an
#            output that is one of its inputs (also as ./x, a hard or symbolic link, with
#            --force), a zoo file of another kind, a file that is not zoo's (unless
#            --force), a device, a missing folder; each case exits 2 and leaves the file
#            as it was; a file of its own kind is replaced; out of memory exits 3
#   train, eval, data, merge, sweep
#            the disk "fills up" (the iofault.so preload fails the Nth write, pwrite,
#            fsync or rename on a regular file with ENOSPC, and every later one) at every
#            N from 1 until the command no longer reaches the fault (every N up to 12, then
#            a sample; ZOO_IOFAULT_ALL=1 tries them all): each time the exit
#            code is 3, stderr names the output and says "no space left on device", no
#            signal ends the process, no temporary file is left, and an output that
#            existed before (the merge: an input merged into) is unchanged. The one
#            exception is the sweep's advisory live file (results.h5.live): when it is the
#            first file to meet the full disk and nothing after it fails, the sweep warns,
#            goes on and may exit 0, but only with every run in the results file itself.
# usage: test_iofault.sh MODE ZOO IOFAULT_LIB PLUGIN_DIR WORK_DIR
set -u
mode=$1 zoo=$2 lib=$3 plugins=$4 work=$5/$1
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
export OMP_NUM_THREADS=1 ZOO_PLUGIN_PATH=$plugins
fails=0
fail() { echo "FAIL ($mode): $*" >&2; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }
sum() { if [ -f "$1" ]; then md5sum <"$1"; else echo absent; fi; }

# A sanitizer build wants its runtime first in the preload list.
asan=$(ldd "$zoo" 2>/dev/null | awk '/libasan/ {print $3; exit}')
preload=${asan:+$asan:}$lib
if ! LD_PRELOAD=$preload "$zoo" --version >/dev/null 2>&1; then
    echo "skip: $zoo does not run with $lib preloaded"
    exit 77
fi

SMALL=(--vocab 64 --seq-len 16 --kv-pairs 2 --d-model 16 --n-layers 2 --train-examples 64 --test-examples 32
       --batch-size 32 --epochs 1 --threads 1 --quiet)
DATA=(mqar --vocab 64 --seq-len 16 --kv-pairs 2 --examples 40)
tiny_sweep() {
    cat >"$1" <<'EOF'
name: tiny
task: {vocab: 64, seq_len: 32, kv_pairs: 4, train_examples: 64, test_examples: 32}
model: {n_layers: 1, d_model: 8, mixers: [sweeptoy]}
train: {lr: [0.01, 0.003], epochs: 1, batch_size: 32}
EOF
}
make_inputs() {
    "$zoo" train "${SMALL[@]}" --save ckpt.h5 >/dev/null 2>&1 || fail "zoo train --save ckpt.h5"
    "$zoo" data "${DATA[@]}" -o data.h5 >/dev/null 2>&1 || fail "zoo data -o data.h5"
}
make_results() {
    tiny_sweep s.yaml
    "$zoo" sweep s.yaml -o part0.h5 --slice 0/2 --quiet >/dev/null 2>&1 || fail "sweep slice 0"
    "$zoo" sweep s.yaml -o part1.h5 --slice 1/2 --quiet >/dev/null 2>&1 || fail "sweep slice 1"
}

# expect WANT NAME FILE PATTERN CMD...: exit code WANT, FILE (if given) unchanged unless
# WANT is 0, stderr matching PATTERN (if given).
expect() {
    local want=$1 name=$2 file=$3 pat=$4 before rc
    shift 4
    before=$(sum "$file")
    "$@" >out.txt 2>err.txt
    rc=$?
    if [ $rc -ne "$want" ]; then
        fail "$name: exit $rc, want $want: $(cat err.txt)"
    elif [ "$want" -ne 0 ] && [ -n "$file" ] && [ "$(sum "$file")" != "$before" ]; then
        fail "$name: $file changed"
    elif [ -n "$pat" ] && ! grep -qiE -- "$pat" err.txt; then
        fail "$name: stderr does not match /$pat/: $(cat err.txt)"
    else
        ok "$name -> $rc${pat:+: $(head -1 err.txt)}"
    fi
}

# live_only_ok OUT: the sweep ended with every run final in OUT itself (the journal folded
# into it and removed), so a failure of the live file alone did no harm.
live_only_ok() {
    local counts
    [ ! -e "$1.d" ] || { echo "the journal $1.d is left"; return 1; }
    counts=$("$zoo" status "$1" --json 2>&1 | grep -o '"counts": {[^}]*}')
    echo "$counts" | awk -F'[:,}]' '{t = $3; d = $5; f = $7} END {exit !(t > 0 && t == d + f)}' ||
        { echo "not every run is final: ${counts:-no status}"; return 1; }
}

# fault_sweep NAME OUT KEEP CMD...: run CMD with the disk full from the Nth write on, for
# every N until the fault is no longer reached. OUT is the output the message must name;
# KEEP a file that must survive every failure unchanged ("" for none). With ADVISORY set
# (a regex), a fault first met by a file it matches may end in exit 0 (see live_only_ok).
fault_sweep() {
    local name=$1 out=$2 keep=$3 n rc total before fired tries=0 bad0=$fails
    shift 3
    rm -f count.txt
    ZOO_FAULT_COUNT=$PWD/count.txt LD_PRELOAD=$preload "$@" >/dev/null 2>err.txt
    rc=$?
    # Every process of the command adds its own count (a sweep forks): the writer's is the largest.
    total=$(sort -n count.txt 2>/dev/null | tail -1)
    total=${total:-0}
    if [ $rc -ne 0 ] || [ "$total" -lt 1 ]; then
        fail "$name: the command without a fault: exit $rc, $total writes counted: $(cat err.txt)"
        return
    fi
    before=$(sum "${keep:-/nonexistent}")
    # Every N up to 12 (creating the file, the first data), then about 10 more spread
    # over the rest, and the last writes (closing, fsync, rename); ZOO_IOFAULT_ALL=1: all.
    local step=$(((total - 12) / 10)) list
    [ $step -ge 1 ] && [ -z "${ZOO_IOFAULT_ALL:-}" ] || step=1
    list=$( (seq 1 $total | awk -v s=$step -v t=$total '$1 <= 12 || ($1 - 12) % s == 0 || $1 >= t - 3'
             echo $((total + 1))) | sort -nu)
    for n in $list; do
        rm -f fired.txt
        ZOO_FAULT_N=$n ZOO_FAULT_LOG=$PWD/fired.txt LD_PRELOAD=$preload "$@" >/dev/null 2>err.txt
        rc=$?
        fired=$(cat fired.txt 2>/dev/null)
        tries=$((tries + 1))
        if [ -z "$fired" ]; then
            [ $rc -eq 0 ] || fail "$name N=$n: the fault was not reached, yet exit $rc: $(cat err.txt)"
            [ $n -gt "$total" ] || fail "$name N=$n: fewer than $n of $total writes made this time"
            break
        fi
        local what="$name N=$n ($fired)" file why
        file=$(head -1 <<<"$fired" | cut -d' ' -f4-)
        if [ $rc -eq 0 ] && [ -n "${ADVISORY:-}" ] && [[ $file =~ $ADVISORY ]]; then
            if why=$(live_only_ok "$out") && grep -q "the sweep goes on" err.txt; then
                ok "$name N=$n: only the advisory $file met the full disk: warned, exit 0, results complete"
            else
                fail "$what: exit 0 after the advisory file failed, but the results are not complete: $why: $(cat err.txt)"
            fi
        elif [ $rc -ge 128 ]; then
            fail "$what: killed by signal $((rc - 128)): $(tail -2 err.txt)"
        elif [ $rc -ne 3 ]; then
            fail "$what: exit $rc, want 3: $(tail -2 err.txt)"
        elif ! grep -q -- "$out" err.txt || ! grep -qi "no space left on device" err.txt; then
            fail "$what: stderr does not name $out and 'no space left on device': $(cat err.txt)"
        fi
        if ls -a "$out.d" 2>/dev/null | cat - <(ls -a) | grep -qE '\.tmp(\.|$)'; then
            fail "$what: temporary files left: $(ls -a "$out.d" 2>/dev/null | cat - <(ls -a) | grep -E '\.tmp(\.|$)' | tr '\n' ' ')"
            rm -f ./*.tmp.* ./*.tmp "$out.d"/*.tmp.*
        fi
        [ "$(sum "${keep:-/nonexistent}")" = "$before" ] || { fail "$what: $keep changed"; before=$(sum "$keep"); }
    done
    [ $fails -eq "$bad0" ] && ok "$name: disk full from write N on, $tries values of N of $total: exit 3, a clean message, nothing left"
    echo "     ($tries runs; last message: $(tail -1 err.txt))"
}

case $mode in
refuse)
    make_inputs
    make_results
    "$zoo" eval ckpt.h5 --data data.h5 --logits logits.h5 >/dev/null 2>&1 || fail "zoo eval --logits logits.h5"
    ln data.h5 hard.h5
    ln -s ckpt.h5 sym.h5
    echo "notes, not HDF5" >notes.h5
    /usr/bin/python3 -c 'import h5py; h5py.File("plain.h5", "w")["x"] = [1]' 2>/dev/null
    same='that is the input'
    # eval --logits: never an input, whatever the spelling, --force or not
    expect 2 "eval --logits its checkpoint" ckpt.h5 "$same" "$zoo" eval ckpt.h5 --data data.h5 --logits ckpt.h5
    expect 2 "eval --logits its data" data.h5 "$same" "$zoo" eval ckpt.h5 --data data.h5 --logits data.h5
    expect 2 "eval --logits ./data" data.h5 "$same" "$zoo" eval ckpt.h5 --data data.h5 --logits ./data.h5
    expect 2 "eval --logits a hard link" data.h5 "$same" "$zoo" eval ckpt.h5 --data data.h5 --logits hard.h5
    expect 2 "eval --logits a symlink, --force" ckpt.h5 "$same" \
        "$zoo" eval ckpt.h5 --data data.h5 --logits sym.h5 --force
    expect 2 "eval --logits a results file" part0.h5 "results file.*--force" \
        "$zoo" eval ckpt.h5 --data data.h5 --logits part0.h5
    expect 2 "eval --logits a folder" "" "folder" "$zoo" eval ckpt.h5 --logits "$work"
    expect 2 "eval --logits a device" "" "not a regular file" "$zoo" eval ckpt.h5 --logits /dev/null --force
    expect 0 "eval --logits an old logits file: replaced" "" "" "$zoo" eval ckpt.h5 --data data.h5 --logits logits.h5
    # train --save
    expect 2 "train --save a data file" data.h5 "zoo data file, not a zoo checkpoint.*--force" \
        "$zoo" train "${SMALL[@]}" --save data.h5
    expect 2 "train --save a results file" part0.h5 "results file" "$zoo" train "${SMALL[@]}" --save part0.h5
    expect 2 "train --save a logits file" logits.h5 "logits file" "$zoo" train "${SMALL[@]}" --save logits.h5
    expect 2 "train --save a text file" notes.h5 "not HDF5.*--force" "$zoo" train "${SMALL[@]}" --save notes.h5
    if [ -e plain.h5 ]; then
        expect 2 "train --save someone else's HDF5" plain.h5 "did not write" "$zoo" train "${SMALL[@]}" --save plain.h5
    fi
    printf 'task: {vocab: 64, seq_len: 16, kv_pairs: 2, train_examples: 64, test_examples: 32}\nmodel: {d_model: 16}\ntrain: {epochs: 1, batch_size: 32}\n' >run.yaml
    expect 2 "train --save its --config, --force" run.yaml "$same" \
        "$zoo" train --config run.yaml --threads 1 --quiet --save run.yaml --force
    expect 2 "train --save in a missing folder: before training" "" "does not exist" \
        "$zoo" train "${SMALL[@]}" --save no/such/m.h5
    grep -q "^epoch\|^done" out.txt && fail "train --save no/such/m.h5 trained before refusing"
    cp ckpt.h5 ckpt2.h5
    expect 0 "train --save an old checkpoint: replaced" "" "" "$zoo" train "${SMALL[@]}" --save ckpt2.h5
    cp notes.h5 notes2.h5
    expect 0 "train --save a text file, --force: replaced" "" "" "$zoo" train "${SMALL[@]}" --save notes2.h5 --force
    "$zoo" eval notes2.h5 >/dev/null 2>&1 || fail "notes2.h5 is not a checkpoint after --force"
    # data -o
    expect 2 "data -o a checkpoint" ckpt.h5 "zoo checkpoint, not a zoo data file" "$zoo" data "${DATA[@]}" -o ckpt.h5
    expect 2 "data -o a results file" part1.h5 "results file" "$zoo" data "${DATA[@]}" -o part1.h5
    expect 2 "data -o a device, --force" "" "not a regular file" "$zoo" data "${DATA[@]}" -o /dev/null --force
    cp ckpt.h5 ckpt3.h5
    expect 0 "data -o a checkpoint, --force: replaced" "" "" "$zoo" data "${DATA[@]}" -o ckpt3.h5 --force
    expect 0 "data -o an old data file: replaced" "" "" "$zoo" data "${DATA[@]}" --seed 3 -o data.h5
    # merge -o: merging into an input stays allowed (its documented use); other kinds are not
    expect 2 "merge -o a checkpoint" ckpt.h5 "zoo checkpoint, not a zoo sweep results file.*--force" \
        "$zoo" merge -o ckpt.h5 part0.h5 part1.h5
    expect 2 "merge -o a text file" notes.h5 "not HDF5" "$zoo" merge -o notes.h5 part0.h5 part1.h5
    cp ckpt.h5 ckpt4.h5
    expect 0 "merge -o a checkpoint, --force: replaced, kept as .bak" "" "" \
        "$zoo" merge -o ckpt4.h5 part0.h5 part1.h5 --force
    cmp -s ckpt4.h5.bak ckpt.h5 || fail "merge --force did not keep the checkpoint as ckpt4.h5.bak"
    cp part0.h5 into.h5
    expect 0 "merge -o one of its inputs (merge into it)" "" "" "$zoo" merge -o into.h5 into.h5 part1.h5
    # out of memory: one code (3) whichever allocation fails first; a sanitizer's shadow
    # memory does not fit under the limit
    if [ -z "$asan" ]; then
        expect 3 "out of memory generating data" "" "allocate" \
            bash -c 'ulimit -v 2000000; exec "$0" data mqar --vocab 64 --seq-len 16 --kv-pairs 2 --examples 100000000 -o big.h5' "$zoo"
        expect 3 "out of memory in train's data" "" "allocate" \
            bash -c 'ulimit -v 2000000; exec "$0" train --vocab 64 --seq-len 16 --kv-pairs 2 --d-model 16 --train-examples 100000000 --epochs 1 --quiet' "$zoo"
        expect 3 "out of memory building train's model" "" "allocate" \
            bash -c 'ulimit -v 2000000; exec "$0" train --vocab 4000000 --seq-len 16 --kv-pairs 2 --d-model 4096 --train-examples 100 --epochs 1 --quiet' "$zoo"
    fi
    ls -a | grep -q '\.tmp\.' && fail "temporary files left: $(ls -a | grep '\.tmp\.')"
    ;;
train)
    make_inputs
    cp ckpt.h5 old.h5
    fault_sweep "train --save" old.h5 old.h5 "$zoo" train "${SMALL[@]}" --save old.h5
    ;;
eval)
    make_inputs
    "$zoo" eval ckpt.h5 --data data.h5 --logits old.h5 >/dev/null 2>&1 || fail "zoo eval --logits old.h5"
    "$zoo" data "${DATA[@]}" --seed 9 -o data9.h5 >/dev/null 2>&1 || fail "zoo data --seed 9"
    fault_sweep "eval --logits" old.h5 old.h5 "$zoo" eval ckpt.h5 --data data9.h5 --logits old.h5 --threads 1
    ;;
data)
    "$zoo" data "${DATA[@]}" -o old.h5 >/dev/null 2>&1 || fail "zoo data -o old.h5"
    fault_sweep "data -o" old.h5 old.h5 "$zoo" data "${DATA[@]}" --seed 4 -o old.h5
    ;;
merge)
    make_results
    cp part0.h5 into.h5
    fault_sweep "merge -o (into an input)" into.h5 into.h5 "$zoo" merge -o into.h5 into.h5 part1.h5 --quiet
    ;;
sweep)
    tiny_sweep s.yaml
    ADVISORY='\.live(\.tmp)?$' fault_sweep "sweep -o (new file)" new.h5 "" \
        bash -c 'rm -rf new.h5 new.h5.lock new.h5.d; exec "$@"' sweep "$zoo" sweep s.yaml -o new.h5 --quiet
    ;;
*)
    echo "unknown mode $mode" >&2
    exit 2
    ;;
esac
if [ $fails -ne 0 ]; then
    echo "$fails failure(s); files kept in $work" >&2
    exit 1
fi
echo "$mode: all checks passed"
