#!/usr/bin/env bash
# The layers' dependencies point one way (docs/ARCHITECTURE.md): each folder of src/ includes
# only the folders below it, ops and models know nothing of MPI, NCCL or comm/, and comm/
# needs nothing of src/ but the one error path (core/util.h). At the bottom, src/base/ (the
# headers host and device code share) includes only itself, and kernels/ (CUDA) only base/ and
# itself. Every include names its folder ("comm/ddp.h", as CMakeLists.txt says), no two files
# of a folder include each other's headers (a cycle), and what a .c file defines it declares in
# its own header (so no header declares another file's functions). A new include or definition
# that breaks a rule fails here, naming the file and the line.
# Usage: test_layers.sh REPO_ROOT
set -euo pipefail
root=$1
. "$(dirname "$0")/testlib.sh"
cd "$root"

# folder: the folders its files may include ("quoted" includes name their folder).
allowed() {
  case $1 in
    src/base) echo "base" ;;
    kernels) echo "base kernels" ;;
    src/core) echo "base core kernels" ;;
    src/ops) echo "base core ops kernels" ;;
    src/data) echo "base core data" ;;
    src/metrics) echo "base core data metrics" ;;
    src/models) echo "base core ops data models" ;;
    src/optim) echo "base core ops data optim" ;;
    src/train) echo "base core ops data train comm" ;;
    src/tasks) echo "base core ops data models optim train tasks comm metrics" ;;
    src/cmd) echo "base core ops data models optim train tasks comm cmd kernels metrics" ;;
    comm) echo "comm base core/util.h" ;;
  esac
}

# Prints each include in ROOT that breaks the rules; returns 1 if there is one.
check_tree() {
  local bad=0 dir ok hit inc top fine a
  for dir in src/base kernels src/core src/ops src/data src/metrics src/models src/optim src/train src/tasks src/cmd comm; do
    [ -d "$1/$dir" ] || continue
    ok=$(allowed "$dir")
    while IFS= read -r hit; do
      inc=$(sed 's/.*#include "\([^"]*\)".*/\1/' <<< "$hit")
      top=${inc%%/*}
      if [ "$inc" = "$top" ]; then
        echo "layer rule: ${hit#$1/}: name the folder (\"${dir#src/}/$inc\")"; bad=1; continue
      fi
      fine=0
      for a in $ok; do if [ "$a" = "$top" ] || [ "$a" = "$inc" ]; then fine=1; fi; done
      if [ $fine = 0 ]; then echo "layer rule: ${hit#$1/} ($dir may include: $ok)"; bad=1; fi
    done < <(grep -Hn '#include "' "$1/$dir"/*.[ch] "$1/$dir"/*.cu "$1/$dir"/*.cuh 2>/dev/null || true)
  done
  # MPI and NCCL themselves: only comm/ and the fatal path (core/util.c: MPI_Abort) see them.
  for dir in src/base src/ops src/models src/optim src/data src/metrics src/tasks src/train; do
    [ -d "$1/$dir" ] || continue
    if grep -Hn '#include <\(mpi\|nccl\)\.h>' "$1/$dir"/*.[ch] 2>/dev/null; then
      echo "layer rule: MPI/NCCL header above, outside comm/"; bad=1
    fi
  done
  check_cycles "$1" || bad=1
  check_homes "$1" || bad=1
  return $bad
}

# Two files of one folder, each reaching the other's header through its includes (a.c: "x/b.h",
# b.c: "x/c.h", which includes "x/a.h"): neither can be understood, tested or replaced alone.
# One pair by design: runlog.c is the training loop's recorder, split from trainer.c for size,
# and reads the Trainer it records (its step, epoch, task) as trainer.c calls it.
cycle_ok() { [ "$1" = "src/train:runlog:trainer" ] || [ "$1" = "src/train:trainer:runlog" ]; }
check_cycles() {
  local bad=0 dir f g base other
  for dir in src/core src/ops src/data src/metrics src/models src/optim src/train src/tasks src/cmd comm; do
    [ -d "$1/$dir" ] || continue
    for f in "$1/$dir"/*.c; do
      [ -e "$f" ] || continue
      base=$(basename "$f" .c)
      for other in $(reach "$1/$dir" "$f"); do
        [ "$other" = "$base" ] && continue
        cycle_ok "$dir:$base:$other" && continue
        g="$1/$dir/$other.c"
        # (the list first, then the match: grep -q stopping early would fail reach under pipefail)
        if [ -e "$g" ] && [[ " $(reach "$1/$dir" "$g" | tr '\n' ' ') " == *" $base "* ]]; then
          echo "cycle: ${f#$1/} reaches $other.h and ${g#$1/} reaches $base.h"; bad=1
        fi
      done
    done
  done
  return $bad
}

# The headers of DIR (names without .h) that FILE includes, directly or through them.
reach() {
  local dir=$1 seen="" todo new h
  todo=$(includes_here "$dir" "$2")
  while [ -n "$todo" ]; do
    new=""
    for h in $todo; do
      case " $seen " in *" $h "*) continue ;; esac
      seen="$seen $h"
      [ -e "$dir/$h.h" ] && new="$new $(includes_here "$dir" "$dir/$h.h")"
    done
    todo=$new
  done
  printf '%s\n' $seen
}
includes_here() {  # DIR FILE: the headers of DIR that FILE names, with or without the folder
  local top=${1##*/}
  sed -n "s|^#include \"\($top/\)\{0,1\}\([a-z0-9_]*\)\.h\".*|\2|p" "$2"
}

