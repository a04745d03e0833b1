#!/usr/bin/env bash
# The genet command: help, version, info work; unknown input is one line and exit code 2.
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
# one line, not a screenful
lines=$("$genet" frobnicate 2>&1 | wc -l)
if [ "$lines" = 1 ]; then echo "ok   unknown command is one line"; pass=$((pass+1)); else echo "FAIL unknown command printed $lines lines"; fail=$((fail+1)); fi
echo "cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
