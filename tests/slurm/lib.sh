# shellcheck shell=bash
# lib.sh: what every slurm test shares: its arguments, a private folder, the cluster
# (started by cluster.sh and torn down on every way out), waiting helpers and the
# pass/fail count. Sourced; the checks themselves live in each test.
#
#   . lib.sh; slurm_setup "$@"     args: ZOO PYTHON SOURCE_DIR [NODES] [CPUS_PER_NODE] [GPUS_PER_NODE]

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/cluster.sh"

fails=0
fail() { echo "[${SECONDS}s] FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "[${SECONDS}s] ok: $*"; }

slurm_setup() {
  if [ $# -lt 3 ]; then
    echo "usage: $0 ZOO PYTHON SOURCE_DIR [NODES] [CPUS_PER_NODE]" >&2
    exit 2
  fi
  # shellcheck disable=SC2034  # SRC and CHECK are for the test that sources this
  ZOO=$1 PY=$2 SRC=$3 CHECK=("$2" "$here/results_check.py")
  local nodes=${4:-3} cpus=${5:-2} gpus=${6:-0}
  export ZOO                # jobs/submit and jobs/sweep.sbatch use it
  export OMP_NUM_THREADS=1  # direct runs; the jobs get SLURM_CPUS_PER_TASK=1 (same numbers)
  # Short path: the munge socket path must stay under 108 characters.
  T=$(mktemp -d /tmp/zoo-slurm.XXXXXX)
  W=$T/work
  mkdir -p "$W"
  trap slurm_on_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
  local rc=0
  cluster_start "$T/cluster" "$nodes" "$cpus" "$gpus" || rc=$?
  [ $rc = 77 ] && exit 77
  if [ $rc != 0 ]; then
    fail "the test cluster did not start"
    exit 1
  fi
  cd "$W" || exit 1
}

slurm_on_exit() {
  local rc=$?
  trap - EXIT
  if [ $rc != 0 ] && [ $rc != 77 ] && [ -n "${T:-}" ]; then
    echo "--- the test failed (exit $rc); job logs and daemon logs (kept in $T):" >&2
    local f
    for f in "$W"/*.out; do [ -f "$f" ] && { echo "== $f" >&2; tail -n 30 "$f" >&2; }; done
    for f in "$T"/cluster/log/slurmctld.log "$T"/cluster/log/slurmd.n1.log; do
      [ -f "$f" ] && { echo "== $f" >&2; tail -n 15 "$f" >&2; }
    done
  fi
  cluster_stop
  [ $rc = 0 ] || [ $rc = 77 ] && [ -n "${T:-}" ] && rm -rf "$T"
  exit $rc
}

slurm_finish() {
  if [ "$fails" = 0 ]; then
    echo "PASS"
    exit 0
  fi
  echo "$fails check(s) failed" >&2
  exit 1
}

# Wait up to $3 s until file $1 matches the extended regex $2.
wait_grep() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -Eq -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# Wait up to $2 s until job $1 is in one of the states $3 ("PENDING|RUNNING").
wait_state() {
  local i s
  for ((i = 0; i < $2 * 4; i++)); do
    s=$(cluster_job_state "$1")
    [[ $s =~ ^($3)$ ]] && return 0
    sleep 0.25
  done
  echo "job $1 is ${s:-gone}, not $3, after $2 s" >&2
  return 1
}

# The job's line in the job-completion log (jobcomp/filetxt): "JobState=... ExitCode=..."
# of its last end.
job_end() { grep "^JobId=$1 " "$T/cluster/jobcomp.txt" 2>/dev/null | tail -n 1; }

# Skip SLURM's wait before a requeued job may start again, but not to the very second of
# the requeue: slurmd revokes the old credential with a one-second stamp and refuses a
# new one from that same second ("Job credential revoked"), failing the job.
release_job() { scontrol update JobId="$1" StartTime=now+3; }

# A direct run (no SLURM) of sweep $1 into $2: the reference the jobs must equal.
direct_run() {
  "$ZOO" sweep "$1" -o "$2" --quiet >"$W/direct.log" 2>&1 || {
    fail "direct run of $1 exited $?: $(tail -n 3 "$W/direct.log")"
    return 1
  }
}
