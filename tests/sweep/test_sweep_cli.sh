#!/usr/bin/env bash
# test_sweep_cli.sh: `zoo sweep` end to end with the test-only mixers. One mode per
# ctest test:
#   bad      every malformed sweep file: exit 2, its file:line:col message, and no
#            results file created or changed
#   resume   rerun skips recorded runs; a changed sweep is refused (exit 2, file
#            unchanged) unless --resume adds its runs; --force keeps a backup
#   contain  a run that crashes its process is retried once then recorded crashed, a
#            failing run is recorded failed, the others finish (exit 1)
#   mpi      mpirun -np 3 gives the same numbers, bit for bit, as one process
#   crash    kill -9 of every process at 5 random moments, resuming each time: every
#            run recorded once, the numbers equal a clean run's
#   sigterm  SIGTERM mid-sweep (one process), and SIGUSR1 under mpirun: exit 75,
#            nothing lost, a rerun finishes
#   bigtext  a sweep file over 200 KiB (past HDF5's 64 KiB attribute limit) runs end to
#            end and its text reads back identical
#   plan     --dry-run's plan: each run's ranks (auto picks N > 1 for long runs only), the
#            makespans against their bound, the network keys and flags, --ranks; a run
#            whose ranks cannot be met: a note (too few ranks) or exit 2 (its batch)
#   backend  runs on a backend that cannot run here are recorded unsupported (naming why:
#            no GPU, or the missing ops); a kernel that fails (a label outside the vocabulary, put
#            there by the LABEL_FAULT preload library) is recorded failed with its op
# usage: test_sweep_cli.sh MODE ZOO PYTHON SRC_DIR WORK_DIR [LABEL_FAULT_LIB]
set -u
mode=$1 zoo=$2 py=$3 src=$4 work=$5/$1 fault_lib=${6:-}
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
export OMP_NUM_THREADS=1
fail() { echo "FAIL ($mode): $*" >&2; exit 1; }
compare() { "$py" "$src/compare_results.py" "$@" || fail "results differ: $*"; }

. "$src/lib.sh" # tiny, tree

