#!/usr/bin/env bash
# crash_test.sh ZOO CRASH_DIR HANG_DIR WORK_DIR PYTHON: plugins that crash or hang do
# not take the zoo command down.
#   - `zoo plugins` with plugins that crash or exit while loading on the path: exit 0,
#     each listed among the files that do not load, naming the file and the signal,
#     and the good mixers still listed; `zoo plugins crashctor`: exit 2, same message
#   - a sweep naming such a plugin fails validation (exit 2, file:line:col, the file
#     named), writing nothing
#   - max_run_seconds: malformed values are refused at file:line:col (exit 2); with
#     max_run_seconds: 2 a run whose build() never returns is recorded `timeout` with
#     the limit and the elapsed time, the other runs finish, the sweep exits 1, and a
#     rerun does not retry it. Once in one process, once under mpirun (when there is
#     one) with rank 0 only coordinating, so the limit has to reach a worker rank.
# Exit 0 pass, 1 fail, 77 skip.
set -u
zoo=$1 crash=$2 hang=$3 work=$4 py=$5
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
export OMP_NUM_THREADS=1
fail() { echo "FAIL: $*" >&2; exit 1; }
has() { case "$1" in *"$2"*) ;; *) fail "$3: output lacks '$2':"$'\n'"$1" ;; esac; }

# ---- zoo plugins ----
out=$(ZOO_PLUGIN_PATH=$crash "$zoo" plugins 2>&1); rc=$?
[ $rc -eq 0 ] || fail "zoo plugins with crashing plugins on the path: exit $rc, want 0:"$'\n'"$out"
has "$out" "could not be loaded:" "zoo plugins"
has "$out" "$crash/crashctor.so crashed while loading (SIGSEGV in its constructor or descriptor); fix or remove it" \
    "zoo plugins (constructor)"
has "$out" "$crash/crashdesc.so crashed while loading (SIGSEGV in its constructor or descriptor); fix or remove it" \
    "zoo plugins (validate)"
has "$out" "$crash/exitctor.so exited with status 3 while loading" "zoo plugins (exit)"
has "$out" "family:   attention" "zoo plugins goes on"
echo "$out" | grep -q "^  backends: cpu" || fail "zoo plugins: no backends line for the good mixers:"$'\n'"$out"

out=$(ZOO_PLUGIN_PATH=$crash "$zoo" plugins crashctor 2>&1); rc=$?
[ $rc -eq 2 ] || fail "zoo plugins crashctor: exit $rc, want 2:"$'\n'"$out"
has "$out" "$crash/crashctor.so crashed while loading (SIGSEGV" "zoo plugins crashctor"

# ---- a sweep naming a crashing plugin ----
for bad in crashctor crashdesc; do
    cat > "$bad.yaml" <<EOF
task: {vocab: 64, seq_len: 32, kv_pairs: 4, train_examples: 256, test_examples: 64}
model: {d_model: 16, mixers: [attention, $bad]}
train: {epochs: 1, batch_size: 32}
EOF
    out=$(ZOO_PLUGIN_PATH=$crash "$zoo" sweep "$bad.yaml" -o "$bad.h5" 2>&1); rc=$?
    [ $rc -eq 2 ] || fail "sweep naming $bad: exit $rc, want 2:"$'\n'"$out"
    has "$out" "zoo sweep: $bad.yaml:2:" "sweep naming $bad"
    has "$out" "$crash/$bad.so crashed while loading (SIGSEGV in its constructor or descriptor); fix or remove it" \
        "sweep naming $bad"
    [ ! -e "$bad.h5" ] || fail "sweep naming $bad wrote $bad.h5"
done

