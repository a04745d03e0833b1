#!/usr/bin/env bash
# One DCGAN training iteration at the reference widths (nz 100, ngf = ndf = 64, 64x64, batch
# 64): `genet train` against the seed's loop in PyTorch (dcgan_torch.py), same machine, same
# threads. genet's time per iteration is (time of a run of S + 2 steps - time of a run of 2
# steps) / S, so start-up, data loading set-up and the final checkpoint cancel out; it
# includes reading and resizing the images, which PyTorch's side (random tensors) does not.
#   scripts/bench/dcgan.sh [THREADS] [STEPS]     defaults: all cores, 5 timed steps
#   SIDE=genet|torch PYTHON=... TORCH_ARGS=--compile: one side (common.sh; all.sh uses it)
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${1:-$(nproc)}
steps=${2:-5}
. scripts/bench/common.sh
if genet_side; then
build/genet prepare synthetic-images "$w/img.h5" n=1000 > /dev/null
run() {  # STEPS -> milliseconds (peak RSS into $w/genet.rss)
  local t0 t1
  t0=$(date +%s%N)
  peak_rss "$w/genet.rss" build/genet train jobs/dcgan_cifar10.job data="$w/img.h5" checkpoint_dir="$w/ck$1" out_dir="$w/out" \
    resume=never max_steps="$1" sample_every=0 log_interval=1000 threads="$threads" > /dev/null
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000000 ))  # ms
}
short=$(run 2)
long=$(run $((steps + 2)))
genet_ms=$(awk -v a="$long" -v b="$short" -v n="$steps" 'BEGIN { print (a - b) / n }')
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
