#!/usr/bin/env bash
# Forward+backward time of genet's CPU layers against PyTorch's on this machine, same thread
# count, at the workloads' shapes (layers.cases). Prints a markdown table of ratios
# (genet time / PyTorch time, lower is better) and the GFLOP/s each side reached.
#   scripts/bench/layers.sh [THREADS] [REPS]     defaults: all cores, 5 repetitions
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${1:-$(nproc)}
reps=${2:-5}
. scripts/bench/common.sh
here=scripts/bench
out=$w
echo "median of $reps"
/usr/bin/python3 - <<'PY'
import torch
torch.set_num_threads(1)
a = torch.randn(64, 64); a @ a  # make sure the BLAS is loaded
libs = sorted({l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l.lower() and '.so' in l})
print(f"PyTorch {torch.__version__}: BLAS libraries mapped: {', '.join(libs) or 'none'}; mkldnn (oneDNN) {torch.backends.mkldnn.is_available()}")
if not any('openblas' in l for l in libs):
    print("WARNING: PyTorch is not using OpenBLAS (install libopenblas0-pthread); its GEMMs run the reference BLAS")
PY
build/bench_layers "$here/layers.cases" "$reps" > "$out/genet.txt"
/usr/bin/python3 "$here/layers_torch.py" "$here/layers.cases" "$reps" > "$out/torch.txt"
head -n 1 "$out/genet.txt" | grep '^#' || true
/usr/bin/python3 "$here/report.py" "$here/layers.cases" <(grep -v '^#' "$out/genet.txt") "$out/torch.txt"
