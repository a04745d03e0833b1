#!/usr/bin/env bash
# The layers' dependencies point one way (docs/ARCHITECTURE.md): each folder of src/ includes
# only the folders below it, ops and models know nothing of MPI, NCCL or comm/, and comm/
# needs nothing of src/ but the one error path (core/util.h). At the bottom, src/base/ (the
# headers host and device code share) includes only itself, and kernels/ (CUDA) only base/ and
# itself. A new include that breaks the rule fails here, naming the file and the line.
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
      [ "$inc" = "$top" ] && continue  # a header of the same folder, by bare name (comm/)
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
  return $bad
}

check_tree . || fail "includes that break the layering (see above)"
# The check itself must be able to fail: planted trees, each with one violation.
p=$w/planted
for plant in 'src/ops/x.c:#include "comm/ddp.h"' 'src/models/x.c:#include <mpi.h>' \
             'src/data/x.c:#include "train/ckpt.h"' 'comm/x.c:#include "core/params.h"' \
             'src/train/x.c:#include "tasks/lm_task.h"' 'kernels/x.cu:#include "ops/elementwise.h"' \
             'kernels/x.cuh:#include "core/util.h"' 'kernels/x.h:#include "core/rng.h"' \
             'src/base/x.h:#include "core/hd.h"'; do
  rm -rf "$p"
  mkdir -p "$p/$(dirname "${plant%%:*}")"
  echo "${plant#*:}" > "$p/${plant%%:*}"
  if check_tree "$p" > /dev/null; then fail "planted '${plant}' was not caught"; fi
done
pass "src/ folders include only the layers below them; kernels/ only base/; base/ nothing else; ops, models, optim, data, tasks, train include no MPI/NCCL header; comm/ only core/util.h and base/ (9 planted violations caught)"
