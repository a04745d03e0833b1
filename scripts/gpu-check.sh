#!/usr/bin/env bash
# gpu-check.sh: the one command that validates genet's CUDA backend on a GPU machine, in at most
# 8 minutes (GPU_CHECK_SECONDS, default 470, bounds every step), writing everything to one log:
# $OUT/gpu-check.log when OUT is set (the device tool's folder that comes back), else
# ./gpu-check.log in the folder it is started from.
#
# The plan (worked out once; see also scripts/gpu-pack.sh):
#   * genet is built HERE, on the development machine (Debian 12, nvcc 13.0, cuDNN 9, NCCL
#     2.28), not on the GPU machine: that one has CUDA 13.0's driver, nvcc, CMake and PyTorch
#     2.11 with its own CUDA libraries in its Python wheels, but no network, no apt and most
#     likely no MPI, HDF5 or oneDNN development files or libraries.
#   * scripts/gpu-pack.sh builds build/ with CUDA and fills build-gpu/: bin/ (genet, h5cmp, the
#     test binaries), lib.tar.xz (the Debian shared libraries genet links that a bare CUDA image
#     may lack: HDF5, oneDNN, libgomp, libpng, libjpeg, utf8proc, libmpi and what they load) and
#     a MANIFEST. It prints the size: the folder plus the working tree must stay under the
#     64 MiB a device call carries (about 16 MiB + 3 MiB today).
#   * The C runtime (glibc, libstdc++) and the CUDA libraries are NOT packed: CUDA's runtime,
#     cuBLAS, cuDNN and NCCL come from PyTorch's wheels there (site-packages/nvidia/*/lib, found
#     through python3, /opt/torch/.venv/bin/python3 there) or, failing that, from the machine
#     (/usr/local/nvidia, /usr/local/cuda); the driver's libcuda from the machine.
#   * No MPI there: genet runs single-process when no launcher is detected (libmpi is loaded but
#     MPI_Init never runs, so Open MPI's plugins are not needed). The two-rank steps run only if
#     an Open MPI mpirun is found there, with its own libraries first.
#   * The session with the GPU runs, from the repository root:
#       scripts/gpu-pack.sh                           # here: about 2 minutes
#       run(command="bash scripts/gpu-check.sh", carry=["build-gpu"], timeout_s=540)
#     and reads the log from $OUT. Nothing is built or installed there.
#
# Steps, each reported PASS, FAIL, SKIP or REFUSED, then a summary:
#   1. environment: the pack, nvidia-smi, the wheels' CUDA libraries, every library of every
#      packed binary resolving (ldd: no "not found", no missing symbol version), where each CUDA
#      library comes from, `genet version` (CUDA, cuDNN, NCCL found against built) and
#      `genet info`. A failure here (no GPU, a library missing) stops the check: exit 2.
#   2. the GPU tests (ctest -L gpu, run directly: ctest's paths are this machine's): every
#      bin/test_gpu_*; exit 77 is SKIP (on a GPU machine: the GPU was not usable).
#   3. the three demo jobs (lm_demo, dcgan_demo, and style_gatys on the test fixtures' tiny VGG)
#      for a few steps with device=cpu and device=cuda: the loss lines side by side and the
#      final checkpoints compared by h5cmp at 1e-2 (a first-run sanity bound for another
#      summation order; the cuda run gets precision=fp32 where genet has that key; the worst
#      error is printed either way). `genet train ... device=cuda`
#      refusing is REFUSED, with genet's own message. Then the LM and the DCGAN on cuda again,
#      stopped half way (max_steps) and resumed: the final checkpoint must equal the
#      uninterrupted cuda run's bit for bit (h5cmp 0), as on the CPU; it shows that the GPU
#      path is deterministic (no float atomics, deterministic cuDNN algorithms, the staged
#      batches refilled on resume).
#   4. NCCL at world size 1: test_gpu_nccl again with NCCL_DEBUG=INFO (GradSync's NCCL path on
#      device buffers); with an Open MPI mpirun: test_ddp on 2 CPU ranks, and test_gpu_nccl on
#      2 ranks (a real 2-GPU mean with two GPUs; with one, it must stop at once with "has no GPU").
#   5. the GPU benchmarks (scripts/bench/gpu_bench.py): DCGAN, LM and style, genet against
#      PyTorch on this GPU in ratios of time; the table goes into the log and $OUT/gpu-bench.md.
#   6. the summary; exit 0 when nothing failed or was refused, 1 otherwise, 2 when step 1 failed.
# Usage: scripts/gpu-check.sh [PACK_DIR]     (default build-gpu, relative to the repository root)
#        GPU_CHECK_CONTINUE=1 goes on after a failed step 1 (no GPU): to try the later steps'
#        mechanics on a machine without one; the verdicts then say nothing about CUDA.
set -uo pipefail

