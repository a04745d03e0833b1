#!/usr/bin/env bash
# One rank of four fails; the whole job must end non-zero within seconds, naming the rank.
set -u
mpiexec=$1; prog=$2
start=$(date +%s)
out=$(timeout 60 "$mpiexec" --allow-run-as-root --oversubscribe -np 4 "$prog" --abort-on-rank 2 2>&1)
rc=$?
secs=$(( $(date +%s) - start ))
pass=0; fail=0
if [ "$rc" != 0 ] && [ "$rc" != 124 ]; then echo "ok   job exited non-zero ($rc)"; pass=$((pass+1)); else echo "FAIL job rc=$rc (124 = hung until timeout)"; fail=$((fail+1)); fi
if [ "$secs" -le 20 ]; then echo "ok   ended in ${secs}s"; pass=$((pass+1)); else echo "FAIL took ${secs}s"; fail=$((fail+1)); fi
if printf '%s' "$out" | grep -q "genet: rank 2: planted failure"; then echo "ok   message names rank 2"; pass=$((pass+1)); else echo "FAIL output: $out"; fail=$((fail+1)); fi
echo "comm_abort: $pass passed, $fail failed"
[ "$fail" = 0 ]
