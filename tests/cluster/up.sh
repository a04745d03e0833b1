#!/usr/bin/env bash
# tests/cluster/up.sh DIR [N]: brings up a cluster of N emulated hosts (default 3) in DIR (made
# if missing, best under /tmp): the namespaces and links (cluster.sh says how they are laid
# out), munged, slurmctld and one slurmd per host, and waits until Slurm calls every host idle.
# It writes DIR/cluster.env and prints the hosts. On failure it tears down what it made.
# tests/cluster/down.sh DIR ends it all; on.sh runs a command on a host, link.sh shapes or
# cuts a host's link, rsh.sh is Open MPI's remote agent. Root only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/cluster.sh"
[ $# -ge 1 ] || cluster_die "usage: up.sh DIR [N]"
[ "$(id -u)" = 0 ] || cluster_die "needs root (network namespaces, slurmd)"
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
N=${2:-3}
[[ $N =~ ^[1-9]$ ]] || cluster_die "N = '$N': 1 to 9 hosts"
[ ! -e "$DIR/cluster.env" ] || cluster_die "$DIR already holds a cluster (down.sh it first)"
# A prefix of its own, so that two clusters on one machine keep apart: gc + 5 hex digits.
PREFIX=gc$(printf '%05x' $((($$ * 7919 + RANDOM) % 1048576)))
SW=$PREFIX-sw
HOSTS=()
for k in $(seq 1 "$N"); do HOSTS+=("$PREFIX-h$k"); done
export GENET_CLUSTER=$DIR SLURM_CONF=$DIR/slurm.conf
cat > "$DIR/cluster.env" << ENV
PREFIX=$PREFIX
N=$N
SW=$SW
HOSTS=(${HOSTS[*]})
SLURM_CONF=$DIR/slurm.conf
ENV
trap 'st=$?; [ $st = 0 ] || "$here/down.sh" "$DIR" > /dev/null 2>&1; exit $st' EXIT

# ---- the network: a bridge in the switch namespace, one veth per host
ip netns add "$SW"
ip -n "$SW" link set lo up
ip -n "$SW" link add br0 type bridge
ip -n "$SW" addr add "$CLUSTER_SW_ADDR/24" dev br0
ip -n "$SW" link set br0 up
for k in $(seq 1 "$N"); do
  h=${HOSTS[k - 1]}
  ip netns add "$h"
  ip -n "$h" link set lo up
  # Made in the switch namespace, one end moved to the host: nothing appears in the root one.
  ip -n "$SW" link add "h$k" type veth peer name eth0 netns "$h"
  ip -n "$SW" link set "h$k" master br0 up
  ip -n "$h" addr add "$CLUSTER_NET.$k/24" dev eth0
  ip -n "$h" link set eth0 up
  mkdir -p "$DIR/tmp-$h" "$DIR/spool"
done
mkdir -p "$DIR/tmp" "$DIR/state"

# ---- munge and Slurm
dd if=/dev/urandom of="$DIR/munge.key" bs=1024 count=1 2> /dev/null
chmod 400 "$DIR/munge.key"
chmod 755 "$DIR"
{
  cat << CONF
ClusterName=genetcluster
SlurmctldHost=$SW($CLUSTER_SW_ADDR)
AuthType=auth/munge
CredType=cred/munge
# cred_expire: also how long a requeued job is held back before it may start again (120 s by
# default): 10 s here, so that a job requeued after a node failure starts again soon.
AuthInfo=socket=$DIR/munge.sock,cred_expire=10
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
TmpFS=$DIR/tmp
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd-%n.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd-%n.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
MinJobAge=3600
# A lost host is marked down after SlurmdTimeout without an answer (short here; 300 by default).
SlurmdTimeout=6
SlurmctldTimeout=10
MessageTimeout=3
KillWait=5
# Two CPUs per host whatever the machine has.
SlurmdParameters=config_overrides
CONF
  for k in $(seq 1 "$N"); do
    echo "NodeName=${HOSTS[k - 1]} NodeAddr=$CLUSTER_NET.$k CPUs=2 RealMemory=1000 State=UNKNOWN"
  done
  echo "PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
} > "$SLURM_CONF"
munged -F --socket="$DIR/munge.sock" --key-file="$DIR/munge.key" --pid-file="$DIR/munged.pid" \
  --log-file="$DIR/munged.log" --seed-file="$DIR/munged.seed" > "$DIR/munged.out" 2>&1 &
echo $! > "$DIR/munged.pid.bg"
for _ in $(seq 1 100); do [ -S "$DIR/munge.sock" ] && break; sleep 0.1; done
[ -S "$DIR/munge.sock" ] || { cat "$DIR/munged.out"; cluster_die "munged did not start"; }
# slurmctld runs only where the hostname is SlurmctldHost's.
( cluster_enter "$SW" slurmctld -D -c -f "$SLURM_CONF" ) > "$DIR/slurmctld.out" 2>&1 &
echo $! > "$DIR/slurmctld.pid.bg"
for h in "${HOSTS[@]}"; do
  mkdir -p "$DIR/spool/$h"
  ( cluster_enter "$h" slurmd -D -N "$h" -f "$SLURM_CONF" ) > "$DIR/slurmd-$h.out" 2>&1 &
  echo $! > "$DIR/slurmd-$h.pid.bg"
done
idle() { [ "$(timeout 3 nsenter --net="/run/netns/$SW" sinfo -h -N -o %T 2> /dev/null | grep -cx idle)" = "$N" ]; }
for _ in $(seq 1 300); do idle && break; sleep 0.1; done
idle || {
  tail -n 20 "$DIR"/slurmctld.log "$DIR"/slurmd-*.log "$DIR"/*.out >&2 || true
  cluster_die "the hosts did not all come up idle in 30 s"
}
echo "cluster: ${HOSTS[*]} up in $DIR (slurmctld on $SW, $CLUSTER_SW_ADDR)"