log=${OUT:+$OUT/gpu-check.log}
log=${log:-$PWD/gpu-check.log}
cd "$(dirname "$0")/.." || exit 2
root=$PWD
pack_arg=${1:-${GENET_GPU_PACK:-build-gpu}}
budget=${GPU_CHECK_SECONDS:-470}
orig_ldlp=${LD_LIBRARY_PATH:-}

summary=()
failed=0
record() {  # STATUS WHAT DETAIL
  summary+=("$(printf '%-8s %-44s %s' "$1" "$2" "$3")")
  case $1 in FAIL | REFUSED) failed=1 ;; esac
  echo ">> $1: $2${3:+ ($3)}"
}
left() { echo $((budget - SECONDS)); }
# limited SECONDS CMD...: CMD under a timeout cut to the time left; 124 when it ran out.
limited() {
  local s=$1
  shift
  local l=$(($(left) - 5))
  ((l < s)) && s=$l
  if ((s <= 0)); then
    echo "(not run: the ${budget}s budget is spent)"
    return 125
  fi
  timeout --kill-after=10 "$s" "$@"
}
section() { printf '\n==== %s  [%ds of %ds used]\n' "$1" "$SECONDS" "$budget"; }

summarize() {
  section "6. summary"
  printf '%s\n' "${summary[@]}"
  echo "log: $log; scratch: $work; $SECONDS s in all"
}

# ---------------------------------------------------------------- 1. environment
step_env() {
  section "1. environment"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ); host: $(uname -srm); $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
  echo "cpus: $(nproc); $(ldd --version 2>/dev/null | head -1)"
  echo "repository: $root ($(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo 'no git'))"

  if ! pack=$(cd "$pack_arg" 2>/dev/null && pwd) || [ ! -f "$pack/MANIFEST" ]; then
    record FAIL "the pack" "no $pack_arg/MANIFEST: run scripts/gpu-pack.sh on the build machine and carry its folder"
    return 1
  fi
  echo "pack: $pack"
  grep -E '^(commit|built_in|made|cuda_built) ' "$pack/MANIFEST" | sed 's/^/  /'
  if [ -d "$pack/lib" ]; then
    libdir=$pack/lib
  elif [ -f "$pack/lib.tar.xz" ] && tar -C "$work" -xJf "$pack/lib.tar.xz"; then
    libdir=$work/lib
  else
    record FAIL "the pack" "$pack has neither lib/ nor a readable lib.tar.xz"
    return 1
  fi
  echo "packed libraries: $(ls "$libdir" | wc -l) in $libdir"

  # PyTorch's CUDA wheels: nvidia/*/lib under site-packages (cu13/lib, cudnn/lib, nccl/lib ...).
  local py wheel_dirs=() d
  for py in ${PYTHON:-} python3 /opt/torch/.venv/bin/python3; do
    command -v "$py" >/dev/null 2>&1 || continue
    echo "python: $(command -v "$py")"
    LD_LIBRARY_PATH=$orig_ldlp "$py" - <<'PY' 2>/dev/null | sed 's/^/  /'
import importlib.metadata as m
for n in ("torch", "nvidia-cuda-runtime", "nvidia-cublas", "nvidia-cudnn-cu13", "nvidia-nccl-cu13"):
    try: print(n, m.version(n))
    except Exception: print(n, "not installed")
