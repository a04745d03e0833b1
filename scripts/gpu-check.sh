#!/usr/bin/env bash
# gpu-check.sh: validates genet's CUDA backend on a GPU machine, in two stages that each fit one
# short device call (docs/GPU.md gives the exact commands, in order, with their time limits):
#
#   --quick  (the default; at most GPU_CHECK_SECONDS = 150 s, unpacking included): does the CUDA
#            path work at all?
#              environment: the pack, its libraries resolving, glibc >= 2.36 (the packed
#              libmpi's libevent needs it), nvidia-smi, and genet itself seeing the GPU
#              (`genet info` names it);
#              every bin/test_gpu_*: exit 77 (skipped) is a FAIL here, on a GPU machine;
#              20 steps of each workload (LM, DCGAN, style's loss evaluations, fast style) on cuda against
#              cpu: the final checkpoints compared by h5cmp at 1e-2, cuda in precision = fp32
#              (the cpu runs go in the background while the GPU tests run).
#   --full   (at most GPU_CHECK_SECONDS = 300 s): what needs a working path:
#              resume halves bit for bit on cuda (LM, DCGAN: N steps against N/2 + N/2);
#              NCCL at one rank (test_gpu_nccl with NCCL_DEBUG=INFO);
#              compute-sanitizer memcheck on the gpu tests (one SKIP line when the machine
#              refuses it);
#              then the GPU benchmarks against the machine's PyTorch (scripts/bench/gpu_*.py)
#              with the time that is left.
#
# Every item prints one line PASS, FAIL, SKIP (or REFUSED: genet's own deliberate refusal of
# device = cuda, the line "genet: device = cuda: ..." with exit 1, counted as failed); each stage
# ends with one line
#   gpu-check: N passed, N failed, N skipped
# Logs: the stage's output in $OUT/gpu-check-STAGE.log and every item's full output under
# $OUT/gpu-check-STAGE/ when OUT is set (the folder the device tool brings back), else in
# ./gpu-check-STAGE.log and ./gpu-check-STAGE/ (the folder it is started from).
# Exit status: 0 nothing failed; 1 something failed or was refused; 2 a usage error;
# 77 no GPU on this machine (one line, in seconds, nothing else run: ctest's skip code).
#
# The plan (see scripts/gpu-pack.sh): genet is built on the development machine and packed into
# build-gpu/ (bin/, lib.tar.xz, MANIFEST), carried to the GPU machine, which has the driver, CUDA
# 13, PyTorch and its CUDA libraries (site-packages/nvidia/*/lib) but no MPI, HDF5 or oneDNN.
# Nothing is built or installed there. genet runs single-process (no launcher, no MPI_Init).
#
# Usage: scripts/gpu-check.sh [--quick | --full] [PACK_DIR]   (PACK_DIR: default build-gpu)
#        GPU_CHECK_SECONDS overrides the stage's bound.
set -uo pipefail

usage() { echo "usage: scripts/gpu-check.sh [--quick | --full] [PACK_DIR]" >&2; exit 2; }
stage=quick
pack_arg=""
for a in "$@"; do
  case $a in
    --quick) stage=quick ;;
    --full) stage=full ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "gpu-check: unknown option $a" >&2; usage ;;
    *) [ -z "$pack_arg" ] || usage; pack_arg=$a ;;
  esac
done
if [ "$stage" = quick ]; then budget=${GPU_CHECK_SECONDS:-150}; else budget=${GPU_CHECK_SECONDS:-300}; fi

# No GPU: one line, in seconds, before anything is unpacked or logged.
if ! command -v nvidia-smi > /dev/null 2>&1; then
  echo "gpu-check: no GPU on this machine (no nvidia-smi): nothing to check (exit 77)"
  exit 77
fi
if ! smi_list=$(timeout 20 nvidia-smi -L 2>&1) || ! grep -q '^GPU [0-9]' <<< "$smi_list"; then
  echo "gpu-check: no GPU on this machine (nvidia-smi -L: $(head -1 <<< "$smi_list" | cut -c1-100)): nothing to check (exit 77)"
  exit 77
fi

