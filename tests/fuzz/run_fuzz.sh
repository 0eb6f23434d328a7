#!/usr/bin/env bash
# run_fuzz.sh HARNESS WORKDIR [libFuzzer options and seed folders...]
# One fuzz run as a test: a fresh corpus folder WORKDIR/corpus (new inputs go there,
# never into the seed folders), crash files under WORKDIR/, a 10 s limit per input and
# 2 GiB of memory. libFuzzer exits non-zero on any crash, leak, sanitizer report or
# slow input, and so does this.
set -euo pipefail
bin=$1 work=$2
shift 2
rm -rf "$work"
mkdir -p "$work/corpus"
exec "$bin" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/" "$work/corpus" "$@"
