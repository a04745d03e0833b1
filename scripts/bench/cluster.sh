#!/usr/bin/env bash
# Scaling measured across emulated hosts (not a test; root): tests/cluster/up.sh brings up 3
# hosts on this machine, their links are shaped with tbf to each RATE in turn, and at 2 and 3
# hosts (one rank each, Open MPI over TCP, launched with mpirun --hostfile) it measures
#   - the all-reduce of one step's gradient buckets, GradSync's non-blocking path: the LM's two
#     25 MiB-bucket pieces of its 7,332,080 floats, DCGAN's D (2,765,568) and G (3,576,704);
#   - genet train's step time (its "| timing:" line, after 2 warm-up steps) for the LM
#     (jobs/lm_wikitext2.job on a 33,278-word synthetic corpus) and the DCGAN
#     (jobs/dcgan_cifar10.job on synthetic 64x64 images), each rank keeping the recipe's batch
#     (20 columns, 64 images: weak scaling, as scripts/scaling.py models);
# and prints beside each what scripts/scaling.py predicts with the same formula and these
# inputs: bus bandwidth = the link's rate, one rank per node, the 1-host step time measured here.
#   scripts/bench/cluster.sh [RATE...]       default: 100mbit 1gbit 10gbit (tc's units)
# Environment: STEPS (timed steps, default 3), REPS (all-reduce repetitions, default 3),
# RING=1: also the all-reduce with Open MPI's libnbc told to use its ring (by default it picks
# a binomial tree below 4 ranks and for every in-place all-reduce, which GradSync's are),
# ALLREDUCE_ONLY=1: no training steps.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
[ "$(id -u)" = 0 ] || { echo "cluster.sh: needs root (network namespaces)" >&2; exit 1; }
[ $# -gt 0 ] || set -- 100mbit 1gbit 10gbit
steps=${STEPS:-3}
reps=${REPS:-3}
cmake --build build -j 2 --target genet bench_allreduce > /dev/null
genet=$src/build/genet
w=$(mktemp -d)
chmod 755 "$w"
C=$w/cluster
trap '"$src/tests/cluster/down.sh" "$C" > /dev/null 2>&1; rm -rf "$w"' EXIT
trap 'exit 143' TERM INT HUP
export OMP_NUM_THREADS=1 OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc --all) cores shared by" \
  "every emulated host; $(mpirun --version | head -1); 1 thread a rank; load $(cut -d' ' -f1-3 /proc/loadavg)"
tests/cluster/up.sh "$C" 3
. "$C/cluster.env"

# The data: as scripts/bench/lm.sh and dcgan.sh make it.
mkdir "$w/txt"
awk -v n=33276 -v total=80000 'BEGIN { srand(1)
  for (i = 0; i < total; i++) { w = i < n ? i : int(rand() * n); printf "w%d%s", w, (i % 20 == 19) ? "\n" : " " } }' > "$w/txt/train.txt"
head -c 20000 "$w/txt/train.txt" > "$w/txt/valid.txt"
cp "$w/txt/valid.txt" "$w/txt/test.txt"
"$genet" prepare text "$w/txt" "$w/lm.h5" > /dev/null
"$genet" prepare synthetic-images "$w/img.h5" n=1000 > /dev/null