start_dir=$PWD
cd "$(dirname "$0")/.." || exit 2
root=$PWD
pack_arg=${pack_arg:-${GENET_GPU_PACK:-build-gpu}}
case $pack_arg in /*) ;; *) [ -e "$start_dir/$pack_arg" ] && pack_arg=$start_dir/$pack_arg ;; esac
orig_ldlp=${LD_LIBRARY_PATH:-}
if [ -n "${OUT:-}" ]; then
  log=$OUT/gpu-check-$stage.log
  logs=$OUT/gpu-check-$stage
else
  log=$start_dir/gpu-check-$stage.log
  logs=$start_dir/gpu-check-$stage
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/genet-gpu-check.XXXXXX") || exit 2
mkdir -p "$logs" "$(dirname "$log")" || exit 2

n_pass=0 n_fail=0 n_skip=0
summary=()
record() {  # STATUS WHAT [DETAIL]
  case $1 in
    PASS) n_pass=$((n_pass + 1)) ;;
    SKIP) n_skip=$((n_skip + 1)) ;;
    *) n_fail=$((n_fail + 1)) ;;
  esac
  local line
  line=$(printf '%-8s %s%s' "$1" "$2" "${3:+  ($3)}")
  summary+=("$line")
  echo "$line"
}
left() { echo $((budget - SECONDS)); }
# limited SECONDS CMD...: CMD under `timeout`, cut to the stage's time left; 124/137 when it ran
# out, 125 when no time was left to start it.
limited() {
  local s=$1 l
  shift
  l=$(($(left) - 3))
  ((l < s)) && s=$l
  if ((s <= 0)); then
    echo "(not run: the stage's ${budget} s are spent)"
    return 125
  fi
  timeout --kill-after=5 "$s" "$@"
}
timed_out() { [ "$1" -eq 124 ] || [ "$1" -eq 137 ]; }
section() { printf '\n==== %s  [%d s of %d s]\n' "$1" "$SECONDS" "$budget"; }
# The label of a run that did not succeed: REFUSED only for genet's deliberate refusal of the
# device (trainer.c's pick_device: "genet: device = cuda: <why>; use device = cpu or auto",
# exit 1); a failed CUDA call ("genet: file:line: CUDA call failed: ...") is a FAIL.
refused() {  # RC LOGFILE
  [ "$1" -eq 1 ] && grep -q '^genet: device = cuda: ' "$2"
}

# ---------------------------------------------------------------- environment (both stages)
step_env() {
  section "environment"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ); host: $(uname -srm); $(. /etc/os-release 2> /dev/null && echo "$PRETTY_NAME")"
  echo "repository: $root ($(git -C "$root" rev-parse --short=12 HEAD 2> /dev/null || echo 'no git'))"
  echo "$smi_list"
  timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1

  # glibc: the packed Debian 12 libraries (libmpi's libevent) need 2.36.
  local glibc
  glibc=$(ldd --version 2> /dev/null | head -1 | grep -oE '[0-9]+\.[0-9]+$')
  if [ -z "$glibc" ]; then
    record FAIL "glibc >= 2.36" "ldd --version says no version"
  elif [ "$(printf '%s\n2.36\n' "$glibc" | sort -V | head -1)" = 2.36 ]; then
    record PASS "glibc >= 2.36" "glibc $glibc"
  else
    record FAIL "glibc >= 2.36" "glibc $glibc: the packed libmpi (libevent) needs 2.36"
  fi

  if ! pack=$(cd "$pack_arg" 2> /dev/null && pwd) || [ ! -f "$pack/MANIFEST" ]; then
    record FAIL "the pack" "no $pack_arg/MANIFEST: run scripts/gpu-pack.sh on the build machine and carry its folder"
    return 1
  fi
  grep -E '^(commit|made|cuda_built) ' "$pack/MANIFEST" | sed 's/^/  /'
  if [ -d "$pack/lib" ]; then
    libdir=$pack/lib
  elif [ -f "$pack/lib.tar.xz" ] && tar -C "$work" -xJf "$pack/lib.tar.xz"; then
    libdir=$work/lib
  else
    record FAIL "the pack" "$pack has neither lib/ nor a readable lib.tar.xz"
    return 1
  fi
  record PASS "the pack" "$(ls "$pack/bin" | wc -l) binaries, $(ls "$libdir" | wc -l) libraries"

  # PyTorch's CUDA wheels: nvidia/*/lib under site-packages (cu13/lib, cudnn/lib, nccl/lib ...).
  local py wheel_dirs=() d
  for py in ${PYTHON:-} python3 /opt/torch/.venv/bin/python3; do
    command -v "$py" > /dev/null 2>&1 || continue
    while IFS= read -r d; do wheel_dirs+=("$d"); done < <(LD_LIBRARY_PATH=$orig_ldlp timeout 30 "$py" - << 'PY' 2> /dev/null
import glob, os
try:
    import nvidia
    roots = list(nvidia.__path__)
except Exception:
    roots = []
for r in roots:
    for d in sorted(glob.glob(os.path.join(r, "*", "lib")) + glob.glob(os.path.join(r, "*", "lib64"))):
        if glob.glob(os.path.join(d, "*.so*")):
            print(d)
PY
    )
    [ ${#wheel_dirs[@]} -gt 0 ] && { echo "python: $(command -v "$py")"; break; }
  done
  if [ ${#wheel_dirs[@]} -eq 0 ]; then
    for d in /opt/torch/.venv/lib/python3*/site-packages/nvidia/*/lib; do [ -d "$d" ] && wheel_dirs+=("$d"); done
  fi
  local ldlp=$libdir
  for d in "${wheel_dirs[@]}" /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/local/cuda/lib64; do
    [ -d "$d" ] && ldlp+=":$d"
  done
  export LD_LIBRARY_PATH=$ldlp${orig_ldlp:+:$orig_ldlp}
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"

  # Every library of every packed binary must resolve; where each CUDA library comes from.
  local b out missing="" badver=""
  for b in "$pack"/bin/*; do
    out=$(ldd "$b" 2>&1)
    missing+=$(awk -v b="$(basename "$b")" '/not found/ && /=>/ { printf "  %s: %s\n", b, $1 }' <<< "$out")
    badver+=$(grep -E "version .* not found" <<< "$out" | sed "s|^|  $(basename "$b"): |")
    [ "$(basename "$b")" = genet ] && awk '$1 ~ /^lib(cuda|cudart|cublas|cublasLt|cudnn|nccl)[.-]/ { print "  " $1, $3 }' <<< "$out"
  done
  if [ -z "$missing$badver" ]; then
    record PASS "libraries resolve" "every binary of the pack"
  else
    printf '%s\n' "$missing" "$badver"
    record FAIL "libraries resolve" "$(echo "$missing" | awk 'NF { print $2 }' | sort -u | tr '\n' ' ')$([ -n "$badver" ] && echo 'and symbol versions (an older glibc or libstdc++)')"
    return 1
  fi

  # The fixtures' path compiled into the test binaries (testlib's GENET_FIXTURES).
  local fx
  fx=$(awk '$1 == "fixtures" { print $2 }' "$pack/MANIFEST")
  if [ -n "$fx" ] && [ ! -e "$fx" ] && [ -d "$root/tests/fixtures" ]; then
    mkdir -p "$(dirname "$fx")" 2> /dev/null && ln -s "$root/tests/fixtures" "$fx" 2> /dev/null
  fi

  # genet itself must see the GPU: without libcuda every gpu test would skip and every cuda run
  # be refused, which says nothing about the backend.
  local info name rc
  limited 30 "$pack/bin/genet" version > "$logs/genet-version.log" 2>&1
  cat "$logs/genet-version.log"
  info=$(limited 30 "$pack/bin/genet" info 2>&1)
  rc=$?
  echo "$info"
  name=$(sed -n 's/^GPU 0: \(.*\) (UUID.*/\1/p' <<< "$smi_list" | head -1)
  if [ $rc -ne 0 ]; then
    record FAIL "genet sees the GPU" "genet info: exit $rc: $(tail -1 <<< "$info" | cut -c1-140)"
    return 1
  elif ! grep -qE '^GPU: [1-9][0-9]* CUDA device' <<< "$info"; then
    record FAIL "genet sees the GPU" "$(grep -m1 '^GPU' <<< "$info" | cut -c1-160)"
    return 1
  elif [ -n "$name" ] && ! grep -qF "$name" <<< "$info"; then
    record FAIL "genet sees the GPU" "genet info does not name $name"
    return 1
  fi
  record PASS "genet sees the GPU" "$(grep -m1 -E '^GPU: ' <<< "$info")${name:+ $name}"
}

# ---------------------------------------------------------------- quick: the GPU tests
# run_gpu_test NAME BINARY SECONDS [PREFIX...]: the test's exit status, its output in the log.
step_gpu_tests() {
  section "the GPU tests (bin/test_gpu_*)"
  local t name rc
  mkdir -p "$work/tests"
  for t in "$pack"/bin/test_gpu_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    (cd "$work/tests" && NCCL_DEBUG=${NCCL_DEBUG:-WARN} limited 40 "$t") > "$logs/$name.log" 2>&1
    rc=$?
    case $rc in
      0) record PASS "$name" ;;
      77) record FAIL "$name" "skipped (exit 77) on a GPU machine: $(grep -m1 -i skip "$logs/$name.log" | cut -c1-120)" ;;
      125) record FAIL "$name" "not run: the stage's time is spent" ;;
      *) timed_out $rc && record FAIL "$name" "timed out" || record FAIL "$name" "exit $rc: $(grep -m1 -E 'FAIL|genet:' "$logs/$name.log" | cut -c1-120)" ;;
    esac
  done
}

