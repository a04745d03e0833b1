#!/usr/bin/env bash
# The style task's controls (issue 21), each checked by its effect on the result, with the
# small fixture VGG19 (width 1/16) on the fixture images at 40 px:
#   style_blend: `1,0` gives the first style image's result bit for bit, `0,1` the second's,
#     `1,1` the default mean's, `3,1` none of these; a weight count that does not match the
#     style images is one line naming the key;
#   tv_weight: the result's total variation (imgstat tv) falls below half of the run without;
#   original_colors: the result's U and V equal the resized content's within what 8-bit
#     truncation allows (imgstat chroma), which the run without fails by far;
#   style_scale: the style images load at round(size x scale) short side, and the result moves;
#   init: image:PATH of the content image gives init = content's result bit for bit, noise
#     another; pooling = avg: runs, the loss halves, another result (its forward and backward
#     against PyTorch: test_vgg);
#   two taps on one layer run and learn;
#   exact resume with all of them on (max_steps stop, then resume: the same checkpoint bit for
#     bit, the same image), a changed pooling refused on resume; bad values one line each.
# Usage: test_style_controls.sh GENET H5CMP IMGSTAT FIXTURES
set -euo pipefail
genet=$1
h5cmp=$2
imgstat=$3
fx=$4
. "$(dirname "$0")/testlib.sh"
A="$fx/image_prog444.jpg"
B="$fx/image_palette.png"
cat > job <<JOB
task = style
content = $fx/image_rgb.jpg
style = $A, $B
vgg = $fx/vgg_tiny_weights.h5
size = 40
max_evals = 30
show_every = 10
max_iter = 5
history = 8
checkpoint_every = 3
threads = 1
JOB
run() {  # NAME KEY=VALUE...: a run into directory NAME
  local d=$1; shift
  "$genet" train job checkpoint_dir="$d" out_dir="$d" "$@" > "$d.log" 2>&1 || { cat "$d.log"; fail "run $d ($*)"; }
}
same() { cmp -s "$1/result.png" "$2/result.png"; }

# ---- style_blend
run mean
run onlyA style="$A"
run onlyB style="$B"
run b10 style_blend=1,0
run b01 style_blend=0,1
run b11 style_blend=1,1
run b31 style_blend=3,1
same b10 onlyA || fail "style_blend = 1,0 differs from style = A alone"
same b01 onlyB || fail "style_blend = 0,1 differs from style = B alone"
same b11 mean || fail "style_blend = 1,1 differs from the default mean"
! same b31 mean && ! same b31 onlyA || fail "style_blend = 3,1 gave the mean's or A's result"
grep -q "weight 0.75" b31.log && grep -q "weight 0.25" b31.log || { cat b31.log; fail "3,1: weights not shown as 0.75, 0.25"; }
pass "style_blend: 1,0 = A alone, 0,1 = B alone, 1,1 = the mean (bit for bit), 3,1 another"

# ---- tv_weight
run tv tv_weight=1e-2
t0=$("$imgstat" tv mean/result.png)
t1=$("$imgstat" tv tv/result.png)
awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b < 0.5 * a) }' || fail "tv_weight = 1e-2: total variation $t0 -> $t1, not halved"
pass "tv_weight = 1e-2: the result's total variation $t0 -> $t1"

# ---- original_colors
run oc original_colors=true
"$imgstat" chroma oc/result.png "$fx/image_rgb.jpg" 40 > oc.txt || { cat oc.txt; fail "original_colors: chroma differs from the content's"; }
if "$imgstat" chroma mean/result.png "$fx/image_rgb.jpg" 40 > no.txt; then cat no.txt; fail "without original_colors the chroma already matched: the check shows nothing"; fi
pass "original_colors: $(cat oc.txt) (without it: $(sed 's/ (bound[^)]*)//g' no.txt))"

