#!/usr/bin/env bash
# tests/cluster/on.sh DIR HOST CMD...: runs CMD on a host of the cluster in DIR (its network
# namespace, a UTS namespace with its hostname, its own TmpFS), as ssh HOST CMD would. HOST is
# a name from cluster.env's HOSTS, or its number (1 for the first).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/cluster.sh"
[ $# -ge 3 ] || cluster_die "usage: on.sh DIR HOST CMD..."
DIR=$(cd "$1" && pwd)
cluster_load "$DIR"
h=$2
[[ $h =~ ^[0-9]$ ]] && h=${HOSTS[h - 1]}
shift 2
export GENET_CLUSTER=$DIR SLURM_CONF
cluster_enter "$h" "$@"