# ---------------------------------------------------------------- training, cpu against cuda
prepare_data() {
  mkdir -p "$work/data"
  limited 30 "$pack/bin/genet" prepare synthetic-text "$work/data/synthetic-text" &&
    limited 30 "$pack/bin/genet" prepare text "$work/data/synthetic-text" "$work/data/synthetic-text.h5" &&
    limited 30 "$pack/bin/genet" prepare synthetic-glyphs "$work/data/synthetic-glyphs.h5" n=640 &&
    limited 30 "$pack/bin/genet" prepare images "$root/assets/demo" "$work/data/fast-style.h5" size=32
}

# The workloads, one a line: NAME;JOB;H5GROUPS;LOSS_REGEX;ARGS (20 steps each; style: 20 loss
# evaluations).
workloads() {
  local fx=$root/tests/fixtures
  echo "lm;jobs/lm_demo.job;params;^\| epoch .*loss;data=$work/data/synthetic-text.h5 max_steps=20 log_interval=5 checkpoint_every=0"
  echo "dcgan;jobs/dcgan_demo.job;params buffers;Loss_D;data=$work/data/synthetic-glyphs.h5 max_steps=20 log_interval=5 sample_every=0 checkpoint_every=0"
  echo "style;jobs/style_gatys.job;state;^Iteration;content=$fx/image_rgb.jpg style=$fx/image_prog444.jpg vgg=$fx/vgg_tiny_weights.h5 size=40 max_evals=20 max_iter=5 show_every=5"
  echo "fast_style;jobs/fast_style_demo.job;params;^Epoch .*total;data=$work/data/fast-style.h5 style=$root/assets/demo/strokes.png style_size=32 image_size=32 width=4 vgg=random/16 max_steps=20 log_interval=5 checkpoint_every=0"
}