# ---- style_scale
run half style_scale=0.5
grep -q "style $A: [0-9]* x 20," half.log || { grep '|   style' half.log; fail "style_scale = 0.5: style not at short side 20"; }
grep -q "style $A: [0-9]* x 40," mean.log || { grep '|   style' mean.log; fail "default: style not at short side 40"; }
! same half mean || fail "style_scale = 0.5 gave the same result"
pass "style_scale = 0.5: the style images at short side 20 (default 40), another result"

# ---- init and pooling
run img init="image:$fx/image_rgb.jpg"
run noise init=noise
same img mean || fail "init = image:(the content) differs from init = content"
! same noise mean || fail "init = noise gave init = content's result"
run avg pooling=avg
first=$(grep -m1 '^Iteration' avg.log | sed 's/.*loss: //')
last=$(grep '^Iteration' avg.log | tail -1 | sed 's/.*loss: //')
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < 0.5 * a) }' || fail "pooling = avg: loss $first -> $last"
! same avg mean || fail "pooling = avg gave max's result"
pass "init = image:PATH = content bit for bit, noise another; pooling = avg: loss $first -> $last, another result"

# ---- two taps on one layer (a style and the content tap on relu4_1): their gradients join
run two style_layers=relu1_1,relu4_1 content_layers=relu4_1
first=$(grep -m1 '^Iteration' two.log | sed 's/.*loss: //')
last=$(grep '^Iteration' two.log | tail -1 | sed 's/.*loss: //')
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < 0.5 * a) }' || fail "two taps on relu4_1: loss $first -> $last"
pass "two taps on one layer: loss $first -> $last"

# ---- exact resume with every control on; a fixed key refused on resume
all=(style_blend=2,1 tv_weight=1e-3 original_colors=true style_scale=0.75 pooling=avg init=noise)
run R "${all[@]}"
final=$(ls R/ckpt_*.h5 | tail -1 | xargs basename)
"$genet" train job checkpoint_dir=S out_dir=S "${all[@]}" max_steps=4 > s1.log
grep -q 'stopped at step 4 (max_steps)' s1.log || fail "max_steps=4 did not stop"
if "$genet" train job checkpoint_dir=S out_dir=S "${all[@]/pooling=avg/pooling=max}" > e.out 2> e.err; then fail "resumed with pooling changed"; fi
grep -q "pooling = max (checkpoint: avg)" e.err || { cat e.err; fail "pooling change: message"; }
"$genet" train job checkpoint_dir=S out_dir=S "${all[@]}" > s2.log
"$h5cmp" "R/$final" "S/$final" 0 state optim train > s.cmp || { cat s.cmp; fail "resumed state differs"; }
diff <(grep -h '^Iteration' R.log) <(grep -h '^Iteration' s1.log s2.log) || fail "printed losses differ"
same R S || fail "result images differ"
pass "all controls on: max_steps stop + resume bit for bit; pooling may not change on resume"

# ---- bad values: one line each, nothing written
bad() {  # EXPECTED ARGS...
  local want=$1; shift
  if "$genet" train job "$@" checkpoint_dir=E out_dir=E > e.out 2> e.err; then fail "accepted: $*"; fi
  grep -q -- "$want" e.err && [ "$(wc -l < e.err)" -eq 1 ] || { cat e.err; fail "message for '$*'"; }
  [ ! -e E ] || fail "'$*' wrote E"
}
bad "style_blend = 1,2,3: 3 weights for 2 style images" style_blend=1,2,3
bad "style_blend = 1,x: 'x' is not a weight" style_blend=1,x
bad "style_blend = 0,0: the weights sum to 0" style_blend=0,0
bad "init = image:missing.png: " init=image:missing.png
bad "init = fog: expected content, noise or image:PATH" init=fog
bad "pooling" pooling=mean
bad "style_scale = 0.1: the style images' short side would be 4" style_scale=0.1
pass "bad style_blend, init, pooling, style_scale: one line each, nothing written"
echo "all passed"