# ---- max_run_seconds: refused values ----
check_bad() { # check_bad <value as written> <line:col> <expected text>
    printf 'name: lim\nmax_run_seconds: %s\ntask: {vocab: 64, seq_len: 32, kv_pairs: 4}\nmodel: {mixer: attention}\n' \
        "$1" > lim.yaml
    out=$("$zoo" sweep lim.yaml --dry-run 2>&1); rc=$?
    [ $rc -eq 2 ] || fail "max_run_seconds: $1: exit $rc, want 2:"$'\n'"$out"
    has "$out" "zoo sweep: lim.yaml:$2: $3" "max_run_seconds: $1"
}
check_bad 0 2:18 "max_run_seconds takes a positive number of seconds"
check_bad -5 2:18 "max_run_seconds takes a positive number of seconds"
check_bad ten 2:18 "max_run_seconds takes a positive number of seconds"
check_bad inf 2:18 "max_run_seconds takes a positive number of seconds"
check_bad '"60"' 2:19 "max_run_seconds takes a positive number of seconds (the wall-time limit of one run: build, training and evaluation), got the quoted string '60'; remove the quotes"
check_bad '[60, 120]' 2:18 "wrong type: max_run_seconds takes one number of seconds for every run, got a list"
check_bad '' 2:1 "max_run_seconds has no value"
printf 'max_run_secs: 5\ntask: {vocab: 64, seq_len: 32, kv_pairs: 4}\nmodel: {mixer: attention}\n' > lim.yaml
out=$("$zoo" sweep lim.yaml --dry-run 2>&1)
has "$out" "unknown key 'max_run_secs'; did you mean 'max_run_seconds'?" "misspelt key"

# ---- max_run_seconds: a hung build() is stopped, the rest finishes ----
cat > t.yaml <<'EOF'
name: limit
max_run_seconds: 2
task: {vocab: 64, seq_len: 32, kv_pairs: 4, train_examples: 256, test_examples: 64}
model: {d_model: 16, mixers: [attention, hangbuild, base_conv]}
train: {epochs: 1, batch_size: 32}
EOF
# timeout_sweep <description> <launcher and zoo...> -- <extra sweep options...>
timeout_sweep() {
    local what=$1 launch=() extra=() rc start took
    shift
    while [ "$1" != "--" ]; do launch+=("$1"); shift; done
    shift
    extra=("$@")
    rm -f t.h5
    start=$(date +%s)
    out=$(ZOO_PLUGIN_PATH=$hang timeout 120 "${launch[@]}" sweep t.yaml -o t.h5 "${extra[@]}" 2>&1); rc=$?
    took=$(($(date +%s) - start))
    [ $rc -eq 1 ] || fail "timeout sweep ($what): exit $rc, want 1 (a run not ok):"$'\n'"$out"
    has "$out" "timeout" "timeout sweep progress ($what)"
    "$py" - t.h5 <<'EOF2' || fail "timeout sweep ($what) statuses:"$'\n'"$out"
import sys, h5py
s = h5py.File(sys.argv[1], "r")["summary"][()]
st = {m.decode(): (x.decode(), msg.decode(), w)
      for m, x, msg, w in zip(s["mixer"], s["status"], s["message"], s["wall_s"])}
assert st["attention"][0] == "ok" and st["base_conv"][0] == "ok", st
status, msg, wall = st["hangbuild"]
assert status == "timeout", st
assert msg.startswith("ran past max_run_seconds = 2 s (build + training + evaluation): stopped after 2."), msg
assert 2 <= wall < 2 + 5 + 3, wall  # the limit, at most the grace period, a little slack
EOF2
    # A rerun records nothing new: timeout is final.
    out=$(ZOO_PLUGIN_PATH=$hang timeout 60 "${launch[@]}" sweep t.yaml -o t.h5 "${extra[@]}" 2>&1); rc=$?
    [ $rc -eq 1 ] || fail "rerun ($what): exit $rc, want 1:"$'\n'"$out"
    has "$out" "3 runs, 3 already recorded, 0 to do" "rerun ($what)"
    echo "timeout ($what): recorded in ${took} s, not retried"
}
timeout_sweep "one process" "$zoo" --
if command -v mpirun > /dev/null; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
    timeout_sweep "mpirun -np 2, rank 0 coordinating" mpirun -np 2 --oversubscribe -x OMP_NUM_THREADS \
        -x ZOO_PLUGIN_PATH "$zoo" -- --no-train-on-root
else
    echo "no mpirun: the limit's way to a worker rank is not tested here"
fi
echo "crash_test: ok"