PY
    while IFS= read -r d; do wheel_dirs+=("$d"); done < <(LD_LIBRARY_PATH=$orig_ldlp "$py" - <<'PY' 2>/dev/null
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
    [ ${#wheel_dirs[@]} -gt 0 ] && break
  done
  if [ ${#wheel_dirs[@]} -eq 0 ]; then
    for d in /opt/torch/.venv/lib/python3*/site-packages/nvidia/*/lib; do [ -d "$d" ] && wheel_dirs+=("$d"); done
  fi
  if [ ${#wheel_dirs[@]} -gt 0 ]; then
    echo "CUDA libraries from PyTorch's wheels:"
    printf '  %s\n' "${wheel_dirs[@]}"
  else
    echo "no PyTorch nvidia wheels found: the CUDA libraries must come from the machine's own paths"
  fi
  local ldlp=$libdir
  for d in "${wheel_dirs[@]}" /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/local/cuda/lib64; do
    [ -d "$d" ] && ldlp+=":$d"
  done
  export LD_LIBRARY_PATH=$ldlp${orig_ldlp:+:$orig_ldlp}
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"

  # Every library of every packed binary must resolve; say where each CUDA library comes from.
  local b out missing="" badver="" libs_ok=1
  declare -A where=()
  for b in "$pack"/bin/*; do
    out=$(ldd "$b" 2>&1)
    missing+=$(awk -v b="$(basename "$b")" '/not found/ && /=>/ { printf "  %s: %s\n", b, $1 }' <<<"$out")
    badver+=$(grep -E "version .* not found" <<<"$out" | sed "s|^|  $(basename "$b"): |")
    while read -r n p; do where[$n]=$p; done < <(awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' <<<"$out")
  done
  echo "where the libraries resolve (pack = carried, wheel = PyTorch's, machine = the GPU machine's own):"
  local n p src
  for n in $(printf '%s\n' "${!where[@]}" | sort); do
    p=${where[$n]}
    case $p in
      "$libdir"/*) src=pack ;;
      */site-packages/nvidia/*) src=wheel ;;
      *) src=machine ;;
    esac
    if [[ $n =~ ^lib(cuda|cudart|cublas|cublasLt|cudnn|nccl)[.-] ]] || [ "$src" != pack ]; then
      printf '  %-28s %-8s %s\n' "$n" "$src" "$p"
    fi
  done
  echo "  ($(for n in "${!where[@]}"; do [[ ${where[$n]} == "$libdir"/* ]] && echo x; done | wc -l) more from the pack)"
  if [ -n "$missing" ]; then
    echo "NOT FOUND:"
    echo "$missing"
    libs_ok=0
  fi
  if [ -n "$badver" ]; then
    echo "MISSING SYMBOL VERSIONS (this machine's C library or libstdc++ is older than the build machine's):"
    echo "$badver"
    libs_ok=0
  fi
  if ((libs_ok)); then
    record PASS "libraries resolve" "$(echo "${!where[@]}" | wc -w) libraries for $(ls "$pack"/bin | wc -l) binaries"
  else
    record FAIL "libraries resolve" "$(echo "$missing" | awk 'NF { print $2 }' | sort -u | tr '\n' ' ')$( [ -n "$badver" ] && echo 'and symbol versions')"
  fi

  # The fixtures' path compiled into the test binaries (testlib's GENET_FIXTURES).
  local fx
  fx=$(awk '$1 == "fixtures" { print $2 }' "$pack/MANIFEST")
  if [ -n "$fx" ] && [ ! -e "$fx" ] && [ -d "$root/tests/fixtures" ]; then
    mkdir -p "$(dirname "$fx")" 2>/dev/null && ln -s "$root/tests/fixtures" "$fx" 2>/dev/null &&
      echo "fixtures: linked $fx -> $root/tests/fixtures (the path built into the tests)"
  fi

  local gpu_ok=0
  if command -v nvidia-smi >/dev/null 2>&1 && limited 30 nvidia-smi -L; then
    limited 30 nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv
    gpu_ok=1
    record PASS "GPU" "$(nvidia-smi -L 2>/dev/null | head -1 | cut -c1-60)"
  elif command -v nvidia-smi >/dev/null 2>&1; then
    record FAIL "GPU" "nvidia-smi is there but fails: the driver cannot reach a GPU"
  else
    record FAIL "GPU" "no nvidia-smi: this is not a GPU machine (or its driver is not mounted)"
  fi

  if ((libs_ok)); then
    local v
    v=$(limited 60 "$pack/bin/genet" version 2>&1)
    echo "$v"
    limited 60 "$pack/bin/genet" info 2>&1
    # Found at run time against built: older libraries than the build's are a likely failure.
    local rt bt
    rt=$(grep -o 'cuDNN [0-9]*' <<<"$v" | awk '{ print $2 }'); bt=$(grep -o 'cuDNN [0-9]* (built [0-9]*' <<<"$v" | awk '{ print $4 }')
    [ -n "$rt" ] && [ -n "$bt" ] && [ "$rt" -lt "$bt" ] && echo "WARNING: cuDNN $rt found, genet built against $bt"
    rt=$(grep -o 'NCCL [0-9]*' <<<"$v" | awk '{ print $2 }'); bt=$(grep -o 'NCCL [0-9]* (built [0-9]*' <<<"$v" | awk '{ print $4 }')
    [ -n "$rt" ] && [ -n "$bt" ] && [ "$rt" -lt "$bt" ] && echo "WARNING: NCCL $rt found, genet built against $bt"
  fi
  ((libs_ok && gpu_ok))
}

# ---------------------------------------------------------------- 2. GPU tests
step_gpu_tests() {
  section "2. GPU tests (ctest -L gpu, run directly)"
  local t name rc
  mkdir -p "$work/tests"
  for t in "$pack"/bin/test_gpu_*; do
    name=$(basename "$t")
    echo "-- $name"
    (cd "$work/tests" && NCCL_DEBUG=${NCCL_DEBUG:-WARN} limited 150 "$t") 2>&1
    rc=$?
    case $rc in
      0) record PASS "$name" "" ;;
      77) record SKIP "$name" "exit 77: on a GPU machine this means the GPU was not usable" ;;
      124 | 137) record FAIL "$name" "timed out" ;;
      125) record FAIL "$name" "not run: no time left" ;;
      *) record FAIL "$name" "exit $rc" ;;
    esac
  done
}

# ---------------------------------------------------------------- 3. training, cpu against cuda
train_pair() {  # NAME JOB H5GROUPS LOSS_REGEX ARGS...
  local name=$1 job=$2 groups=$3 pat=$4
  shift 4
  local dev rc_cpu rc_cuda extra
  for dev in cpu cuda; do
    extra=()
    [ $dev = cuda ] && extra=("${cuda_args[@]}")
    echo "-- $name, device=$dev ${extra[*]}"
    (cd "$work" && limited 100 "$pack/bin/genet" train "$root/$job" "$@" device=$dev "${extra[@]}" \
      checkpoint_dir="$work/ck/$name.$dev" out_dir="$work/out/$name.$dev") > "$work/$name.$dev.log" 2>&1
    local rc=$?
    grep -E "$pat" "$work/$name.$dev.log" | tail -6
    tail -3 "$work/$name.$dev.log" | grep -vE "$pat"
    echo "(exit $rc)"
    if [ $dev = cpu ]; then rc_cpu=$rc; else rc_cuda=$rc; fi
  done
  if [ "$rc_cpu" -ne 0 ]; then
    record FAIL "train $name" "the device=cpu reference failed (exit $rc_cpu): $(tail -1 "$work/$name.cpu.log" | cut -c1-120)"
    return
  fi
  if [ "$rc_cuda" -ne 0 ]; then
    local msg
    msg=$(grep -m1 '^genet' "$work/$name.cuda.log" || tail -1 "$work/$name.cuda.log")
    if grep -qiE 'device = cuda|cuda|gpu' <<<"$msg" && [ "$rc_cuda" -le 2 ]; then
      record REFUSED "train $name device=cuda" "exit $rc_cuda: $(cut -c1-160 <<<"$msg")"
    else
      record FAIL "train $name device=cuda" "exit $rc_cuda: $(cut -c1-160 <<<"$msg")"
    fi
    return
  fi
  echo "-- $name: losses, cpu | cuda"
  paste <(grep -E "$pat" "$work/$name.cpu.log") <(grep -E "$pat" "$work/$name.cuda.log") | tail -8
  local a b
  a=$(ls "$work/ck/$name.cpu"/ckpt_*.h5 2>/dev/null | tail -1)
  b=$(ls "$work/ck/$name.cuda"/ckpt_*.h5 2>/dev/null | tail -1)
  if [ -z "$a" ] || [ -z "$b" ] || [ "$(basename "$a")" != "$(basename "$b")" ]; then
    record FAIL "train $name" "final checkpoints differ in step or are missing: ${a##*/} vs ${b##*/}"
    return
  fi
  local rc worst
  # shellcheck disable=SC2086
  limited 60 "$pack/bin/h5cmp" "$a" "$b" 1e-2 $groups > "$work/$name.cmp" 2>&1
  rc=$?
  cat "$work/$name.cmp"
  worst=$(awk '/worst err/ { for (i = 1; i < NF; i++) if ($i == "err") { v = $(i + 1) + 0; if (n == "" || v > m) { m = v; n = $2 } } }
               END { if (n != "") printf "worst err %.2e in %s", m, n }' "$work/$name.cmp")
  if [ $rc -eq 0 ]; then
    record PASS "train $name cpu = cuda" "${a##*/}, h5cmp 1e-2 on $groups: $worst"
  else
    record FAIL "train $name cpu = cuda" "${a##*/}, h5cmp 1e-2 on $groups (exit $rc): ${worst:-no comparison}"
  fi
}

# resume_pair NAME DEV JOB H5GROUPS STEPS ARGS...: on DEV, STEPS/2 steps, stop, resume to STEPS;
# the checkpoint must be that of train_pair's uninterrupted run on DEV, bit for bit.
resume_pair() {
  local name=$1 dev=$2 job=$3 groups=$4 steps=$5
  shift 5
  local want d="$work/ck/$name.$dev.resumed" m rc=0 got
  want=$(ls "$work/ck/$name.$dev"/ckpt_*.h5 2>/dev/null | tail -1)
  if [ -z "$want" ]; then
    record SKIP "resume $name on $dev" "no uninterrupted $dev run to compare with"
    return
  fi
  local extra=()
  [ "$dev" = cuda ] && extra=("${cuda_args[@]}")
  for m in $((steps / 2)) "$steps"; do
    echo "-- $name on $dev to step $m"
    (cd "$work" && limited 100 "$pack/bin/genet" train "$root/$job" "$@" device="$dev" "${extra[@]}" \
      max_steps="$m" checkpoint_dir="$d" out_dir="$work/out/$name.$dev.resumed") >> "$work/$name.$dev.resumed.log" 2>&1
    rc=$?
    if [ $rc -ne 0 ]; then
      record FAIL "resume $name on $dev" "the run to step $m failed (exit $rc): $(tail -1 "$work/$name.$dev.resumed.log" | cut -c1-120)"
      return
    fi
  done
  got=$(ls "$d"/ckpt_*.h5 2>/dev/null | tail -1)
  if [ "$(basename "$got")" != "$(basename "$want")" ]; then
    record FAIL "resume $name on $dev" "last checkpoints differ in step: ${got##*/} vs ${want##*/}"
    return
  fi
  # shellcheck disable=SC2086
  limited 60 "$pack/bin/h5cmp" "$want" "$got" 0 $groups > "$work/$name.$dev.resumed.cmp" 2>&1
  rc=$?
  tail -4 "$work/$name.$dev.resumed.cmp"
  if [ $rc -eq 0 ]; then
    record PASS "resume $name on $dev bit for bit" "$((steps / 2)) + $((steps - steps / 2)) steps = $steps, h5cmp 0 on $groups"
  else
    record FAIL "resume $name on $dev bit for bit" "h5cmp 0 on $groups (exit $rc): $(grep -m1 -v 'bitwise equal' "$work/$name.$dev.resumed.cmp" | cut -c1-120)"
  fi
}

step_train() {
  section "3. the demo jobs, device=cpu against device=cuda"
  mkdir -p "$work/data"
  if ! (limited 60 "$pack/bin/genet" prepare synthetic-text "$work/data/synthetic-text" &&
        limited 60 "$pack/bin/genet" prepare text "$work/data/synthetic-text" "$work/data/synthetic-text.h5" &&
        limited 60 "$pack/bin/genet" prepare synthetic-glyphs "$work/data/synthetic-glyphs.h5" n=640) > "$work/prepare.log" 2>&1; then
    cat "$work/prepare.log"
    record FAIL "demo data" "genet prepare failed"
    return
  fi
  local fx=$root/tests/fixtures
  # Strict fp32 on the GPU where genet has the key (TF32 would move the weights by ~1e-3).
  cuda_args=()
  if "$pack/bin/genet" train --help 2>&1 | grep -qE '^ +precision '; then
    cuda_args=(precision=fp32)
  fi
  train_pair lm jobs/lm_demo.job "params" '^\| epoch .*loss' \
    data="$work/data/synthetic-text.h5" max_steps=20 log_interval=5 checkpoint_every=0
  train_pair dcgan jobs/dcgan_demo.job "params buffers" 'Loss_D' \
    data="$work/data/synthetic-glyphs.h5" max_steps=10 log_interval=2 sample_every=0 checkpoint_every=0
  resume_pair lm cuda jobs/lm_demo.job "params" 20 \
    data="$work/data/synthetic-text.h5" log_interval=5 checkpoint_every=0
  resume_pair dcgan cuda jobs/dcgan_demo.job "params buffers" 10 \
    data="$work/data/synthetic-glyphs.h5" log_interval=2 sample_every=0 checkpoint_every=0
  train_pair style jobs/style_gatys.job "state" '^Iteration' \
    content="$fx/image_rgb.jpg" style="$fx/image_prog444.jpg" vgg="$fx/vgg_tiny_weights.h5" \
    size=40 max_evals=10 max_iter=5 show_every=1
}

# ---------------------------------------------------------------- 4. NCCL and MPI
step_nccl() {
  section "4. NCCL at world size 1; MPI with 2 ranks if there is an mpirun"
  local t=$pack/bin/test_gpu_nccl rc
  if [ -x "$t" ]; then
    (cd "$work/tests" && NCCL_DEBUG=INFO limited 90 "$t") 2>&1
    rc=$?
    case $rc in
      0) record PASS "NCCL, 1 rank (GradSync on device buffers)" "" ;;
      77) record SKIP "NCCL, 1 rank" "test_gpu_nccl skipped (exit 77)" ;;
      *) record FAIL "NCCL, 1 rank" "test_gpu_nccl exit $rc" ;;
    esac
  else
    record FAIL "NCCL, 1 rank" "no test_gpu_nccl in the pack"
  fi

  local mpirun
  mpirun=$(command -v mpirun || command -v mpiexec || true)
  if [ -z "$mpirun" ]; then
    record SKIP "MPI, 2 ranks" "no mpirun on this machine"
    return
  fi
  local ver
  ver=$(LD_LIBRARY_PATH=$orig_ldlp "$mpirun" --version 2>&1 | head -2)
  echo "$mpirun: $ver"
  if ! grep -q "Open MPI" <<<"$ver"; then
    record SKIP "MPI, 2 ranks" "$mpirun is not Open MPI; the packed libmpi is Open MPI 4.1's"
    return
  fi
  # The machine's Open MPI libraries (and plugins) first, for mpirun and for the ranks.
  local mpilib ranks_ldlp
  mpilib=$(cd "$(dirname "$(readlink -f "$mpirun")")/../lib" 2>/dev/null && pwd)
  ranks_ldlp=${mpilib:+$mpilib:}$LD_LIBRARY_PATH
  local run=(env LD_LIBRARY_PATH="$orig_ldlp" "$mpirun" --allow-run-as-root --oversubscribe -x LD_LIBRARY_PATH="$ranks_ldlp" -x OMP_NUM_THREADS=1 -np 2)
  echo "-- test_ddp on 2 CPU ranks"
  (cd "$work/tests" && limited 120 "${run[@]}" "$pack/bin/test_ddp") 2>&1 | tail -25
  rc=${PIPESTATUS[0]}
  if [ "$rc" -eq 0 ]; then record PASS "MPI, 2 CPU ranks (test_ddp)" ""; else record FAIL "MPI, 2 CPU ranks (test_ddp)" "exit $rc"; fi
  local ngpu
  ngpu=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')
  echo "-- test_gpu_nccl on 2 ranks ($ngpu GPU(s))"
  (cd "$work/tests" && limited 90 "${run[@]}" "$t") > "$work/nccl2.log" 2>&1
  rc=$?
  tail -25 "$work/nccl2.log"
  if [ "$ngpu" -eq 0 ]; then
    record SKIP "NCCL, 2 ranks" "no GPU"
  elif [ "$ngpu" -ge 2 ]; then
    if [ $rc -eq 0 ]; then record PASS "NCCL, 2 ranks on 2 GPUs" ""; else record FAIL "NCCL, 2 ranks on 2 GPUs" "exit $rc"; fi
  elif [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -ne 137 ] && grep -q "has no GPU" "$work/nccl2.log"; then
    record PASS "2 ranks on 1 GPU stop cleanly" "comm_pick_device refused, as it should"
  else
    record FAIL "2 ranks on 1 GPU stop cleanly" "exit $rc, no 'has no GPU' message"
  fi
}

# ---------------------------------------------------------------- 5. benchmarks
# scripts/bench/gpu_*.py (gpu_bench.py: DCGAN, LM and style, genet against PyTorch on this GPU),
# run by a Python that has PyTorch, with GENET and GENET_LD_LIBRARY_PATH (genet's libraries;
# Python keeps the machine's own) and --out: their markdown block is appended to
# $OUT/gpu-bench.md (beside the log). Exit 3 is a genet side that refused the device.
step_bench() {
  section "5. benchmarks: genet against PyTorch on this GPU (scripts/bench/gpu_*.py)"
  local benches=() b rc py="" cand
  for b in "$root"/scripts/bench/gpu_*.py; do [ -f "$b" ] && benches+=("$b"); done
  if [ ${#benches[@]} -eq 0 ]; then
    record SKIP "benchmarks" "no scripts/bench/gpu_*.py"
    return
  fi
  for cand in ${PYTHON:-} /opt/torch/.venv/bin/python3 python3; do
    command -v "$cand" >/dev/null 2>&1 || continue
    if LD_LIBRARY_PATH=$orig_ldlp "$cand" -c 'import torch' 2>/dev/null; then py=$(command -v "$cand"); break; fi
  done
  if [ -z "$py" ]; then
    record SKIP "benchmarks" "no python3 with PyTorch (tried ${PYTHON:-} /opt/torch/.venv/bin/python3 python3)"
    return
  fi
  local md
  md=$(dirname "$log")/gpu-bench.md
  for b in "${benches[@]}"; do
    echo "-- $py $b --out $md"
    local genet_ldlp=$LD_LIBRARY_PATH
    (cd "$work" && export GENET="$pack/bin/genet" GENET_LD_LIBRARY_PATH="$genet_ldlp" \
      LD_LIBRARY_PATH="$orig_ldlp" PYTHONUNBUFFERED=1 && limited 240 "$py" "$b" --out "$md") 2>&1
    rc=$?
    case $rc in
      0) record PASS "bench $(basename "$b")" "table in $(basename "$md")" ;;
      3) record REFUSED "bench $(basename "$b")" "a genet side refused device=cuda (see the table)" ;;
      124 | 137) record FAIL "bench $(basename "$b")" "timed out" ;;
      *) record FAIL "bench $(basename "$b")" "exit $rc" ;;
    esac
  done
}

