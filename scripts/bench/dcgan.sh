#!/usr/bin/env bash
# One DCGAN training iteration at the reference widths (nz 100, ngf = ndf = 64, 64x64, batch
# 64): `genet train` against the seed's loop in PyTorch (dcgan_torch.py), same machine, same
# threads. genet's time per iteration is the `| timing:` line of a run of S + 2 steps (the
# trainer's step only, mean after 2 warm-up steps: start-up, data loading and the final
# checkpoint are not in it, as PyTorch's side on random tensors has none of them). Until
# 2026-12-06 it was (run of S + 2 - run of 2 steps) / S in wall time, which a loaded machine
# turned into anything (231 to 3,646 ms in one try).
#   scripts/bench/dcgan.sh [THREADS] [STEPS]     defaults: all cores, 5 timed steps
#   SIDE=genet|torch PYTHON=... TORCH_ARGS=--compile: one side (common.sh; all.sh uses it)
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${1:-$(nproc)}
steps=${2:-5}
. scripts/bench/common.sh
if genet_side; then
build/genet prepare synthetic-images "$w/img.h5" n=1000 > /dev/null
peak_rss "$w/genet.rss" build/genet train jobs/dcgan_cifar10.job data="$w/img.h5" checkpoint_dir="$w/ck" \
  out_dir="$w/out" resume=never max_steps=$((steps + 2)) sample_every=0 log_interval=1000 \
  threads="$threads" > "$w/genet.log"
genet_ms=$(sed -n 's/^| timing: .* \([0-9.]*\) ms\/step after.*/\1/p' "$w/genet.log")
[ "$SIDE" = both ] || echo "result dcgan_iter ms $genet_ms n $steps rss_mb $(cat "$w/genet.rss") threads $threads"
fi
torch_side || exit 0
# shellcheck disable=SC2086  # TORCH_ARGS: words
"$PYTHON" scripts/bench/dcgan_torch.py --threads "$threads" --steps "$steps" $TORCH_ARGS > "$w/torch.log"
grep -v '^torch ' "$w/torch.log"
[ "$SIDE" = both ] || exit 0
torch_ms=$(sed -n 's/^torch ms_per_step \([0-9.]*\).*/\1/p' "$w/torch.log")
awk -v g="$genet_ms" -v t="$torch_ms" 'BEGIN {
  printf "| side | ms/iteration |\n|---|---:|\n| genet | %.0f |\n| PyTorch | %.0f |\n", g, t
  printf "ratio genet/PyTorch: %.3f\n", g / t }'