# train_run NAME DEV CKDIR SECONDS ARGS...: one genet train; its output in $logs/NAME.DEV.log.
train_run() {
  local name=$1 dev=$2 ck=$3 s=$4 job
  shift 4
  job=$(workloads | awk -F';' -v n="$name" '$1 == n { print $2 }')
  (cd "$work" && limited "$s" "$pack/bin/genet" train "$root/$job" "$@" device="$dev" \
    checkpoint_dir="$ck" out_dir="$work/out/$name.$dev") >> "$logs/$name.$dev.log" 2>&1
}

# The flag that makes a cuda run strict fp32, where this genet has the key. The help is captured
# first and then searched: `genet train --help | grep -q` under pipefail lost to SIGPIPE (grep
# quits at the first match, genet's next write fails, the pipeline fails, the flag was dropped).
find_cuda_args() {
  local help
  cuda_args=()
  help=$(limited 30 "$pack/bin/genet" train --help 2>&1)
  if grep -qE '^ +precision ' <<< "$help"; then cuda_args=(precision=fp32); fi
  echo "cuda runs: ${cuda_args[*]:-(no precision key in this genet: its default)}"
}

# compare_pair NAME GROUPS PATTERN RC_CPU RC_CUDA
compare_pair() {
  local name=$1 groups=$2 pat=$3 rc_cpu=$4 rc_cuda=$5
  if [ "$rc_cpu" -ne 0 ]; then
    record FAIL "$name: cpu = cuda" "the device=cpu reference failed (exit $rc_cpu): $(tail -1 "$logs/$name.cpu.log" | cut -c1-120)"
    return
  fi
  if [ "$rc_cuda" -ne 0 ]; then
    local msg
    msg=$(grep -m1 '^genet: ' "$logs/$name.cuda.log" || tail -1 "$logs/$name.cuda.log")
    if refused "$rc_cuda" "$logs/$name.cuda.log"; then
      record REFUSED "$name: device=cuda" "$(cut -c1-160 <<< "$msg")"
    elif timed_out "$rc_cuda"; then
      record FAIL "$name: device=cuda" "timed out"
    else
      record FAIL "$name: device=cuda" "exit $rc_cuda: $(cut -c1-160 <<< "$msg")"
    fi
    return
  fi
  echo "-- $name: losses, cpu | cuda"
  paste <(grep -E "$pat" "$logs/$name.cpu.log") <(grep -E "$pat" "$logs/$name.cuda.log") | tail -4
  local a b rc worst
  a=$(ls "$work/ck/$name.cpu"/ckpt_*.h5 2> /dev/null | tail -1)
  b=$(ls "$work/ck/$name.cuda"/ckpt_*.h5 2> /dev/null | tail -1)
  if [ -z "$a" ] || [ -z "$b" ] || [ "$(basename "$a")" != "$(basename "$b")" ]; then
    record FAIL "$name: cpu = cuda" "final checkpoints differ in step or are missing: ${a##*/} vs ${b##*/}"
    return
  fi
  # shellcheck disable=SC2086
  limited 30 "$pack/bin/h5cmp" "$a" "$b" 1e-2 $groups > "$logs/$name.cmp" 2>&1
  rc=$?
  worst=$(awk '/worst err/ { for (i = 1; i < NF; i++) if ($i == "err") { v = $(i + 1) + 0; if (n == "" || v > m) { m = v; n = $2 } } }
               END { if (n != "") printf "worst err %.2e in %s", m, n }' "$logs/$name.cmp")
  if [ $rc -eq 0 ]; then
    record PASS "$name: cpu = cuda" "${a##*/}, h5cmp 1e-2 on $groups: $worst"
  else
    record FAIL "$name: cpu = cuda" "${a##*/}, h5cmp 1e-2 (exit $rc): ${worst:-no comparison}"
  fi
}

# The cpu references, one after another in the background (they need no GPU) on half the cores:
# their exit statuses in $work/NAME.cpu.rc. Each is bounded by the stage's time (limited).
start_cpu_runs() {
  mkdir -p "$work/ck"
  (
    export OMP_NUM_THREADS=$(( $(nproc) > 3 ? $(nproc) / 2 : 1 ))
    local name job groups pat args
    while IFS=';' read -r name job groups pat args; do
      # shellcheck disable=SC2086
      train_run "$name" cpu "$work/ck/$name.cpu" 100 $args
      echo $? > "$work/$name.cpu.rc"
    done < <(workloads)
  ) &
  cpu_pid=$!
}

step_train() {
  section "20 steps of each workload, device=cpu against device=cuda"
  local name job groups pat args rc
  while IFS=';' read -r name job groups pat args; do
    # shellcheck disable=SC2086
    train_run "$name" cuda "$work/ck/$name.cuda" 60 $args "${cuda_args[@]}"
    echo $? > "$work/$name.cuda.rc"
  done < <(workloads)
  wait "$cpu_pid"  # the cpu references (each ends by the stage's bound at the latest)
  while IFS=';' read -r name job groups pat args; do
    compare_pair "$name" "$groups" "$pat" "$(cat "$work/$name.cpu.rc" 2> /dev/null || echo 124)" \
      "$(cat "$work/$name.cuda.rc" 2> /dev/null || echo 125)"
  done < <(workloads)
}

# ---------------------------------------------------------------- full: resume, NCCL, memcheck, bench
# On cuda: STEPS in one run, then STEPS/2, stopped, and resumed to STEPS: the two final
# checkpoints must be equal bit for bit (h5cmp 0), as on the CPU.
resume_pair() {  # NAME STEPS
  local name=$1 steps=$2 job groups pat args m rc a b
  IFS=';' read -r name job groups pat args < <(workloads | grep "^$name;")
  args=$(sed "s/max_steps=[0-9]*//" <<< "$args")
  # shellcheck disable=SC2086
  train_run "$name" cuda "$work/ck/$name.whole" 60 $args max_steps="$steps" "${cuda_args[@]}"
  rc=$?
  for m in $((steps / 2)) "$steps"; do
    ((rc == 0)) || break
    # shellcheck disable=SC2086
    train_run "$name" cuda "$work/ck/$name.halves" 60 $args max_steps="$m" "${cuda_args[@]}"
    rc=$?
  done
  if [ $rc -ne 0 ]; then
    if refused $rc "$logs/$name.cuda.log"; then
      record REFUSED "resume $name on cuda" "$(grep -m1 '^genet: device = cuda: ' "$logs/$name.cuda.log" | cut -c1-160)"
    else
      record FAIL "resume $name on cuda" "a run failed (exit $rc): $(grep -m1 '^genet: ' "$logs/$name.cuda.log" | cut -c1-140)"
    fi
    return
  fi
  a=$(ls "$work/ck/$name.whole"/ckpt_*.h5 2> /dev/null | tail -1)
  b=$(ls "$work/ck/$name.halves"/ckpt_*.h5 2> /dev/null | tail -1)
  if [ -z "$a" ] || [ "$(basename "$a")" != "$(basename "$b")" ]; then
    record FAIL "resume $name on cuda" "last checkpoints differ in step: ${a##*/} vs ${b##*/}"
    return
  fi
  # shellcheck disable=SC2086
  limited 30 "$pack/bin/h5cmp" "$a" "$b" 0 $groups > "$logs/$name.resume.cmp" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then
    record PASS "resume $name on cuda bit for bit" "$((steps / 2)) + $((steps - steps / 2)) = $steps steps, h5cmp 0 on $groups"
  else
    record FAIL "resume $name on cuda bit for bit" "h5cmp 0 (exit $rc): $(grep -m1 -v 'bitwise equal' "$logs/$name.resume.cmp" | cut -c1-120)"
  fi
}

step_nccl() {
  section "NCCL at one rank"
  local t=$pack/bin/test_gpu_nccl rc
  if [ ! -x "$t" ]; then
    record FAIL "NCCL, 1 rank" "no test_gpu_nccl in the pack"
    return
  fi
  (cd "$work/tests" && NCCL_DEBUG=INFO limited 40 "$t") > "$logs/nccl1.log" 2>&1
  rc=$?
  case $rc in
    0) record PASS "NCCL, 1 rank (GradSync on device buffers)" ;;
    77) record FAIL "NCCL, 1 rank" "test_gpu_nccl skipped (exit 77) on a GPU machine" ;;
    *) record FAIL "NCCL, 1 rank" "test_gpu_nccl exit $rc" ;;
  esac
}

