#!/usr/bin/env bash
# Training throughput of the language model at the reference shapes (tied 2x200 LSTM,
# dropout 0.2, vocabulary 33,278, batch 20, BPTT 35, SGD lr 20, clip 0.25): genet's
# `genet train` against the same recipe in PyTorch (lm_torch.py), same machine, same threads,
# on random tokens. Prints ms per step, tokens/s and the ratio genet / PyTorch.
#   scripts/bench/lm.sh [THREADS] [STEPS]     defaults: all cores, 20 timed steps
#   SIDE=genet|torch PYTHON=... TORCH_ARGS=--compile: one side (common.sh; all.sh uses it)
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${1:-$(nproc)}
steps=${2:-20}
. scripts/bench/common.sh

if genet_side; then
# A corpus whose training split holds 33,276 distinct words (+ <eos> and <unk> = 33,278).
mkdir "$w/txt"
awk -v n=33276 -v total=80000 'BEGIN { srand(1)
  for (i = 0; i < total; i++) { w = i < n ? i : int(rand() * n); printf "w%d%s", w, (i % 20 == 19) ? "\n" : " " } }' > "$w/txt/train.txt"
head -c 20000 "$w/txt/train.txt" > "$w/txt/valid.txt"
cp "$w/txt/valid.txt" "$w/txt/test.txt"
build/genet prepare text "$w/txt" "$w/data.h5" | head -1

# genet: progress every 5 steps; the first interval (warm-up: primitives are created) is
# dropped, and at least one more is always run (a STEPS below 5 printed no usable line).
log=5
peak_rss "$w/genet.rss" build/genet train jobs/lm_wikitext2.job data="$w/data.h5" checkpoint_dir="$w/ck" out_dir="$w/out" \
  resume=never log_interval=$log max_steps=$((log * (steps / log + 2) + 1)) threads="$threads" > "$w/genet.log"
genet_ms=$(sed -n 's/.*ms\/batch *\([0-9.]*\).*/\1/p' "$w/genet.log" | tail -n +2 | awk '{ s += $1; n++ } END { printf "%.2f", s / n }')
n=$(sed -n 's/.*ms\/batch *\([0-9.]*\).*/\1/p' "$w/genet.log" | tail -n +2 | wc -l)
[ "$SIDE" = both ] || echo "result lm_step ms $genet_ms n $n rss_mb $(cat "$w/genet.rss") threads $threads"
fi
torch_side || exit 0
# shellcheck disable=SC2086  # TORCH_ARGS: words
"$PYTHON" scripts/bench/lm_torch.py --threads "$threads" --steps "$steps" $TORCH_ARGS > "$w/torch.log"
grep -v '^torch ' "$w/torch.log"
[ "$SIDE" = both ] || exit 0
torch_ms=$(sed -n 's/^torch ms_per_step \([0-9.]*\).*/\1/p' "$w/torch.log")
awk -v g="$genet_ms" -v t="$torch_ms" 'BEGIN {
  tok = 20 * 35
  printf "| side | ms/step | tokens/s |\n|---|---:|---:|\n"
  printf "| genet | %.1f | %.0f |\n| PyTorch | %.1f | %.0f |\n", g, tok * 1000 / g, t, tok * 1000 / t
  printf "ratio genet/PyTorch (time per step): %.3f\n", g / t }'
