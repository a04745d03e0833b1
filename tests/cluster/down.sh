#!/usr/bin/env bash
# tests/cluster/down.sh DIR: ends a cluster made by up.sh: its jobs, every process in its
# namespaces and every process carrying its tag (by PID: TERM, then KILL), munged, then the
# namespaces. It leaves DIR (logs) to the caller. Safe to run twice and on a half-made cluster.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/cluster.sh"
[ $# -ge 1 ] || cluster_die "usage: down.sh DIR"
DIR=$(cd "$1" && pwd) || exit 1
[ -f "$DIR/cluster.env" ] || exit 0
cluster_load "$DIR"
export SLURM_CONF
if [ -e "/run/netns/$SW" ] && timeout 5 nsenter --net="/run/netns/$SW" scontrol ping > /dev/null 2>&1; then
  timeout 5 nsenter --net="/run/netns/$SW" scancel --full --partition=test > /dev/null 2>&1 || true
fi
pids() {  # not this script (it may carry the tag itself) nor the shell that ran it
  { cluster_ns_pids "${HOSTS[@]}" "$SW"; cluster_tagged "$DIR"; } |
    grep -vxE "$$|$PPID" || true
}
for sig in TERM TERM KILL KILL KILL; do
  p=$(pids | sort -u)
  [ -n "$p" ] || break
  # shellcheck disable=SC2086
  kill -$sig $p 2> /dev/null || true
  for _ in $(seq 1 20); do [ -z "$(pids)" ] && break; sleep 0.1; done
done
for f in "$DIR"/*.pid.bg; do
  [ -f "$f" ] || continue
  p=$(cat "$f")
  kill -TERM "$p" 2> /dev/null || true
  for _ in $(seq 1 30); do kill -0 "$p" 2> /dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2> /dev/null || true
  rm -f "$f"
done
for ns in "${HOSTS[@]}" "$SW"; do
  [ ! -e "/run/netns/$ns" ] || ip netns del "$ns" || echo "cluster: could not delete namespace $ns" >&2
done
left=$(pids)
rm -f "$DIR/cluster.env"
[ -z "$left" ] || { echo "cluster: processes left: $left" >&2; exit 1; }
