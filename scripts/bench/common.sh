# common.sh: what every benchmark does first, sourced from the repository root after it has
# set $threads: the packages (PyTorch included), a Release build, the same thread count for
# both sides, OpenBLAS told its core type (older OpenBLAS picks wrong kernels on this CPU;
# stated in the records), a scratch directory $w removed on exit, and a line saying where
# and how the figures were taken.
bash scripts/install-deps.sh --torch
make -s build >/dev/null
export OMP_NUM_THREADS=$threads
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; threads $threads; OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE; load $(cut -d' ' -f1-3 /proc/loadavg)"
