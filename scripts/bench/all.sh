#!/usr/bin/env bash
# Every CPU benchmark, genet against PyTorch 1.13 (Debian's, /usr/bin/python3), PyTorch 2.x eager
# and PyTorch 2.x with torch.compile (from PyPI, in build/bench-venv, created here on first use),
# side by side: RUNS runs, interleaved (run 1 of every side, then run 2, ...), each side in
# processes of its own, through the per-workload scripts (lm.sh, dcgan.sh, gpu_bench.py's style
# evaluation, fast_style.sh) and their *_torch.py references. Then the three demo jobs run whole,
# once a side, against their reference scripts on the same data (lm_demo_torch.py,
# style_demo_torch.py as shipped; dcgan_demo_torch.py for --demo-epochs epochs, default 3: the
# shipped 25 take PyTorch 1.13 alone over 5 minutes here, --demo-epochs=25), and `make demo`'s
# workloads whole (scripts/demo.sh, genet alone) against the time README states.
# Prints, per benchmark, each side's median over the runs with the spread (min-max), the ratios
# genet/PyTorch (against the faster PyTorch 2.x variant first), the threads and peak RSS of each
# side and the ISA oneDNN picked on each side; one Markdown table at the end (all_report.py), with
# the machine, the date, the load average at the start and the end and the command.
#   scripts/bench/all.sh [--quick] [--only=lm,dcgan,style,fast_style,demo,make_demo]
#                        [--demo-epochs=3] [--demo-runs=1] [THREADS] [RUNS]
#     defaults: 2 threads, 3 runs, everything, the demo jobs and make demo once a side (a run of
#     the defaults takes ~13.5 minutes on 2 cores; --only=demo --demo-runs=3: the demo jobs three
#     times, interleaved, ~11 minutes). --quick: one timed step each, small fast-style
#     and style sizes, the demo jobs cut short (LM 1 epoch, style 20 evaluations, DCGAN 1 epoch,
#     DEMO_QUICK=1): a try of the harness, not figures.
# Keep the venv out of `make test` and CI: only this script creates it.
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$0")/../.."
quick=0
demo_epochs=
demo_runs=1
only=lm,dcgan,style,fast_style,demo,make_demo
pos=()
for a in "$@"; do
  case $a in
    --quick) quick=1 ;;
    --only=*) only=${a#--only=} ;;
    --demo-epochs=*) demo_epochs=${a#--demo-epochs=} ;;
    --demo-runs=*) demo_runs=${a#--demo-runs=} ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$self"; exit 0 ;;
    -*) echo "all.sh: unknown option $a" >&2; exit 2 ;;
    *) pos+=("$a") ;;
  esac
done
threads=${pos[0]:-2}
runs=${pos[1]:-3}
for b in ${only//,/ }; do
  case $b in lm|dcgan|style|fast_style|demo|make_demo) ;; *) echo "all.sh: --only: unknown benchmark '$b' (lm, dcgan, style, fast_style, demo, make_demo)" >&2; exit 2 ;; esac
done
[[ $threads =~ ^[1-9][0-9]*$ && $runs =~ ^[1-9][0-9]*$ && $demo_runs =~ ^[1-9][0-9]*$ ]] ||
  { echo "all.sh: THREADS, RUNS and --demo-runs are positive integers" >&2; exit 2; }
command="scripts/bench/all.sh $*"
t_start=$SECONDS
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
date_start=$(date -u '+%Y-%m-%d %H:%M UTC')

# ---- set-up, once: packages, the Release build, the PyTorch 2.x venv
bash scripts/install-deps.sh --torch
make -s build > /dev/null
venv=build/bench-venv
if ! "$venv/bin/python" -c 'import torch, numpy, h5py, PIL' 2> /dev/null; then
  echo "all.sh: creating $venv with PyTorch 2.x from PyPI (first use; the default wheel also pulls CUDA libraries it does not use on the CPU)"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet torch numpy h5py pillow
fi
export BENCH_SETUP_DONE=1
export OMP_NUM_THREADS=$threads
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
unset ONEDNN_VERBOSE DNNL_VERBOSE
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# ---- the machine and each side's libraries, threads and oneDNN ISA
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
isa_flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|avx512f|avx512_bf16|avx512_vnni|amx_tile)$' | tr '\n' ' ')
echo "## genet against PyTorch 1.13 and 2.x on the CPU: $date_start"
echo
echo "- machine: $cpu, $(nproc) cores, ISA flags: ${isa_flags:-no avx2}; $(uname -r)"
echo "- threads: $threads both sides (OMP_NUM_THREADS=$OMP_NUM_THREADS, genet threads=$threads, torch.set_num_threads($threads)); OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE"
echo "- load average at the start: $load_start"
printf 'p conv 8 64 56 56 64 3 1 1\n' > "$out/probe.cases"
genet_isa=$(ONEDNN_VERBOSE=1 DNNL_VERBOSE=1 build/bench_layers "$out/probe.cases" 1 2>&1 |
  sed -n 's/.*,isa:\(.*\)/\1/p' | head -1)
