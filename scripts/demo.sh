#!/usr/bin/env bash
# demo.sh: `make demo` after the build. The three workloads on data made here or shipped with
# the repository (nothing is downloaded), each into runs/demo/<workload>/: its checkpoints,
# metrics.jsonl, TensorBoard files, pictures or text, and an HTML report (genet report). A GPU is
# used when one is visible (device = auto), else the CPU. Run again, each run resumes from its
# checkpoints: finished runs only redo their pictures, text and report (delete runs/demo/ to
# train again).
#   scripts/demo.sh [GENET] [DIR]   defaults build/genet and runs/demo
#   DEMO_QUICK=1                    shortened settings, for the test (tests/test_demo.sh)
#   DEMO_DEVICE=cpu|cuda|auto       where the three runs train (default auto)
set -euo pipefail
genet=${1:-build/genet}
dir=${2:-runs/demo}
data=${DEMO_DATA:-data}
quick=${DEMO_QUICK:-0}
device=${DEMO_DEVICE:-auto}

# genet train JOB ARGS... on $device. A failure that may be the GPU's says how to go on without
# it: genet's CUDA backend has not yet been validated on a GPU (README, Status).
train() {
  local rc=0
  "$genet" train "$@" device="$device" || rc=$?
  [ $rc -eq 0 ] && return 0
  if [ "$device" != cpu ] && "$genet" info 2>/dev/null | grep -q '^  cuda:'; then
    echo "demo: this run failed on a GPU (exit $rc). genet's CUDA backend has not yet been validated on a GPU;" >&2
    echo "demo: DEMO_DEVICE=cpu make demo runs the demo on the CPU (please report the failure)." >&2
  fi
  exit $rc
}

say() { printf '\n==== %s\n' "$*"; }
# The values of one tag in a metrics.jsonl, oldest first, one a line.
tag_values() {  # FILE TAG
  sed -n "s|.*\"$2\":\([-0-9.e+]*\).*|\1|p" "$1"
}
# The last value of a tag, with DIGITS decimals.
last_value() {  # FILE TAG DIGITS
  tag_values "$1" "$2" | tail -1 | awk -v d="$3" '{ printf "%.*f", d, $1 }'
}
t0=$SECONDS
mkdir -p "$dir" "$data"
"$genet" version

# ---- 1. the language model on synthetic Markov text
t_lm=$SECONDS
say "1/3 language model: 2-layer LSTM on synthetic Markov text ($data/synthetic-text.h5)"
lm=$dir/lm
mkdir -p "$lm"
# (the generator prints the perplexity floor its chain allows; it writes the same text again)
[ -f "$data/synthetic-text.info" ] ||
  "$genet" prepare synthetic-text "$data/synthetic-text" | tee "$data/synthetic-text.info"
[ -f "$data/synthetic-text.h5" ] ||
  "$genet" prepare text "$data/synthetic-text" "$data/synthetic-text.h5"
lm_args=()
[ "$quick" = 1 ] && lm_args=(epochs=1)
train jobs/lm_demo.job data="$data/synthetic-text.h5" checkpoint_dir="$lm/checkpoints" out_dir="$lm" \
  "${lm_args[@]}"
"$genet" generate "$lm/checkpoints/best.h5" words=80 seed=1 > "$lm/generated.txt"
floor=$(sed -n 's/.*perplexity floor \([0-9.]*\).*/\1/p' "$data/synthetic-text.info" 2> /dev/null || true)
test_ppl=$(last_value "$lm/metrics.jsonl" test/ppl 2)

t_lm=$((SECONDS - t_lm))

# ---- 2. DCGAN on procedurally drawn glyphs
t_gan=$SECONDS
say "2/3 DCGAN: generator and discriminator on drawn glyphs ($data/synthetic-glyphs.h5)"
gan=$dir/dcgan
mkdir -p "$gan"
[ -f "$data/synthetic-glyphs.h5" ] || "$genet" prepare synthetic-glyphs "$data/synthetic-glyphs.h5" n=6400 size=32
gan_args=()
[ "$quick" = 1 ] && gan_args=(epochs=8)
train jobs/dcgan_demo.job data="$data/synthetic-glyphs.h5" \
  checkpoint_dir="$gan/checkpoints" out_dir="$gan" "${gan_args[@]}"
ck=$gan/checkpoints/$(cat "$gan/checkpoints/latest")
"$genet" sample "$ck" n=64 seed=2 out="$gan/samples.png" > /dev/null
"$genet" sample "$ck" n=64 seed=2 out="$gan/interpolations.png" interpolate=true > /dev/null
# SWD at each epoch end: the first, three between and the last
swd=$(tag_values "$gan/metrics.jsonl" swd/mean | awk '{ v[NR - 1] = $1 }
  END { n = NR; for (k = 0; k <= 4; k++) { i = int(k * (n - 1) / 4); if (k && i == last) continue;
        printf "%sepoch %d: %.1f", k ? ", " : "", i, v[i]; last = i } }')

t_gan=$((SECONDS - t_gan))

# ---- 3. style transfer on the shipped images
t_st=$SECONDS
say "3/3 style transfer: assets/demo/cat.jpg in the style of assets/demo/strokes.png"
st=$dir/style
mkdir -p "$st"
st_args=()
if [ -f "$data/vgg19.h5" ]; then  # the full VGG19 costs 16 times the demo's: a smaller image
  st_args+=(vgg="$data/vgg19.h5" size=128 max_evals=100)
  vgg_note="VGG19 weights from $data/vgg19.h5"
else
  vgg_note="VGG19 with RANDOM weights (no $data/vgg19.h5; scripts/get-data.sh vgg19 fetches the real ones)"
fi
[ "$quick" = 1 ] && st_args+=(max_evals=20 size=64)
train jobs/style_demo.job checkpoint_dir="$st/checkpoints" out_dir="$st" \
  "${st_args[@]}"
style_loss=$(last_value "$st/metrics.jsonl" train/loss 1)
t_st=$((SECONDS - t_st))

# ---- the reports, and where everything is
for w in "$lm" "$gan" "$st"; do "$genet" report "$w" > /dev/null; done
# Times mean little without the machine: name it beside them.
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2> /dev/null | head -1)
say "done in $((SECONDS - t0)) s (LM ${t_lm} s, DCGAN ${t_gan} s, style ${t_st} s; device $device," \
  "${cpu:-unknown CPU}, $(nproc) cores): everything is in $dir/"
cat << EOF
language model   test perplexity ${test_ppl:-?} (the text allows no less than ${floor:-?})
                 $lm/generated.txt         80 words sampled from the best checkpoint
                 $lm/report.html           curves, text, the job
DCGAN            sliced Wasserstein distance x1e3 (lower: closer to the data)
                   ${swd:-?}
                 $gan/fake_samples_epoch_*.png   the fixed noise's grid each epoch
                 $gan/samples.png          64 new samples from the last checkpoint
                 $gan/interpolations.png   walks between points of the latent space
                 $gan/report.html
style transfer   $vgg_note
                 final loss ${style_loss:-?}
                 $st/result.png            the stylized image
                 $st/report.html
every run        checkpoints/ (resume: run the same command again), metrics.jsonl, job.txt
                 TensorBoard: tensorboard --logdir $dir
EOF
