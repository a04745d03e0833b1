#!/usr/bin/env bash
# What `genet train` does when it is misused or the machine fails it, on a tiny language model:
#   a run already at max_steps or at the end of its epochs changes nothing;
#   a second run on a checkpoint directory in use is refused, naming the holder;
#   a checkpoint write that fails (file-size limit) exits 1 with the error, earlier checkpoints
#     intact and no temporary file left (it used to crash in libhdf5's exit handler: 139);
#   resuming with changed keys: each is reported, a new seed or shape is refused;
#   duplicated keys, unusable checkpoint_dir/out_dir (found before any training), data = a
#   directory, stale temporary files, and paths too long to fit a fixed buffer.
# Usage: test_train_guards.sh GENET
set -euo pipefail
genet=$1
. "$(dirname "$0")/testlib.sh"

tiny_text_data
cat > job <<'JOB'
task = lm
data = data.h5
emsize = 8
nhid = 8
nlayers = 1
batch = 10
bptt = 10
epochs = 2
log_interval = 10
threads = 1
JOB
# 4000 tokens / 10 columns = 400 rows: 40 batches an epoch, 80 steps in all.
listing() { (cd "$1" && ls -A && cat ./*.sum latest); }

# ---- a finished run changes nothing
"$genet" train job checkpoint_dir=F max_steps=40 checkpoint_every=10 > f1.log
listing F > f1.list
for i in 2 3; do
  "$genet" train job checkpoint_dir=F max_steps=40 checkpoint_every=10 > "f$i.log" || fail "run $i at max_steps failed"
  grep -q "nothing to do: the checkpoint is at step 40 and max_steps = 40" "f$i.log" || { cat "f$i.log"; fail "run $i: no 'nothing to do'"; }
  grep -q '^| epoch\|stopped at step' "f$i.log" && fail "run $i at max_steps trained again"
  listing F | cmp -s - f1.list || fail "run $i at max_steps changed the checkpoint directory"
done
"$genet" train job checkpoint_dir=F > f4.log
grep -q 'End of training' f4.log || fail "the run did not go on to its end"
listing F > f4.list
"$genet" train job checkpoint_dir=F > f5.log
grep -q "nothing to do: .*end of this run (all epochs are done" f5.log || { cat f5.log; fail "no 'nothing to do' after the last epoch"; }
listing F | cmp -s - f4.list || fail "a finished run changed the checkpoint directory"
pass "a run at max_steps or after its last epoch says so and writes nothing"

# ---- one run per checkpoint directory
"$genet" train job checkpoint_dir=L epochs=1000000 > l1.log &
pid=$!
for _ in $(seq 1 2000); do grep -q '^| epoch' l1.log 2>/dev/null && break; sleep 0.005; done
st=0; "$genet" train job checkpoint_dir=L clip=1 > l2.log 2> l2.err || st=$?
kill -KILL "$pid"; wait "$pid" 2>/dev/null || true
[ "$st" = 1 ] || fail "second run on a directory in use: status $st"
grep -q "checkpoint_dir L is in use by another run (pid $pid on .*, job job)" l2.err || { cat l2.err; fail "second run: wrong message"; }
[ "$(wc -l < l2.err)" = 1 ] || fail "second run: more than one error line"
"$genet" train job checkpoint_dir=L max_steps=5 > l3.log 2>&1 || { cat l3.log; fail "the lock outlived its killed holder"; }
pass "a second run on a checkpoint directory in use is refused, naming the holder; a killed holder frees it"

# ---- a checkpoint write that fails
"$genet" train job checkpoint_dir=W max_steps=20 checkpoint_every=10 > /dev/null
cp W/ckpt_0000000020.h5 w20.h5
# (its own out_dir: the metrics.jsonl of the runs above has outgrown the 8 KiB limit)
st=0; (ulimit -f 8; "$genet" train job checkpoint_dir=W out_dir=WO max_steps=40 checkpoint_every=10 > w.log 2> w.err) || st=$?
[ "$st" = 1 ] || { cat w.err; fail "failed checkpoint write: exit status $st, expected 1"; }
# The line names the file and gives the system's reason (the dataset too when a write, not the
# close, met the limit).
grep -q "checkpoint not written: W/.ckpt_0000000030.h5.tmp: .*(File too large)$" w.err || { cat w.err; fail "failed write: wrong message"; }
[ "$(wc -l < w.err)" = 1 ] || { cat w.err; fail "failed write: more than one error line"; }
cmp -s W/ckpt_0000000020.h5 w20.h5 || fail "failed write damaged the previous checkpoint"
ls -A W | grep -q tmp && fail "failed write left a temporary file: $(ls -A W)"
"$genet" train job checkpoint_dir=W max_steps=30 checkpoint_every=10 > w2.log
grep -q "resumed from W/ckpt_0000000020.h5" w2.log || fail "no resume after the failed write"
pass "a failed checkpoint write exits 1 naming the file and why; the earlier checkpoints resume"

# ---- resuming with changed keys
"$genet" train job checkpoint_dir=K max_steps=10 > /dev/null
st=0; "$genet" train job checkpoint_dir=K seed=2 > /dev/null 2> k.err || st=$?
[ "$st" = 1 ] || fail "resume with seed=2: status $st"
grep -q "cannot resume from K/ckpt_0000000010.h5: seed = 2 (checkpoint: 1); .*To start afresh with seed = 2, use another checkpoint_dir" k.err ||
  { cat k.err; fail "seed change: wrong message"; }
st=0; "$genet" train job checkpoint_dir=K bptt=20 batch=20 > /dev/null 2> k.err || st=$?
[ "$st" = 1 ] && grep -q "batch = 20 (checkpoint: 10), bptt = 20 (checkpoint: 10)" k.err || { cat k.err; fail "shape change accepted"; }
"$genet" train job checkpoint_dir=K max_steps=20 lr=5 clip=1 dropout=0.5 init_weights=x.h5 > k.log
for l in "lr = 5 (was 20): used from step 11 on" "clip = 1 (was 0.25): used from step 11 on" \
         "dropout = 0.5 (was 0.2): used from step 11 on" "init_weights = x.h5 (was ''): not used when resuming" \
         "max_steps = 20 (was 10): used from step 11 on" "lr = 5 from the job replaces the checkpoint's lr 20"; do
  grep -qF "$l" k.log || { cat k.log; fail "resume with changed keys: no line '$l'"; }
done
grep -q "lr 5.00" k.log || fail "lr=5 was not applied"
grep -q "changed since the checkpoint: \(seed\|data\|epochs\)" k.log && fail "an unchanged key reported as changed"
pass "resume reports each changed key and what happens to it; a new seed or shape is refused"

# ---- bad jobs and directories, found before any training
bad() {  # WANT ARGS...: exit 1 or 2, one line containing WANT, no training
  local want=$1 st=0; shift
  "$genet" train "$@" > b.log 2> b.err || st=$?
  [ "$st" = 1 ] || [ "$st" = 2 ] || fail "'$*': status $st"
  grep -qF -- "$want" b.err || { cat b.err; fail "'$*': no '$want' in the error"; }
  [ "$(wc -l < b.err)" = 1 ] || { cat b.err; fail "'$*': more than one error line"; }
  if grep -q '^| epoch' b.log; then fail "'$*' trained before failing"; fi
}
printf 'lr = 1\nlr = 2\n' | cat job - > dup.job
bad "dup.job:12: lr set twice (first at line 11): keep one" dup.job
bad "command line: lr given twice: keep one" job lr=1 lr=2
touch afile
bad "checkpoint_dir: afile: not a directory" job checkpoint_dir=afile
bad "checkpoint_dir: afile/sub: cannot create directory: Not a directory" job checkpoint_dir=afile/sub/ck
bad "out_dir: afile: not a directory" job checkpoint_dir=O out_dir=afile
mkdir -p datadir
bad "data = datadir: datadir: is a directory, expected an HDF5 file" job data=datadir checkpoint_dir=D
long=$(printf 'd%.0s' $(seq 1 250))/$(printf 'e%.0s' $(seq 1 250))/$(printf 'f%.0s' $(seq 1 250))
mkdir -p "$(dirname "$long")" && touch "$long"
bad "checkpoint_dir: $long: not a directory" job "checkpoint_dir=$long"
bad "data = missing/$long.h5: missing/$long.h5: cannot open" job "data=missing/$long.h5" checkpoint_dir=D
pass "duplicated keys, unusable directories, data = a directory and long paths: one whole line before training"

# ---- stale temporary files go; out_dir is made
mkdir -p S
touch S/.ckpt_0000000099.h5.tmp S/ckpt_0000000099.h5.sum.tmp S/.best.h5.tmp S/keep.txt
"$genet" train job checkpoint_dir=S out_dir=S_out max_steps=1 > s.log
grep -q "removed 3 temporary files of an interrupted write from S" s.log || { cat s.log; fail "no removal line"; }
[ "$(ls -A S | grep -c tmp)" = 0 ] || fail "stale temporary files left: $(ls -A S)"
[ -e S/keep.txt ] || fail "removed a file that is not genet's"
[ -d S_out ] || fail "out_dir not created"
pass "stale temporary files are removed under the lock; out_dir is created"

# ---- the device: auto falls back to the CPU; cuda says why it cannot be had, before any work
"$genet" train job checkpoint_dir=DA out_dir=DA_out max_steps=1 device=auto > da.log
grep -q "^# genet train job: task lm, 1 rank, [0-9]* threads each, device cpu$" da.log || { cat da.log; fail "device = auto: no cpu line"; }
st=0; "$genet" train job checkpoint_dir=DC out_dir=DC_out max_steps=1 device=cuda > dc.log 2> dc.err || st=$?
[ "$st" = 1 ] && [ "$(wc -l < dc.err)" = 1 ] && grep -q "^genet: device = cuda: .*; use device = cpu or auto$" dc.err ||
  { cat dc.err; fail "device = cuda without a usable GPU: status $st"; }
[ -e DC ] && [ -n "$(ls DC)" ] && fail "device = cuda refused but wrote into checkpoint_dir"
pass "device = auto runs on the CPU here; device = cuda is refused in one line ($(cut -c1-90 dc.err)...)"