# Each function a .c file defines (not static) is declared in the header of the same name.
# Exceptions, by design: main; core/util.c also defines base/sys.h's fatal path and allocation
# (base/ may not include core/); data/'s prepare_*.c and synthetic_*.c share data/prepare.h.
check_homes() {
  local bad=0 f h fn hdrs
  for f in "$1"/src/*/*.c "$1"/comm/*.c; do
    [ -e "$f" ] || continue
    hdrs=${f%.c}.h
    case ${f#$1/} in
      src/core/util.c) hdrs="$hdrs $1/src/base/sys.h" ;;
      src/data/prepare_*.c|src/data/synthetic_*.c) hdrs="$hdrs $1/src/data/prepare.h" ;;
    esac
    for fn in $(grep -E '^[a-zA-Z_][a-zA-Z0-9_ *]*[ *][a-z_][a-z0-9_]*\(' "$f" | grep -vE '^(static|typedef)|;$|^__attribute__' |
                sed -E 's/^[^(]*[ *]([a-z_][a-z0-9_]*)\(.*/\1/'); do
      [ "$fn" = main ] && continue
      # shellcheck disable=SC2086  # word splitting wanted: the headers
      grep -qsE "\b$fn\(" $hdrs || { echo "home rule: ${f#$1/} defines $fn, which ${hdrs// /, } does not declare"; bad=1; }
    done
  done
  return $bad
}

check_tree . || fail "includes that break the layering (see above)"
# The check itself must be able to fail: planted trees, each with one violation.
p=$w/planted
for plant in 'src/ops/x.c:#include "comm/ddp.h"' 'src/models/x.c:#include <mpi.h>' \
             'src/data/x.c:#include "train/ckpt.h"' 'comm/x.c:#include "core/params.h"' \
             'src/train/x.c:#include "tasks/lm_task.h"' 'kernels/x.cu:#include "ops/elementwise.h"' \
             'kernels/x.cuh:#include "core/util.h"' 'kernels/x.h:#include "core/rng.h"' \
             'src/base/x.h:#include "core/hd.h"' 'comm/x.c:#include "ddp.h"' 'kernels/x.cu:#include "cuda_ops.h"' \
             'comm/a.c:#include "comm/b.h"|comm/b.c:#include "comm/a.h"' \
             'src/train/a.h:void a_run(void);|src/train/b.c:void a_run(void) {}'; do
  rm -rf "$p"
  IFS='|' read -ra files <<< "$plant"
  for one in "${files[@]}"; do
    mkdir -p "$p/$(dirname "${one%%:*}")"
    echo "${one#*:}" > "$p/${one%%:*}"
  done
  if check_tree "$p" > /dev/null; then fail "planted '${plant}' was not caught"; fi
done
pass "src/ folders include only the layers below them; kernels/ only base/; base/ nothing else; ops, models, optim, data, tasks, train include no MPI/NCCL header; comm/ only core/util.h and base/; includes name their folder; no include cycle in a folder; definitions declared in their own header (13 planted violations caught)"
