#!/usr/bin/env bash
# All-reduce benchmark (not a test): bus bandwidth (nccl-tests' busbw = algbw * 2(n-1)/n) of
# comm_allreduce_mean over 4 KB .. 256 MB, blocking (MPI_Allreduce) and non-blocking
# (MPI_Iallreduce + wait, GradSync's path), then one synthetic training step timed without
# communication, with a blocking all-reduce at the end, with GradSync's buckets at the end and
# overlapped with backward (1 and 8 progress polls per layer).
#   scripts/bench/allreduce.sh [RANKS...]          MPI on CPU ranks; default ranks: 2 4
#   scripts/bench/allreduce.sh --nccl [RANKS...]   NCCL on GPU buffers, one rank per GPU
#                                                  (default: as many ranks as GPUs)
set -euo pipefail
cd "$(dirname "$0")/../.."
nccl=0
if [ "${1:-}" = --nccl ]; then nccl=1; shift; fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target bench_allreduce >/dev/null
bench=build/bench_allreduce
run="mpirun --allow-run-as-root --oversubscribe"
# One thread per rank: the ranks share the cores; the gemm of the synthetic backward stays serial.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc --all) cores;" \
     "$(mpirun --version | head -1); OMP_NUM_THREADS=$OMP_NUM_THREADS"
if [ "$nccl" = 1 ]; then
  if [ $# = 0 ]; then set -- "$(nvidia-smi -L | wc -l)"; fi
  for np in "$@"; do $run -np "$np" $bench --nccl; echo; done
  exit 0
fi
if [ $# = 0 ]; then set -- 2 4; fi
for np in "$@"; do
  $run -np "$np" $bench; echo
  $run -np "$np" $bench --nonblocking; echo
  $run -np "$np" $bench --overlap --polls 1; echo
  $run -np "$np" $bench --overlap --polls 8; echo
done
