#!/usr/bin/env bash
# What a run records besides its log (docs/METRICS.md), checked by an independent reader
# (tests/tb/check_metrics.py: Python's json, its own CRC-32C and TFRecord reader, the Event
# message compiled here by protoc from tests/tb/tb_event_test.proto):
#   metrics.jsonl of the LM (2 ranks stopped at max_steps, 1 rank stopped by SIGTERM, resumed to
#     the end), the DCGAN (stopped, resumed on 2 ranks) and style (stopped, resumed): start,
#     scalar and end records, the tags, steps increasing, the values the log lines print, the best;
#   job.txt is the resolved job; one TensorBoard file per process with the same scalars;
#   the plain progress line (progress_every) and the exit summary; on a terminal the redrawn
#     progress line never shares a line with a log line;
#   planted faults (a flipped byte, a changed value) are caught.
# Usage: test_metrics.sh GENET MPIEXEC FIXTURES
set -euo pipefail
genet=$1
mpirun="$2 --allow-run-as-root --oversubscribe"
fx=$3
tb=$(cd "$(dirname "$0")/tb" && pwd)
. "$(dirname "$0")/testlib.sh"
py=/usr/bin/python3
command -v protoc > /dev/null && $py -c 'import google.protobuf' 2> /dev/null ||
  fail "protoc and Python's protobuf are needed (protobuf-compiler, python3-protobuf: scripts/install-deps.sh)"
mkdir pb
protoc --python_out=pb -I"$tb" "$tb/tb_event_test.proto"
check() { $py "$tb/check_metrics.py" pb "$@"; }

# The exit summary of a log: steps, status, the last checkpoint, the files, the report command.
summary() {  # LOG OUT_DIR STATUS
  grep -Eq "^\| summary: [0-9]+ steps in [0-9.]+ s \([0-9.e+]+ steps/s\), $3 at step [0-9]+(; best [a-z/0-9]+ [-0-9.e+]+ at step [0-9]+)?$" "$1" &&
    grep -q "^| last checkpoint: " "$1" &&
    grep -q "^| metrics: $2/metrics.jsonl, TensorBoard: $2/events.out.tfevents.[0-9]*\..*\.[0-9]* (tensorboard --logdir $2)$" "$1" &&
    grep -qx "| report: genet report $2" "$1" || { tail -6 "$1"; fail "$1: exit summary not as expected"; }
}

# ---- LM
tiny_text_data
cat > lm.job <<'JOB'
task = lm
data = data.h5
emsize = 8
nhid = 8
nlayers = 2
batch = 8
bptt = 10
epochs = 2
log_interval = 10
threads = 1
checkpoint_dir = L
out_dir = ol
JOB
# 4000 tokens / 8 columns: 50 steps an epoch.
$mpirun -np 2 "$genet" train lm.job max_steps=60 > l1.log
summary l1.log ol max_steps
# Endless epochs, so only the signal ends it, after its first plain progress line (1 s).
"$genet" train lm.job epochs=1000000 progress_every=1 > l2.log &
pid=$!
for _ in $(seq 1 600); do grep -q '^| progress: ' l2.log && break; sleep 0.05; done
kill -TERM "$pid"
st=0; wait "$pid" || st=$?
[ "$st" = 75 ] || { cat l2.log; fail "SIGTERM: exit status $st"; }
grep -Eq '^\| progress: lm \| epoch [0-9]+/1000000 \| step [0-9]+/50000000 \| [0-9.]+ steps/s \| ETA [0-9]+:[0-9]{2}:[0-9]{2} \| loss [0-9.e+-]+ \| ppl [0-9.e+-]+$' l2.log ||
  { grep progress l2.log; fail "plain progress line not as expected"; }
summary l2.log ol stopped
stop=$(sed -n 's/^| stopped at step \([0-9]*\) (signal).*/\1/p' l2.log)
"$genet" train lm.job epochs=$((stop / 50 + 2)) > l3.log
summary l3.log ol finished
! grep -q '^| progress: ' l1.log l3.log || fail "progress lines with progress_every = 60 in runs of a second"
check ol lm max_steps,stopped,finished l1.log l2.log l3.log
pass "LM: 2 ranks to max_steps, SIGTERM, resumed to the end: metrics.jsonl, job.txt, TensorBoard agree"

# ---- a metrics file that cannot be written (a full disk): one warning, the run goes on and
# writes its checkpoint; JSON strings are escaped (an out_dir with a quote and a backslash)
# (A full disk for metrics.jsonl alone: the file is at the file-size limit, 1 MiB, so every append
# fails while the checkpoints, tens of KB, fit. A link to /dev/full would be refused: genet does
# not write through links.)
mkdir of
$py -c 'import sys; sys.stdout.write(("{\"pad\": \"" + "x" * 1012 + "\"}\n") * 1024)' > of/metrics.jsonl
st=0; (ulimit -f 1024; "$genet" train lm.job checkpoint_dir=F out_dir=of max_steps=20 > f.log 2> f.err) || st=$?
[ "$st" = 0 ] || { cat f.err; fail "a full disk for metrics.jsonl failed the run"; }
[ "$(wc -c < of/metrics.jsonl)" = 1048576 ] || fail "full disk: the padded metrics.jsonl is not 1 MiB"
[ "$(wc -l < f.err)" = 1 ] && grep -q '^genet: warning: metrics.jsonl not written (of/metrics.jsonl: File too large); training goes on without it$' f.err ||
  { cat f.err; fail "full disk: not one warning line"; }