# compute-sanitizer memcheck on each gpu test, while there is time; one SKIP line when the
# machine refuses the sanitizer (no tool, no permission to attach, an unsupported driver).
step_memcheck() {
  section "compute-sanitizer memcheck on the gpu tests"
  local cs t name rc out
  cs=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda-*/bin/compute-sanitizer 2> /dev/null | head -1)
  if [ -z "$cs" ]; then
    record SKIP "memcheck" "no compute-sanitizer on this machine"
    return
  fi
  for t in "$pack"/bin/test_gpu_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    if (($(left) < 30)); then
      record SKIP "memcheck $name" "under 30 s of the stage left"
      continue
    fi
    (cd "$work/tests" && limited 45 "$cs" --tool memcheck --error-exitcode 99 --print-limit 20 "$t") > "$logs/memcheck.$name.log" 2>&1
    rc=$?
    out=$logs/memcheck.$name.log
    if [ $rc -eq 0 ] && grep -q 'ERROR SUMMARY: 0 errors' "$out"; then
      record PASS "memcheck $name" "0 errors"
    elif [ $rc -eq 99 ] || grep -qE 'ERROR SUMMARY: [1-9]' "$out"; then
      record FAIL "memcheck $name" "$(grep -m1 -E 'ERROR SUMMARY' "$out")"
    elif timed_out $rc; then
      record SKIP "memcheck $name" "timed out under the sanitizer (slow): no verdict"
    elif ! grep -q 'ERROR SUMMARY' "$out"; then
      # The sanitizer did not run the test: refused here. Say so once and stop trying.
      record SKIP "memcheck" "compute-sanitizer refused on this machine (exit $rc): $(grep -m1 -v '^ *$' "$out" | cut -c1-140)"
      return
    else
      record FAIL "memcheck $name" "exit $rc: $(grep -m1 -E 'FAIL|genet:' "$out" | cut -c1-120)"
    fi
  done
}

