# shellcheck shell=bash
# tests/cluster/cluster.sh: hosts emulated on this machine, sourced by up.sh, down.sh, link.sh,
# on.sh and rsh.sh (one job each) and by tests/test_multinode.sh. Needs root, iproute2,
# util-linux (nsenter, unshare), slurm-wlm and munge.
#
# A cluster lives in one directory DIR (its state file DIR/cluster.env, configuration, logs,
# spools). Its N hosts are network namespaces PREFIX-h1..N, each with its own hostname (the
# processes started in it get a UTS namespace with that name), address 10.213.0.K/24 on eth0
# and slurmd. The hosts' veths meet on a bridge in a namespace of its own, PREFIX-sw (the
# "switch", address 10.213.0.254, where slurmctld runs and the Slurm commands are run from),
# so nothing is added to the root namespace's interfaces or routes, and the cluster's
# addresses exist only inside its own namespaces: two clusters do not see each other.
# munged runs in the root namespace (its socket is a file in DIR, which every namespace sees).
# Every process started here carries GENET_CLUSTER=DIR in its environment; down.sh ends the
# processes of every namespace of the cluster and those carrying the tag, by PID, then
# deletes the namespaces.

CLUSTER_NET=10.213.0          # /24, inside the cluster's namespaces only
CLUSTER_SW_ADDR=$CLUSTER_NET.254

cluster_die() { echo "cluster: $*" >&2; exit 1; }

# cluster_load DIR: reads DIR/cluster.env (PREFIX, N, SW, HOSTS, SLURM_CONF).
cluster_load() {
  [ -f "$1/cluster.env" ] || cluster_die "$1: no cluster.env (not made by tests/cluster/up.sh)"
  # shellcheck disable=SC1091
  . "$1/cluster.env"
}

# cluster_ns_pids NS...: the PIDs of the processes whose network namespace is one of NS (one
# stat over /proc: cheap enough to call in a loop).
cluster_ns_pids() {
  local ns inos=()
  for ns in "$@"; do
    [ -e "/run/netns/$ns" ] && inos+=("$(stat -L -c %i "/run/netns/$ns")")
  done
  [ ${#inos[@]} -gt 0 ] || return 0
  stat -L -c '%i %n' /proc/[0-9]*/ns/net 2> /dev/null |
    awk -v want=" ${inos[*]} " 'index(want, " " $1 " ") { split($2, p, "/"); print p[3] }'
  return 0
}

# cluster_tagged DIR: the PIDs of the processes carrying GENET_CLUSTER=DIR.
cluster_tagged() {
  grep -lzx "GENET_CLUSTER=$1" /proc/[0-9]*/environ 2> /dev/null | cut -d/ -f3
  return 0
}

# cluster_kill_host H: ends every process of host H at once (SIGKILL): a power loss.
cluster_kill_host() {
  local p
  for _ in 1 2 3; do
    for p in $(cluster_ns_pids "$1"); do kill -KILL "$p" 2> /dev/null || true; done
    sleep 0.1
  done
}

# cluster_enter H CMD...: runs CMD in host H: its network namespace and a new UTS namespace
# named H (and a private mount namespace, in which the host's own TmpFS is bound over the
# shared path: PMIx refuses one TmpFS shared by two slurmds). nsenter and not `ip netns exec`,
# which remounts /sys (slurmd then finds no /sys/fs/cgroup).
cluster_enter() {
  local h=$1
  shift
  exec nsenter --net="/run/netns/$h" unshare --uts --mount --propagation private \
    sh -c 'hostname "$0"; [ ! -d "$GENET_CLUSTER/tmp-$0" ] || mount --bind "$GENET_CLUSTER/tmp-$0" "$GENET_CLUSTER/tmp" || exit 1; exec "$@"' \
    "$h" "$@"
}