echo "- genet: $(build/genet version | head -1); $(build/bench_layers "$out/probe.cases" 1 2>&1 | sed -n 's/^# genet: //p' | head -1); oneDNN ISA (ONEDNN_VERBOSE): ${genet_isa:-?}"
cat > "$out/probe.py" <<'PY'
import sys
sys.path.insert(0, "scripts/bench")
import torch
import torchside
torch.set_num_threads(int(sys.argv[1]))
x = torch.randn(8, 64, 56, 56, requires_grad=True)
with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):  # prints oneDNN's ISA line
    torch.nn.functional.conv2d(x, torch.randn(64, 64, 3, 3), padding=1).sum().backward()
print("config:", torchside.config_line())
PY
declare -A pyisa
for py in /usr/bin/python3 "$venv/bin/python"; do
  p=$(ONEDNN_VERBOSE=1 "$py" "$out/probe.py" "$threads" 2>&1 || true)
  pyisa[$py]=$(sed -n 's/.*,isa:\(.*\)/\1/p' <<< "$p" | head -1)
  echo "- $(sed -n 's/^config: //p' <<< "$p"); oneDNN ISA (ONEDNN_VERBOSE): ${pyisa[$py]:-?}"
done
echo

# ---- sizes
if [ "$quick" = 1 ]; then
  lm_steps=2; dc_steps=1; st_args=(--tiny --steps 1 --warmup 2); fs_steps=1; fs_size=64; fs_ssize=128; demo_epochs=${demo_epochs:-1}
  lm_demo_epochs=1; style_demo_evals=20
else
  lm_steps=5; dc_steps=2; st_args=(--steps 2 --warmup 2); fs_steps=1; fs_size=256; fs_ssize=512; demo_epochs=${demo_epochs:-3}
  lm_demo_epochs=6; style_demo_evals=200  # the jobs as shipped
fi
sides=(genet torch1.13 torch2 torch2-compile)

# side SIDE -> the environment of a per-workload script for that side
side_env() {
  case $1 in
    genet) echo "SIDE=genet" ;;
    torch1.13) echo "SIDE=torch PYTHON=/usr/bin/python3" ;;
    torch2) echo "SIDE=torch PYTHON=$venv/bin/python" ;;
    torch2-compile) echo "SIDE=torch PYTHON=$venv/bin/python TORCH_ARGS=--compile" ;;
  esac
}
side_py() { case $1 in torch1.13|genet) echo /usr/bin/python3 ;; *) echo "$venv/bin/python" ;; esac; }

# one BENCH SIDE RUN: runs that side once, appends its `result` lines to $out/results
one() {
  local bench=$1 side=$2 run=$3 log="$out/$1.$2.$3.log" t0=$SECONDS rc=0 extra=()
  [ "$side" = torch2-compile ] && extra=(--compile)
  case $bench in
    lm) env $(side_env "$side") bash scripts/bench/lm.sh "$threads" "$lm_steps" > "$log" 2>&1 || rc=$? ;;
    dcgan) env $(side_env "$side") bash scripts/bench/dcgan.sh "$threads" "$dc_steps" > "$log" 2>&1 || rc=$? ;;
    fast_style) env $(side_env "$side") SIZE=$fs_size STYLIZE_SIZE=$fs_ssize TORCH_WARMUP=1 \
      bash scripts/bench/fast_style.sh "$threads" "$fs_steps" > "$log" 2>&1 || rc=$? ;;
    style)
      local s=torch
      [ "$side" = genet ] && s=genet
      "$(side_py "$side")" scripts/bench/gpu_bench.py --device cpu --only style --threads "$threads" \
        --sides "$s" --timeout 600 "${st_args[@]}" "${extra[@]}" > "$log" 2>&1 || rc=$? ;;
    lm_demo|style_demo|dcgan_demo) demo "$bench" "$side" "$run" > "$log" 2>&1 || rc=$? ;;
    make_demo) make_demo > "$log" 2>&1 || rc=$? ;;
  esac
  grep '^torch.compile failed' "$log" | sed "s/^/  $side: /" || true
  if grep -q '^result ' "$log"; then
    sed -n "s/^result /$side $run /p" "$log" >> "$out/results"
  else
    echo "$side $run $bench failed exit $rc" >> "$out/results"
    echo "  $side run $run: $bench FAILED (exit $rc); its last lines:"
    tail -n 5 "$log" | sed 's/^/    /'
  fi
  printf '  %-14s run %d: %s (%d s)\n' "$side" "$run" \
    "$(sed -n 's/^result \([a-z_]*\) ms \([0-9.]*\).* rss_mb \([0-9]*\).*/\1 \2 ms, peak RSS \3 MB/p; s/^result \([a-z_]*\) failed.*/\1 failed/p' "$log" | paste -sd';' -)" \
    $((SECONDS - t0))
}

