#!/usr/bin/env bash
# tests/cluster/link.sh DIR HOST ACTION: the link between a host and the switch.
#   shape RATE   both directions limited to RATE (tc's units: 100mbit, 1gbit, 10gbit) by a
#                token bucket (tbf) on each end; only bandwidth: this kernel has no netem, so
#                no latency or loss can be added
#   clear        the shaping removed
#   cut          the link down (ip link set down on the switch's end): packets vanish, as
#                with a pulled cable or a host that lost power; nothing tells the endpoints
#   restore      the link up again
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/cluster.sh"
[ $# -ge 3 ] || cluster_die "usage: link.sh DIR HOST shape RATE|clear|cut|restore"
DIR=$(cd "$1" && pwd)
cluster_load "$DIR"
h=$2
[[ $h =~ ^[0-9]$ ]] && h=${HOSTS[h - 1]}
k=${h##*-h}
[ -e "/run/netns/$h" ] || cluster_die "no host $h"
case $3 in
  shape)
    rate=${4:?shape needs a rate}
    bits=$(tc_bits() { numfmt --from=si "$(echo "$1" | sed 's/bit$//i; s/k$/K/; s/m$/M/; s/g$/G/')"; }; tc_bits "$rate")
    # The bucket holds 4 ms at the rate, at least 256 KiB: one 64 KiB GSO packet must fit, and
    # the timer (HZ) must not starve it.
    burst=$((bits / 8 / 250))
    [ $burst -ge 262144 ] || burst=262144
    tc -n "$h" qdisc replace dev eth0 root tbf rate "$rate" burst "$burst" latency 100ms
    tc -n "$SW" qdisc replace dev "h$k" root tbf rate "$rate" burst "$burst" latency 100ms
    ;;
  clear)
    tc -n "$h" qdisc del dev eth0 root 2> /dev/null || true
    tc -n "$SW" qdisc del dev "h$k" root 2> /dev/null || true
    ;;
  cut) ip -n "$SW" link set "h$k" down ;;
  restore) ip -n "$SW" link set "h$k" up ;;
  *) cluster_die "unknown action '$3'" ;;
esac
