#!/usr/bin/env bash
# Files and arguments genet did not write itself, and outputs under pressure (issue 18):
#   prepare text: a line too long for the memory limit is a read error, not the end of the file;
#   a vocabulary larger than train reads is refused when written;
#   metrics.jsonl: a partial last line (a full disk, a kill) is cut off when a run resumes;
#   a non-UTF-8 out_dir still gives JSON; report: 60,000 tags in well under a second, a capped
#   page that says what it left out, times of +-1.7e308 not printed as "-2147483648 h";
#   a 1x3000 PNG is one line, not an assertion; generate's arguments are range-checked and it
#   samples on one thread unless threads= says otherwise; a full out_dir costs a DCGAN run its
#   sample grids (warnings), not its checkpoint.
# Usage: test_trust_text.sh GENET BUILD_KIND (asan: the sanitizer build, where ulimit -v cannot work)
set -u
genet=$1 kind=${2:-plain}
. "$(dirname "$0")/testlib.sh"
py=/usr/bin/python3

# ---- prepare text under a memory limit: 100 short lines, one 200 MB line, 100 more.
if [ "$kind" = asan ]; then
  echo "SKIP prepare text under ulimit -v: AddressSanitizer reserves terabytes of address space"
else
  mkdir big small
  "$py" - <<'EOF'
with open('big/train.txt', 'w') as f:
    f.writelines('w%d x y\n' % i for i in range(100))
    f.write('a' * 200_000_000 + '\n')
    f.writelines('v%d x y\n' % i for i in range(100))
EOF
  for d in big small; do printf 'x y\n' > $d/valid.txt; printf 'x y\n' > $d/test.txt; done
  printf 'x y z\n' > small/train.txt
  # The limit: what genet needs for a small corpus (found by bisection, to 16 MiB: a build with
  # CUDA maps its libraries' address space at start) plus 128 MiB, room for the small corpus
  # and not for the 200 MB line's buffer.
  runs_under() { (ulimit -v "$1" && "$genet" prepare text small s.h5 > /dev/null 2> s.err); }
  lo=65536 hi=33554432  # KiB: 64 MiB (too little for any build) .. 32 GiB
  if runs_under $hi; then
    while [ $((hi - lo)) -gt 16384 ]; do
      mid=$(((lo + hi) / 2))
      if runs_under $mid; then hi=$mid; else lo=$mid; fi
    done
    limit=$((hi + 131072))
    st=0
    (ulimit -v $limit; exec "$genet" prepare text big o.h5) > o.out 2> o.err || st=$?
    [ "$st" != 0 ] || { cat o.out; rm -rf big; fail "prepare text under ulimit -v $limit: exit 0 (the corpus was cut short)"; }
    [ "$(wc -l < o.err)" -eq 1 ] && grep -q "big/train.txt:101: read error" o.err || { cat o.err; fail "prepare text: message"; }
    [ ! -e o.h5 ] || fail "prepare text under ulimit -v wrote o.h5"
    pass "prepare text under ulimit -v $limit KiB (genet's start needs $hi): a line that cannot be held is a read error naming the file and line"
  else
    echo "SKIP prepare text under ulimit -v: a 3-word corpus fails even under 32 GiB here: $(cat s.err)"
  fi
  rm -rf big
fi

# ---- a vocabulary over the 64 MiB that train reads: 270 distinct words of 250,000 letters.
mkdir voc
"$py" -c "
import string
with open('voc/train.txt', 'w') as f:
    for i in range(270): f.write(string.ascii_lowercase[i % 26] * 249_990 + '%09d' % i + '\n')
"
printf 'x\n' > voc/valid.txt; printf 'x\n' > voc/test.txt
st=0
"$genet" prepare text voc v.h5 > v.out 2> v.err || st=$?
rm -rf voc
[ "$st" != 0 ] && [ "$(wc -l < v.err)" -eq 1 ] && grep -q "voc/train.txt: a vocabulary of 272 words takes" v.err ||
  { cat v.err; fail "prepare text: a 67.5 MB vocabulary: status $st"; }
[ ! -e v.h5 ] || fail "prepare text wrote a vocabulary that train refuses"
pass "prepare text: a vocabulary larger than train reads is refused when written"

