#!/bin/bash
# check.sh: the CUDA backend on a real NVIDIA GPU, in one run of under 8 minutes on one
# H100, for a machine with no network. Each stage appends its results to
# OUT/gpu_check.json (one JSON object per line) as it goes, so a run cut short still
# reports what it did; a table of everything is printed last.
#
#   tests/gpu/check.sh [BUILD] [OUT]     BUILD: a build made beforehand and carried with
#                                        the tree (default build-gpu), rebuilt here when
#                                        missing or when it does not load; OUT: default
#                                        $OUT or gpu-check
#
# Exit 0 when every check passed, 1 when one failed, 77 when there is no usable GPU.
# ZOO_CHECK_STANDIN=DIR runs the script on the stand-in device build in DIR instead
# (two mixers, the smallest timing cell): CI's test of this script, not of a GPU.
#
# Stages (their caps; S3 stops starting checks at 200 s and S6 at 330 s of the whole run,
# so the run ends by about 7.5 minutes whatever happens): S0 device facts and measured SGEMM / copy ceilings (30 s); S1 build
# (0-150 s); S2 every op on the GPU against the CPU, forward and both backward paths,
# every op test's shapes (60 s); S3 compute-sanitizer memcheck of the same (120 s,
# skipped with a note where the tool is missing); S4 every mixer 20 training steps, GPU
# vs CPU from the same init and data (60 s); S5 bitwise determinism: two eager runs and
# a graph replay (60 s); S6 step time per mixer at (D, L, B) = (64, 64, 64), (128, 256,
# 64), (512, 512, 128), eager and graphed (150 s); S7 1, 2, 4, 8 runs packed on the GPU
# (45 s); S8 the PyTorch reference models on the same GPU, fp32, TF32 off (60 s,
# skipped where PyTorch has no CUDA).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build-gpu}
OUT=${2:-${OUT:-$ROOT/gpu-check}}
mkdir -p "$OUT"
JSON=$OUT/gpu_check.json
: >"$JSON"
T0=$(date +%s)
MIXERS="attention base_conv hyena h3 based linear_attention sliding_window rwkv mamba"

# A relocated build finds its libraries and plugins through these, not its baked paths.
export LD_LIBRARY_PATH=$BUILD/core${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
STANDIN=${ZOO_CHECK_STANDIN:-}
CELLS="64,64,64 128,256,64 512,512,128"
PACK="1 2 4 8"
TIMED="--steps 30 --warmup 10"  # S6 per run
PACKED="--steps 300 --warmup 10" # S7 per run
if [ -n "$STANDIN" ]; then
    export LD_LIBRARY_PATH=$STANDIN:$LD_LIBRARY_PATH
    MIXERS="attention base_conv"
    CELLS="64,64,64"
    PACK="1 2"
    TIMED="--steps 2 --warmup 2 --vocab 512" # the host runs kernels one thread at a time
    PACKED="--steps 2 --warmup 2 --vocab 512"
fi
export ZOO_PLUGIN_PATH=$BUILD/plugins
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-8}

