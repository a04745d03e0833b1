#!/usr/bin/env bash
# DCGAN through `genet train` on synthetic shapes made here (tiny widths):
#   exact resume: stopped by max_steps in mid-epoch, and by SIGTERM, then resumed, the final
#     checkpoint equals the uninterrupted run's bit for bit: both networks' weights, BatchNorm
#     running statistics and num_batches_tracked, Adam moments and steps, loop position;
#   sample grids are PNG files of the expected size;
#   the SWD only reads: with swd = true (G in evaluation mode on its fixed noise at each epoch
#     end) and swd = false the final checkpoints are equal bit for bit, on 1 rank and on 2
#     ranks with sync_bn (the evaluation pass runs on rank 0 alone: it must need no collective);
#   with sync_bn, 2 and 4 ranks equal 1 rank: within 1e-5 after one step, 5e-5 after three
#     (Adam divides by sqrt(v), which magnifies the summation-order differences of the small
#     gradients: measured 2.4e-6, 8.0e-6, 1.4e-5 after 1, 2, 3 steps on 4 ranks), and a 4-rank
#     checkpoint continues on 2 ranks as the 4-rank run does;
#   genet sample: grids of the expected size, the same seed byte-identical and another seed
#     different, G in evaluation mode (image 0 of n=1 and of n=64 equal), interpolation rows,
#     one-line refusals of bad arguments (2) and of missing or LM checkpoints (1).
# Usage: test_dcgan_train.sh GENET H5CMP MPIEXEC PNGCMP
set -euo pipefail
genet=$1
h5cmp=$2
mpirun="$3 --allow-run-as-root --oversubscribe"
pngcmp=$4
. "$(dirname "$0")/testlib.sh"

"$genet" prepare synthetic-images data.h5 n=160 size=32 seed=2 > /dev/null
cat > job <<'JOB'
task = dcgan
data = data.h5
nz = 8
ngf = 4
ndf = 4
batch = 8
epochs = 2
log_interval = 5
sample_every = 10
checkpoint_every = 10
threads = 1
swd = false       # on in the runs that check it (A, Ytrue): it costs most under the sanitizers
swd_images = 64
JOB
# 160 / 8 = 20 batches an epoch, 40 steps.
final=ckpt_0000000040.h5
lines() { grep -h '^\[' "$@"; }
same_run() {
  "$h5cmp" A/$final "$1/$final" 0 params buffers optim train > "$1.cmp" || { cat "$1.cmp"; fail "$1: final state differs"; }
}
"$genet" train job checkpoint_dir=A out_dir=outA swd=true > a.log
[ -f A/$final ] || fail "no final checkpoint"
[ -f outA/fake_samples_epoch_001.png ] && [ -f outA/real_samples.png ] || fail "no sample grids"
# 8 images of 64x64 in one row of 8 with 2 px padding: 530 x 68.
read -r -a b <<< "$(od -An -tu1 -j16 -N8 outA/fake_samples_epoch_001.png)"
pw=$(( (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3] )); ph=$(( (b[4] << 24) | (b[5] << 16) | (b[6] << 8) | b[7] ))
[ "$pw" -eq 530 ] && [ "$ph" -eq 68 ] || fail "grid is ${pw}x${ph}, expected 530x68"
size() {  # FILE W H: the PNG header's width and height
  read -r -a b <<< "$(od -An -tu1 -j16 -N8 "$1")"
  local w=$(( (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3] )) h=$(( (b[4] << 24) | (b[5] << 16) | (b[6] << 8) | b[7] ))
  [ "$w" -eq "$2" ] && [ "$h" -eq "$3" ] || fail "$1 is ${w}x${h}, expected $2x$3"
}