# The demo jobs run whole, once a side: the wall time and peak RSS of the process (GNU time's %e
# and %M), genet's `train` against the reference script of the same job on the same data.
demo() {  # BENCH SIDE RUN
  local bench=$1 side=$2 d="$out/$1.$2.$3" r rc=0 extra=() gargs=() targs=()
  mkdir -p "$d"
  [ "$side" = torch2-compile ] && extra=(--compile)
  case $bench in
    lm_demo)
      [ -f "$out/text.h5" ] || { build/genet prepare synthetic-text "$out/text" > /dev/null &&
        build/genet prepare text "$out/text" "$out/text.h5" > /dev/null; }
      gargs=(jobs/lm_demo.job data="$out/text.h5" epochs="$lm_demo_epochs")
      targs=(scripts/bench/lm_demo_torch.py "$out/text.h5" --epochs "$lm_demo_epochs") ;;
    style_demo)
      gargs=(jobs/style_demo.job max_evals="$style_demo_evals")
      targs=(scripts/bench/style_demo_torch.py assets/demo/cat.jpg assets/demo/strokes.png --max-evals "$style_demo_evals"
             --out "$d/result.png") ;;
    dcgan_demo)
      [ -f "$out/glyphs.h5" ] || build/genet prepare synthetic-glyphs "$out/glyphs.h5" n=6400 size=32 > /dev/null
      gargs=(jobs/dcgan_demo.job data="$out/glyphs.h5" epochs="$demo_epochs")
      targs=(scripts/bench/dcgan_demo_torch.py "$out/glyphs.h5" --epochs "$demo_epochs" --out "$d") ;;
  esac
  if [ "$side" = genet ]; then
    /usr/bin/time -f '%e %M' -o "$d/time" build/genet train "${gargs[@]}" checkpoint_dir="$d/ck" \
      out_dir="$d" resume=never threads="$threads" device=cpu > "$d/run.log" 2>&1 || rc=$?
  else
    /usr/bin/time -f '%e %M' -o "$d/time" "$(side_py "$side")" "${targs[@]}" --threads "$threads" \
      "${extra[@]}" > "$d/run.log" 2>&1 || rc=$?
  fi
  cat "$d/run.log"
  [ "$rc" = 0 ] || return "$rc"
  grep -q "^result $bench failed" "$d/run.log" && return 0
  read -r r < "$d/time"
  awk -v b="$bench" -v e="${r% *}" -v m="${r#* }" -v t="$threads" 'BEGIN {
    printf "result %s ms %.0f n 1 rss_mb %.0f threads %d\n", b, e * 1000, m / 1024, t }'
}

# `make demo`'s workloads whole (scripts/demo.sh on the CPU, genet alone: PyTorch has no such
# script), into a scratch directory: the wall time to set against the time README states.
make_demo() {
  local d="$out/make_demo" r rc=0
  mkdir -p "$d"
  DEMO_DEVICE=cpu DEMO_DATA="$d/data" DEMO_QUICK=$quick OMP_NUM_THREADS=$threads /usr/bin/time -f '%e %M' -o "$d/time" \
    bash scripts/demo.sh build/genet "$d/runs" > "$d/run.log" 2>&1 || rc=$?
  grep -E '^(==== done in|language model|DCGAN|style transfer|demo:|  )' "$d/run.log" | head -n 20
  [ "$rc" = 0 ] || { tail -n 20 "$d/run.log"; return "$rc"; }
  read -r r < "$d/time"
  awk -v e="${r% *}" -v m="${r#* }" -v t="$threads" 'BEGIN {
    printf "result make_demo ms %.0f n 1 rss_mb %.0f threads %d\n", e * 1000, m / 1024, t }'
}

# ---- the runs, interleaved
for r in $(seq 1 "$runs"); do
  for b in lm dcgan style fast_style; do
    [[ ",$only," == *",$b,"* ]] || continue
    echo "-- $b, run $r of $runs ($((SECONDS - t_start)) s so far)"
    for s in "${sides[@]}"; do one "$b" "$s" "$r"; done
  done
done
if [[ ",$only," == *",demo,"* ]]; then
  for r in $(seq 1 "$demo_runs"); do
    for b in lm_demo style_demo dcgan_demo; do
      echo "-- $b: jobs/$b.job whole$([ $b = dcgan_demo ] && echo ", $demo_epochs epochs"), run $r of $demo_runs ($((SECONDS - t_start)) s so far)"
      for s in "${sides[@]}"; do one "$b" "$s" "$r"; done
    done
  done
fi
if [[ ",$only," == *",make_demo,"* ]]; then
  echo "-- make demo's workloads whole (scripts/demo.sh, DEMO_DEVICE=cpu), genet alone ($((SECONDS - t_start)) s so far)"
  one make_demo genet 1
  sed -n 's/^==== \(done in .*\)/  make demo: \1/p' "$out/make_demo.genet.1.log"
fi

# ---- the table
echo
echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); wall time $((SECONDS - t_start)) s"
echo "- command: \`$command\`$([ "$quick" = 1 ] && echo ' (--quick: a try of the harness at small sizes; NOT benchmark figures)')"
echo
/usr/bin/python3 scripts/bench/all_report.py "$out/results" "$threads" "$quick" \
  "${genet_isa:-?}" "${pyisa[/usr/bin/python3]:-?}" "${pyisa[$venv/bin/python]:-?}"
