# shellcheck shell=bash
# cluster.sh: a private SLURM cluster for one test, sourced by the tests in this folder:
# munged, slurmctld and N slurmd emulating nodes n1..nN on this host, all under one
# temporary folder with its own slurm.conf and free ports. Not a general installer.
#
#   . cluster.sh
#   cluster_start DIR [NODES] [CPUS_PER_NODE] [GPUS_PER_NODE]  (returns 77 when SLURM is
#                                              not installed; GPUs: generic resources
#                                              `gpu` counted only, no devices behind them)
#   cluster_stop                               (idempotent; the caller traps it on EXIT)
#
# After cluster_start, SLURM_CONF points at the private slurm.conf, so sbatch, squeue,
# scontrol, scancel and sacct talk to this cluster only. Every process the cluster
# starts (daemons, job steps) carries ZOO_SLURM_CLUSTER=DIR in its environment; the
# teardown ends exactly those processes, by id, whether or not the test passed.

ZC_DIR=
ZC_PIDS=()

zc_log() { echo "cluster: $*" >&2; }

# Binaries the cluster needs; prints the first missing one.
cluster_missing() {
  local b
  for b in munged munge unmunge slurmctld slurmd sbatch srun squeue scontrol scancel sacct; do
    command -v "$b" >/dev/null 2>&1 || { echo "$b"; return 0; }
  done
  return 1
}

# N distinct free TCP ports on 127.0.0.1 (the kernel picks them; a tiny race with
# other programs binding between our check and slurm's bind is accepted).
zc_free_ports() {
  local n=$1
  /usr/bin/python3 - "$n" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# Wait up to $2 seconds for command $1 to succeed.
zc_wait_for() {
  local cmd=$1 t=$2 i
  for ((i = 0; i < t * 4; i++)); do
    eval "$cmd" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  return 1
}

cluster_start() {
  local dir=$1 nodes=${2:-3} cpus=${3:-2} gpus=${4:-}
  if [ "$gpus" = 0 ]; then gpus=; fi
  local miss
  if miss=$(cluster_missing); then
    zc_log "'$miss' is not installed (apt-get install slurm-wlm munge): skipping"
    return 77
  fi
  ZC_DIR=$(mkdir -p "$dir" && cd "$dir" && pwd)
  # A test run inside a SLURM job must not talk to (or look like) that job.
  local v
  for v in $(compgen -e | grep '^SLURM_' || true); do unset "$v"; done
  # Everything started from here on (daemons, sbatch, the jobs) carries the marker.
  export ZOO_SLURM_CLUSTER=$ZC_DIR
  local host
  host=$(hostname -s)
  mkdir -p "$ZC_DIR"/{munge,state,log,spool,tmp}
  chmod 700 "$ZC_DIR/munge"
  local n
  for ((n = 1; n <= nodes; n++)); do mkdir -p "$ZC_DIR/spool/n$n" "$ZC_DIR/tmp/n$n" "$ZC_DIR/shm-n$n"; done

  # munge: our own key and socket; as root it needs --force.
  head -c 1024 /dev/urandom >"$ZC_DIR/munge/key"
  chmod 400 "$ZC_DIR/munge/key"
  local force=
  [ "$(id -u)" = 0 ] && force=--force
  munged -F $force -S "$ZC_DIR/munge/sock" --key-file="$ZC_DIR/munge/key" \
    --log-file="$ZC_DIR/log/munged.log" --pid-file="$ZC_DIR/munge/pid" --seed-file="$ZC_DIR/munge/seed" \
    </dev/null >>"$ZC_DIR/log/munged.out" 2>&1 &
  ZC_PIDS+=($!)
  if ! zc_wait_for "munge -S '$ZC_DIR/munge/sock' -n | unmunge -S '$ZC_DIR/munge/sock'" 20; then
    zc_log "munged did not start; its log:"
    cat "$ZC_DIR/log/munged.log" "$ZC_DIR/log/munged.out" >&2 2>/dev/null
    return 1
  fi

  # Open MPI's shared-memory files of one emulated node must not meet another's (they
  # would, all nodes being this host): each task gets its node's own folder.
  printf '#!/bin/sh\necho "export OMPI_MCA_btl_vader_backing_directory=%s/shm-$SLURMD_NODENAME"\n' "$ZC_DIR" \
    >"$ZC_DIR/task_prolog.sh"
  chmod +x "$ZC_DIR/task_prolog.sh"

  local ports
  read -r -a ports <<<"$(zc_free_ports $((nodes + 1)))"
  local ctl_port=${ports[0]} node_lines=""
  for ((n = 1; n <= nodes; n++)); do
    node_lines+="NodeName=n$n NodeHostname=$host NodeAddr=127.0.0.1 Port=${ports[$n]} CPUs=$cpus Boards=1 SocketsPerBoard=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=1000 TmpDisk=0${gpus:+ Gres=gpu:$gpus} State=UNKNOWN"$'\n'
  done
  # GPUs as a counted generic resource (no device files: SLURM allocates and counts them,
  # and cannot bind or hide any device).
  local gres_line=
  if [ -n "$gpus" ]; then
    gres_line=GresTypes=gpu
    mkdir -p "$ZC_DIR/dev"
    local g
    for ((g = 0; g < gpus; g++)); do : >"$ZC_DIR/dev/nvidia$g"; done
    echo "NodeName=n[1-$nodes] Name=gpu File=$ZC_DIR/dev/nvidia[0-$((gpus - 1))]" >"$ZC_DIR/gres.conf"
  fi
  cat >"$ZC_DIR/slurm.conf" <<EOF
# Private test cluster (tests/slurm/cluster.sh): $nodes emulated nodes on $host.
ClusterName=zootest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctl_port
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$ZC_DIR/munge/sock
StateSaveLocation=$ZC_DIR/state
SlurmdSpoolDir=$ZC_DIR/spool/%n
SlurmctldPidFile=$ZC_DIR/slurmctld.pid
SlurmdPidFile=$ZC_DIR/spool/%n/slurmd.pid
SlurmctldLogFile=$ZC_DIR/log/slurmctld.log
SlurmdLogFile=$ZC_DIR/log/slurmd.%n.log
SlurmctldDebug=info
SlurmdDebug=info
TmpFS=$ZC_DIR/tmp/%n
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
TaskProlog=$ZC_DIR/task_prolog.sh
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
SwitchType=switch/none
JobCompType=jobcomp/filetxt
JobCompLoc=$ZC_DIR/jobcomp.txt
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MailProg=/bin/true
SlurmdParameters=config_overrides
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
MinJobAge=600
KillWait=5
InactiveLimit=0
MessageTimeout=20
SlurmdTimeout=60
SlurmctldTimeout=60
$gres_line
$node_lines
PartitionName=test Nodes=n[1-$nodes] Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
  export SLURM_CONF=$ZC_DIR/slurm.conf

  slurmctld -D -i -f "$SLURM_CONF" </dev/null >>"$ZC_DIR/log/slurmctld.out" 2>&1 &
  ZC_PIDS+=($!)
  if ! zc_wait_for "scontrol ping | grep -q UP" 30; then
    zc_log "slurmctld did not come up; its log:"
    tail -n 40 "$ZC_DIR/log/slurmctld.log" "$ZC_DIR/log/slurmctld.out" >&2 2>/dev/null
    return 1
  fi
  for ((n = 1; n <= nodes; n++)); do
    slurmd -D -N "n$n" -f "$SLURM_CONF" </dev/null >>"$ZC_DIR/log/slurmd.n$n.out" 2>&1 &
    ZC_PIDS+=($!)
  done
  if ! zc_wait_for "[ \$(sinfo -h -N -t idle -o %N | sort -u | wc -l) -ge $nodes ]" 60; then
    zc_log "the $nodes nodes did not become idle:"
    sinfo -N >&2
    tail -n 20 "$ZC_DIR"/log/slurmd.*.log "$ZC_DIR"/log/slurmd.*.out >&2 2>/dev/null
    return 1
  fi
  zc_log "up: $nodes nodes x $cpus CPUs, slurmctld on port $ctl_port, folder $ZC_DIR"
  return 0
}

# Tear down on every way out: normal exit, failure, Ctrl-C, SIGTERM/SIGHUP (ctest's
# timeout); `exit` inside the signal traps runs the EXIT trap.
cluster_trap() {
  trap cluster_stop EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
}

# Wait until job $1 (and all its array tasks) has left the queue; $2 seconds at most.
cluster_wait_job() {
  local id=$1 t=${2:-300}
  zc_wait_for "[ -z \"\$(squeue -h -j $id -o %i 2>/dev/null)\" ]" "$t"
}

# State of job $1 as the controller sees it ("" once it is forgotten).
cluster_job_state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -n1; }