# genet sample on the final checkpoint: 64 images, 8 rows of 8 with 2 px padding: 530 x 530.
"$genet" sample A/$final out=S/new/s1.png > s.log || fail "sample failed"
size S/new/s1.png 530 530
"$genet" sample A/$final seed=1 out=S/s1b.png > /dev/null && cmp -s S/new/s1.png S/s1b.png || fail "same seed, different files"
"$genet" sample A/$final seed=2 out=S/s2.png > /dev/null && ! cmp -s S/new/s1.png S/s2.png || fail "seeds 1 and 2 gave the same file"
"$genet" sample A/$final n=20 out=S/s20.png > /dev/null && size S/s20.png 530 200
# Evaluation mode: image 0 does not depend on the others (BatchNorm's batch statistics would
# make n=1 and n=64 differ: checked by running G with train = 1, 9420 of 12288 bytes differ).
"$genet" sample A/$final n=1 out=S/one.png > /dev/null && size S/one.png 64 64
"$pngcmp" S/new/s1.png 2 2 S/one.png 0 0 64 64 > cmp.out || { cat cmp.out; fail "image 0 of n=64 and n=1 differ: not evaluation mode"; }
[ "$(cut -d' ' -f1 cmp.out)" -ge 4 ] || { cat cmp.out; fail "image 0 is (nearly) flat: the comparison says nothing"; }
# interpolate=true: k rows of k steps; the rows' ends are different latent vectors.
"$genet" sample A/$final n=16 interpolate=true out=S/i.png > /dev/null && size S/i.png 266 266
! "$pngcmp" S/i.png 2 2 S/i.png 200 2 64 64 > /dev/null || fail "interpolation: a row's ends are equal"
# Bad arguments (2) and files (1): one line each, no file written.
bad_sample() {  # STATUS MESSAGE ARGS...: the exit status and the one line
  local want=$1 msg=$2 st=0; shift 2
  "$genet" sample "$@" > x.out 2> x.err || st=$?
  [ "$st" = "$want" ] || fail "sample $*: exit status $st, expected $want"
  [ "$(wc -l < x.err)" -eq 1 ] && grep -qF "$msg" x.err || { cat x.err; fail "sample $*: message"; }
  [ ! -e S/bad.png ] || fail "sample $*: wrote a grid"
}
bad_sample 2 "n = '0': expected an integer in [1, 1024]" A/$final n=0 out=S/bad.png
bad_sample 2 "n = '1025': expected an integer in [1, 1024]" A/$final n=1025 out=S/bad.png
bad_sample 2 "n = 'x'" A/$final n=x out=S/bad.png
bad_sample 2 "interpolate = true needs n = k*k with k >= 2" A/$final n=10 interpolate=true out=S/bad.png
bad_sample 2 "unknown key 'steps'" A/$final steps=3 out=S/bad.png
bad_sample 2 "usage: genet sample" 
bad_sample 1 "missing.h5: cannot open" missing.h5 out=S/bad.png
pass "genet sample: grid sizes, seeds, evaluation mode, interpolation, bad arguments"

# The SWD changes nothing that training uses: swd = false gives the same final state.
grep -Eq '^\| epoch 1: SWD x1e3 \(64 generated vs 64 real\): 64 px [0-9.]+, 32 px [0-9.]+, 16 px [0-9.]+; mean [0-9.]+$' a.log ||
  { grep SWD a.log; fail "no SWD line at the end of epoch 1"; }
"$genet" train job checkpoint_dir=N out_dir=outN swd=false > n.log
! grep -q SWD n.log || fail "swd = false printed an SWD line"
same_run N
cmp -s outA/fake_samples_epoch_001.png outN/fake_samples_epoch_001.png || fail "swd = false: different grids"
pass "swd = true and false: bitwise equal final state and grids (64 px)"

"$genet" train job checkpoint_dir=B out_dir=outB max_steps=13 > b1.log
grep -q 'stopped at step 13 (max_steps)' b1.log || fail "max_steps did not stop at 13"
"$genet" train job checkpoint_dir=B out_dir=outB > b2.log
same_run B
diff <(lines a.log) <(lines b1.log b2.log) || fail "printed losses differ after resume"
cmp -s outA/fake_samples_epoch_001.png outB/fake_samples_epoch_001.png || fail "samples differ after resume"
pass "max_steps stop + resume: bitwise equal G, D, BatchNorm buffers, Adam state; same losses and samples"

"$genet" train job checkpoint_dir=C out_dir=outC epochs=1000000 > c1.log &  # cannot finish first
pid=$!
for _ in $(seq 1 4000); do [ -e C/ckpt_0000000010.h5 ] && break; sleep 0.005; done
kill -TERM "$pid" 2>/dev/null || true
st=0; wait "$pid" || st=$?
[ "$st" = 75 ] || fail "SIGTERM: exit status $st (expected 75, stopped and resumable)"
step=$(sed -n 's/^| stopped at step \([0-9]*\) (signal).*/\1/p' c1.log)
[ -n "$step" ] || { cat c1.log; fail "no stop by signal"; }
"$genet" train job checkpoint_dir=C out_dir=outC > c2.log
same_run C
pass "SIGTERM at step $step + resume: bitwise equal state"

