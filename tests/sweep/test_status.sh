#!/usr/bin/env bash
# test_status.sh: `zoo status` end to end. One mode per ctest test:
#   bad   a missing file, a non-results HDF5 file, a non-HDF5 file and bad usage: exit 2
#         with a message naming the file and the fix; a malformed live file beside a good
#         results file: still exit 0, state "unknown", saying why
#   live  a sweep (under mpirun -np 3 when there is one) frozen with SIGSTOP at moments
#         with a run in flight: `zoo status --json` counts equal the results file's (read
#         with h5py), the live file's runs are shown running; the text form too. Then
#         kill -9: "not running (last seen ...)". A live file from another host is trusted
#         until --max-age; an exclusive lock on the results file does not stop zoo status.
#         A resume watched with --watch: the watch ends by itself with the sweep, the last
#         snapshot "ended", exit 0, every run done.
# usage: test_status.sh MODE ZOO PYTHON WORK_DIR
set -u
mode=$1 zoo=$2 py=$3 work=$4/status_$1
export ZOO_ANALYSIS_DIR="$(cd "$(dirname "$0")/../../analysis" && pwd)"
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
export OMP_NUM_THREADS=1
fail() { echo "FAIL (status $mode): $*" >&2; exit 1; }
"$py" -c "import h5py" 2>/dev/null || { echo "skipped: no h5py"; exit 77; }

. "$(dirname "$0")/lib.sh" # tiny, tree

# expect_bad WANT_TEXT ARGS...: exit 2 and WANT_TEXT on stderr, nothing on stdout.
expect_bad() {
    local want=$1 out err rc
    shift
    out=$("$zoo" status "$@" 2> err); rc=$?
    err=$(cat err)
    [ $rc -eq 2 ] || fail "zoo status $*: exit $rc, want 2 ($err)"
    case "$err" in *"$want"*) ;; *) fail "zoo status $*: said '$err', want '$want'" ;; esac
    [ -z "$out" ] || fail "zoo status $*: printed '$out'"
}

# check SNAPSHOT.json RESULTS.h5 [LIVE_FILE]: the status counts against the file. Exit
# 0 when consistent with a run in flight, 1 more done and 4 waiting; 3 when consistent
# but not such a moment; 1 (assert) when inconsistent.
check() {
    "$py" - "$@" <<'EOF'
import json, os, sys
sys.path.insert(0, os.environ["ZOO_ANALYSIS_DIR"])
import zoo_analyze  # the main file with its journal laid over it, as zoo reads it
snap = json.load(open(sys.argv[1]))
s = zoo_analyze.load(sys.argv[2])
st = list(s["status"])
c = snap["counts"]
assert c["total"] == len(st), (c, len(st))
assert c["done"] == st.count("ok"), (c, st)
assert c["failed"] == sum(x not in ("ok", "pending") for x in st), (c, st)
assert c["running"] + c["pending"] == st.count("pending"), (c, st)
want = {w: st.count(w) for w in set(st)}
assert snap["status_counts"] == want, (snap["status_counts"], want)
run = snap["running"]
assert len(run) == c["running"] and len({r["id"] for r in run}) == len(run), run
for r in run:
    assert st[r["id"]] == "pending", (r, st)
    assert 0 <= r["rank"] < snap["sweep"]["ranks"] and r["host"] and r["elapsed_s"] > -1, r
    assert r["d_model"] == s["d_model"][r["id"]] and r["mixer"] == s["mixer"][r["id"]], r
if len(sys.argv) > 3:  # the live file's runs: shown running unless the results show them final
    ids = [int(l.split()[1]) for l in open(sys.argv[3]) if l.startswith("run ")]
    assert {r["id"] for r in run} == {i for i in ids if st[i] == "pending"}, (ids, run)
good = c["running"] >= 1 and c["done"] >= 1 and c["pending"] >= 4
assert snap["sweep"]["state"] == "running", snap["sweep"]
print("snapshot:", c, "running", [(r["id"], r["rank"]) for r in run], "ETA", snap["eta"])
sys.exit(0 if good else 3)
EOF
}

