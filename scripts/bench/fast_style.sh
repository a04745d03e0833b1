#!/usr/bin/env bash
# fast neural style at the reference's sizes: one training step (TransformerNet width 32, VGG16
# with random weights to relu4_3, 256 px, batch 4, Adam) and `genet stylize` on a 512 x 512
# image, genet against pytorch/examples' model on random tensors (fast_style_torch.py), same
# machine, same threads. genet's step: the `| timing:` line of a run of STEPS + 2 steps (mean
# after 2 warm-up); its stylize: the mean of the per-image lines after the first (the first
# image creates the oneDNN primitives of its size).
#   scripts/bench/fast_style.sh [THREADS] [STEPS]     defaults: all cores, 3 timed steps
#   SIDE=genet|torch PYTHON=... TORCH_ARGS=--compile: one side (common.sh; all.sh uses it; the
#   PyTorch side then runs training and stylize in processes of their own, for their peak RSS)
#   SIZE=256 STYLIZE_SIZE=512: the image sizes (all.sh --quick makes them small); TORCH_WARMUP=2
#   PyTorch's warm-up calls in one-side mode
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${1:-$(nproc)}
steps=${2:-3}
size=${SIZE:-256}
ssize=${STYLIZE_SIZE:-512}
. scripts/bench/common.sh
if genet_side; then
STEPS=$steps SIZE=$size SSIZE=$ssize /usr/bin/python3 - "$w" <<'PY'
import sys
import numpy as np
from PIL import Image
rng = np.random.default_rng(0)
import os
os.makedirs(f"{sys.argv[1]}/img", exist_ok=True)
os.makedirs(f"{sys.argv[1]}/big", exist_ok=True)
for i in range(8):
    Image.fromarray(rng.integers(0, 256, (int(os.environ["SIZE"]),) * 2 + (3,), dtype=np.uint8)).save(f"{sys.argv[1]}/img/{i}.png")
for i in range(1 + int(os.environ.get("STEPS", "3"))):
    Image.fromarray(rng.integers(0, 256, (int(os.environ["SSIZE"]),) * 2 + (3,), dtype=np.uint8)).save(f"{sys.argv[1]}/big/{i}.png")
PY
build/genet prepare images "$w/img" "$w/img.h5" size="$size" > /dev/null
echo "task = fast_style" > "$w/job"
# image_size: the task's default is 256 (the reference's); without it genet resized SIZE px
# content to 256 px whatever SIZE was, while PyTorch trained at SIZE.
peak_rss "$w/train.rss" build/genet train "$w/job" data="$w/img.h5" style="$w/img/0.png" vgg=random checkpoint_dir="$w/ck" \
  image_size="$size" out_dir="$w/out" max_steps=$((steps + 2)) log_interval=1000 threads="$threads" epochs=100 > "$w/train.log"
genet_train=$(sed -n 's/^| timing: .* \([0-9.]*\) ms\/step after.*/\1/p' "$w/train.log")
peak_rss "$w/styl.rss" build/genet stylize "$w/ck" "$w/big" "$w/styl" threads="$threads" > "$w/styl.log"
genet_styl=$(grep -- ' -> ' "$w/styl.log" | tail -n +2 | sed 's/.*: \([0-9.]*\) ms$/\1/' | awk '{s += $1; n++} END {print s / n}')
if [ "$SIDE" = genet ]; then
  echo "result fast_style_train ms $genet_train n $steps rss_mb $(cat "$w/train.rss") threads $threads"
  echo "result fast_style_stylize ms $genet_styl n $steps rss_mb $(cat "$w/styl.rss") threads $threads"
fi
fi
torch_side || exit 0
if [ "$SIDE" = torch ]; then
  for what in train stylize; do
    # shellcheck disable=SC2086  # TORCH_ARGS: words
    "$PYTHON" scripts/bench/fast_style_torch.py --threads "$threads" --steps "$steps" --what $what \
      --warmup "${TORCH_WARMUP:-2}" --size "$size" --stylize-size "$ssize" $TORCH_ARGS
  done
  exit 0
fi
/usr/bin/python3 scripts/bench/fast_style_torch.py --threads "$threads" --steps "$steps" --size "$size" \
  --stylize-size "$ssize" > "$w/torch.log"
cat "$w/torch.log"
torch_train=$(sed -n 's/^torch train_ms \([0-9.]*\).*/\1/p' "$w/torch.log")
torch_styl=$(sed -n 's/^torch stylize_ms \([0-9.]*\).*/\1/p' "$w/torch.log")
awk -v sz="$size" -v ss="$ssize" -v gt="$genet_train" -v tt="$torch_train" -v gs="$genet_styl" -v ts="$torch_styl" 'BEGIN {
  printf "| workload | genet ms | PyTorch ms | ratio |\n|---|---:|---:|---:|\n"
  printf "| training step, %d px, batch 4 | %.0f | %.0f | %.2f |\n", sz, gt, tt, gt / tt
  printf "| stylize, %d x %d | %.0f | %.0f | %.2f |\n", ss, ss, gs, ts, gs / ts }'