[ -f F/ckpt_0000000020.h5 ] && grep -q '^| metrics: of/metrics.jsonl (incomplete: see the warning), TensorBoard: ' f.log || fail "full disk: no checkpoint or no note in the summary"
"$genet" train lm.job checkpoint_dir=Q 'out_dir=o"q\z' max_steps=20 > q.log
$py -c 'import json, sys; r = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl")]; sys.exit(r[0]["out_dir"] != sys.argv[1] or r[-1]["event"] != "end")' 'o"q\z' ||
  fail "an out_dir with a quote and a backslash: metrics.jsonl does not parse back"
pass "a metrics file on a full disk: one warning line, the checkpoint is written; strings escaped"

# ---- planted: a flipped byte in an event file, a changed value in metrics.jsonl
ev=$(ls ol/events.out.tfevents.* | head -1)
cp "$ev" bad.tfevents
size=$(stat -c %s bad.tfevents)
printf '\x55' | dd of=bad.tfevents bs=1 seek=$((size - 10)) conv=notrunc status=none
$py "$tb/check_metrics.py" --crc-only "$ev" > /dev/null || fail "the reader rejects a good event file"
if $py "$tb/check_metrics.py" --crc-only bad.tfevents > bad.out; then fail "a flipped byte in an event file was not caught"; fi
grep -q "CRC wrong" bad.out || { cat bad.out; fail "flipped byte: not a CRC failure"; }
cp -r ol olx
sed -i '0,/"train\/loss":[0-9.]*/s//"train\/loss":1.25/' olx/metrics.jsonl
if check olx lm max_steps,stopped,finished l1.log l2.log l3.log > x.out; then fail "a changed value in metrics.jsonl was not caught"; fi
pass "planted: a flipped byte fails the CRC, a changed value fails the comparison"

# ---- on a terminal: one progress line redrawn in place, never mixed with a log line
script -qec "stty cols 500; '$genet' train lm.job checkpoint_dir=T out_dir=ot" /dev/null > tty.out < /dev/null ||
  { cat tty.out; fail "run under a terminal failed"; }
$py - tty.out <<'PY' || fail "terminal progress line"
import re, sys
raw = open(sys.argv[1], "rb").read().decode().replace("\r\n", "\n")
parts = raw.split("\r\x1b[K")
progress = [p for p in parts if p.startswith("lm | ")]
pat = r"^lm \| epoch [12]/2 \| step [0-9]+/100 \| [0-9.]+ steps/s( \| ETA [0-9]+:[0-9]{2}:[0-9]{2})?( \| (loss|ppl) [-0-9.e+]+)*$"
if not progress or any(not re.match(pat, p) for p in progress):
    sys.exit(f"FAIL: progress segments {progress[:3]}")
if any("steps/s |" in p for p in parts if not p.startswith("lm | ")):
    sys.exit("FAIL: a log line holds progress text")
if not raw.endswith("| report: genet report ot\n") or "| End of training |" not in raw:
    sys.exit("FAIL: the log does not end with the summary")
print(f"{len(progress)} progress redraws, each cleared before the next log line")
PY
pass "terminal: the progress line is redrawn with \\r and cleared before every log line"

# ---- DCGAN: stopped at max_steps, resumed on 2 ranks
"$genet" prepare synthetic-images imgs.h5 n=96 seed=2 > /dev/null
cat > gan.job <<'JOB'
task = dcgan
data = imgs.h5
nz = 8
ngf = 4
ndf = 4
batch = 8
epochs = 2
log_interval = 4
sample_every = 0
swd_images = 8    # 8, a batch: the SWD costs most under the sanitizers
threads = 1
checkpoint_dir = G
out_dir = og
JOB
"$genet" train gan.job max_steps=14 > g1.log
$mpirun -np 2 "$genet" train gan.job > g2.log
summary g1.log og max_steps
summary g2.log og finished
check og dcgan max_steps,finished g1.log g2.log
pass "DCGAN: stopped at max_steps and resumed on 2 ranks: losses, SWD, TensorBoard agree"

# ---- style: stopped at max_steps, resumed
ln -s "$fx" fx
cat > style.job <<'JOB'
task = style
content = fx/image_rgb.jpg
style = fx/image_palette.png
vgg = fx/vgg_tiny_weights.h5
size = 24
max_evals = 30
max_iter = 3
history = 4
show_every = 4
checkpoint_dir = S
out_dir = os
JOB
"$genet" train style.job max_steps=3 > s1.log
"$genet" train style.job > s2.log
summary s1.log os max_steps
summary s2.log os finished
check os style max_steps,finished s1.log s2.log
pass "style: stopped and resumed: losses, TensorBoard agree"
