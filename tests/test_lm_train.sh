#!/usr/bin/env bash
# The language model end to end through `genet train`, on synthetic text made here:
#   exact resume: a run stopped by max_steps, and one stopped by SIGTERM, then resumed, end
#     with bitwise the parameters, optimizer, carried state and loop state of the run that
#     never stopped, and print the same losses (dropout on, so the RNG is covered);
#   bad jobs: each is one line naming the key, and nothing is written;
#   generation from the best checkpoint, and its bad arguments.
# Usage: test_lm_train.sh GENET H5CMP
set -euo pipefail
genet=$1
h5cmp=$2
. "$(dirname "$0")/testlib.sh"

"$genet" prepare synthetic-text txt tokens=20000 seed=3 >/dev/null
"$genet" prepare text txt data.h5 >/dev/null
cat > job <<'JOB'
task = lm
data = data.h5
emsize = 16
nhid = 16
nlayers = 2
dropout = 0.2
dropout_io = 0.2
batch = 20
bptt = 10
epochs = 10
log_interval = 10
checkpoint_every = 25
threads = 1           # tiny model: OpenMP barriers would cost more than they save
JOB
# 20000 tokens / 20 columns = 1000 rows: 100 batches an epoch, 1000 steps in all.
final=ckpt_0000001000.h5
names="params/encoder.weight params/rnn.weight_ih_l0 params/rnn.weight_hh_l0 params/rnn.bias_ih_l0
  params/rnn.bias_hh_l0 params/rnn.weight_ih_l1 params/rnn.weight_hh_l1 params/rnn.bias_ih_l1
  params/rnn.bias_hh_l1 params/decoder.bias state/h state/c"
# The printed losses without the timings, which differ from run to run.
losses() { grep -hE '^\| (epoch|end of epoch|End of training)' "$@" | sed -E 's/ms\/batch +[0-9.]+//; s/time: +[0-9.]+s//'; }
same_run() {  # DIR: its final checkpoint equals the uninterrupted run's, bit for bit
  # shellcheck disable=SC2086
  "$h5cmp" A/$final "$1/$final" 0 $names train/epoch train/batch optim/lr train/best_val_loss \
    train/log_loss_sum > "$1.cmp" || { cat "$1.cmp"; fail "$1: final state differs from the straight run"; }
}

"$genet" train job checkpoint_dir=A > a.log
[ -f "A/$final" ] || fail "straight run wrote no $final"
grep -q 'End of training' a.log || fail "straight run did not finish"

# Stopped by max_steps in the middle of an epoch and of a log interval, then resumed.
"$genet" train job checkpoint_dir=B max_steps=437 > b1.log
grep -q 'stopped at step 437 (max_steps)' b1.log || fail "max_steps=437 did not stop at 437"
[ -f B/ckpt_0000000437.h5 ] || fail "no checkpoint at the max_steps stop"
"$genet" train job checkpoint_dir=B > b2.log
grep -q 'resumed from B/ckpt_0000000437.h5' b2.log || fail "the second run did not resume"
same_run B
diff <(losses a.log) <(losses b1.log b2.log) || fail "losses after a max_steps resume differ"
pass "max_steps stop + resume: bitwise equal state and identical losses"

# Stopped by SIGTERM (Slurm's preemption signal) once training is under way. The signalled run
# is given endless epochs so it cannot finish before the signal on a slow or loaded machine;
# the resumed run has the job's 10, which is all the end of the run depends on.
"$genet" train job checkpoint_dir=C epochs=1000000 > c1.log &
pid=$!
for _ in $(seq 1 2000); do [ -e C/ckpt_0000000025.h5 ] && break; sleep 0.005; done
kill -TERM "$pid" 2>/dev/null || true
st=0; wait "$pid" || st=$?
[ "$st" = 75 ] || fail "SIGTERM: exit status $st (expected 75, stopped and resumable)"
step=$(sed -n 's/^| stopped at step \([0-9]*\) (signal).*/\1/p' c1.log)
[ -n "$step" ] || { cat c1.log; fail "no stop by signal"; }
[ -f "C/$(printf 'ckpt_%010d.h5' "$step")" ] || fail "no checkpoint at the SIGTERM stop (step $step)"
"$genet" train job checkpoint_dir=C > c2.log
same_run C
diff <(losses a.log) <(losses c1.log c2.log) || fail "losses after a SIGTERM resume differ"
pass "SIGTERM at step $step + resume: bitwise equal state and identical losses"

