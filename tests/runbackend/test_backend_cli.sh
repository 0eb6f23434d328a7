#!/usr/bin/env bash
# test_backend_cli.sh: `backend: cpu | cuda | auto` and `tf32` through the zoo command.
# One mode per ctest test:
#   train        --backend cuda where no GPU can run it: exit 2 at once (nothing made: a
#                10^9-example training set would take minutes), its reason on stderr;
#                auto trains on the CPU and says why; the checkpoint keeps the spec as
#                asked (backend auto, tf32) and its hash; tf32 false keeps old hashes
#   eval         zoo eval --backend cpu|cuda|auto (default: the checkpoint's)
#   standin      the same on the stand-in CUDA device (libzoo from FAKEDEV_DIR): zoo info
#                names the device by node-local rank; auto takes it once the cuda
#                backend has every kernel of the model, else says which it lacks
#   sweep        a sweep over backend x tf32: cpu runs ok on cpu, cuda runs unsupported
#                (with the reason), auto runs ok on the CPU with the reason in the device
#                column, tf32 recorded; a cpu run keeps the hash it had before tf32 and
#                auto existed
#   probe        under PROBE_LIB (an LD_PRELOAD that logs every process asking the CUDA
#                runtime for devices): only the forked run processes ask, never the
#                sweep's coordinator; --dry-run asks nothing
#   probe_mpi    the same under mpirun -np 2: neither rank asks, their run processes do
#   standin_mpi  mpirun -np 2 on the stand-in device (2 devices): each rank's auto runs
#                name the device of its node-local rank, or the kernels cuda lacks
# usage: test_backend_cli.sh MODE ZOO PYTHON WORK_DIR [FAKEDEV_DIR] [PROBE_LIB]
set -u
mode=$1 zoo=$2 py=$3 work=$4/$1 fakedev=${5:-} probe=${6:-}
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
export OMP_NUM_THREADS=1
unset ZOO_CUDA_DEVICE OMPI_COMM_WORLD_LOCAL_RANK MPI_LOCALRANKID SLURM_LOCALID ZOO_FAKEDEV_DEVICES
fail() { echo "FAIL ($mode): $*" >&2; exit 1; }
tiny=(--vocab 64 --seq-len 16 --kv-pairs 2 --train-examples 64 --test-examples 16 --batch-size 8 --epochs 1
    --d-model 16)
gpu_usable() { "$zoo" info | grep -q "^backend cuda   usable"; }
hash_of() { sed -n 's/^run \([0-9a-f]\{16\}\): .*/\1/p' "$1"; }
need_standin() {
    [ -n "$fakedev" ] && [ -e "$fakedev/libzoo.so.0" ] || { echo "skipped: no stand-in device library"; exit 77; }
    export LD_LIBRARY_PATH=$fakedev${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
}
mpi_env() {
    command -v mpirun > /dev/null || { echo "skipped: no mpirun"; exit 77; }
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
}
sweep_file() { # $1 file, $2 the train: line's backend/tf32 part
    cat > "$1" <<EOF
name: bk
task: {vocab: 64, seq_len: 16, kv_pairs: 2, train_examples: 64, test_examples: 16}
model: {d_model: 16, mixer: attention}
train: {epochs: 1, batch_size: 8$2}
EOF
}

case $mode in
train)
    if gpu_usable; then
        echo "skipped: a GPU can run cuda here"
        exit 77
    fi
    # cuda: refused before any data is made (10^9 examples would take minutes and GBs).
    start=$SECONDS
    timeout 120 "$zoo" train "${tiny[@]}" --train-examples 1000000000 --backend cuda --save c.h5 > out 2> err
    rc=$?
    [ $rc -eq 2 ] || fail "--backend cuda: exit $rc, want 2: $(cat out err)"
    [ $((SECONDS - start)) -lt 30 ] || fail "--backend cuda took $((SECONDS - start)) s to fail"
    grep -Eq "^zoo train: the cuda backend (cannot run here|is not built)" err || fail "--backend cuda: $(cat err)"
    [ ! -s out ] && [ ! -e c.h5 ] || fail "--backend cuda printed or wrote something: $(cat out)"
    # auto: the CPU, saying why, on stderr; the run line and the checkpoint as asked.
    "$zoo" train "${tiny[@]}" --backend auto --save a.h5 > out 2> err || fail "auto: $(cat out err)"
    grep -q "^zoo train: backend auto: training on the CPU: the cuda backend" err || fail "auto's note: $(cat err)"
    grep -q "^memory planned on cpu" out || fail "auto did not plan on the CPU: $(cat out)"
    h_auto=$(hash_of out)
    "$zoo" train "${tiny[@]}" --backend auto --tf32 true --quiet --save t.h5 > out 2> err || fail "tf32: $(cat err)"
    grep -q "training on the CPU" err || fail "--quiet hid auto's note: $(cat err)"
    "$zoo" train "${tiny[@]}" --backend auto --tf32 true > out 2> /dev/null || fail "tf32 run"
    h_tf32=$(hash_of out)
    # tf32 false (the default) and backend cpu (the default) leave the hash as it was.
    "$zoo" train "${tiny[@]}" > out || fail "plain run"
    h_plain=$(hash_of out)
    "$zoo" train "${tiny[@]}" --tf32 false --backend cpu > out2 || fail "explicit defaults"
    [ "$(hash_of out2)" = "$h_plain" ] || fail "tf32 false / backend cpu changed the hash"
    ! grep -q "^backend" out2 || fail "a cpu run printed a backend line: $(cat out2)"
    [ -n "$h_auto" ] && [ -n "$h_tf32" ] && [ "$h_auto" != "$h_plain" ] && [ "$h_tf32" != "$h_auto" ] ||
        fail "hashes: plain $h_plain auto $h_auto tf32 $h_tf32"
    # The same from a run file.
    cat > run.yaml <<'EOF'