record() { printf '%s\n' "$1" >>"$JSON"; }
esc() { python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()[-1500:]))' 2>/dev/null || echo '""'; }
elapsed() { echo $(($(date +%s) - T0)); }
# run NAME BUDGET CMD...: one check; its rc, seconds and output tail into the JSON
run() {
    local name=$1 budget=$2
    shift 2
    local t=$(date +%s.%N) rc
    timeout "$budget" "$@" >"$OUT/$name.log" 2>&1
    rc=$?
    local dt=$(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
    local status=pass
    [ $rc -eq 77 ] && status=skip
    [ $rc -ne 0 ] && [ $rc -ne 77 ] && status=fail
    [ $rc -eq 124 ] && status=timeout
    record "{\"check\": \"$name\", \"status\": \"$status\", \"rc\": $rc, \"seconds\": ${dt:-0}, \"tail\": $(tail -c 1500 "$OUT/$name.log" | esc)}"
    echo "[$(elapsed) s] $name: $status"
    return $rc
}

# --- S0 device facts and ceilings
nvidia-smi -L >"$OUT/nvidia-smi.txt" 2>&1 || echo "nvidia-smi failed" >>"$OUT/nvidia-smi.txt"
record "{\"stage\": \"S0\", \"nvidia_smi\": $(esc <"$OUT/nvidia-smi.txt"), \"nproc\": $(nproc)}"

# --- S1 build: use the carried one if its programs load, else build here
loads() { [ -x "$BUILD/zoo" ] && "$BUILD/zoo" info >/dev/null 2>&1 &&
    [ -x "$BUILD/tests/gpu/test_train_parity" ] && { [ -n "$STANDIN" ] || [ -x "$BUILD/tests/gpu/zoo_gpu_probe" ]; }; }
if loads; then
    record '{"stage": "S1", "build": "carried"}'
else
    missing=$(ldd "$BUILD/zoo" 2>/dev/null | grep "not found" | tr '\n' ' ')
    record "{\"stage\": \"S1\", \"build\": \"rebuilding\", \"carried_missing_libs\": \"$missing\"}"
    run S1.configure 60 cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZOO_WITH_CUDA=ON
    run S1.build 150 cmake --build "$BUILD" -j"$(nproc)"
fi
ZOO=$BUILD/zoo
PARITY=$BUILD/tests/gpu/test_train_parity
BENCH=$BUILD/bench/zoo_bench_train
if [ -n "$STANDIN" ]; then
    record '{"stage": "S0", "note": "stand-in device: no probe"}'
elif run S0.probe 30 "$BUILD/tests/gpu/zoo_gpu_probe"; then
    record "{\"stage\": \"S0\", \"probe\": $(grep '^{' "$OUT/S0.probe.log")}"
else
    echo "no usable GPU here: $(tail -1 "$OUT/S0.probe.log")"
    exit 77
fi
"$ZOO" info >"$OUT/zoo-info.txt" 2>&1

# --- S2 every op: the op tests' backend mode, GPU against CPU
OPTESTS=$(ls "$BUILD"/tests/ops/test_op_* "$BUILD"/tests/ops_mixer/test_ops_mixer_* "$BUILD"/tests/attn/test_attn_* \
    "$BUILD"/tests/mamba/test_mamba_rmsnorm "$BUILD"/tests/mamba/test_mamba_selective_scan \
    "$BUILD"/tests/ops_wkv/test_ops_wkv "$BUILD"/tests/ops_recurrence/test_ops_recurrence \
    "$BUILD"/tests/ops_select/test_ops_select 2>/dev/null)
for t in $OPTESTS; do
    run "S2.$(basename "$t")" 30 "$t" backend cuda
done

# --- S3 compute-sanitizer memcheck on the same small shapes
CS=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null)
if [ -n "$CS" ] && [ -z "$STANDIN" ]; then
    for t in $OPTESTS; do
        [ "$(elapsed)" -gt 200 ] && { record '{"stage": "S3", "note": "stopped early: time budget"}'; break; }
        run "S3.$(basename "$t")" 40 "$CS" --tool memcheck --error-exitcode 9 "$t" backend cuda
    done
else
    record '{"stage": "S3", "status": "skip", "note": "compute-sanitizer not found on this machine"}'
fi

# --- S4 every mixer: 20 steps GPU vs CPU (graph replay, the default)
for m in $MIXERS; do
    run "S4.parity.$m" 30 "$PARITY" "$m" cuda
done

# --- S5 determinism: eager twice and the graph once give the same bits
for m in $MIXERS; do
    ZOO_CUDA_GRAPH=0 run "S5.eager1.$m" 20 "$PARITY" "$m" cuda "$OUT/det.$m.eager1" >/dev/null
    ZOO_CUDA_GRAPH=0 run "S5.eager2.$m" 20 "$PARITY" "$m" cuda "$OUT/det.$m.eager2" >/dev/null
    run "S5.graph.$m" 20 "$PARITY" "$m" cuda "$OUT/det.$m.graph" >/dev/null
    st=fail
    cmp -s "$OUT/det.$m.eager1" "$OUT/det.$m.eager2" && cmp -s "$OUT/det.$m.eager1" "$OUT/det.$m.graph" && st=pass
    record "{\"check\": \"S5.bitwise.$m\", \"status\": \"$st\"}"
