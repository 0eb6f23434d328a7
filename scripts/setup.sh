#!/usr/bin/env bash
# The two set-up commands of the README, for a fresh Debian 12 machine:
#   scripts/setup.sh run   install what is missing, build, run the default job end to end
#   scripts/setup.sh test  install what is missing, build, run the whole test suite
# Build folder: build/ (override with ZOO_BUILD_DIR). Extra cmake flags: ZOO_CMAKE_FLAGS.
# `run` builds only what the job uses (the zoo command and the mixer plugins; zoo-analyze
# is a launcher written at configure time); `test` builds everything, tests included.
# Results file of `run`: results.h5 (override with ZOO_RESULTS); report: report/.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-}
case "$mode" in run|test) ;; *) echo "usage: scripts/setup.sh run|test" >&2; exit 2;; esac

"$here/scripts/install-deps.sh"
build=${ZOO_BUILD_DIR:-$here/build}
jobs=$(nproc)
# shellcheck disable=SC2086
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${ZOO_CMAKE_FLAGS:-} >/dev/null
if [ "$mode" = test ]; then
  cmake --build "$build" -j"$jobs"
else
  # the targets: zoo_cli (the `zoo` command) and one per plugins/<name>.c (<name>.so)
  targets=(zoo_cli)
  for src in "$here"/plugins/*.c; do
    targets+=("$(basename "$src" .c)")
  done
  cmake --build "$build" -j"$jobs" --target "${targets[@]}"
fi

if [ "$mode" = test ]; then
  # services the slurm tests need are started (and torn down) by the tests themselves.
  # ctest runs as many tests as cores, so each gets one thread unless told otherwise
  # (tests that compare thread counts set their own).
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
  cd "$build"
  # the learning tests (label learn, a few minutes) are part of the suite; ctest starts
  # them first (COST) so they overlap the many short tests
  exec ctest --output-on-failure -j"$jobs" --timeout 900
fi

out=${ZOO_RESULTS:-$here/results.h5}
cd "$here"
# the default job: the quick sweep (resumes if results.h5 is from an earlier run), then
# the report: figures, tables and fits from the HDF5 file alone
"$build/zoo" sweep configs/quick.yaml -o "$out" --resume
"$build/zoo-analyze" "$out" -o "$here/report"
