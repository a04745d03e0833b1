#!/usr/bin/env bash
# One rank of four fails; the whole job must end non-zero within seconds, naming the rank.
# One rank of four stops taking part (sleeps 60 s); with a 1 s collective timeout the others
# must end the job within seconds, naming the collective, instead of waiting for it.
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

start=$(date +%s)
out=$(timeout 60 "$mpiexec" --allow-run-as-root --oversubscribe -np 4 "$prog" --stall-rank 1 2>&1)
rc=$?
secs=$(( $(date +%s) - start ))
if [ "$rc" != 0 ] && [ "$rc" != 124 ]; then echo "ok   stalled rank: job exited non-zero ($rc)"; pass=$((pass+1)); else echo "FAIL stalled rank: job rc=$rc (124 = hung until timeout)"; fail=$((fail+1)); fi
if [ "$secs" -le 20 ]; then echo "ok   stalled rank: ended in ${secs}s, not after the 60 s sleep"; pass=$((pass+1)); else echo "FAIL stalled rank: took ${secs}s"; fail=$((fail+1)); fi
if printf '%s' "$out" | grep -q "genet: rank [023]: all-reduce: the other ranks did not all arrive within collective_timeout = 1 s"; then
  echo "ok   message names the collective and the timeout"; pass=$((pass+1))
else echo "FAIL output: $out"; fail=$((fail+1)); fi

echo "comm_abort: $pass passed, $fail failed"
[ "$fail" = 0 ]