main() {
  echo "genet gpu-check: $(date -u +%Y-%m-%dT%H:%M:%SZ), budget ${budget}s, log $log"
  local env_ok=1
  step_env || env_ok=0
  if ((!env_ok)); then
    if [ "${GPU_CHECK_CONTINUE:-0}" = 1 ] && [ -n "$libdir" ]; then
      echo "GPU_CHECK_CONTINUE=1: going on after step 1 failed (to try the later steps' mechanics)"
    else
      for s in "2. GPU tests" "3. demo jobs cpu/cuda" "4. NCCL and MPI" "5. benchmarks"; do
        record "NOT RUN" "$s" "step 1 failed"
      done
      summarize
      echo "gpu-check: stopped at step 1 (environment): see the lines marked FAIL above"
      return 2
    fi
  fi
  step_gpu_tests
  step_train
  step_nccl
  step_bench
  summarize
  if ((!env_ok)); then
    echo "gpu-check: step 1 (environment) failed: nothing above validates CUDA"
    return 2
  elif ((failed)); then
    echo "gpu-check: something failed or was refused (see above)"
    return 1
  fi
  echo "gpu-check: all steps passed or were skipped"
  return 0
}

work=$(mktemp -d "${TMPDIR:-/tmp}/genet-gpu-check.XXXXXX") || exit 2
pack=""
libdir=""
mkdir -p "$(dirname "$log")"
main 2>&1 | tee "$log"
exit "${PIPESTATUS[0]}"