task: {vocab: 64, seq_len: 16, kv_pairs: 2, train_examples: 64, test_examples: 16}
model: {d_model: 16}
train: {epochs: 1, batch_size: 8, backend: auto, tf32: true}
EOF
    "$zoo" train --config run.yaml > out 2> /dev/null || fail "run file: $(cat out)"
    [ "$(hash_of out)" = "$h_tf32" ] || fail "run file hash $(hash_of out), flags $h_tf32"
    "$py" - a.h5 t.h5 "$h_auto" "$h_tf32" <<'EOF' || fail "checkpoint attributes"
import sys, h5py
def txt(v):
    return v.decode() if isinstance(v, bytes) else str(v)
a, t = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
assert txt(a.attrs["backend"]) == "auto" and txt(a.attrs["spec_hash"]) == sys.argv[3], dict(a.attrs)
assert txt(t.attrs["tf32"]) == "1" and txt(t.attrs["spec_hash"]) == sys.argv[4], dict(t.attrs)
EOF
    "$zoo" train --help | grep -q -- "--tf32 .*TF32" || fail "--help lacks tf32"
    "$zoo" train --help | grep -q -- "--backend .*cpu, cuda or auto" || fail "--help lacks backend auto"
    echo "train: cuda refused at once (exit 2), auto on the CPU with its reason, hashes as pinned"
    ;;
eval)
    "$zoo" train "${tiny[@]}" --backend auto --save a.h5 > /dev/null 2>&1 || fail "training the checkpoint"
    "$zoo" eval a.h5 > out 2> err || fail "eval: $(cat out err)"
    if gpu_usable; then
        grep -q "^backend auto: cuda:" out || fail "eval did not say its GPU: $(cat out err)"
    else
        grep -q "^zoo eval: backend auto: evaluating on the CPU: " err || fail "eval's note: $(cat err)"
    fi
    line=$(grep " loss " out)
    "$zoo" eval a.h5 --backend cpu > out2 2> err2 || fail "eval --backend cpu: $(cat err2)"
    [ ! -s err2 ] && [ "$(grep " loss " out2)" = "$line" ] || fail "eval on cpu: $(cat out2 err2) vs $line"
    if ! gpu_usable; then
        "$zoo" eval a.h5 --backend cuda > out 2> err
        rc=$?
        [ $rc -eq 2 ] && grep -Eq "^zoo eval: the cuda backend (cannot run here|is not built)" err ||
            fail "eval --backend cuda: exit $rc: $(cat out err)"
    fi
    "$zoo" eval a.h5 --backend tpu > out 2> err
    rc=$?
    [ $rc -eq 2 ] && grep -q "backend='tpu' is not known: use cpu, cuda or auto" err || fail "--backend tpu: $rc $(cat err)"
    echo "eval: --backend cpu|cuda|auto as documented"
    ;;