case $mode in
bad)
    expect_bad "give the results file"
    expect_bad "nope.h5: No such file or directory; give the results file of a sweep" nope.h5
    echo "not hdf5" > text.h5
    expect_bad "text.h5 is not an HDF5 file; give the results file of a sweep" text.h5
    "$py" -c "import h5py; h5py.File('plain.h5', 'w')['x'] = [1, 2]" || fail "h5py could not write plain.h5"
    expect_bad "plain.h5 is not a zoo sweep results file" plain.h5
    expect_bad "unknown option '--bogus'" plain.h5 --bogus
    expect_bad "--top needs a number" plain.h5 --top x
    expect_bad "one results file at a time" plain.h5 text.h5
    # A good results file with a live file that is not one: reported, not fatal.
    tiny two.yaml 256
    sed -i 's/d_model: \[8, 16, 24\]/d_model: 8/; s/lr: \[0.01, 0.003\]/lr: 0.01/' two.yaml
    "$zoo" sweep two.yaml -o two.h5 --quiet > log || fail "tiny sweep: $(cat log)"
    grep -q '^state ended' two.h5.live && grep -q '^exit_code 0' two.h5.live ||
        fail "live file at the end: $(cat two.h5.live)"
    echo "garbage" > two.h5.live
    out=$("$zoo" status two.h5 --json) || fail "malformed live file: exit $?"
    "$py" -c "
import json, sys
s = json.loads(sys.argv[1])
assert s['sweep']['state'] == 'unknown' and 'live status unreadable' in s['sweep']['message'], s['sweep']
assert s['counts'] == {'total': 2, 'done': 2, 'failed': 0, 'running': 0, 'pending': 0}, s['counts']
assert s['eta']['seconds'] is None and s['session']['runs_per_hour'] is None, s
" "$out" || fail "malformed live file: $out"
    printf 'format zoo-sweep-live 2\nstate running\npid 1\n' > two.h5.live
    want="^sweep: live status unreadable: two.h5.live:1: live status version 2; this zoo reads version 1"
    "$zoo" status two.h5 | grep -q "$want" ||
        fail "a newer live file: $("$zoo" status two.h5)"
    rm two.h5.live  # as a sweep by a zoo without it leaves the file
    "$zoo" status two.h5 | grep -q "^sweep: no live status file (two.h5.live)" || fail "no live file: $("$zoo" status two.h5)"
    echo "bad input: exit 2 with the file and the fix; a malformed live file is reported"
    ;;
live)
    tiny t.yaml 4000 # about half a second a run here
    launch=("$zoo")
    if command -v mpirun > /dev/null; then
        export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
        launch=(mpirun -np 3 --oversubscribe -x OMP_NUM_THREADS -x ZOO_PLUGIN_PATH "$zoo")
    fi
    setsid "${launch[@]}" sweep t.yaml -o r.h5 > log 2>&1 &
    pid=$!
    good=0 until=$((SECONDS + 180))  # sanitizer builds are many times slower
    while [ $good -eq 0 ] && [ $SECONDS -lt $until ]; do
        sleep 0.1
        [ -e r.h5.live ] || continue
        pids=$(tree $pid)
        kill -STOP $pids 2>/dev/null
        "$zoo" status r.h5 --json > snap.json || { kill -9 $pids; fail "zoo status --json: exit $?"; }
        check snap.json r.h5 r.h5.live; rc=$?
        [ $rc -eq 1 ] && { kill -9 $pids; fail "counts differ from the results file: $(cat snap.json)"; }
        [ $rc -eq 0 ] && good=1 || kill -CONT $pids 2>/dev/null
    done
    [ $good -eq 1 ] || { kill -9 $(tree $pid) 2>/dev/null; fail "never caught a run in flight: $(tail -3 log)"; }
    # Still frozen: the text form shows the same.
    txt=$("$zoo" status r.h5) || fail "text form: exit $?"
    id=$("$py" -c "import json; print(json.load(open('snap.json'))['running'][0]['id'])")
    echo "$txt" | grep -Eq "^running:" && echo "$txt" | grep -Eq "^ +$id  sweeptoy" ||
        fail "text form lacks the running run $id: $txt"
    echo "$txt" | grep -q "^runs: 12: " || fail "text form: $txt"
    # The exclusive lock a writer opening the file through HDF5 would hold: zoo status
    # reads anyway (it takes no lock), where a locking reader fails.
    "$py" - "$zoo" <<'EOF' || fail "zoo status under an exclusive lock"
import fcntl, os, subprocess, sys, h5py
f = open("r.h5", "rb")
fcntl.flock(f, fcntl.LOCK_EX)
try:
    h5py.File("r.h5", "r").close()
    print("note: this HDF5 does not lock files")
except OSError:
    pass
env = dict(os.environ, HDF5_USE_FILE_LOCKING="TRUE")
p = subprocess.run([sys.argv[1], "status", "r.h5", "--json"], env=env, capture_output=True, text=True)
assert p.returncode == 0 and '"counts"' in p.stdout, (p.returncode, p.stderr)
EOF
    # kill -9 of everything: the live file still says running, but its pid is gone.
    kill -9 $pids 2> /dev/null
    wait $pid 2> /dev/null
    out=$("$zoo" status r.h5) || fail "after kill: exit $?"
    echo "$out" | grep -q "^sweep: not running (last seen .*, is gone" || fail "kill -9 not detected: $out"
    "$zoo" status r.h5 --json > dead.json || fail "after kill --json"
    "$py" - <<'EOF' || fail "after kill: $(cat dead.json)"
