#!/usr/bin/env bash
# sizes = 24,40 (issue 21, coarse to fine) with the fixture VGG19 (width 1/16):
#   the stages run in order (24 then 40), result_24.png is the first stage's result (short side
#   24) and result.png the last's (40); the second stage starts from the first's result
#   upsampled, so the end differs from a plain sizes = 40 run;
#   exact resume: stopped by max_steps at the end of the first stage (the transition still to
#   come) and inside the second stage, each resumed: the final checkpoint, the printed losses
#   and both images bit for bit those of the uninterrupted run; SIGTERM inside the second stage
#   (a checkpoint, exit 75), resumed: the same;
#   a stage checkpoint does not resume into a job with other sizes; bad sizes are one line.
# Usage: test_style_sizes.sh GENET H5CMP FIXTURES
set -euo pipefail
genet=$1
h5cmp=$2
fx=$3
. "$(dirname "$0")/testlib.sh"
cat > job <<JOB
task = style
content = $fx/image_rgb.jpg
style = $fx/image_prog444.jpg
vgg = $fx/vgg_tiny_weights.h5
sizes = 24, 40
max_evals = 12
show_every = 5
max_iter = 5
history = 8
checkpoint_every = 2
threads = 1
JOB
short() {  # PNG -> its short side
  local b
  read -r -a b <<< "$(od -An -tu1 -j16 -N8 "$1")"
  local w=$(( (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3] )) h=$(( (b[4] << 24) | (b[5] << 16) | (b[6] << 8) | b[7] ))
  echo $(( w < h ? w : h ))
}
"$genet" train job checkpoint_dir=A out_dir=A > a.log
grep '^| stage' a.log > stages.txt
[ "$(sed -n 1p stages.txt | cut -d: -f2 | cut -d'(' -f1)" = " short side 24 " ] && [ "$(sed -n 2p stages.txt | cut -d: -f2 | cut -d'(' -f1)" = " short side 40 " ] \
  || { cat stages.txt; fail "stages not 24 then 40"; }
[ "$(short A/result_24.png)" -eq 24 ] && [ "$(short A/result.png)" -eq 40 ] || fail "result_24.png / result.png sizes"
[ ! -e A/result_40.png ] || fail "the last stage wrote result_40.png besides result.png"
t2=$(sed -n 2p stages.txt | sed 's/.*from step //')
"$genet" train job checkpoint_dir=P out_dir=P sizes=40 > p.log
cmp -s A/result.png P/result.png && fail "sizes = 24,40 gave the plain 40 px result"
pass "stages in order (24, then 40 from step $t2), result_24.png and result.png at their sizes"

final=$(ls A/ckpt_*.h5 | tail -1 | xargs basename)
check_same() {  # DIR LOGS...: DIR ended as A did
  local d=$1; shift
  [ -f "$d/$final" ] || fail "$d ended elsewhere than $final"
  "$h5cmp" "A/$final" "$d/$final" 0 state optim train > "$d.cmp" || { cat "$d.cmp"; fail "$d: final state differs"; }
  diff <(grep -h '^Iteration' a.log) <(grep -h '^Iteration' "$@") || fail "$d: printed losses differ"
  cmp -s A/result.png "$d/result.png" && cmp -s A/result_24.png "$d/result_24.png" || fail "$d: images differ"
}
# Stopped where the first stage is done and the second not begun; then inside the second.
for stop in $t2 $((t2 + 1)); do
  "$genet" train job checkpoint_dir=S$stop out_dir=S$stop max_steps=$stop > s$stop.1.log
  grep -q "stopped at step $stop (max_steps)" s$stop.1.log || fail "max_steps=$stop did not stop"
  "$genet" train job checkpoint_dir=S$stop out_dir=S$stop > s$stop.2.log
  check_same S$stop s$stop.1.log s$stop.2.log
done
grep -q '^| stage 2/2' s$((t2 + 1)).2.log && grep -q '^| stage 2/2' s$t2.2.log || fail "resumes did not say stage 2"
pass "max_steps stop at the end of stage 1 and inside stage 2, resumed: bit for bit the straight run"

# SIGTERM inside the second stage: many evaluations so that the signal lands there.
"$genet" train job checkpoint_dir=L out_dir=L max_evals=400 sizes=24,64 checkpoint_every=1000 > l.log &
pid=$!
for _ in $(seq 1 600); do grep -q '^| stage 2/2' l.log 2>/dev/null && break; sleep 0.05; done
grep -q '^| stage 2/2' l.log || { kill $pid; fail "never reached stage 2"; }
kill -TERM $pid
rc=0; wait $pid || rc=$?
[ "$rc" -eq 75 ] || { cat l.log; fail "SIGTERM: exit $rc, expected 75"; }
"$genet" train job checkpoint_dir=L out_dir=L max_evals=400 sizes=24,64 checkpoint_every=1000 > l2.log
grep -q '^| stage 2/2' l2.log || fail "SIGTERM resume: not in stage 2"
"$genet" train job checkpoint_dir=M out_dir=M max_evals=400 sizes=24,64 checkpoint_every=1000 > m.log
lf=$(cat L/latest); mf=$(cat M/latest)
[ "$lf" = "$mf" ] || fail "SIGTERM resume ended at $lf, straight at $mf"
"$h5cmp" "M/$mf" "L/$lf" 0 state optim train > l.cmp || { cat l.cmp; fail "SIGTERM resume: state differs"; }
cmp -s M/result.png L/result.png && cmp -s M/result_24.png L/result_24.png || fail "SIGTERM resume: images differ"
pass "SIGTERM inside stage 2 (exit 75), resumed: bit for bit the straight run"

if "$genet" train job checkpoint_dir=S$t2 out_dir=S$t2 sizes=24,48 > e.out 2> e.err; then fail "resumed with other sizes"; fi
grep -q "sizes = 24,48 (checkpoint: 24, 40)" e.err || { cat e.err; fail "changed sizes: message"; }
bad() {  # EXPECTED ARGS...
  local want=$1; shift
  if "$genet" train job "$@" checkpoint_dir=E out_dir=E > e.out 2> e.err; then fail "accepted: $*"; fi
  grep -q -- "$want" e.err && [ "$(wc -l < e.err)" -eq 1 ] || { cat e.err; fail "message for '$*'"; }
  [ ! -e E ] || fail "'$*' wrote E"
}
bad "sizes = 24,8: '8' is not a short side in 16..8192" sizes=24,8
bad "sizes = 24,x: 'x' is not a short side" sizes=24,x
bad "style_scale = 0.5: the style images' short side would be 12 (size 24)" style_scale=0.5
pass "other sizes refused on resume; bad sizes one line each, nothing written"
echo "all passed"