standin)
    need_standin
    ZOO_FAKEDEV_DEVICES=2 SLURM_LOCALID=3 "$zoo" info > out 2>&1 || fail "zoo info: $(cat out)"
    grep -q "^backend cuda   usable" out && grep -q "^ *device: cuda:1 of 2 (stand-in device 1" out ||
        fail "zoo info on the stand-in: $(cat out)"
    ZOO_FAKEDEV_DEVICES=0 "$zoo" info > out 2>&1 || fail "zoo info, no device: $(cat out)"
    grep -q "^backend cuda   built, not usable here" out && grep -q "^ *not usable: no usable CUDA device" out ||
        fail "zoo info without a device: $(cat out)"
    export ZOO_FAKEDEV_DEVICES=2 SLURM_LOCALID=1
    "$zoo" train "${tiny[@]}" --backend auto > out 2> err || fail "auto on the stand-in: $(cat out err)"
    if grep -q "^backend auto: cuda:1 of 2 (stand-in device 1" out; then
        grep -q "^memory planned on cuda" out || fail "auto took the GPU but planned elsewhere: $(cat out)"
        full=1
    else
        grep -q "^zoo train: backend auto: training on the CPU: the cuda backend cannot run this model: no kernel for " err ||
            fail "auto on the stand-in: neither the GPU nor the missing kernels: $(cat out err)"
        full=0
    fi
    "$zoo" train "${tiny[@]}" --backend cuda > out 2> err
    rc=$?
    if [ $full = 1 ]; then
        [ $rc -eq 0 ] && grep -q "^backend cuda: cuda:1 of 2" out || fail "cuda on the stand-in: $rc $(cat out err)"
    else
        [ $rc -eq 2 ] && grep -q "^zoo train: the cuda backend cannot run this model: no kernel for " err ||
            fail "cuda lacking kernels: exit $rc: $(cat err)"
    fi
    ZOO_FAKEDEV_DEVICES=0 "$zoo" train "${tiny[@]}" --backend cuda > out 2> err
    rc=$?
    [ $rc -eq 2 ] && grep -q "^zoo train: the cuda backend cannot run here: no usable CUDA device" err ||
        fail "cuda without devices: exit $rc: $(cat err)"
    echo "standin: the device by node-local rank; auto and cuda by the kernels (all there: $full)"
    ;;
sweep)
    if gpu_usable; then
        echo "skipped: a GPU can run cuda here"
        exit 77
    fi
    sweep_file b.yaml ", backend: [cpu, cuda, auto], tf32: [false, true]"
    "$zoo" sweep b.yaml --dry-run > dry || fail "dry run: $(cat dry)"
    grep -q "^backends: 2 cpu, 2 cuda, 2 auto; 3 with tf32 (cuda and auto are decided on the node" dry ||
        fail "dry run backends line: $(cat dry)"
    "$zoo" sweep b.yaml -o b.h5 > out 2>&1
    rc=$?
    [ $rc -eq 1 ] || fail "exit $rc, want 1 (unsupported runs): $(cat out)"
    grep -q "^  rank 0@.* computes on cpu (auto: the cuda backend" out || fail "no device line: $(cat out)"
    [ "$(grep -c "computes on" out)" = 1 ] || fail "the device line came more than once: $(cat out)"
    grep -q " run [0-9]* ok .* on cpu .*rank 0@" out || fail "auto runs do not say where: $(cat out)"
    # The same run as before tf32 and auto existed: its hash must match the cpu row's.
    sweep_file old.yaml ""
    "$zoo" sweep old.yaml -o old.h5 --quiet > /dev/null || fail "the old-style sweep"
    "$py" - b.h5 old.h5 <<'EOF' || fail "results: $(cat out)"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
assert int(f.attrs["schema_version"]) == 4
s = f["summary"][()]
rows = []
for i in range(len(s)):
    g = f["runs/%06d" % i]
    spec = g.attrs["backend"]
    spec = spec.decode() if isinstance(spec, bytes) else spec
    rows.append((spec, int(g.attrs["tf32"]), s["status"][i].decode(), s["backend"][i].decode(),
                 s["device"][i].decode(), int(s["tf32"][i]), s["message"][i].decode(), s["hash"][i].decode()))
for spec, t, st, used, dev, col, msg, h in rows:
    assert t == col, (spec, t, col)
    if spec == "cpu":
        assert st == "ok" and used == "cpu" and dev == "cpu", (spec, st, used, dev)
    elif spec == "cuda":
        assert st == "unsupported" and used == "" and "cuda backend" in msg, (spec, st, used, msg)
    else:
        assert st == "ok" and used == "cpu" and dev.startswith("cpu (auto: the cuda backend"), (spec, st, used, dev)
        used_attr = f["runs/%06d" % rows.index((spec, t, st, used, dev, col, msg, h))].attrs["backend_used"]
        assert used_attr in (b"cpu", "cpu"), used_attr
