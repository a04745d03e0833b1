#!/usr/bin/env bash
# The genet command: help, version, info work; unknown input is one line and exit code 2; an
# HDF5 file that would make libhdf5 exhaust memory is refused in one line.
set -u
genet=$1
src=$2
pass=0; fail=0
check() {  # check NAME EXPECTED_RC PATTERN CMD...
  local name=$1 want=$2 pat=$3; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" = "$want" ] && printf '%s' "$out" | grep -qE "$pat"; then
    echo "ok   $name"; pass=$((pass+1))
  else
    echo "FAIL $name: rc=$rc (want $want), output: $out"; fail=$((fail+1))
  fi
}
check "help"              0 "usage: genet"            "$genet" --help
check "version"           0 "oneDNN +[0-9]+\.[0-9]+"  "$genet" version
check "version has HDF5"  0 "HDF5 +1\."               "$genet" version
check "version has MPI"   0 "MPI +[0-9]"              "$genet" version
check "version says CUDA" 0 "CUDA +(built in|not built)" "$genet" version
check "info"              0 "CPU: [0-9]+ cores"       "$genet" info
check "info GPU line"     0 "GPU: ([0-9]+ CUDA device|no CUDA device)" "$genet" info
check "unknown command"   2 "^genet: unknown command 'frobnicate'" "$genet" frobnicate
check "unknown option"    2 "^genet: unknown option '--frob'" "$genet" --frob
check "no command"        2 "usage: genet"            "$genet"
check "version extra arg" 2 "takes no arguments"      "$genet" version extra
check "inspect fixture"   0 "act/tanh/dx +float32 +\(3, 5, 7, 9\)" "$genet" inspect "$src/tests/fixtures/linear.h5"
check "inspect non-HDF5"  1 "^genet: .*README.md: not an HDF5 file" "$genet" inspect "$src/README.md"
check "inspect missing"   1 "^genet: /nonexistent.h5: cannot open" "$genet" inspect /nonexistent.h5
check "inspect no file"   2 "usage: genet inspect" "$genet" inspect
# prepare text refuses a corpus that is not UTF-8: one line naming file, line and column, exit
# 1, nothing written (no output, no .sum, no temporary file).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'Fine words\nÉcole ΟΔΟΣ\nab \xe2\x82 cd\n' > "$tmp/train.txt"
printf 'a\n' > "$tmp/valid.txt"; printf 'a\n' > "$tmp/test.txt"
check "prepare text bad UTF-8" 1 "^genet: $tmp/train.txt:3: invalid UTF-8 byte 0xe2 at column 4 \(truncated sequence" \
  "$genet" prepare text "$tmp" "$tmp/out.h5"
left=$(ls -A "$tmp" | tr '\n' ' ')
lines=$("$genet" prepare text "$tmp" "$tmp/out.h5" 2>&1 | wc -l)
if [ "$left" = "test.txt train.txt valid.txt " ] && [ "$lines" = 1 ]; then
  echo "ok   prepare text bad UTF-8: one line, nothing written"; pass=$((pass+1))
else
  echo "FAIL prepare text bad UTF-8: $lines lines, directory holds: $left"; fail=$((fail+1))
