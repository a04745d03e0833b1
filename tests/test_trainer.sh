#!/usr/bin/env bash
# The one training loop (src/train/trainer.c) as every task sees it:
#   gradient accumulation: k micro-batches of b give one batch of k*b up to summation order
#     (LM: 1 rank x accumulate 1, 2, 4 and 2 ranks x 2; DCGAN: 2 ranks x 2 == 1 rank x 4, whose
#     BatchNorm batches are the same images), and a different batch is caught by the same bound;
#     a run stopped mid-way with accumulate resumes bit for bit;
#   the epoch position (train/epoch, train/batch) is 0-based and means the same in every task;
#   version-1 checkpoints resume at the right position and finish (the LM's epoch was 1-based,
#     style had none);
#   accumulate on a task without a batch is refused.
# Usage: test_trainer.sh GENET H5CMP MPIEXEC FIXTURES
set -euo pipefail
genet=$1
h5cmp=$2
mpirun="$3 --allow-run-as-root --oversubscribe"
fx=$4
. "$(dirname "$0")/testlib.sh"

# What `genet inspect` says of a scalar dataset.
scalar() { "$genet" inspect "$1" | sed -n "s|^$2 .*= \(.*\)$|\1|p"; }
position() { echo "$(scalar "$1" train/epoch) $(scalar "$1" train/batch)"; }

tiny_text_data
cat > lm.job <<'JOB'
task = lm
data = data.h5
emsize = 8
nhid = 8
nlayers = 2
dropout = 0.2
dropout_io = 0.2
batch = 8
bptt = 10
epochs = 2
log_interval = 10
threads = 1
JOB
# 4000 tokens / 8 columns = 500 rows: 50 batches an epoch.

# ---- LM: accumulation equals the whole batch (the dropout masks are drawn for the global
# batch, so they agree too). 20 SGD steps at lr 20 move a weight by summation-order noise of
# at most 7e-7 of the bound's scale here; 2e-5 leaves 28x for other CPUs and is 5e4x below a
# changed batch.
"$genet" train lm.job checkpoint_dir=A1 max_steps=20 > a1.log
for k in 2 4; do
  "$genet" train lm.job accumulate=$k checkpoint_dir=A$k max_steps=20 > a$k.log
  "$h5cmp" A1/ckpt_0000000020.h5 A$k/ckpt_0000000020.h5 2e-5 params state > a$k.cmp || { cat a$k.cmp; fail "LM: accumulate=$k differs from one batch"; }
