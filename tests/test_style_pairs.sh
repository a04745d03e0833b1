#!/usr/bin/env bash
# pairs = FILE (issue 21): many style pairs over the ranks of one job, with a small random
# VGG19 (vgg = random/16) on the fixture images at 24 px:
#   5 pairs (one with an output name, one in a subfolder, a comment line) on 2 ranks and on 1
#     rank: every output and index.html bit for bit the same; each pair has its own checkpoint
#     directory, metrics.jsonl and pair.done; the index page shows every output;
#   SIGTERM while the third pair runs (one rank): exit 75; the resumed job skips pairs 1 and 2
#     (their files keep their bytes and mtimes), resumes pair 3 from its checkpoint, runs 4 and
#     5, and every output equals the straight run's bit for bit;
#   bad pairs files (a missing image, an empty line, a duplicate output, a style count that
#     style_blend does not match, a line of one field) are one line naming the file and line,
#     before any work (nothing written); 2 ranks without pairs are still refused.
# Usage: test_style_pairs.sh GENET MPIEXEC FIXTURES
set -euo pipefail
genet=$1
mpirun="$2 --allow-run-as-root --oversubscribe"
fx=$3
. "$(dirname "$0")/testlib.sh"
R="$fx/image_rgb.jpg" P="$fx/image_palette.png" G="$fx/image_prog444.jpg"
{
  echo "$R $G"
  echo "$P $G one.png"
  echo "# a comment line"
  echo "$R $P,$G"
  echo "$G $R sub/x.png"
  echo "$P $R"
} > pairs.txt
{
  echo "task = style"
  echo "pairs = pairs.txt"
  echo "vgg = random/16"
  echo "size = 24"
  echo "max_evals = 8"
  echo "show_every = 1000"
  echo "max_iter = 4"
  echo "history = 4"
  echo "checkpoint_every = 50"
  echo "threads = 1"
} > job
outs="pair_1/result.png one.png pair_3/result.png sub/x.png pair_5/result.png"
"$genet" train job checkpoint_dir=C1 out_dir=O1 > one.log
$mpirun -np 2 "$genet" train job checkpoint_dir=C2 out_dir=O2 > two.log
for f in $outs index.html; do
  [ -f "O1/$f" ] || { cat one.log; fail "1 rank: no $f"; }
  cmp -s "O1/$f" "O2/$f" || fail "$f differs between 1 and 2 ranks"
done
for k in 1 2 3 4 5; do
  [ -f "C2/pair_$k/pair.done" ] && [ -f "O2/pair_$k/metrics.jsonl" ] && ls C2/pair_$k/ckpt_*.h5 > /dev/null \
    || fail "pair $k: no pair.done, metrics.jsonl or checkpoint"
done
grep -q 'pair 2/5 (line 2) on rank 1' two.log && grep -q 'pair 3/5 (line 4) on rank 0' two.log || { cat two.log; fail "ranks' shares"; }
for f in $outs; do grep -q "src=\"$f\"" O1/index.html || fail "index.html does not show $f"; done
pass "5 pairs: 2 ranks and 1 rank give the same outputs and index.html bit for bit"

# SIGTERM in pair 3, then resume; against a straight run with the same settings.
long=(max_evals=1500)
"$genet" train job "${long[@]}" checkpoint_dir=CS out_dir=OS > straight.log
"$genet" train job "${long[@]}" checkpoint_dir=CT out_dir=OT > t1.log &
pid=$!
for _ in $(seq 1 1500); do grep -q '^| pair 3/5' t1.log 2>/dev/null && break; sleep 0.02; done
grep -q '^| pair 3/5' t1.log || { kill $pid; fail "never reached pair 3"; }
kill -TERM $pid
rc=0; wait $pid || rc=$?
[ "$rc" -eq 75 ] || { cat t1.log; fail "SIGTERM: exit $rc, expected 75"; }
grep -q '^| stopped at step' t1.log || fail "SIGTERM: pair 3 did not stop with a checkpoint"
[ ! -e CT/pair_3/pair.done ] && [ ! -e CT/pair_4 ] || fail "SIGTERM: pair 3 marked done or pair 4 started"
snap() { find CT/pair_1 CT/pair_2 OT/pair_1 OT/pair_2 OT/one.png -type f -printf '%p %T@ ' -exec md5sum {} \; | sort; }
snap > before.txt
"$genet" train job "${long[@]}" checkpoint_dir=CT out_dir=OT > t2.log
snap > after.txt
diff before.txt after.txt || fail "finished pairs' files changed on resume"
grep -q 'pair 1/5 (line 1) on rank 0: finished already' t2.log && grep -q 'pair 2/5 (line 2) on rank 0: finished already' t2.log \
  || { cat t2.log; fail "resume did not skip pairs 1 and 2"; }
grep -q '^| resumed from CT/pair_3/ckpt_' t2.log || { cat t2.log; fail "pair 3 not resumed from its checkpoint"; }
for f in $outs index.html; do cmp -s "OS/$f" "OT/$f" || fail "$f: stopped and resumed differs from straight"; done
pass "SIGTERM in pair 3 (exit 75), resumed: pairs 1-2 untouched (bytes, mtimes), 3 resumed, all outputs as the straight run"

# Bad pairs files: one line naming file and line, nothing written.
bad() {  # EXPECTED FILE-CONTENTS [ARGS...]
  local want=$1 text=$2; shift 2
  printf '%s\n' "$text" > bad.txt
  if "$genet" train job pairs=bad.txt checkpoint_dir=E out_dir=E "$@" > e.out 2> e.err; then fail "accepted: $text"; fi
  grep -q -- "$want" e.err && [ "$(wc -l < e.err)" -eq 1 ] || { cat e.err; fail "message for '$text'"; }
  [ ! -e E ] || fail "'$text' wrote E"
}
bad "bad.txt:2: content missing.png" "$R $G
missing.png $G"
bad "bad.txt:1: style $fx/nope.png" "$R $fx/nope.png"
bad "bad.txt:2: empty line" "$R $G

$P $G"
bad "bad.txt:3: output same.png is line 1's too" "$R $G same.png
$P $G
$G $R same.png"
bad "bad.txt:2: 1 style image, but style_blend has 2 weights" "$R $G,$P
$P $G" style_blend=1,2
bad "bad.txt:1: 1 field, expected CONTENT STYLE" "$R"
if $mpirun -np 2 "$genet" train job pairs= content="$R" style="$G" checkpoint_dir=E out_dir=E > e.out 2> e.err; then fail "2 ranks without pairs accepted"; fi
grep -q "or give pairs = FILE" e.err || { cat e.err; fail "2 ranks without pairs: message"; }
pass "bad pairs files: one line naming file:line, nothing written; 2 ranks need pairs"
echo "all passed"
