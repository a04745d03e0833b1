#!/usr/bin/env bash
# Files and paths genet did not write itself (issue 18): what another user of a shared
# directory, or a slip, can put where genet reads or writes. Run as root in CI, so a link's
# harm is seen in its target's content, not in a permission error.
#   a link or hard link at a lock, a fixed temporary or an output is never written through;
#   a FIFO or device where a file is read is refused at once, never waited on;
#   a crash on either side of best.h5's rename leaves a file that verifies against its .sum;
#   report does not embed a link (out of the run directory);
#   a second run on the same out_dir is refused, naming the first;
#   CIFAR batch names that are directories are refused in one line.
# Usage: test_trust_paths.sh GENET
set -euo pipefail
genet=$(realpath "$1")
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
log_interval = 10
threads = 1
JOB
victim() { echo "precious $1" > "$1"; }
intact() { [ "$(cat "$1")" = "precious $1" ] || fail "$2: $1 was written through a link: $(head -c 80 "$1" | tr -d '\0')"; }
one_line() { [ "$(wc -l < "$1")" = 1 ] || { cat "$1"; fail "$2: not one error line"; }; }

# ---- writing: never through a link, never truncating a file genet did not make
victim v1; mkdir K1; ln -s "$PWD/v1" K1/.lock
st=0; "$genet" train job checkpoint_dir=K1 max_steps=5 > k1.log 2> k1.err || st=$?
[ "$st" != 0 ] || fail "a symlinked .lock: the run went on"
intact v1 ".lock symlink"
grep -q "K1/.lock: a symbolic link, not followed (expected a regular file)" k1.err || { cat k1.err; fail ".lock symlink: wrong message"; }
one_line k1.err ".lock symlink"
victim v2; mkdir K2; ln v2 K2/.lock
st=0; "$genet" train job checkpoint_dir=K2 max_steps=5 > k2.log 2> k2.err || st=$?
[ "$st" != 0 ] || fail "a hard-linked .lock: the run went on"
intact v2 ".lock hard link"
grep -q "K2/.lock: has 2 hard links, expected a regular file with one" k2.err || { cat k2.err; fail ".lock hard link: wrong message"; }
pass "a .lock that is a symbolic or hard link is refused, its target untouched"

# The fixed temporaries of a prepared dataset and its .sum (H5Fcreate with H5F_ACC_TRUNC and
# fopen("w") follow links), and an output written in place (synthetic-text's splits).
victim v3; victim v4; ln -s "$PWD/v3" .d2.h5.tmp; ln -s "$PWD/v4" d2.h5.sum.tmp
"$genet" prepare text txt d2.h5 > d2.log 2>&1 || { cat d2.log; fail "prepare with stale temporary links failed"; }
intact v3 "dataset temporary"; intact v4 ".sum temporary"
[ -f d2.h5 ] && [ ! -L d2.h5 ] && [ -f d2.h5.sum ] && [ ! -L d2.h5.sum ] || fail "prepare: d2.h5 or its .sum is not a regular file"
"$genet" inspect d2.h5 > /dev/null || fail "prepare past stale temporary links: d2.h5 does not verify"
victim v5; mkdir T; ln -s "$PWD/v5" T/train.txt
st=0; "$genet" prepare synthetic-text T tokens=100 > t.log 2> t.err || st=$?
[ "$st" != 0 ] || fail "synthetic-text over a link: exit 0"
intact v5 "synthetic-text output"
grep -q "T/train.txt: a symbolic link, expected a regular file or nothing" t.err || { cat t.err; fail "output link: wrong message"; }
# Outputs in out_dir: metrics.jsonl is appended (a link refused, said in one line), job.txt is
# replaced by a rename (the link itself, not its target).
victim v6; victim v7; mkdir O6; ln -s "$PWD/v6" O6/metrics.jsonl; ln -s "$PWD/v7" O6/job.txt
"$genet" train job checkpoint_dir=K6 out_dir=O6 max_steps=5 > k6.log 2>&1 || true
intact v6 "metrics.jsonl"; intact v7 "job.txt"
grep -q "O6/metrics.jsonl: a symbolic link, not followed" k6.log || { cat k6.log; fail "metrics.jsonl link: not reported"; }
pass "temporaries and outputs: links replaced or refused, never written through"

# ---- reading: only regular files, never blocking
"$genet" train job checkpoint_dir=F max_steps=10 checkpoint_every=5 > f1.log
rm F/latest; mkfifo F/latest
st=0; timeout -s KILL 60 "$genet" train job checkpoint_dir=F max_steps=15 > f2.log 2> f2.err || st=$?
[ "$st" = 0 ] || { cat f2.err; fail "a FIFO named latest: status $st (137: it hung, killed)"; }
grep -q "F/latest: a FIFO, expected a regular file" f2.err || { cat f2.err; fail "FIFO latest: not named"; }
grep -q "resum.* step 10" f2.log || { cat f2.log; fail "FIFO latest: not resumed from the newest checkpoint"; }
rm F/latest  # else it names step 15, tried first
cp F/ckpt_0000000015.h5.sum F/ckpt_0000000099.h5.sum; ln -s /dev/zero F/ckpt_0000000099.h5
st=0; timeout -s KILL 60 "$genet" train job checkpoint_dir=F max_steps=20 > f3.log 2> f3.err || st=$?
[ "$st" = 0 ] || { cat f3.err; fail "a checkpoint linked to /dev/zero: status $st (137: it hung, killed)"; }
grep -q "ckpt_0000000099.h5: a character device, expected a regular file" f3.log f3.err || { cat f3.log f3.err; fail "/dev/zero checkpoint: not named"; }
rm F/ckpt_0000000099.h5*
mkfifo fifo.job fifo.h5
for c in "train fifo.job" "train job data=fifo.h5 checkpoint_dir=F5" "inspect fifo.h5"; do
  st=0; timeout -s KILL 60 "$genet" $c > r.log 2> r.err || st=$?
  [ "$st" != 0 ] && [ "$st" != 137 ] || fail "$c: status $st (137: it hung, killed)"
  grep -q "fifo.*: a FIFO, expected a regular file" r.err || { cat r.err; fail "$c: wrong message"; }
