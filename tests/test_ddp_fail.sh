#!/usr/bin/env bash
# Data-parallel training must never hang on a failed rank: a bad input on one rank (comm_abort),
# a rank killed by SIGKILL (mpirun notices) and more ranks than GPUs (comm_pick_device) each end
# the whole job non-zero within seconds, with a message that names the rank.
set -u
mpiexec=$1; prog=$2
run="$mpiexec --allow-run-as-root --oversubscribe"
pass=0; fail=0
ok() { echo "ok   $*"; pass=$((pass+1)); }
bad() { echo "FAIL $*"; fail=$((fail+1)); }

# expect_death NAME NP GREP ARGS...: non-zero (not the timeout's 124), within 20 s, output matches.
expect_death() {
  local name=$1 np=$2 pat=$3; shift 3
  local start out rc secs
  start=$(date +%s)
  out=$(timeout 60 $run -np "$np" "$prog" "$@" 2>&1)
  rc=$?
  secs=$(( $(date +%s) - start ))
  if [ "$rc" != 0 ] && [ "$rc" != 124 ]; then ok "$name: job exited non-zero ($rc)"; else bad "$name: rc=$rc (124 = hung until timeout)"; fi
  if [ "$secs" -le 20 ]; then ok "$name: ended in ${secs}s"; else bad "$name: took ${secs}s"; fi
  if printf '%s' "$out" | grep -Eq "$pat"; then ok "$name: message matches /$pat/"; else bad "$name: no /$pat/ in output: $out"; fi
}

expect_death "bad input on rank 1 of 4" 4 "genet: rank 1: bad input: row 0" --bad-input-on-rank 1
expect_death "rank 2 of 4 killed by SIGKILL" 4 "rank 2 .*(signal 9|Killed)" --sigkill-rank 2
# (rank 0's own stdout line may land between rank 1's stderr lines: match the message alone)
expect_death "2 ranks, 1 GPU" 2 \
  "rank 1 \(local rank 1\) has no GPU: node has 1 GPUs; start at most 1 ranks per node" \
  --pick-device 1

out=$(timeout 60 $run -np 2 "$prog" --pick-device 2 2>&1); rc=$?
if [ "$rc" = 0 ] && printf '%s' "$out" | grep -q "rank 1 uses device 1"; then ok "2 ranks, 2 GPUs: rank 1 uses device 1"; else bad "pick-device 2: rc=$rc: $out"; fi

# Slurm --gpus-per-task: each rank sees one GPU of its own (CUDA_VISIBLE_DEVICES differs), so
# both use their device 0 instead of rank 1 dying for want of a second GPU.
out=$(timeout 60 $run -np 2 sh -c 'CUDA_VISIBLE_DEVICES=$OMPI_COMM_WORLD_RANK exec "$0" --pick-device 1' "$prog" 2>&1); rc=$?
if [ "$rc" = 0 ] && printf '%s' "$out" | grep -q "rank 1 uses device 0"; then ok "one GPU bound per rank: rank 1 uses its device 0"; else bad "bound GPUs: rc=$rc: $out"; fi

echo "ddp_fail: $pass passed, $fail failed"
[ "$fail" = 0 ]