done

# --- S6 step time per mixer, eager and graphed (Figure 2 batches at L = 512)
for cfg in $CELLS; do
    set -- ${cfg//,/ }
    for m in $MIXERS; do
        [ "$(elapsed)" -gt 330 ] && { record '{"stage": "S6", "note": "stopped early: time budget"}'; break 2; }
        for g in 0 1; do
            ZOO_CUDA_GRAPH=$g run "S6.$m.$1.$2.g$g" 40 "$BENCH" --backend cuda --mixer "$m" --d_model "$1" \
                --seq_len "$2" --batch_size "$3" $TIMED &&
                record "{\"stage\": \"S6\", \"step\": $(grep '^{' "$OUT/S6.$m.$1.$2.g$g.log")}"
        done
    done
done

# --- S7 packing: N tiny runs at once on the one GPU (separate processes)
for n in $PACK; do
    pids=""
    for i in $(seq 1 $n); do
        timeout 40 "$BENCH" --backend cuda --mixer attention --d_model 64 --seq_len 64 --batch_size 64 $PACKED \
            >"$OUT/S7.$n.$i.log" 2>&1 &
        pids="$pids $!"
    done
    wait $pids
    total=$(cat "$OUT"/S7.$n.*.log | grep -o '"tokens_per_s": [0-9.]*' | awk '{s += $2} END {print s + 0}')
    record "{\"stage\": \"S7\", \"runs\": $n, \"aggregate_tokens_per_s\": $total}"
    echo "[$(elapsed) s] S7 $n runs: $total tok/s"
done

# --- S8 PyTorch on the same GPU
if [ -z "$STANDIN" ] && python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    run S8.torch 60 python3 "$ROOT/bench/run.py" --device cuda --build "$BUILD" --d 64,128,512 --l 64,256,512 \
        --reps 1 --json "$OUT/S8.json"
else
    record '{"stage": "S8", "status": "skip", "note": "PyTorch with CUDA is not installed on this machine"}'
fi

# --- the table
python3 - "$JSON" <<'PYEOF' || cat "$JSON"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
checks = [r for r in rows if "check" in r]
print("\n%-44s %-8s %8s" % ("check", "status", "seconds"))
for r in checks:
    print("%-44s %-8s %8.1f" % (r["check"], r["status"], float(r.get("seconds", 0) or 0)))
n = {s: sum(r["status"] == s for r in checks) for s in ("pass", "fail", "skip", "timeout")}
print("\n%(pass)d passed, %(fail)d failed, %(timeout)d timed out, %(skip)d skipped" % n)
for r in rows:
    if r.get("stage") == "S0" and "probe" in r:
        print("device: %(device)s, sm %(sm)s, fp32 SGEMM %(sgemm_fp32_tflops).1f TFLOP/s, copy %(d2d_copy_gbs).0f GB/s" % r["probe"])
steps = [r["step"] for r in rows if r.get("stage") == "S6"]
if steps:
    print("\n%-16s %5s %5s %5s %12s %12s" % ("mixer", "D", "L", "B", "eager ms", "graph ms"))
    cells = {}
    for s in steps:
        ms = 1e3 * s["seconds"] / max(s["steps"], 1)
        cells.setdefault((s["mixer"], s["d_model"], s["seq_len"], s["batch"]), {})[s.get("graph", 0)] = ms
    for (m, d, l, b), v in cells.items():
        print("%-16s %5d %5d %5d %12s %12s" % (m, d, l, b, "%.3f" % v[0] if 0 in v else "-", "%.3f" % v[1] if 1 in v else "-"))
for r in rows:
    if r.get("stage") == "S7":
        print("packed %(runs)d runs: %(aggregate_tokens_per_s).0f tok/s" % r)
PYEOF
echo "results: $JSON ($(elapsed) s)"
grep -q '"status": "\(fail\|timeout\)"' "$JSON" && exit 1
exit 0