done
pass "a FIFO or device in place of latest, a checkpoint, a job file or a dataset is refused without blocking"

# ---- a crash on either side of the rename that replaces a verified file (best.h5 and the
# prepared datasets share it): the file there verifies against its .sum
"$genet" inspect data.h5 > old.txt
sed 's/$/ extra words here/' txt/train.txt > txt2
mkdir txtB; cp txt2 txtB/train.txt; cp txt/valid.txt txt/test.txt txtB/
st=0; GENET_TEST_KILL_AT=before-rename "$genet" prepare text txtB data.h5 > /dev/null 2>&1 || st=$?
[ "$st" = 137 ] || fail "kill before the rename: status $st (the crash point was not reached)"
"$genet" inspect data.h5 > c1.txt 2> c1.err || { cat c1.err; fail "killed before the rename: the old file is refused"; }
cmp -s old.txt c1.txt || fail "killed before the rename: not the old file"
st=0; GENET_TEST_KILL_AT=after-rename "$genet" prepare text txtB data.h5 > /dev/null 2>&1 || st=$?
[ "$st" = 137 ] || fail "kill after the rename: status $st"
"$genet" inspect data.h5 > c2.txt 2> c2.err || { cat c2.err; fail "killed after the rename: the new file is refused"; }
cmp -s old.txt c2.txt && fail "killed after the rename: still the old file"
"$genet" prepare text txtB data.h5 > /dev/null
[ "$(wc -l < data.h5.sum)" = 1 ] || fail "a completed write left more than one line in the .sum"
"$genet" inspect data.h5 | cmp -s - c2.txt || fail "the completed write differs from the one killed after its rename"
# A damaged file still fails against a .sum of two lines.
cp data.h5 keep.h5; printf 'x' | dd of=data.h5 bs=1 seek=100 conv=notrunc 2>/dev/null
st=0; "$genet" inspect data.h5 > /dev/null 2> d.err || st=$?
[ "$st" != 0 ] && grep -q "checksum mismatch" d.err || { cat d.err; fail "a damaged file passed its .sum"; }
mv keep.h5 data.h5
pass "killed before or after the rename: the old or the new file verifies; damage is still found"

# ---- report embeds no link (job.txt or *.txt pointing out of the run directory)
echo "SECRET-outside-run" > secret
mkdir R; cp out/metrics.jsonl R/
echo "inside-run-note" > R/notes.txt
ln -s "$PWD/secret" R/job.txt; ln -s "$PWD/secret" R/leak.txt
"$genet" report R > rep.log 2> rep.err || { cat rep.err; fail "report with linked text files failed"; }
grep -q "SECRET-outside-run" R/report.html && fail "report embedded a file through a link"
grep -q "inside-run-note" R/report.html || fail "report lost a regular text file"
grep -q "R/leak.txt: a symbolic link, not followed" rep.err || { cat rep.err; fail "report: the link is not named"; }
mkdir R2; mkfifo R2/metrics.jsonl
st=0; timeout -s KILL 60 "$genet" report R2 > /dev/null 2> r2.err || st=$?
[ "$st" != 0 ] && [ "$st" != 137 ] && grep -q "R2/metrics.jsonl: a FIFO, expected a regular file" r2.err || { cat r2.err; fail "report on a FIFO metrics.jsonl: status $st"; }
pass "report embeds no symbolic link and refuses a FIFO metrics.jsonl"

# ---- one run per out_dir (runs with their own checkpoint_dir would interleave metrics)
"$genet" train job checkpoint_dir=LA out_dir=LO epochs=1000000 > la.log &
pid=$!
for _ in $(seq 1 2000); do grep -q '^| epoch' la.log 2>/dev/null && break; sleep 0.005; done
st=0; "$genet" train job checkpoint_dir=LB out_dir=LO max_steps=5 > lb.log 2> lb.err || st=$?
kill -KILL "$pid"; wait "$pid" 2>/dev/null || true
[ "$st" = 1 ] || { cat lb.err; fail "second run on an out_dir in use: status $st"; }
grep -q "out_dir LO is in use by another run (pid $pid on .*, job job)" lb.err || { cat lb.err; fail "out_dir in use: wrong message"; }
one_line lb.err "out_dir in use"
"$genet" train job checkpoint_dir=LC out_dir=LC max_steps=5 > lc.log 2>&1 || { cat lc.log; fail "out_dir = checkpoint_dir: refused by its own lock"; }
pass "a second run on an out_dir in use is refused, naming the holder; out_dir = checkpoint_dir works"

# ---- CIFAR batches that are not regular files
mkdir C; for b in 1 2 3 4; do head -c 3073 /dev/zero > C/data_batch_$b.bin; done
mkdir C/data_batch_5.bin; head -c 3073 /dev/zero > C/test_batch.bin
st=0; "$genet" prepare cifar10 C c.h5 > /dev/null 2> c.err || st=$?
[ "$st" != 0 ] || fail "CIFAR: a directory batch accepted"
grep -q "C/data_batch_5.bin: a directory, expected a regular file" c.err || { cat c.err; fail "CIFAR directory batch: wrong message"; }
one_line c.err "CIFAR directory batch"
[ ! -e c.h5 ] || fail "CIFAR: an output written after a refused batch"
pass "a CIFAR batch that is a directory is refused in one line"
