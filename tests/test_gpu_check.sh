#!/usr/bin/env bash
# scripts/gpu-check.sh on a machine without a GPU: its option parsing, its stages' time-bounded
# items and their labels, with a fake nvidia-smi on PATH and a fake pack (a genet, h5cmp and
# test_gpu_* that are shell scripts told by FAKE_* variables how to behave):
#   no GPU: one line, exit 77, in seconds (and the real script here, which has no GPU);
#   a GPU that genet does not see: FAIL "genet sees the GPU", not a row of skipped tests;
#   a gpu test that exits 77 on a GPU machine: FAIL, not SKIP;
#   a failed CUDA call in genet (genet_die's "CUDA call failed"): FAIL, not REFUSED; genet's
#   deliberate "genet: device = cuda: ..." refusal: REFUSED;
#   precision=fp32 reaches every cuda run, run after run, though genet's help is long enough for
#   a `| grep -q` to lose to SIGPIPE;
#   --full's items (resume, NCCL, memcheck refused by the machine, benchmarks without PyTorch);
#   every stage ends in "gpu-check: N passed, N failed, N skipped" and leaves its logs in $OUT.
# Usage: test_gpu_check.sh REPO_ROOT
set -uo pipefail
root=$1
script=$root/scripts/gpu-check.sh
. "$(dirname "$0")/testlib.sh"

mkdir -p fakebin nosmi pack/bin pack/lib
echo "fake" > pack/lib/libfake.so.1
printf 'commit fake\nmade fake\n' > pack/MANIFEST

cat > fakebin/nvidia-smi << 'EOF'
#!/usr/bin/env bash
if [ "${FAKE_SMI:-gpu}" = fail ]; then
  echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."
  exit 9
fi
case "$*" in
  -L) echo "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-00000000-fake)" ;;
  *) printf 'name, driver_version, memory.total [MiB], compute_cap\nNVIDIA H100 80GB HBM3, 580.00, 81559 MiB, 9.0\n' ;;
esac
EOF