import json, os, sys
sys.path.insert(0, os.environ["ZOO_ANALYSIS_DIR"])
import zoo_analyze
j = json.load(open("dead.json"))
st = list(zoo_analyze.load("r.h5")["status"])
assert j["sweep"]["state"] == "stale" and j["counts"]["running"] == 0, j
assert j["counts"]["pending"] == st.count("pending") and j["eta"]["seconds"] is None, j
EOF
    # The same live file as written on another host: trusted until --max-age.
    cp r.h5.live killed.live
    "$py" - <<'EOF' || fail "rewriting the live file"
import time
lines = [l for l in open("killed.live")]
out = []
for l in lines:
    k = l.split(" ")[0]
    if k == "host":
        l = "host elsewhere.example\n"
    elif k == "updated":
        l = "updated %.3f\n" % (time.time() - 1000)
    out.append(l)
open("r.h5.live", "w").writelines(out)
EOF
    "$zoo" status r.h5 --json > far.json && "$zoo" status r.h5 --json --max-age 5000 > near.json || fail "other host"
    "$py" - <<'EOF' || fail "other host: $(cat far.json near.json)"
import json
far, near = json.load(open("far.json")), json.load(open("near.json"))
assert far["sweep"]["state"] == "stale" and "--max-age" in far["sweep"]["message"], far["sweep"]
assert near["sweep"]["state"] == "running" and near["counts"]["running"] >= 1, near
EOF
    # --watch on that "running" sweep: Ctrl-C ends it, exit 0.
    "$zoo" status r.h5 --watch 0.1 --max-age 5000 > watch_int.txt &
    wpid=$!
    for i in $(seq 1 600); do
        [ "$(grep -c '^zoo status' watch_int.txt)" -ge 2 ] && break
        sleep 0.1
    done
    kill -INT $wpid
    wait $wpid; rc=$?
    [ $rc -eq 0 ] && [ "$(grep -c '^zoo status' watch_int.txt)" -ge 2 ] ||
        fail "--watch and SIGINT: exit $rc, $(cat watch_int.txt)"
    # Resume, watched: the watch ends by itself when the sweep does.
    old=$(grep '^pid ' killed.live)
    setsid "${launch[@]}" sweep t.yaml -o r.h5 > log2 2>&1 &
    pid=$!
    until=$((SECONDS + 120))
    # Until the new session's live file is there (the old one would end the watch at once).
    until { grep -q '^state running' r.h5.live && ! grep -q "^$old\$" r.h5.live; } 2>/dev/null ||
        [ $SECONDS -ge $until ]; do
        sleep 0.05
    done
    timeout 600 "$zoo" status r.h5 --watch 0.2 --json > watch.jsonl; wrc=$?
    wait $pid; rc=$?
    [ $rc -eq 0 ] || fail "resume: exit $rc: $(tail -3 log2)"
    [ $wrc -eq 0 ] || fail "--watch: exit $wrc (124: it did not end with the sweep)"
    "$py" - <<'EOF' || fail "--watch: $(cat watch.jsonl)"
import json, h5py
snaps = [json.loads(l) for l in open("watch.jsonl")]
# A watch that starts late on a loaded machine may only see the end: it must still end.
assert snaps and (len(snaps) == 1 or snaps[0]["sweep"]["state"] == "running"), [s["sweep"] for s in snaps]
last = snaps[-1]
assert last["sweep"]["state"] == "ended" and last["sweep"]["exit_code"] == 0, last["sweep"]
assert last["counts"] == {"total": 12, "done": 12, "failed": 0, "running": 0, "pending": 0}, last["counts"]
assert all(x == b"ok" for x in h5py.File("r.h5", "r")["summary"]["status"])
assert last["session"]["finished_runs"] >= 1 and last["session"]["runs_per_hour"] > 0, last["session"]
assert len(last["slowest"]) == 5 and last["slowest"][0]["wall_s"] >= last["slowest"][-1]["wall_s"], last["slowest"]
print(len(snaps), "snapshots while watching; last:", last["counts"], last["session"])
EOF
    "$zoo" status r.h5 | grep -q "^sweep: not running: the session ended .* with exit 0" || fail "text after the end"
    echo "live: counts equal the results file, runs in flight shown, kill -9 detected, --watch ends with the sweep"
    ;;
*)
    fail "unknown mode"
    ;;
esac
