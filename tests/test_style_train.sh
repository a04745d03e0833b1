#!/usr/bin/env bash
# Style transfer through `genet train` with a small random-weight VGG19 (width 1/16, the
# fixture of test_vgg) on the fixture images:
#   the loss goes down and result.png has the content image's resized size;
#   exact resume: stopped by max_steps, resumed, the final image, L-BFGS state and evaluation
#     count equal the straight run's bit for bit, and the printed losses are the same;
#   against PyTorch (tests/fixtures/style_losses.txt from scripts/fixtures/fx_style.py, float64):
#     the first two evaluations within 1e-5 (the start, and the first step -g/|g|_1, which
#     checks the gradient), and the loss after 20 evaluations within 10% (later evaluations of
#     this ill-conditioned problem differ by up to 10% between PyTorch's own float32 and
#     float64 runs, so they cannot be compared tightly);
#   bad input (unknown layer, missing image, more than one rank) is one line, nothing written.
# Usage: test_style_train.sh GENET H5CMP MPIEXEC FIXTURES
set -euo pipefail
genet=$1
h5cmp=$2
mpirun="$3 --allow-run-as-root --oversubscribe"
fx=$4
. "$(dirname "$0")/testlib.sh"
cat > job <<JOB
task = style
content = $fx/image_rgb.jpg
style = $fx/image_prog444.jpg, $fx/image_palette.png
vgg = $fx/vgg_tiny_weights.h5
size = 40
max_evals = 60
show_every = 10
max_iter = 5
history = 8
checkpoint_every = 3
threads = 1
JOB
"$genet" train job checkpoint_dir=A out_dir=outA > a.log
grep -q '| done: ' a.log || { cat a.log; fail "no end line"; }
first=$(grep -m1 '^Iteration' a.log | sed 's/.*loss: //')
last=$(grep '^Iteration' a.log | tail -1 | sed 's/.*loss: //')
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < 0.5 * a) }' || fail "loss $first -> $last: did not halve"
[ -f outA/result.png ] || fail "no result.png"
read -r -a b <<< "$(od -An -tu1 -j16 -N8 outA/result.png)"
pw=$(( (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3] )); ph=$(( (b[4] << 24) | (b[5] << 16) | (b[6] << 8) | b[7] ))
[ $(( pw < ph ? pw : ph )) -eq 40 ] || fail "result.png is ${pw}x${ph}: short side should be 40"
pass "loss $first -> $last, result.png ${pw}x${ph}"

"$genet" train job checkpoint_dir=P out_dir=outP size=32 max_evals=20 show_every=1 > p.log
grep '^Iteration' p.log | sed 's/.*loss: //' > p.txt
grep -v '^#' "$fx/style_losses.txt" | awk '{print $2}' > ref.txt
[ "$(wc -l < p.txt)" -eq "$(wc -l < ref.txt)" ] || fail "$(wc -l < p.txt) evaluations, PyTorch made $(wc -l < ref.txt)"
paste p.txt ref.txt | awk '
  function rel(a, b) { r = (a - b) / b; return r < 0 ? -r : r }
  NR <= 2 { printf "evaluation %d: genet %s, PyTorch %s, rel err %.2e (bound 1e-05)\n", NR, $1, $2, rel($1, $2); if (rel($1, $2) > 1e-5) bad = 1 }
  { last_g = $1; last_t = $2 }
  END { printf "last evaluation: genet %s, PyTorch %s, rel err %.2e (bound 0.1)\n", last_g, last_t, rel(last_g, last_t)
        if (rel(last_g, last_t) > 0.1) bad = 1; exit bad }' || fail "losses differ from PyTorch"
pass "losses match PyTorch's (first two evaluations tightly, the end within 10%)"

final=$(ls A/ckpt_*.h5 | tail -1 | xargs basename)
"$genet" train job checkpoint_dir=B out_dir=outB max_steps=4 > b1.log
grep -q 'stopped at step 4 (max_steps)' b1.log || fail "max_steps=4 did not stop"
"$genet" train job checkpoint_dir=B out_dir=outB > b2.log
[ -f "B/$final" ] || fail "resumed run ended elsewhere than $final"
"$h5cmp" "A/$final" "B/$final" 0 state optim train > b.cmp || { cat b.cmp; fail "resumed state differs"; }
diff <(grep -h '^Iteration' a.log) <(grep -h '^Iteration' b1.log b2.log) || fail "printed losses differ"
cmp -s outA/result.png outB/result.png || fail "result images differ"
pass "max_steps stop + resume: bitwise equal image and L-BFGS state, same losses"

# vgg = random/16: no weights file; it says so, the loss halves, and the same seed gives the
# same image bit for bit.
for r in R1 R2; do
  "$genet" train job vgg=random/16 max_evals=30 checkpoint_dir=$r out_dir=$r > $r.log
done
grep -q '^| NOTE: VGG19 has RANDOM weights' R1.log || { cat R1.log; fail "vgg = random: no note"; }
grep -q 'VGG19 from random weights (seed 1, width 1/16)' R1.log || { cat R1.log; fail "vgg = random: no source line"; }
first=$(grep -m1 '^Iteration' R1.log | sed 's/.*loss: //')
last=$(grep '^Iteration' R1.log | tail -1 | sed 's/.*loss: //')
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < 0.5 * a) }' || fail "vgg = random: loss $first -> $last"
cmp -s R1/result.png R2/result.png || fail "vgg = random: two runs with seed 1 differ"
pass "vgg = random/16: noted, loss $first -> $last, same seed same image"

bad() {  # EXPECTED ARGS...
  local want=$1; shift
  if "$@" checkpoint_dir=E out_dir=E > e.out 2> e.err; then fail "accepted: $*"; fi
  grep -q -- "$want" e.err && [ "$(wc -l < e.err)" -eq 1 ] || { cat e.err; fail "message for '$*'"; }
  [ ! -e E ] || fail "'$*' wrote E"
}
bad "unknown VGG19 layer 'relu9_9'" "$genet" train job style_layers=relu1_1,relu9_9
bad "missing.png" "$genet" train job content=missing.png
bad "vgg = missing.h5" "$genet" train job vgg=missing.h5
bad "vgg = random/3: expected random or random/N" "$genet" train job vgg=random/3
# (under mpirun the launcher adds its own lines about the exit status)
if $mpirun -np 2 "$genet" train job checkpoint_dir=E out_dir=E > e.out 2> e.err; then fail "2 ranks accepted"; fi
grep -q "start it without mpirun" e.err || { cat e.err; fail "2 ranks: message"; }
[ ! -e E ] || fail "2 ranks wrote E"
pass "bad input rejected with one line each, nothing written"
echo "all passed"