case $mode in
bad)
    n=0
    for f in "$src"/bad/*.yaml; do
        want=$(head -1 "$f" | sed 's/^# expect: //')
        out=$("$zoo" sweep "$f" -o new.h5 2>&1); rc=$?
        [ $rc -eq 2 ] || fail "$f: exit $rc, want 2 ($out)"
        case "$out" in *"zoo sweep: $f:$want"*) ;; *) fail "$f: got '$out', want 'zoo sweep: $f:$want...'" ;; esac
        [ ! -e new.h5 ] || fail "$f: created new.h5"
        n=$((n + 1))
    done
    # An existing results file is not touched either.
    tiny ok.yaml 256
    "$zoo" sweep ok.yaml -o keep.h5 --quiet >/dev/null || fail "tiny sweep failed"
    sum=$(md5sum < keep.h5)
    for f in "$src"/bad/unknown_knob.yaml "$src"/bad/zip_mismatch.yaml "$src"/bad/constraint_kv.yaml; do
        "$zoo" sweep "$f" -o keep.h5 >/dev/null 2>&1; rc=$?
        [ $rc -eq 2 ] || fail "$f against keep.h5: exit $rc"
        [ "$(md5sum < keep.h5)" = "$sum" ] || fail "$f changed keep.h5"
    done
    [ $n -ge 25 ] || fail "only $n malformed files"
    echo "$n malformed files: exit 2, expected message, no file written"
    ;;
resume)
    tiny a.yaml 256
    "$zoo" sweep a.yaml -o r.h5 --quiet > log1 || fail "first run: $(cat log1)"
    out=$("$zoo" sweep a.yaml -o r.h5); rc=$?
    [ $rc -eq 0 ] || fail "rerun exit $rc"
    case "$out" in *"12 already recorded, 0 to do"*) ;; *) fail "rerun did not skip: $out" ;; esac
    # A changed sweep: refused without --resume, file unchanged.
    sed 's/d_model: \[8, 16, 24\]/d_model: [8, 16, 24, 32]/' a.yaml > b.yaml
    sum=$(md5sum < r.h5)
    out=$("$zoo" sweep b.yaml -o r.h5 2>&1); rc=$?
    [ $rc -eq 2 ] || fail "changed sweep: exit $rc, want 2"
    case "$out" in *"holds a different sweep"*"--resume"*) ;; *) fail "changed sweep message: $out" ;; esac
    [ "$(md5sum < r.h5)" = "$sum" ] || fail "refused sweep changed r.h5"
    out=$("$zoo" sweep b.yaml -o r.h5 --resume --quiet); rc=$?
    [ $rc -eq 0 ] || fail "--resume exit $rc: $out"
    case "$out" in *"16 runs, 12 already recorded, 4 to do"*) ;; *) fail "--resume did not add 4 runs: $out" ;; esac
    "$zoo" sweep b.yaml -o clean.h5 --quiet > /dev/null || fail "clean b"
    compare r.h5 clean.h5 --runs 16 --status ok
    out=$("$zoo" sweep a.yaml -o r.h5 --force --quiet); rc=$?
    [ $rc -eq 0 ] && [ -e r.h5.bak ] || fail "--force: exit $rc, backup missing: $out"
    compare r.h5.bak clean.h5 --runs 16
    "$zoo" sweep a.yaml -o a_clean.h5 --quiet > /dev/null || fail "clean a"
    compare r.h5 a_clean.h5 --runs 12 --status ok
    "$py" - r.h5 <<'EOF' || fail "sessions table"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
s = f["sessions"][()]
assert len(s) == 1 and s["exit_code"][0] == 0 and s["runs_recorded"][0] == 12, s
EOF
    # Job-array parts: three slices, joined, are the whole sweep.
    for i in 0 1 2; do
        "$zoo" sweep a.yaml --slice $i/3 -o part$i.h5 --quiet > /dev/null || fail "slice $i/3"
    done
    "$zoo" merge -o merged.h5 part0.h5 part1.h5 part2.h5 > /dev/null || fail "zoo merge of the slices"
    compare merged.h5 a_clean.h5 --runs 12 --status ok
    echo "resume: skip, refuse, --resume, --force, --slice all as documented"
    ;;
contain)
    cat > c.yaml <<'EOF'
task: {vocab: 64, seq_len: 32, kv_pairs: 4, train_examples: 256, test_examples: 64}
model: {d_model: 16, mixers: [sweeptoy, {name: sweeptoy, crash: true}, {name: sweeptoy_b, fail: true}]}
train: {epochs: 2, batch_size: 32}
EOF
    # In a sanitizer build ASan would catch the toy's SIGSEGV and exit 1 instead of dying
    # by the signal this test checks for; let the signal through.
    out=$(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0" "$zoo" sweep c.yaml -o c.h5 2>&1); rc=$?
    [ $rc -eq 1 ] || fail "exit $rc, want 1: $out"
    "$py" - c.h5 <<'EOF' || fail "statuses: $out"
import sys, h5py
s = h5py.File(sys.argv[1], "r")["summary"][()]
st = [x.decode() for x in s["status"]]
assert st == ["ok", "crashed", "failed"], st
assert s["crashes"][1] == 2 and b"signal 11" in s["message"][1], (s["crashes"], s["message"])
assert b"fail=true" in s["message"][2], s["message"][2]
EOF
    echo "contain: crash retried once then recorded, failure recorded, sweep went on"
    ;;
backend)
    cat > b.yaml <<'EOF'
task: {vocab: 64, seq_len: 32, kv_pairs: 4, train_examples: 256, test_examples: 64}
model: {d_model: 16, mixer: attention}
train: {epochs: 1, batch_size: 32, backend: [cpu, cuda]}
EOF
    if "$zoo" info | grep -q "^backend cuda   usable"; then
        echo "skipped: the cuda backend runs here"
        exit 77
    fi
    out=$("$zoo" sweep b.yaml -o b.h5 2>&1); rc=$?
    "$py" - b.h5 <<'EOF' || fail "unsupported runs (exit $rc): $out"
import sys, h5py
s = h5py.File(sys.argv[1], "r")["summary"][()]
st = sorted(x.decode() for x in s["status"])
assert st == ["ok", "unsupported"], st
m = [x.decode() for x, y in zip(s["message"], s["status"]) if y == b"unsupported"][0]
assert "cuda backend" in m and ("no kernel for" in m or "not built" in m or "cannot run here" in m), m
assert [x.decode() for x, y in zip(s["backend"], s["status"]) if y == b"ok"] == ["cpu"], s["backend"]
ok = [i for i, y in enumerate(s["status"]) if y == b"ok"][0]
assert s["mem_params_bytes"][ok] > 0 and s["mem_workspace_bytes"][ok] > 0, s[ok]
print("unsupported:", m)
EOF
    [ -n "$fault_lib" ] && [ -e "$fault_lib" ] || { echo "skipped: no label fault library"; exit 77; }
    sed 's/backend: \[cpu, cuda\]/backend: cpu/' b.yaml > f.yaml
    # A sanitizer build wants its runtime first in the preload list.
    asan=$(ldd "$zoo" 2>/dev/null | awk '/libasan/ {print $3; exit}')
    out=$(LD_PRELOAD="${asan:+$asan:}$fault_lib${LD_PRELOAD:+:$LD_PRELOAD}" "$zoo" sweep f.yaml -o f.h5 2>&1); rc=$?
    [ $rc -eq 1 ] || fail "label fault: exit $rc, want 1: $out"
    "$py" - f.h5 <<'EOF' || fail "label fault: $out"
import sys, h5py
s = h5py.File(sys.argv[1], "r")["summary"][()]
assert [x.decode() for x in s["status"]] == ["failed"], s["status"]
m = s["message"][0].decode()
assert "op 'ce_head' forward" in m and "label 99999 out of range [0, 64) at example " in m, m
print("failed:", m)
EOF
    echo "backend: unsupported and failed runs recorded with their reasons"
    ;;
mpi)
    command -v mpirun > /dev/null || { echo "skipped: no mpirun"; exit 77; }
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
    tiny t.yaml
    "$zoo" sweep t.yaml -o one.h5 --quiet > log1 || fail "one process: $(cat log1)"
    mpirun -np 3 --oversubscribe -x OMP_NUM_THREADS -x ZOO_PLUGIN_PATH "$zoo" sweep t.yaml -o three.h5 > log3 2>&1 ||
        fail "mpirun -np 3: $(tail -5 log3)"
    compare three.h5 one.h5 --runs 12 --status ok
    "$py" - three.h5 <<'EOF' || fail "ranks"
import sys, h5py
s = h5py.File(sys.argv[1], "r")["summary"][()]
assert set(s["rank"]) == {0, 1, 2}, set(s["rank"])
assert h5py.File(sys.argv[1], "r")["sessions"][()]["ranks"][0] == 3
EOF
    echo "mpi: -np 3 equals one process bit for bit"
    ;;
crash)
    tiny t.yaml 3072
    "$zoo" sweep t.yaml -o clean.h5 --quiet > log0 || fail "clean run: $(cat log0)"
    for k in 1 2 3 4 5; do
        setsid "$zoo" sweep t.yaml -o k.h5 --quiet > "log$k" 2>&1 &
        pid=$!
        sleep "$(awk -v s=$RANDOM 'BEGIN { srand(s); printf "%.2f", 0.2 + 2.5 * rand() }')"
        pids=$(tree $pid)
        kill -STOP $pids 2>/dev/null; kill -9 $pids 2>/dev/null
        wait $pid 2>/dev/null
        if [ -e k.h5 ]; then
            "$py" -c "import h5py,sys; f=h5py.File('k.h5','r'); s=f['summary'][()]; print('kill $k:', sum(s['status']!=b'pending'), 'of', len(s), 'recorded')" ||
                fail "k.h5 does not open after kill $k"
        else
            echo "kill $k: before the file was created"
        fi
    done
    "$zoo" sweep t.yaml -o k.h5 --quiet > logf 2>&1 || fail "final resume: $(tail -3 logf)"
    ls k.h5.tmp.* 2>/dev/null && fail "temporaries left behind"
    compare k.h5 clean.h5 --runs 12 --status ok
    echo "crash: 5 kills, every run recorded once, numbers equal"
    ;;
sigterm)
    tiny t.yaml 3072
    "$zoo" sweep t.yaml -o clean.h5 --quiet > log0 || fail "clean run"
    # stop_mid SIGNAL FILE LAUNCHER...: start, wait for the first recorded run, signal;
    # want exit 75 with the resume hint, a consistent file, and a resume that finishes.
    stop_mid() {
        local sig=$1 out=$2 pid i rc
        shift 2
        "$@" sweep t.yaml -o "$out" --grace 30 > "$out.log" 2>&1 &
        pid=$!
        for i in $(seq 1 600); do
            grep -q '^\[1/' "$out.log" 2>/dev/null && break
            sleep 0.1
        done
        grep -q '^\[1/' "$out.log" || { kill -9 $(tree $pid); fail "no run finished: $(cat "$out.log")"; }
        kill -"$sig" $pid
        wait $pid; rc=$?
        [ $rc -eq 75 ] || fail "exit $rc after SIG$sig, want 75: $(tail -5 "$out.log")"
        grep -q 'rerun the same command to resume' "$out.log" || fail "no resume hint: $(tail -3 "$out.log")"
        "$py" - "$out" <<'EOF' || fail "after SIG$sig"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
s = f["summary"][()]
done = sum(s["status"] == b"ok")
assert 1 <= done < 12 and all(x in (b"ok", b"pending") for x in s["status"]), s["status"]
assert f["sessions"][()]["exit_code"][0] == 75
print(sys.argv[1], "after the signal:", done, "runs recorded")
EOF
        "$zoo" sweep t.yaml -o "$out" --quiet > "$out.log2" || fail "resume: $(tail -3 "$out.log2")"
        compare "$out" clean.h5 --runs 12 --status ok
    }
    stop_mid TERM one.h5 "$zoo"
    if command -v mpirun > /dev/null; then
        # mpirun forwards SIGUSR1 (what SLURM's --signal sends) to the ranks; on SIGTERM
        # Open MPI's mpirun kills them a second later instead (see zoo sweep --help).
        export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
        stop_mid USR1 two.h5 mpirun -np 2 --oversubscribe -x OMP_NUM_THREADS -x ZOO_PLUGIN_PATH "$zoo"
    fi
    echo "sigterm: exit 75, nothing lost, resume completes"
    ;;
bigtext)
    # A sweep file past HDF5's 64 KiB attribute limit: what --dry-run accepts also runs,
    # and the text reads back byte for byte.
    tiny big.yaml 256
    for i in $(seq 1 3000); do
        echo "# note $i: a long comment block, as generated sweep files carry, to pass 64 KiB"
    done >> big.yaml
    [ "$(stat -c %s big.yaml)" -gt 200000 ] || fail "big.yaml is only $(stat -c %s big.yaml) bytes"
    "$zoo" sweep big.yaml --dry-run > dry.log 2>&1 || fail "--dry-run refused big.yaml: $(tail -3 dry.log)"
    "$zoo" sweep big.yaml -o big.h5 --quiet > run.log 2>&1; rc=$?
    [ $rc -eq 0 ] || fail "zoo sweep of a $(stat -c %s big.yaml)-byte sweep file: exit $rc: $(tail -3 run.log)"
    "$py" - big.h5 big.yaml <<'EOF' || fail "the sweep text did not read back"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
want = open(sys.argv[2], encoding="utf-8").read()
got = f["sweep_texts"][-1]
got = got.decode() if isinstance(got, bytes) else got
assert got == want, (len(got), len(want))
assert (f["summary"]["status"] == b"ok").sum() == 12
EOF
    # A rerun resumes it (the text is read back from the file and compared).
    out=$("$zoo" sweep big.yaml -o big.h5) || fail "rerun of the big sweep failed: $out"
    case "$out" in *"12 already recorded, 0 to do"*) ;; *) fail "rerun did not skip: $out" ;; esac
    echo "bigtext: a $(stat -c %s big.yaml)-byte sweep file ran and its text reads back identical"
    ;;
plan)
    cat > plan.yaml <<'EOF'
name: plan
net_gbytes_per_s: 20
net_latency_us: 2
task: {vocab: 128, seq_len: 64, kv_pairs: 4, train_examples: [1536, 1000000], test_examples: 128}
model: {n_layers: 2, d_model: [64, 256], mixers: [sweeptoy]}
train: {lr: 0.01, epochs: 3, batch_size: 32, ranks: auto}
EOF
    "$zoo" sweep plan.yaml --dry-run --ranks 8 > out 2> err || fail "dry run: $(cat err)"
    # One row per run (13 fields, as jobs/submit reads them): the longest run (1M examples
    # at D = 256) on more than one rank, the short ones (1536 examples) on one.
    awk '$1 ~ /^[0-9]+$/ && NF == 13' out > rows
    [ "$(wc -l < rows)" -eq 4 ] || fail "want 4 run rows of 13 fields: $(cat out)"
    awk '{ split($12, a, ":"); if (a[1] != "auto" || ($1 < 2 && a[2] != 1) || ($1 == 3 && a[2] + 0 < 2)) bad = 1 }
         END { exit bad }' rows || fail "ranks column: $(cat rows)"
    for want in "plan on 8 ranks (8 train, rank 0 single-rank runs only" "network 20 GB/s, 2 us per message" \
        "  as the sweep file asks:" "  every run on one rank:" "  every run ranks: auto:" "total: 4 runs" \
        "backends: 4 cpu" "dry run: nothing was trained or written"; do
        grep -qF -- "$want" out || fail "no '$want' in: $(cat out)"
    done
    # With multi-rank runs the plan is shorter than with one rank per run, and within
    # 10% of its bound.
    "$py" - out <<'EOF' || fail "plan numbers: $(grep -A3 '^plan on' out)"
import re, sys
def sec(t):
    d = 0
    if "d" in t:
        d, t = t.split("d")
    parts = [float(x) for x in t.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0.0)
    return int(d) * 86400 + parts[0] * 3600 + parts[1] * 60 + parts[2]
text = open(sys.argv[1]).read()
got = {}
for what in ("as the sweep file asks", "every run on one rank"):
    m = re.search(r"%s: +(\S+), ([0-9.]+)%% above the bound (\S+)" % what, text)
    got[what] = (sec(m.group(1)), float(m.group(2)))
assert got["as the sweep file asks"][0] < 0.6 * got["every run on one rank"][0], got
assert got["as the sweep file asks"][1] <= 10, got
EOF
    # Flags override the sweep file's network; one process plans for itself.
    "$zoo" sweep plan.yaml --dry-run --ranks 8 --net-gbytes-per-s 5 --net-latency-us 9 --step-overhead-ms 0 > out2 ||
        fail "flags"
    grep -qF "network 5 GB/s, 9 us per message, 0 ms per multi-rank step" out2 || fail "flags: $(grep '^plan' out2)"
    "$zoo" sweep plan.yaml --dry-run > out3 || fail "dry run on one rank"
    grep -qF "plan on 1 rank (1 trains;" out3 && awk '$1 ~ /^[0-9]+$/ && $12 != "auto:1" { exit 1 }' out3 ||
        fail "one rank: $(grep -E '^(plan| +[0-9])' out3)"
    # A fixed ranks larger than the ranks given: planned for enough, with a note.
    sed 's/ranks: auto/ranks: 16/' plan.yaml > fixed.yaml
    "$zoo" sweep fixed.yaml --dry-run --ranks 8 > out4 || fail "ranks: 16 on 8: $(cat out4)"
    grep -qF "note: a run asks for ranks: 16; zoo sweep refuses to start on 8 ranks, so this plan is for 17" out4 ||
        fail "no note: $(head -3 out4)"
    # More ranks than rows in a batch: refused (exit 2), saying what to change.
    sed 's/ranks: auto/ranks: 64/' plan.yaml > big.yaml
    "$zoo" sweep big.yaml --dry-run --ranks 128 > out5 2> err5; rc=$?
    [ $rc -eq 2 ] && grep -qF "asks for ranks: 64, but its batch has 32 examples" err5 ||
        fail "ranks: 64 with batch 32: exit $rc, $(cat err5)"
    # Bad network values and flags: exit 2 with the key or flag named.
    sed 's/net_latency_us: 2/net_latency_us: -1/' plan.yaml > badnet.yaml
    "$zoo" sweep badnet.yaml --dry-run > /dev/null 2> err6; rc=$?
    [ $rc -eq 2 ] && grep -qF "badnet.yaml:3:17: net_latency_us takes a positive number of microseconds" err6 ||
        fail "net_latency_us: -1: exit $rc, $(cat err6)"
    "$zoo" sweep plan.yaml --dry-run --ranks 0 > /dev/null 2> err7; rc=$?
    [ $rc -eq 2 ] && grep -qF -- "--ranks needs the number of ranks" err7 || fail "--ranks 0: exit $rc, $(cat err7)"
    echo "plan: ranks per run, makespans against the bound, network keys and flags, refusals"
    ;;
*)
    fail "unknown mode"
    ;;
esac
