#!/usr/bin/env bash
# check_exports.sh LIB HEADER_DIR: every symbol the shared library LIB exports must be
# declared in a public header under HEADER_DIR (and be named zoo_*); anything else is
# an internal symbol leaking into the ABI. Exit 1 listing the offenders.
set -u
lib=$1 hdr=$2
command -v nm >/dev/null || { echo "skipped: no nm"; exit 77; }
syms=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVWiu]$/ {print $3}' | sed 's/@.*//' | sort -u)
[ -n "$syms" ] || { echo "FAIL: $lib exports nothing"; exit 1; }
bad=0 n=0
for s in $syms; do
    n=$((n + 1))
    case $s in
    zoo_*) ;;
    *) echo "FAIL: $lib exports '$s' (not zoo_*)"; bad=1; continue ;;
    esac
    grep -qw -- "$s" "$hdr"/*.h || { echo "FAIL: $lib exports '$s', which no public header declares"; bad=1; }
done
[ $bad -eq 0 ] && echo "ok: all $n exported symbols of $(basename "$lib") are public API"
exit $bad