assert sorted(r[0] for r in rows) == ["auto", "auto", "cpu", "cpu", "cuda", "cuda"]
old = h5py.File(sys.argv[2], "r")["summary"][()]
plain = [r[7] for r in rows if r[0] == "cpu" and r[1] == 0]
assert len(old) == 1 and plain == [old["hash"][0].decode()], (plain, old["hash"])
print("sweep rows:", [(r[0], r[1], r[2], r[3]) for r in rows])
EOF
    # A resume matches every run by hash.
    out=$("$zoo" sweep b.yaml -o b.h5 2>&1)
    [[ $out == *"6 runs, 6 already recorded, 0 to do"* ]] || fail "resume: $out"
    echo "sweep: cpu ok, cuda unsupported, auto on the CPU with its reason, tf32 recorded, old hash kept"
    ;;
probe | probe_mpi)
    [ -n "$probe" ] && [ -e "$probe" ] || { echo "skipped: no probe library"; exit 77; }
    # a build without the CUDA backend never asks the runtime: nothing to observe
    "$zoo" info 2>&1 | grep -q "^backend cuda *not built" && { echo "skipped: built without the CUDA backend"; exit 77; }
    sweep_file p.yaml ", backend: [auto, cuda], seed: [1, 2]"
    export ZOO_CUDA_PROBE_LOG=$PWD/probe.log
    : > probe.log
    LD_PRELOAD="$probe${LD_PRELOAD:+:$LD_PRELOAD}" "$zoo" sweep p.yaml --dry-run > dry 2>&1 || fail "dry run: $(cat dry)"
    [ ! -s probe.log ] || fail "--dry-run asked the CUDA runtime: $(cat probe.log)"
    if [ $mode = probe ]; then
        LD_PRELOAD="$probe${LD_PRELOAD:+:$LD_PRELOAD}" "$zoo" sweep p.yaml -o p.h5 > out 2>&1 &
        pid=$!
        wait $pid
        rc=$?
        ranks=1
    else
        mpi_env
        LD_PRELOAD="$probe${LD_PRELOAD:+:$LD_PRELOAD}" mpirun -np 2 --oversubscribe -x OMP_NUM_THREADS -x LD_PRELOAD \
            -x ZOO_CUDA_PROBE_LOG "$zoo" sweep p.yaml -o p.h5 > out 2>&1
        rc=$?
        pid=
        ranks=2
    fi
    [ $rc -eq 1 ] || fail "sweep exit $rc, want 1 (the cuda runs are unsupported): $(tail -5 out)"
    "$py" - probe.log "$pid" $ranks p.h5 <<'EOF' || fail "probe log: $(cat probe.log)"
import sys, h5py
lines = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
pids, ppids = {p for p, _ in lines}, {q for _, q in lines}
s = h5py.File(sys.argv[4], "r")["summary"][()]
st = sorted(x.decode() for x in s["status"])
assert st == ["ok", "ok", "unsupported", "unsupported"], st
# Every run asked, each from its own process; no process that asked forked another.
assert len(pids) >= 4, lines
assert not pids & ppids, "a process that forks runs asked the CUDA runtime: %s" % sorted(pids & ppids)
if sys.argv[2]:
    assert ppids == {int(sys.argv[2])}, (ppids, sys.argv[2])
else:
    assert len(ppids) <= int(sys.argv[3]), ppids
print("%d CUDA probes, from %d run processes of %d parent(s), none a rank" % (len(lines), len(pids), len(ppids)))
EOF
    echo "$mode: the coordinator never asked the CUDA runtime; the run processes did"
    ;;
standin_mpi)
    need_standin
    mpi_env
    export ZOO_FAKEDEV_DEVICES=2
    sweep_file s.yaml ", backend: auto, seed: [1, 2, 3, 4]"
    mpirun -np 2 --oversubscribe -x OMP_NUM_THREADS -x LD_LIBRARY_PATH -x ZOO_FAKEDEV_DEVICES \
        "$zoo" sweep s.yaml -o s.h5 > out 2>&1 || fail "mpirun sweep: $(tail -5 out)"
    "$py" - s.h5 <<'EOF' || fail "devices: $(cat out)"
import sys, h5py
s = h5py.File(sys.argv[1], "r")["summary"][()]
assert [x.decode() for x in s["status"]] == ["ok"] * 4, s["status"]
for r, b, d in zip(s["rank"], s["backend"], s["device"]):
    b, d = b.decode(), d.decode()
    if b == "cuda":  # one node: node-local rank = rank; 2 devices
        assert d.startswith("cuda:%d of 2 (stand-in device %d" % (r % 2, r % 2)), (r, d)
    else:
        assert b == "cpu" and d.startswith("cpu (auto: the cuda backend cannot run this model: no kernel for "), (r, b, d)
print("rank -> device:", sorted({(int(r), d.decode()[:40]) for r, d in zip(s["rank"], s["device"])}))
EOF
    echo "standin_mpi: each rank's runs on the device of its node-local rank (or the missing kernels named)"
    ;;
*)
    fail "unknown mode"
    ;;
esac