$mpirun -np 2 "$genet" train job checkpoint_dir=R2 out_dir=outR2 > r2.log
grep -q "task dcgan, 2 ranks" r2.log || fail "mpirun -np 2 did not run 2 ranks"
[ -f R2/$final ] || fail "2 ranks: no final checkpoint"
"$genet" inspect R2/$final > r2.inspect
grep -q "optim/netD/exp_avg/main.2.weight" r2.inspect || fail "2 ranks: checkpoint layout"
pass "2 ranks train and checkpoint"
for swd in true false; do
  $mpirun -np 2 "$genet" train job sync_bn=true swd=$swd checkpoint_dir=Y$swd out_dir=outY$swd > y$swd.log
done
grep -q '^| epoch 1: SWD x1e3 (64 generated vs 64 real)' ytrue.log || { grep SWD ytrue.log; fail "2 ranks, sync_bn: no SWD line"; }
"$h5cmp" Ytrue/$final Yfalse/$final 0 params buffers optim train > y.cmp || { cat y.cmp; fail "2 ranks, sync_bn: swd = true and false differ"; }
pass "2 ranks with sync_bn: swd = true and false give bitwise equal final state"
if "$genet" generate R2/$final > g.out 2> g.err; then fail "generate accepted a DCGAN checkpoint"; fi
grep -qx "genet: R2/$final: a checkpoint of task = dcgan; genet generate samples text from a language-model checkpoint (task = lm)" g.err ||
  { cat g.err; fail "generate on a DCGAN checkpoint: wrong message"; }
pass "genet generate on a DCGAN checkpoint says what it is"

# Global-batch BatchNorm: the same steps on 1, 2 and 4 ranks.
for st in 1 3; do
  tol=$([ $st -eq 1 ] && echo 1e-5 || echo 5e-5)
  f=$(printf 'ckpt_%010d.h5' $st)
  for n in 1 2 4; do
    $mpirun -np $n "$genet" train job sync_bn=true max_steps=$st checkpoint_dir=E$n.$st out_dir=outE > e$n.log
  done
  for n in 2 4; do
    "$h5cmp" E1.$st/$f E$n.$st/$f $tol params buffers > e$n.cmp || { cat e$n.cmp; fail "sync_bn: $n ranks differ from 1 after $st steps"; }
  done
done
pass "sync_bn: 2 and 4 ranks equal 1 rank (1e-5 after 1 step, 5e-5 after 3)"
cp -r E4.1 F && $mpirun -np 2 "$genet" train job sync_bn=true max_steps=3 checkpoint_dir=F out_dir=outF > f.log
grep -q "resumed from F/ckpt_0000000001.h5: step 1, written by 4 ranks" f.log || fail "no resume of the 4-rank checkpoint on 2 ranks"
"$h5cmp" E4.3/ckpt_0000000003.h5 F/ckpt_0000000003.h5 5e-5 params buffers > f.cmp || { cat f.cmp; fail "4 -> 2 ranks resume differs"; }
pass "a 4-rank checkpoint continues on 2 ranks as the 4-rank run"
# Bad data: named in one line before any work.
"$genet" prepare synthetic-text txt tokens=1000 > /dev/null && "$genet" prepare text txt text.h5 > /dev/null
for d in missing.h5 text.h5; do
  if "$genet" train job data=$d checkpoint_dir=X out_dir=X > x.out 2> x.err; then fail "data=$d accepted"; fi
  grep -q "data = $d: " x.err && [ "$(wc -l < x.err)" -eq 1 ] || { cat x.err; fail "data=$d: message"; }
  [ ! -e X ] || fail "data=$d: wrote X"
done
pass "bad data files named, nothing written"
# An LM checkpoint given to genet sample: it says what the checkpoint is.
printf 'task = lm\ndata = text.h5\nemsize = 8\nnhid = 8\nnlayers = 1\nbatch = 4\nbptt = 5\nthreads = 1\n' > lmjob
"$genet" train lmjob checkpoint_dir=L max_steps=1 > l.log
bad_sample 1 "genet: L/ckpt_0000000001.h5: a checkpoint of task = lm; genet sample draws images from a DCGAN checkpoint (task = dcgan)" L/ckpt_0000000001.h5 out=S/bad.png
pass "genet sample on an LM checkpoint says what it is"
echo "all passed"