# Our processes, by id: those carrying the marker (daemons, jobs, their children), and
# the slurmstepd of our nodes, which start with an empty environment but hold their
# node's log in our folder open. Zombies (no environment, no files) and this shell are
# skipped.
zc_marked_pids() { zc_pids_of "$ZC_DIR"; }
zc_pids_of() {
  local dir=$1 f p
  for f in $(grep -lzxF "ZOO_SLURM_CLUSTER=$dir" /proc/[0-9]*/environ 2>/dev/null); do
    p=${f#/proc/}
    p=${p%/environ}
    [ "$p" = $$ ] || [ "$p" = "$BASHPID" ] || echo "$p"
  done
  for p in $(pgrep -x slurmstepd); do
    find "/proc/$p/fd" -lname "$dir/*" 2>/dev/null | grep -q . && echo "$p"
  done
}

# Running (not a zombie)?
zc_alive() {
  local st
  st=$(sed -n 's/^[0-9]* ([^)]*) \([A-Z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null)
  [ -n "$st" ] && [ "$st" != Z ]
}

cluster_stop() {
  [ -n "$ZC_DIR" ] || return 0
  local dir=$ZC_DIR
  # Jobs first (their steps end cleanly while slurmd is still there), then daemons.
  if [ -n "${SLURM_CONF:-}" ] && [ -f "$SLURM_CONF" ]; then
    scancel --full -u "$(id -un)" >/dev/null 2>&1 || true
    zc_wait_for '[ -z "$(squeue -h -o %i 2>/dev/null)" ]' 10 || true
  fi
  local p i
  for p in "${ZC_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for ((i = 0; i < 40; i++)); do
    local alive=0
    for p in "${ZC_PIDS[@]}"; do zc_alive "$p" && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.25
  done
  for p in "${ZC_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in $(zc_marked_pids); do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ZC_PIDS=()
  ZC_DIR=
  unset ZOO_SLURM_CLUSTER
  zc_log "torn down ($dir)"
}
