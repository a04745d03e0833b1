# common.sh: what every benchmark does first, sourced from the repository root after it has
# set $threads: the packages (PyTorch included), a Release build, the same thread count for
# both sides, OpenBLAS told its core type (older OpenBLAS picks wrong kernels on this CPU;
# stated in the records), a scratch directory $w removed on exit, and a line saying where
# and how the figures were taken.
# One side only (scripts/bench/all.sh runs each side in processes of its own): SIDE=genet or
# SIDE=torch (default both), PYTHON the interpreter of the PyTorch side (default Debian's
# /usr/bin/python3 with PyTorch 1.13; all.sh passes build/bench-venv/bin/python for 2.x),
# TORCH_ARGS more arguments for the *_torch.py script (all.sh: --compile). In one-side mode
# each figure is also printed as `result NAME ms X ... rss_mb Y threads T` (torchside.py).
# BENCH_SETUP_DONE=1 (all.sh, which did them once) skips the packages and the build.
SIDE=${SIDE:-both}
PYTHON=${PYTHON:-/usr/bin/python3}
TORCH_ARGS=${TORCH_ARGS:-}
case $SIDE in both|genet|torch) ;; *) echo "SIDE=$SIDE: genet, torch or both" >&2; exit 2 ;; esac
if [ "${BENCH_SETUP_DONE:-0}" != 1 ]; then
  bash scripts/install-deps.sh --torch
  make -s build >/dev/null
fi
export OMP_NUM_THREADS=$threads
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
# peak_rss FILE CMD...: runs CMD, its peak resident set (MB) into FILE.
peak_rss() {
  local f=$1
  shift
  /usr/bin/time -f %M -o "$f.kb" "$@"
  awk '{ v = $1 } END { printf "%.0f\n", v / 1024 }' "$f.kb" > "$f"
}
genet_side() { [ "$SIDE" != torch ]; }
torch_side() { [ "$SIDE" != genet ]; }
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; threads $threads; OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE; load $(cut -d' ' -f1-3 /proc/loadavg)"