net=10.213.0.0/24
mpi() {  # N CMD...: CMD on the first N hosts, one rank each, mpirun started on the first
  local n=$1
  shift
  printf '%s slots=1\n' "${HOSTS[@]:0:n}" > "$w/hostfile"
  timeout 600 "$src/tests/cluster/on.sh" "$C" 1 mpirun --allow-run-as-root --hostfile "$w/hostfile" -np "$n" \
    --mca plm_rsh_agent "$src/tests/cluster/rsh.sh" --mca btl_tcp_if_include $net --mca oob_tcp_if_include $net \
    -x OMP_NUM_THREADS -x OPENBLAS_CORETYPE "$@"
}
train() {  # N WORKLOAD: genet train's ms/step on N hosts
  local n=$1 args
  case $2 in
    lm) args=("$src/jobs/lm_wikitext2.job" data="$w/lm.h5" batch=$((20 * n))) ;;
    dcgan) args=("$src/jobs/dcgan_cifar10.job" data="$w/img.h5" batch=$((64 * n)) sample_every=100000) ;;
  esac
  rm -rf "$w/ck" "$w/out"
  if [ "$n" = 1 ]; then
    "$src/tests/cluster/on.sh" "$C" 1 "$genet" train "${args[@]}" checkpoint_dir="$w/ck" out_dir="$w/out" \
      resume=never threads=1 checkpoint_every=100000 max_steps=$((steps + 2)) > "$w/train.log" 2>&1
  else
    mpi "$n" "$genet" train "${args[@]}" checkpoint_dir="$w/ck" out_dir="$w/out" resume=never threads=1 \
      checkpoint_every=100000 max_steps=$((steps + 2)) > "$w/train.log" 2>&1
  fi || { tail -n 20 "$w/train.log" >&2; return 1; }
  sed -n 's/^| timing: .* \([0-9.]*\) ms\/step after.*/\1/p' "$w/train.log"
}
allreduce() {  # N BUCKETS [MPIRUN ARGS...]: the buckets' total ms
  local n=$1 b=$2
  shift 2
  mpi "$n" "$@" "$src/build/bench_allreduce" --buckets "$b" --nonblocking --reps "$reps" > "$w/ar.log" 2>&1 ||
    { cat "$w/ar.log" >&2; return 1; }
  sed -n 's/^total: \([0-9.]*\) ms/\1/p' "$w/ar.log"
}
predict() {  # WORKLOAD N RATE_GBITS T1_MS: scaling.py's all-reduce and step time (ms)
  python3 - "$@" << 'PY'
import sys
sys.path.insert(0, "scripts")
import scaling
wl, n, gbit, t1 = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
# One rank a node; the bus bandwidth is the link's rate (GB/s), within the node too (unused).
scaling.GPUS["link"] = dict(title="emulated host", per_node=1, intra=gbit / 8, net=gbit / 8)
step, comm, _ = scaling.step_ms(scaling.WORKLOADS[wl], n, "link", t1, 25.0)
print(f"{comm:.1f} {step:.1f}")
PY
}
gbits() { numfmt --from=si "$(echo "$1" | sed 's/bit$//i; s/k$/K/; s/m$/M/; s/g$/G/')" | awk '{ print $1 / 1e9 }'; }

declare -A t1
if [ -z "${ALLREDUCE_ONLY:-}" ]; then
  for wl in lm dcgan; do t1[$wl]=$(train 1 $wl); done
  echo "1 host: LM ${t1[lm]} ms/step, DCGAN ${t1[dcgan]} ms/step (genet train, 1 rank, 1 thread)"
else
  t1=([lm]=0 [dcgan]=0)
fi
echo
echo "| link | hosts | workload | all-reduce measured (ms) | ring measured (ms) | predicted (ms) | step measured (ms) | predicted (ms) |"
echo "|---|---:|---|---:|---:|---:|---:|---:|"
for rate in "$@"; do
  for h in "${HOSTS[@]}"; do tests/cluster/link.sh "$C" "$h" shape "$rate"; done
  g=$(gbits "$rate")
  for n in 2 3; do
    for wl in lm dcgan; do
      case $wl in
        lm) b=6553600,778480 ;;
        dcgan) b=2765568,3576704 ;;
      esac
      ar=$(allreduce "$n" "$b")
      ring=-
      [ -z "${RING:-}" ] || ring=$(allreduce "$n" "$b" --mca coll_libnbc_iallreduce_algorithm 1)
      st=-
      [ -n "${ALLREDUCE_ONLY:-}" ] || st=$(train "$n" $wl)
      read -r par pst < <(predict $wl "$n" "$g" "${t1[$wl]}")
      [ -z "${ALLREDUCE_ONLY:-}" ] || pst=-
      echo "| $rate | $n | $wl | $ar | $ring | $par | $st | $pst |"
    done
  done
done
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