# scripts/bench/gpu_*.py: genet against the machine's PyTorch, with the time left. The markdown
# block is appended to gpu-bench.md beside the log. Exit 3: a genet side refused the device.
step_bench() {
  section "benchmarks: genet against PyTorch on this GPU, with the time left"
  local benches=() b rc py="" cand md s
  for b in "$root"/scripts/bench/gpu_*.py; do [ -f "$b" ] && benches+=("$b"); done
  if [ ${#benches[@]} -eq 0 ]; then
    record SKIP "benchmarks" "no scripts/bench/gpu_*.py"
    return
  fi
  for cand in ${PYTHON:-} /opt/torch/.venv/bin/python3 python3; do
    command -v "$cand" > /dev/null 2>&1 || continue
    if LD_LIBRARY_PATH=$orig_ldlp timeout 60 "$cand" -c 'import torch' 2> /dev/null; then py=$(command -v "$cand"); break; fi
  done
  if [ -z "$py" ]; then
    record SKIP "benchmarks" "no python3 with PyTorch"
    return
  fi
  md=$(dirname "$log")/gpu-bench.md
  for b in "${benches[@]}"; do
    s=$(($(left) - 5))
    if ((s < 30)); then
      record SKIP "bench $(basename "$b")" "under 30 s of the stage left"
      continue
    fi
    (cd "$work" && export GENET="$pack/bin/genet" GENET_LD_LIBRARY_PATH="$LD_LIBRARY_PATH" \
      LD_LIBRARY_PATH="$orig_ldlp" PYTHONUNBUFFERED=1 && limited "$s" "$py" "$b" --out "$md") > "$logs/bench.$(basename "$b" .py).log" 2>&1
    rc=$?
    tail -20 "$logs/bench.$(basename "$b" .py).log"
    case $rc in
      0) record PASS "bench $(basename "$b")" "table in $(basename "$md")" ;;
      3) record REFUSED "bench $(basename "$b")" "a genet side refused device=cuda (see the table)" ;;
      *) timed_out $rc && record SKIP "bench $(basename "$b")" "the stage's time ran out: partial" ||
           record FAIL "bench $(basename "$b")" "exit $rc" ;;
    esac
  done
}

main() {
  echo "genet gpu-check --$stage: $(date -u +%Y-%m-%dT%H:%M:%SZ), at most ${budget} s, logs in $logs"
  if step_env; then
    mkdir -p "$work/tests"
    if [ "$stage" = quick ]; then
      find_cuda_args
      if prepare_data > "$logs/prepare.log" 2>&1; then
        start_cpu_runs
        step_gpu_tests
        step_train
      else
        record FAIL "demo data" "genet prepare failed: $(tail -1 "$logs/prepare.log" | cut -c1-120)"
        step_gpu_tests
      fi
    else
      find_cuda_args
      if prepare_data > "$logs/prepare.log" 2>&1; then
        section "resume halves on cuda, bit for bit"
        resume_pair lm 20
        resume_pair dcgan 20
      else
        record FAIL "demo data" "genet prepare failed: $(tail -1 "$logs/prepare.log" | cut -c1-120)"
      fi
      step_nccl
      step_memcheck
      step_bench
    fi
  fi
  section "summary (--$stage, $SECONDS s)"
  printf '%s\n' "${summary[@]}"
  echo "gpu-check: $n_pass passed, $n_fail failed, $n_skip skipped"
  ((n_fail == 0))
}

main 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
rm -rf "$work"
exit "$rc"
