#!/usr/bin/env bash
# The language model learns: on Markov text whose entropy rate H the generator prints, the
# trained model's test perplexity must come within 10% of the floor exp(H) that no model can
# beat, and far below the unigram perplexity (what ignoring context gets).
# Usage: test_lm_quality.sh GENET
set -euo pipefail
genet=$1
. "$(dirname "$0")/testlib.sh"
"$genet" prepare synthetic-text txt tokens=100000 seed=7 > prep.log
"$genet" prepare text txt data.h5 > /dev/null
floor=$(sed -n 's/.*perplexity floor \([0-9.]*\) .*/\1/p' prep.log)
unigram=$(sed -n 's/.*unigram perplexity \([0-9.]*\)).*/\1/p' prep.log)
cat > job <<'JOB'
task = lm
data = data.h5
emsize = 32
nhid = 32
nlayers = 2
dropout = 0
dropout_io = 0
batch = 20
bptt = 35
epochs = 8
threads = 1
checkpoint_dir = ck
JOB
"$genet" train job > train.log
ppl=$(sed -n 's/^| End of training | test loss *[0-9.]* | test ppl *\([0-9.]*\).*/\1/p' train.log)
echo "test perplexity $ppl; floor exp(H) $floor; unigram $unigram"
awk -v p="$ppl" -v f="$floor" -v u="$unigram" 'BEGIN {
  if (p == "" || f == "" || u == "") { print "FAIL: could not read the figures"; exit 1 }
  printf "ratio to the floor %.3f (bound 1.10)\n", p / f
  if (p > 1.10 * f) { print "FAIL: test perplexity more than 10% above the floor"; exit 1 }
  if (p < 0.95 * f) { print "FAIL: below the floor: the loss or the floor is wrong"; exit 1 }
  if (p > u / 5) { print "FAIL: not far below the unigram perplexity"; exit 1 }
  print "ok"
}'