# ---- a tiny LM run, cut mid-line and resumed
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
log_interval = 5
threads = 1
JOB
valid_json() {  # FILE: every line a JSON object for Python (strict UTF-8)
  "$py" -c "import json,sys; [json.loads(l) for l in open(sys.argv[1], encoding='utf-8')]" "$1"
}
"$genet" train job checkpoint_dir=C out_dir=O max_steps=20 checkpoint_every=10 > c1.log || fail "first run"
truncate -s -20 O/metrics.jsonl
"$genet" train job checkpoint_dir=C out_dir=O max_steps=40 checkpoint_every=10 > c2.log 2> c2.err || { cat c2.err; fail "resumed run"; }
grep -q "metrics.jsonl: cut off a partial last line of" c2.err || { cat c2.err; fail "no warning about the cut line"; }
valid_json O/metrics.jsonl || fail "metrics.jsonl after a resume over a cut line is not JSON lines"
"$genet" report O > /dev/null || fail "report after a resume over a cut line"
[ "$(grep -c '"event":"start"' O/metrics.jsonl)" = 2 ] || fail "expected two start records"
pass "metrics.jsonl: a partial last line is cut off when a run resumes"

# ---- a path that is not UTF-8
"$genet" train job checkpoint_dir=C8 out_dir=$'u\xff/out' max_steps=5 > u.log || fail "run with a non-UTF-8 out_dir"
valid_json $'u\xff/out/metrics.jsonl' || fail "a non-UTF-8 out_dir: metrics.jsonl is not JSON"
grep -q 'u\\ufffd/out' $'u\xff/out/metrics.jsonl' || fail "the byte 0xff is not written as \\ufffd"
"$genet" report $'u\xff/out' > /dev/null || fail "report of a non-UTF-8 out_dir"
pass "a non-UTF-8 out_dir: metrics.jsonl is valid JSON (U+FFFD for the byte)"

# ---- generate's arguments: the job's range checks, and one thread unless threads= says
ck=$(ls C/ckpt_*.h5 | tail -n 1)  # the last of the rotation
gen_bad() {  # ARG PATTERN
  local st=0
  "$genet" generate "$ck" "$1" > g.out 2> g.err || st=$?
  [ "$st" = 2 ] && [ "$(wc -l < g.err)" -eq 1 ] && grep -q "$2" g.err || { cat g.err; fail "generate $1: status $st"; }
}
gen_bad seed=99999999999999999999 "generate: seed = '99999999999999999999': expected an integer in \[0, 4294967295\]"
gen_bad seed=-1 "seed = '-1': expected an integer in"
gen_bad words=1e3 "words = '1e3': expected an integer"
gen_bad words=99999999999 "words = '99999999999': expected an integer in \[0, 100000000\]"
gen_bad threads=-2 "threads = '-2'"
gen_bad thread=2 "generate: unknown key 'thread' (words, temperature, seed, prompt, threads)"
"$genet" generate "$ck" words=20 > g1.txt 2> g1.err || { cat g1.err; fail "generate"; }
grep -qx "genet: generate: sampling on 1 thread" g1.err || { cat g1.err; fail "generate: not one thread by default"; }
OMP_NUM_THREADS=3 "$genet" generate "$ck" words=20 > g3.txt 2> g3.err || fail "generate with OMP_NUM_THREADS=3"
grep -qx "genet: generate: sampling on 1 thread" g3.err || { cat g3.err; fail "generate: OMP_NUM_THREADS made the default"; }
"$genet" generate "$ck" words=20 threads=2 > g2.txt 2> g2.err || { cat g2.err; fail "generate threads=2"; }
grep -qx "genet: generate: sampling on 2 threads" g2.err || { cat g2.err; fail "generate: threads=2 not used"; }
cmp -s g1.txt g2.txt || fail "generate: threads=2 gave other words"
st=0; "$genet" report O foo=1 2> r.err || st=$?
[ "$st" = 2 ] && grep -q "report: unknown key 'foo' (out)" r.err || { cat r.err; fail "report foo=1"; }
st=0; "$genet" prepare synthetic-text t2 tokens=99 2> p.err || st=$?
[ "$st" = 2 ] && grep -q "prepare synthetic-text: tokens = '99': expected an integer in \[100," p.err || { cat p.err; fail "prepare tokens=99"; }
pass "generate, report, prepare: key=value arguments checked as job keys; generate on 1 thread by default"

