#!/bin/bash
# test_teardown.sh: the test cluster goes away however a test ends. A child test starts
# a cluster and a job that would run for minutes, then (a) fails, (b) is killed with
# SIGTERM (as a timeout would); after each, no daemon, job step or job process of that
# cluster is left, its controller no longer answers and its munge socket is closed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/cluster.sh"
fails=0
fail() { echo "[${SECONDS}s] FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "[${SECONDS}s] ok: $*"; }

if miss=$(cluster_missing); then
  echo "'$miss' is not installed (apt-get install slurm-wlm munge): skipping"
  exit 77
fi
T=$(mktemp -d /tmp/zoo-slurm.XXXXXX)
child_pid=
cleanup() {
  # Should the checks themselves fail half-way, leave nothing behind either.
  [ -n "$child_pid" ] && kill -TERM "$child_pid" 2>/dev/null && wait "$child_pid" 2>/dev/null
  [ "$fails" = 0 ] && rm -rf "$T"
}
trap cleanup EXIT

cat >"$T/child.sh" <<'EOF'
# The child: a cluster, a long job, then the way out named in $2.
. "$1/cluster.sh"
cluster_trap
cluster_start "$3" 2 1 || exit 3
sbatch --parsable --nodes=2 --ntasks-per-node=1 --time=10:00 -o "$3/job.out" --wrap "srun sleep 300" >"$3/jobid" || exit 4
for ((i = 0; i < 240; i++)); do
  [ "$(squeue -h -s -o %i | grep -c '\.0$')" -ge 1 ] && [ -n "$(pgrep -x sleep -P "$(pgrep -d, -x slurmstepd)" 2>/dev/null)" ] && break
  sleep 0.25
done
echo ready >"$3/ready"
case $2 in
  fail) exit 1 ;;
  wait) while :; do sleep 0.2; done ;;
esac
EOF

# Every process of the child's cluster (cluster.sh finds them the same way).
leftovers() {
  local p
  for p in $(zc_pids_of "$1" | sort -un); do echo "$p:$(cat "/proc/$p/comm" 2>/dev/null)"; done
}

check_gone() { # $1 case name, $2 cluster folder
  local d=$2 left
  left=$(leftovers "$d" | tr '\n' ' ')
  if [ -n "$left" ]; then
    fail "$1: processes of the cluster are left: $left"
    for p in $left; do kill -KILL "${p%%:*}" 2>/dev/null; done
  else
    ok "$1: no daemon, step or job process left"
  fi
  if SLURM_CONF=$d/slurm.conf timeout 20 scontrol ping 2>/dev/null | grep -q UP; then
    fail "$1: the controller still answers"
  else
    ok "$1: the controller is gone"
  fi
  if timeout 10 munge -S "$d/munge/sock" -n >/dev/null 2>&1; then
    fail "$1: munged still answers"
  else
    ok "$1: munged is gone"
  fi
}

# (a) the test fails: exit 1 from the middle of the test.
d=$T/a
mkdir -p "$d"
bash "$T/child.sh" "$here" fail "$d" >"$T/a.log" 2>&1
rc=$?
if [ $rc = 1 ] && [ -f "$d/ready" ]; then
  ok "(a) the child failed with its own code 1 while its job ran"
else
  fail "(a) the child exited $rc (ready: $([ -f "$d/ready" ] && echo yes || echo no)): $(tail -n 20 "$T/a.log")"
fi
grep -q "cluster: torn down" "$T/a.log" || fail "(a) no teardown message: $(tail -n 5 "$T/a.log")"
check_gone "(a)" "$d"

# (b) the test is killed (SIGTERM, as ctest does on a timeout) while its job runs.
d=$T/b
mkdir -p "$d"
bash "$T/child.sh" "$here" wait "$d" >"$T/b.log" 2>&1 &
child_pid=$!
for ((i = 0; i < 480; i++)); do
  [ -f "$d/ready" ] && break
  sleep 0.25
done
if [ -f "$d/ready" ]; then
  kill -TERM "$child_pid"
  wait "$child_pid"
  rc=$?
  child_pid=
  [ $rc = 143 ] && ok "(b) SIGTERM: the child exited 143" || fail "(b) SIGTERM: the child exited $rc"
else
  fail "(b) the child's cluster did not get its job running: $(tail -n 20 "$T/b.log")"
fi
grep -q "cluster: torn down" "$T/b.log" || fail "(b) no teardown message: $(tail -n 5 "$T/b.log")"
check_gone "(b)" "$d"

if [ "$fails" = 0 ]; then
  echo PASS
  exit 0
fi
echo "$fails check(s) failed; logs in $T" >&2
exit 1