# A damaged newest checkpoint is named and the previous one used.
mkdir D && cp A/ckpt_0000000950.h5 A/ckpt_0000000975.h5 D/
truncate -s 3000 D/ckpt_0000000975.h5
"$genet" train job checkpoint_dir=D max_steps=960 > d.log
grep -q 'skipping damaged checkpoint: .*ckpt_0000000975.h5' d.log || fail "damaged checkpoint not reported"
grep -q 'resumed from D/ckpt_0000000950.h5' d.log || fail "did not fall back to the previous checkpoint"
[ -f D/ckpt_0000000960.h5 ] || fail "no checkpoint after resuming from the fallback"
pass "damaged newest checkpoint skipped, previous one used"

# Bad jobs: one line naming the problem, exit non-zero, nothing written.
bad() {  # EXPECTED-TEXT ARGS...
  local want=$1; shift
  if "$genet" train "$@" checkpoint_dir=E out_dir=E > e.out 2> e.err; then fail "accepted: $*"; fi
  grep -q -- "$want" e.err || { cat e.err; fail "message for '$*' lacks '$want'"; }
  [ "$(wc -l < e.err)" -eq 1 ] || { cat e.err; fail "more than one line for '$*'"; }
  [ ! -e E ] || fail "'$*' wrote E"
}
bad "unknown key 'nz'" job nz=100
bad "lr = '-1'" job lr=-1
bad "tied = true needs emsize == nhid" job emsize=8
bad "data = missing.h5" job data=missing.h5
: > empty.job  # (not /dev/null: a job file must be a regular file, never a FIFO or device)
bad "no \`task = ...\` line" empty.job
bad "task = 'bogus': expected one of lm|dcgan|style" job task=bogus
bad "cannot open job file" no-such.job
"$genet" train job resume=never checkpoint_dir=A > /dev/null 2> e.err && fail "resume=never over checkpoints accepted"
grep -q "already holds checkpoints" e.err || fail "resume=never over checkpoints: wrong message"
"$genet" train job checkpoint_dir=A emsize=24 nhid=24 > /dev/null 2> e.err && fail "a checkpoint of another shape accepted"
grep -q "cannot resume from A/ckpt_0000001000.h5: emsize = 24 (checkpoint: 16), nhid = 24 (checkpoint: 16); these keys cannot change" e.err || { cat e.err; fail "shape mismatch: wrong message"; }
pass "bad jobs rejected with one line each, nothing written; a checkpoint of another shape refused"

# Generation from the best model: deterministic for a seed, prompt primes, bad input named.
"$genet" generate A/best.h5 words=40 seed=5 > g1.txt
"$genet" generate A/best.h5 words=40 seed=5 > g2.txt
cmp -s g1.txt g2.txt || fail "generate: same seed, different text"
[ "$(wc -w < g1.txt)" -ge 20 ] || fail "generate: too few words"
first=$(head -c 200 txt/train.txt | tr -s ' \n' '  ' | awk '{print $1}')
"$genet" generate A/best.h5 words=5 prompt="$first" > g3.txt
grep -q "^$first" g3.txt || fail "generate: the prompt is not echoed first"
"$genet" generate A/best.h5 temperature=0 2> e.err && fail "temperature 0 accepted"
grep -q "temperature" e.err || fail "temperature 0: no message"
"$genet" generate A/best.h5 prompt="qwertyuiop" 2> e.err && fail "unknown prompt word accepted"
grep -q "'qwertyuiop' is not in the model's vocabulary" e.err || fail "unknown prompt word: wrong message"
# lowercased as prepare text does; not UTF-8: one line
"$genet" generate A/best.h5 words=5 prompt="$(printf '%s' "$first" | tr a-z A-Z)" > g4.txt || fail "generate: upper-case prompt refused"
grep -q "^$first" g4.txt || fail "generate: the upper-case prompt is not lowercased"
"$genet" generate A/best.h5 prompt="$(printf 'ok \xc3(')" 2> e.err && fail "prompt of invalid UTF-8 accepted"
grep -q "prompt: invalid UTF-8 byte 0xc3 at column 4 (truncated sequence" e.err || { cat e.err; fail "invalid UTF-8 prompt: wrong message"; }
"$genet" generate data.h5 2> e.err && fail "a dataset accepted as a checkpoint"
pass "generate"
echo "all passed"
