#!/usr/bin/env bash
# tests/cluster/rsh.sh HOST COMMAND...: Open MPI's remote agent for the emulated hosts, in
# place of ssh: mpirun --mca plm_rsh_agent tests/cluster/rsh.sh --host H1,H2 ... Open MPI
# calls it with the host name and the orted command line (a shell command, as ssh runs it),
# and it runs that command on the host (cluster.sh's cluster_enter). GENET_CLUSTER (the
# cluster's directory, set by on.sh and up.sh) must be in the environment, as it is for an
# mpirun started with on.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/cluster.sh"
[ $# -ge 2 ] || cluster_die "usage: rsh.sh HOST COMMAND..."
[ -n "${GENET_CLUSTER:-}" ] || cluster_die "rsh.sh: GENET_CLUSTER is not set"
h=$1
shift
[ -e "/run/netns/$h" ] || cluster_die "rsh.sh: no host $h"
cluster_enter "$h" sh -c "$*"