done
$mpirun -np 2 "$genet" train lm.job accumulate=2 checkpoint_dir=A22 max_steps=20 > a22.log
"$h5cmp" A1/ckpt_0000000020.h5 A22/ckpt_0000000020.h5 2e-5 params state > a22.cmp || { cat a22.cmp; fail "LM: 2 ranks x accumulate 2 differ from one batch"; }
# Planted: half the batch (as if the micro-batches' gradients were not all summed) must fail.
"$genet" train lm.job batch=4 checkpoint_dir=P max_steps=20 > p.log
"$h5cmp" A1/ckpt_0000000020.h5 P/ckpt_0000000020.h5 2e-5 params/encoder.weight > p.cmp && fail "LM: a batch of 4 passed for a batch of 8 (the bound cannot fail)"
pass "LM: accumulate 2 and 4, and 2 ranks x 2, equal one batch of 8 (2e-5); a batch of 4 does not"
# Stopped at step 7 with accumulate = 2 and resumed: bit for bit the straight run.
"$genet" train lm.job accumulate=2 checkpoint_dir=R max_steps=7 > r1.log
"$genet" train lm.job accumulate=2 checkpoint_dir=R max_steps=20 > r2.log
"$h5cmp" A2/ckpt_0000000020.h5 R/ckpt_0000000020.h5 0 params state optim/lr optim/step train > r.cmp || { cat r.cmp; fail "LM: accumulate=2 resume is not exact"; }
pass "LM: accumulate=2 stopped at step 7 resumes bit for bit"
# The timing line of each run (scripts/bench/gpu_bench.py reads it): the steps this run took
# (20; 13 after a resume at step 7) and a mean that parses as a positive number of ms.
for f in a1.log:20 r2.log:13; do
  tl=$(grep '^| timing: ' "${f%%:*}") || fail "${f%%:*}: no '| timing:' line"
  [[ $tl =~ ^\|\ timing:\ ${f##*:}\ steps\ in\ [0-9.]+\ s,\ ([0-9.]+)\ ms/step\ after\ the\ first\ 2\ \(warm-up\)$ ]] ||
    fail "${f%%:*}: timing line not as expected: $tl"
  awk -v ms="${BASH_REMATCH[1]}" 'BEGIN { exit !(ms + 0 > 0) }' || fail "${f%%:*}: ms/step is not positive: $tl"
done
pass "the timing line: steps of this run, ms/step after 2 warm-up steps"

# ---- the epoch position: 0-based, the same meaning in every task
"$genet" train lm.job checkpoint_dir=E max_steps=55 checkpoint_every=0 > e.log
[ "$(position E/ckpt_0000000055.h5)" = "1 5" ] || fail "LM at step 55 (50 an epoch): position $(position E/ckpt_0000000055.h5), want 1 5"
"$genet" train lm.job checkpoint_dir=E > e2.log
[ "$(position E/ckpt_0000000100.h5)" = "2 0" ] || fail "LM after 2 epochs: position $(position E/ckpt_0000000100.h5), want 2 0"
"$genet" prepare synthetic-images imgs.h5 n=96 seed=2 >/dev/null
cat > gan.job <<'JOB'
task = dcgan
data = imgs.h5
nz = 8
ngf = 4
ndf = 4
batch = 8
epochs = 2
log_interval = 4
sample_every = 0
threads = 1
JOB
# 96 images / 8 = 12 batches an epoch.
"$genet" train gan.job checkpoint_dir=G out_dir=og max_steps=14 > g.log
[ "$(position G/ckpt_0000000014.h5)" = "1 2" ] || fail "DCGAN at step 14 (12 an epoch): position $(position G/ckpt_0000000014.h5), want 1 2"
# Its epoch end printed the sliced Wasserstein distance: 3 levels of 64x64 and their mean, on
# all 96 images (swd_images = 1024 by default is more than the data has, and setup says so).
grep -Eq '^\| epoch 0: SWD x1e3 \(96 generated vs 96 real\): 64 px [0-9.]+, 32 px [0-9.]+, 16 px [0-9.]+; mean [0-9.]+$' g.log ||
  { grep SWD g.log; fail "DCGAN: no SWD line at the end of epoch 0"; }
grep -qF '| SWD at each epoch end: 96 images of G (evaluation mode, fixed noise) vs 96 fixed training images (swd_images = 1024, but the data has 96)' g.log ||
  { grep SWD g.log; fail "DCGAN: the setup line does not say the SWD sets are smaller than swd_images"; }
ln -s "$fx" fx  # relative paths: the version-1 style checkpoint below names them so
cat > style.job <<JOB
task = style
content = fx/image_rgb.jpg
style = fx/image_palette.png
vgg = fx/vgg_tiny_weights.h5
size = 24
max_evals = 30
max_iter = 3
history = 4
JOB
"$genet" train style.job checkpoint_dir=S out_dir=os max_steps=2 > s.log
[ "$(position S/ckpt_0000000002.h5)" = "0 2" ] || fail "style at step 2 (no epochs): position $(position S/ckpt_0000000002.h5), want 0 2"
pass "epoch position: LM (1, 5) after 55 steps and (2, 0) at its end, DCGAN (1, 2) after 14, style (0, 2)"

# ---- DCGAN: 2 ranks x accumulate 2 == 1 rank x accumulate 4 (the same images in each
# BatchNorm micro-batch, the same noise rows: the weights agree; the running statistics are
# each rank's own, updated once a micro-batch), and an accumulate run resumes bit for bit.
"$genet" train gan.job accumulate=4 checkpoint_dir=D4 out_dir=od max_steps=3 > d4.log
$mpirun -np 2 "$genet" train gan.job accumulate=2 checkpoint_dir=D22 out_dir=od max_steps=3 > d22.log
"$h5cmp" D4/ckpt_0000000003.h5 D22/ckpt_0000000003.h5 5e-5 params > d.cmp || { cat d.cmp; fail "DCGAN: 2 ranks x 2 differ from 1 rank x 4"; }
"$genet" train gan.job accumulate=2 checkpoint_dir=DS out_dir=od max_steps=6 > ds.log
"$genet" train gan.job accumulate=2 checkpoint_dir=DR out_dir=od max_steps=2 > dr1.log
"$genet" train gan.job accumulate=2 checkpoint_dir=DR out_dir=od max_steps=6 > dr2.log
"$h5cmp" DS/ckpt_0000000006.h5 DR/ckpt_0000000006.h5 0 params buffers optim/netG optim/netD train > dr.cmp || { cat dr.cmp; fail "DCGAN: accumulate=2 resume is not exact"; }
pass "DCGAN: 2 ranks x accumulate 2 equal 1 rank x 4 (5e-5); accumulate=2 resumes bit for bit"

# ---- a version-1 checkpoint (the LM counted epochs from 1): made by genet 2c90f0a with
# the same job (nlayers = 1, no dropout) at step 50 = epoch 2 (1-based), batch 10.
mkdir V
cp "$fx/lm_v1_step50.h5" V/ckpt_0000000050.h5
cp "$fx/lm_v1_best.h5" V/best.h5
"$genet" train lm.job batch=10 nlayers=1 dropout=0 dropout_io=0 checkpoint_dir=V > v.log || { cat v.log; fail "version-1 checkpoint not resumed"; }
grep -q "resumed from V/ckpt_0000000050.h5: step 50, written by 1 rank (epoch 1, batch 10)" v.log || { cat v.log; fail "version 1: wrong position"; }
[ "$(grep -c 'end of epoch' v.log)" = 1 ] && grep -q 'end of epoch   2' v.log || { cat v.log; fail "version 1: not exactly the second epoch's end"; }
grep -q 'End of training' v.log || fail "version 1: no end of training"
[ "$(position V/ckpt_0000000080.h5)" = "2 0" ] || fail "version 1: end position $(position V/ckpt_0000000080.h5)"
pass "a version-1 LM checkpoint at epoch 2 (1-based) resumes in the second epoch and finishes"
# Version-1 style checkpoints had no epoch position: one endless epoch, batch = step.
mkdir VS
cp "$fx/style_v1_step2.h5" VS/ckpt_0000000002.h5
"$genet" train style.job checkpoint_dir=VS out_dir=ovs > vs.log || { cat vs.log; fail "version-1 style checkpoint not resumed"; }
grep -q "resumed from VS/ckpt_0000000002.h5: step 2, written by 1 rank (epoch 0, batch 2)" vs.log || { cat vs.log; fail "style version 1: wrong position"; }
grep -q '| done: ' vs.log || fail "style version 1: no end"
last=$(ls VS/ckpt_*.h5 | tail -1)
n=$((10#$(basename "$last" .h5 | tr -dc 0-9)))  # its step
[ "$(position "$last")" = "0 $n" ] || fail "style version 1: end position $(position "$last") at step $n"
pass "a version-1 style checkpoint (no position) resumes at (0, 2) and finishes"

# ---- accumulate where there is no batch
if "$genet" train style.job accumulate=2 checkpoint_dir=X out_dir=ox > x.log 2> x.err; then fail "style accepted accumulate=2"; fi
grep -q "accumulate = 2: task = style has no batch" x.err || { cat x.err; fail "style accumulate: wrong message"; }
pass "accumulate on style is refused in one line"
