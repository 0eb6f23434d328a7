#!/usr/bin/env bash
# campaign.sh BUILD_DIR [SECONDS] [HARNESS...]
# The long fuzz campaign of docs/fuzzing.md: each harness in turn (one process, one
# core at a time) for SECONDS (default 600) from its seeds, keeping what it finds in
# BUILD_DIR/fuzz-campaign/<harness>/corpus (reused by the next campaign) and crash
# files beside it. Prints libFuzzer's final line per harness; exits non-zero when any
# harness stopped on a finding.
set -uo pipefail
build=$1 secs=${2:-600}
shift 2 2>/dev/null || shift $#
src=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$src/../.." && pwd)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(sweep run_spec knobs plugin_desc data_h5 checkpoint results)
status=0
for t in "${targets[@]}"; do
  work=$build/fuzz-campaign/$t
  mkdir -p "$work/corpus"
  seeds=("$src/corpus/$t")
  extra=()
  if [ "$t" = sweep ]; then
    seeds+=("$root/configs" "$root/tests/sweep/bad")
    extra=(-dict="$src/yaml.dict")
  fi
  echo "== fuzz_$t: ${secs}s"
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/" "${extra[@]}" "$work/corpus" "${seeds[@]}" >"$work/log.txt" 2>&1
  rc=$?
  grep -E '^#[0-9]+[[:space:]]+DONE|^Done|ERROR|SUMMARY|^stat::' "$work/log.txt" | tail -8
  echo "   corpus: $(ls "$work/corpus" | wc -l) files; exit $rc"
  [ $rc -eq 0 ] || status=1
done
exit $status