fi
printf 'Fine words\nÉcole ΟΔΟΣ\n' > "$tmp/train.txt"
check "prepare text UTF-8"  0 "vocabulary 6 words" "$genet" prepare text "$tmp" "$tmp/out.h5"
# A 7 KB file on which libhdf5 allocates without bound (15 GB; found by tests/fuzz). Without a
# .sum it is read first in a child process stopped at its memory budget (src/data/h5probe.h) and
# refused in one line: given to inspect, as init_weights and in place of a dataset. `timeout`
# keeps a regression from taking the machine's memory.
refused() {  # refused NAME FILE CMD...: exit 1 within 5 s, one line on stderr naming FILE
  local name=$1 file=$2; shift 2
  local out rc
  out=$(timeout -s KILL 5 "$@" 2>&1 >/dev/null); rc=$?
  if [ "$rc" = 1 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
     printf '%s' "$out" | grep -qE "^genet: (.*: )?$file: unreadable HDF5 file \(libhdf5 needed more than [0-9]+ MB while reading it\); it is damaged or not written by genet$"; then
    echo "ok   $name"; pass=$((pass+1))
  else
    echo "FAIL $name: rc=$rc (want 1), stderr: $out"; fail=$((fail+1))
  fi
}
scratch=$(mktemp -d)
trap 'rm -rf "$tmp" "$scratch"' EXIT
refused "inspect libhdf5 out-of-memory file" "$src/tests/fixtures/hdf5_oom.h5" "$genet" inspect "$src/tests/fixtures/hdf5_oom.h5"
cd "$scratch"
cp "$src/tests/fixtures/hdf5_oom.h5" bad.h5
"$genet" prepare synthetic-images data.h5 n=16 size=32 seed=2 > /dev/null
printf 'task = dcgan\nnz = 8\nngf = 4\nndf = 4\nbatch = 8\nepochs = 1\nthreads = 1\n' > job
refused "train: the same file as init_weights" bad.h5 "$genet" train job data=data.h5 init_weights=bad.h5 checkpoint_dir=c1 out_dir=o1
refused "train: the same file as data, no .sum" bad.h5 "$genet" train job data=bad.h5 checkpoint_dir=c2 out_dir=o2
# Valid files without their .sum still open: a dataset, and a checkpoint as init_weights.
cp data.h5 nosum.h5
check "train: valid data, no .sum" 0 "stopped at step 1" "$genet" train job data=nosum.h5 checkpoint_dir=c3 out_dir=o3 max_steps=1
cp c3/ckpt_0000000001.h5 iw.h5
check "train: valid init_weights, no .sum" 0 "initial weights from iw.h5" "$genet" train job data=nosum.h5 init_weights=iw.h5 checkpoint_dir=c4 out_dir=o4 max_steps=1
check "inspect valid checkpoint, no .sum" 0 "meta/step +int64 +\(\) += 1" "$genet" inspect iw.h5
cd - > /dev/null
# one line, not a screenful
lines=$("$genet" frobnicate 2>&1 | wc -l)
if [ "$lines" = 1 ]; then echo "ok   unknown command is one line"; pass=$((pass+1)); else echo "FAIL unknown command printed $lines lines"; fail=$((fail+1)); fi
# `genet prepare`'s usage names every kind prepare_cmd.c dispatches on (it once left out
# synthetic-glyphs, which make demo uses).
usage_text=$("$genet" prepare 2>&1)
for kind in $(sed -n 's/.*strcmp(kind, "\([a-z0-9-]*\)").*/\1/p' "$src/src/cmd/prepare_cmd.c" | sort -u); do
  if printf '%s' "$usage_text" | grep -q "genet prepare $kind "; then
    echo "ok   prepare usage names $kind"; pass=$((pass+1))
  else
    echo "FAIL prepare usage does not name $kind"; fail=$((fail+1))
  fi
done
# The task registry (src/tasks/registry.c) is the one list: `genet train --help`'s sections,
# the `task` key's choices, `genet help`'s line and scripts/torch_to_h5.py's --task choices agree.
sections=$("$genet" train --help | sed -n 's/^task = \([a-z0-9_]*\):$/\1/p' | paste -sd' ')
choices=$("$genet" train --help | sed -n 's/^  task  *the workload (\([a-z0-9_|]*\)).*/\1/p' | tr '|' ' ')
helpline=$("$genet" help | sed -n "s/.*train the job's task (\([a-z0-9_, ]*\)).*/\1/p" | tr -d ',')
torch=$(/usr/bin/python3 "$src/scripts/torch_to_h5.py" --help 2>/dev/null | tr -d '\n ' | sed -n 's/.*--task{\([a-z0-9_,]*\)}.*/\1/p' | tr ',' ' ')
printf 'task = nosuchtask\n' > "${TMPDIR:-/tmp}/cli_task_$$.job"
errline=$("$genet" train "${TMPDIR:-/tmp}/cli_task_$$.job" 2>&1 | sed -n 's/.*expected one of \([a-z0-9_|]*\).*/\1/p' | tr '|' ' ')
rm -f "${TMPDIR:-/tmp}/cli_task_$$.job"
for what in "choices:$choices" "help:$helpline" "torch_to_h5.py:$torch" "error:$errline"; do
  if [ -n "$sections" ] && [ "${what#*:}" = "$sections" ]; then
    echo "ok   task list of ${what%%:*} = train --help's ($sections)"; pass=$((pass+1))
  else
    echo "FAIL task list of ${what%%:*} is '${what#*:}', train --help's '$sections'"; fail=$((fail+1))
  fi
done
echo "cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