cat > pack/bin/genet << 'EOF'
#!/usr/bin/env bash
case $1 in
  version) echo "genet fake (CUDA runtime 13.0, cuDNN 91400 (built 91400), NCCL 22800 (built 22800))" ;;
  info)
    echo "CPU: 2 cores online"
    if [ "${FAKE_SEES_GPU:-1}" = 1 ]; then
      printf 'GPU: 1 CUDA device\n  cuda:0 NVIDIA H100 80GB HBM3, sm_90, 79 GiB\n'
    else
      echo "GPU: no CUDA device (CUDA driver version is insufficient for CUDA runtime version)"
    fi ;;
  prepare) exit 0 ;;
  train)
    if [ "$2" = --help ]; then
      # The key early, then a long help: grep -q quits at the key, the writer then meets a
      # closed pipe.
      echo "usage: genet train JOB [key=value ...]"
      echo "  device             where to run (auto|cpu|cuda); default auto"
      echo "  precision          tf32 or fp32 (tf32|fp32); default tf32"
      for i in $(seq 1 3000); do echo "  key$i              a key of the fake genet's long help"; done
      exit 0
    fi
    dev="" ck="" steps=20 prec=default
    for a in "$@"; do
      case $a in
        device=*) dev=${a#device=} ;;
        checkpoint_dir=*) ck=${a#checkpoint_dir=} ;;
        max_steps=*) steps=${a#max_steps=} ;;
        precision=*) prec=${a#precision=} ;;
      esac
    done
    echo "train device=$dev precision=$prec" >> "$FAKE_LOG"
    if [ "$dev" = cuda ] && [ "${FAKE_CUDA:-ok}" = die ]; then
      echo "genet: kernels/cuda_mem.cu:8: CUDA call failed: cudaMalloc(&p, bytes ? bytes : 4): out of memory" >&2
      exit 1
    fi
    if [ "$dev" = cuda ] && [ "${FAKE_CUDA:-ok}" = refuse ]; then
      echo "genet: device = cuda: no usable CUDA device (no driver); use device = cpu or auto" >&2
      exit 1
    fi
    mkdir -p "$ck" && : > "$ck/$(printf 'ckpt_%08d.h5' "$steps")"
    echo "| epoch 1 | step $steps | loss 1.00"
    exit 0 ;;
esac
EOF

cat > pack/bin/h5cmp << 'EOF'
#!/usr/bin/env bash
echo "params/w: worst err 1.0e-07 (bitwise equal)"
EOF
for t in test_gpu_basic test_gpu_nccl; do
  cat > "pack/bin/$t" << 'EOF'
#!/usr/bin/env bash
rc=${FAKE_TEST_RC:-0}
[ "$(basename "$0")" = "${FAKE_TEST_NAME:-test_gpu_basic}" ] || rc=0
[ "$rc" = 77 ] && echo "SKIP: no usable CUDA device"
exit "$rc"
EOF
done
# A compute-sanitizer that the machine refuses, as on a VM without the debugger interface.
cat > fakebin/compute-sanitizer << 'EOF'
#!/usr/bin/env bash
echo "========= Error: Debugger interface initialization failed (not supported on this platform)"
exit 1
EOF
# No PyTorch: a python3 that imports nothing (the benchmarks then SKIP).
printf '#!/bin/sh\nexit 1\n' > fakebin/python3
chmod +x fakebin/* pack/bin/*

# run NAME ARGS...: the script with the fakes first on PATH (no PyTorch: PYTHON points nowhere
# useful); its output in NAME.txt, its exit status in $rc.
run() {
  local name=$1
  shift
  mkdir -p "out.$name"
  OUT=$w/out.$name FAKE_LOG=$w/$name.trains PATH=$w/fakebin:$PATH GPU_CHECK_SECONDS=60 \
    timeout 120 bash "$script" "$@" > "$name.txt" 2>&1
  rc=$?
}
items() { sed '/^==== summary/q' "$1.txt"; }  # NAME: the item lines as run (the summary repeats them)
summary_ok() {  # NAME: the last line is the stage's count
  tail -1 "$1.txt" | grep -qE '^gpu-check: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' ||
    fail "$1: the last line is not the count: $(tail -1 "$1.txt")"
}

# ---- no GPU: one line, exit 77, in seconds; the real script here (no GPU) and a failing
# nvidia-smi; no nvidia-smi at all where this machine has none.
for how in real fail none; do
  t0=$SECONDS
  case $how in
    real) PATH_USED=$PATH ;;
    fail) PATH_USED=$w/fakebin:$PATH ;;
    none) PATH_USED=$w/nosmi:/usr/bin:/bin ;;
  esac
  if [ $how != fail ] && PATH=$PATH_USED command -v nvidia-smi > /dev/null; then continue; fi
  FAKE_SMI=fail PATH=$PATH_USED timeout 60 bash "$script" --quick pack > nogpu.txt 2>&1
  rc=$?
  [ $rc -eq 77 ] || fail "no GPU ($how): exit $rc, want 77: $(head -3 nogpu.txt)"
  [ "$(wc -l < nogpu.txt)" -eq 1 ] || fail "no GPU ($how): $(wc -l < nogpu.txt) lines, want one: $(head -3 nogpu.txt)"
  grep -q 'no GPU' nogpu.txt || fail "no GPU ($how): the line does not say so: $(cat nogpu.txt)"
  ((SECONDS - t0 <= 10)) || fail "no GPU ($how): took $((SECONDS - t0)) s"
done
pass "no GPU: one line, exit 77, in seconds"

# ---- options
timeout 30 bash "$script" --bogus > opt.txt 2>&1
[ $? -eq 2 ] || fail "--bogus: exit status is not 2"
grep -q usage opt.txt || fail "--bogus: no usage line"
PATH=$w/fakebin:$PATH timeout 30 bash "$script" --quick pack pack2 > opt.txt 2>&1
[ $? -eq 2 ] || fail "two pack folders: exit status is not 2"
timeout 30 bash "$script" --help | grep -q -- '--full' || fail "--help does not describe --full"
pass "options: --bogus and two folders are usage errors (2), --help describes the stages"

# ---- a GPU that genet does not see (no libcuda, an old driver): FAIL, and the gpu tests are
# not run to be counted as skipped.
FAKE_SEES_GPU=0 run nosee --quick "$w/pack"
[ $rc -eq 1 ] || fail "genet does not see the GPU: exit $rc, want 1"
grep -qE '^FAIL +genet sees the GPU' nosee.txt || fail "genet does not see the GPU: no FAIL line: $(grep -E '^(PASS|FAIL|SKIP)' nosee.txt)"
grep -qE '^SKIP +test_gpu' nosee.txt && fail "genet does not see the GPU: gpu tests counted as skipped"
summary_ok nosee
pass "a GPU that genet does not see is a FAIL ($(tail -1 nosee.txt))"

# ---- a gpu test that skips (exit 77) on a GPU machine: FAIL.
FAKE_TEST_RC=77 FAKE_TEST_NAME=test_gpu_basic run skip77 --quick "$w/pack"
[ $rc -eq 1 ] || fail "a gpu test exiting 77: exit $rc, want 1"
grep -qE '^FAIL +test_gpu_basic' skip77.txt || fail "a gpu test exiting 77 is not a FAIL: $(grep test_gpu_basic skip77.txt)"
grep -qE '^PASS +test_gpu_nccl' skip77.txt || fail "the other gpu test did not pass"
summary_ok skip77
pass "a gpu test that exits 77 on a GPU machine is a FAIL"

# ---- genet_die's CUDA failure: FAIL, not REFUSED; the deliberate refusal: REFUSED.
FAKE_CUDA=die run die --quick "$w/pack"
[ $rc -eq 1 ] || fail "a CUDA failure: exit $rc, want 1"
grep -qE '^REFUSED' die.txt && fail "a CUDA failure labelled REFUSED: $(grep -E '^REFUSED' die.txt)"
[ "$(items die | grep -cE '^FAIL +(lm|dcgan|style|fast_style): device=cuda.*CUDA call failed')" -eq 4 ] ||
  fail "a CUDA failure is not a FAIL for each workload: $(grep -E 'device=cuda' die.txt)"
FAKE_CUDA=refuse run refuse --quick "$w/pack"
[ $rc -eq 1 ] || fail "a refusal: exit $rc, want 1"
[ "$(items refuse | grep -cE '^REFUSED +(lm|dcgan|style|fast_style): device=cuda')" -eq 4 ] ||
  fail "genet's refusal is not REFUSED: $(grep -E 'device=cuda' refuse.txt)"
summary_ok die
summary_ok refuse
pass "a failed CUDA call is a FAIL; only genet's 'genet: device = cuda:' refusal is REFUSED"

# ---- all well, several times: every cuda run gets precision=fp32 (the help is captured before
# it is searched, so SIGPIPE cannot drop the flag), logs land in $OUT.
for i in 1 2 3 4 5 6; do
  run ok$i --quick "$w/pack"
  [ $rc -eq 0 ] || fail "all well (run $i): exit $rc: $(grep -E '^(FAIL|REFUSED)' "ok$i.txt")"
  tail -1 "ok$i.txt" | grep -qE '^gpu-check: [0-9]+ passed, 0 failed, 0 skipped$' || fail "all well (run $i): $(tail -1 "ok$i.txt")"
  [ "$(grep -c 'device=cuda' "ok$i.trains")" -eq 4 ] || fail "all well (run $i): not 4 cuda runs"
  grep 'device=cuda' "ok$i.trains" | grep -v 'precision=fp32' && fail "run $i: a cuda run without precision=fp32"
  [ "$(grep -c 'device=cpu' "ok$i.trains")" -eq 4 ] || fail "all well (run $i): not 4 cpu runs"
done
[ -s out.ok1/gpu-check-quick.log ] && [ -e out.ok1/gpu-check-quick/test_gpu_basic.log ] &&
  [ -s out.ok1/gpu-check-quick/lm.cuda.log ] || fail "the logs are not under \$OUT: $(ls -R out.ok1 | head)"
pass "all well: exit 0 and precision=fp32 on every cuda run, 6 runs of 4; logs under \$OUT ($(tail -1 ok1.txt))"

# ---- --full: resume halves, NCCL, memcheck refused (one SKIP line), benchmarks without PyTorch.
PYTHON=/nonexistent run full --full "$w/pack"
summary_ok full
grep -qE '^PASS +resume lm on cuda bit for bit' full.txt || fail "--full: no resume item: $(grep -E '^(PASS|FAIL|SKIP)' full.txt)"
grep -qE '^PASS +NCCL, 1 rank' full.txt || fail "--full: no NCCL item"
[ "$(items full | grep -cE '^SKIP +memcheck.*refused')" -eq 1 ] || fail "--full: the refused sanitizer is not one SKIP line: $(grep memcheck full.txt)"
grep -qE '^(SKIP|PASS|FAIL) +(bench|benchmarks)' full.txt || fail "--full: no benchmark item"
grep -qE '^(PASS|FAIL) +test_gpu' full.txt && fail "--full ran the quick stage's gpu tests"
[ -s out.full/gpu-check-full.log ] || fail "--full: no log under \$OUT"
pass "--full: resume, NCCL, memcheck refused as one SKIP line, benchmarks ($(tail -1 full.txt))"