# ---- report: 60,000 distinct tags (was 36.9 s and a 103 MB page)
mkdir R
"$py" -c "
with open('R/metrics.jsonl', 'w') as f:
    f.writelines('{\"step\":%d,\"g%d/x\":1}\n' % (i, i) for i in range(60000))
"
timeout 20 "$genet" report R > /dev/null || fail "report of 60,000 tags: not done in 20 s (status $?)"
bytes=$(stat -c %s R/report.html)
[ "$bytes" -lt 2000000 ] || fail "report of 60,000 tags: a page of $bytes bytes"
grep -q "Showing the first [0-9]* of 60000 series" R/report.html || fail "report: no note of the series left out"
[ "$(grep -c '<svg' R/report.html)" -le 200 ] || fail "report: more than 200 charts"
pass "report: 60,000 tags in time, at most 200 series on a page that says how many it left out"

# ---- report: times of +-1.7e308
mkdir T
printf '{"event":"start","time":-1.7e308,"task":"lm","step":0}\n{"step":1,"time":1.7e308,"train/loss":1}\n' > T/metrics.jsonl
"$genet" report T > /dev/null || fail "report of times +-1.7e308"
! grep -q -- '-2147483648' T/report.html || fail "report: a time printed as -2147483648 h"
grep -q 'over 10000000 h' T/report.html || fail "report: no clamped time"
pass "report: times of +-1.7e308 are clamped, not cast"

# ---- a 1x3000 PNG
mkdir img
"$py" -c "
import struct, zlib
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
raw = b''.join(b'\0' + b'\x80\x80\x80' for _ in range(3000))  # 3000 rows of one RGB pixel
open('img/thin.png', 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 1, 3000, 8, 2, 0, 0, 0))
    + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
"
st=0
"$genet" prepare images img i.h5 size=32 > i.out 2> i.err || st=$?
[ "$st" = 1 ] && [ "$(wc -l < i.err)" -eq 1 ] && grep -q "img/thin.png: a 1x3000 image resized to short side 32" i.err ||
  { cat i.err; fail "prepare images of a 1x3000 PNG: status $st"; }
[ ! -e i.h5 ] || fail "prepare images wrote a file"
pass "a 1x3000 PNG: one line, not an assertion"

# ---- a full out_dir: a DCGAN run warns for its grids and keeps its checkpoint
mkdir full
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=64k tmpfs full 2> m.err; then
  echo "SKIP a full out_dir: cannot mount a tmpfs here (not root, or no privilege): $(cat m.err 2> /dev/null)"
else
  trap 'umount "$w/full" 2> /dev/null; rm -rf "$w"' EXIT
  mkdir full/out
  # The run's lock is written into out_dir first (a run that cannot write it does not start):
  # a page of it is there before the disk fills, and its rewrite reuses that page.
  head -c 4096 /dev/zero > full/out/.lock
  dd if=/dev/zero of=full/fill bs=4k 2> /dev/null  # until the file system is full
  "$genet" prepare synthetic-glyphs a.h5 n=64 size=32 seed=3 > /dev/null
  st=0
  printf '%s\n' task=dcgan data=a.h5 image_size=32 nz=8 ngf=8 ndf=8 batch=32 epochs=1 log_interval=100 \
    sample_every=0 threads=1 swd=false > djob
  "$genet" train djob checkpoint_dir=DC out_dir=full/out > d.log 2> d.err || st=$?
  umount full
  [ "$st" = 0 ] || { cat d.err; fail "DCGAN with a full out_dir: status $st"; }
  grep -q "warning: real_samples.png not written" d.err || { cat d.err; fail "no warning for real_samples.png"; }
  ls DC/ckpt_*.h5 > /dev/null 2>&1 || fail "DCGAN with a full out_dir: no checkpoint"
  pass "a full out_dir: the DCGAN run warns for its grids and keeps its checkpoint"
fi
echo "all passed"
