#!/usr/bin/env bash
# The layers' dependencies point one way (docs/ARCHITECTURE.md): each folder of src/ includes
# only the folders below it, ops and models know nothing of MPI, NCCL or comm/, and comm/
# needs nothing of src/ but the one error path (core/util.h). A new include that breaks the
# rule fails here, naming the file and the line.
# Usage: test_layers.sh REPO_ROOT
set -euo pipefail
root=$1
. "$(dirname "$0")/testlib.sh"
cd "$root"

# folder: the folders its files may include ("quoted" includes name their folder).
allowed() {
  case $1 in
    src/core) echo "core kernels" ;;
    src/ops) echo "core ops kernels" ;;
    src/data) echo "core data" ;;
    src/models) echo "core ops data models" ;;
    src/optim) echo "core ops data optim" ;;
    src/train) echo "core data train comm" ;;
    src/tasks) echo "core ops data models optim train tasks comm" ;;
    src/cmd) echo "core ops data models optim train tasks comm cmd kernels" ;;
    comm) echo "comm core/util.h" ;;
  esac
}

bad=0
for dir in src/core src/ops src/data src/models src/optim src/train src/tasks src/cmd comm; do
  ok=$(allowed "$dir")
  while IFS= read -r hit; do
    inc=$(sed 's/.*#include "\([^"]*\)".*/\1/' <<< "$hit")
    top=${inc%%/*}
    [ "$inc" = "$top" ] && continue  # a header of the same folder, by bare name (comm/)
    fine=0
    for a in $ok; do [ "$a" = "$top" ] || [ "$a" = "$inc" ] && fine=1; done
    if [ $fine = 0 ]; then echo "layer rule: $hit ($dir may include: $ok)"; bad=1; fi
  done < <(grep -Hn '#include "' "$dir"/*.[ch] || true)
done
# MPI and NCCL themselves: only comm/ and the fatal path (core/util.c: MPI_Abort) see them.
if grep -Hn '#include <\(mpi\|nccl\)\.h>' src/ops/* src/models/* src/optim/* src/data/* src/tasks/* src/train/*; then
  echo "layer rule: MPI/NCCL headers above are outside comm/"; bad=1
fi
[ $bad = 0 ] || fail "includes that break the layering (see above)"
# The check itself must be able to fail: a planted include of comm/ in an op.
planted=$(mktemp -d)
mkdir -p "$planted/src/ops"
printf '#include "comm/ddp.h"\n' > "$planted/src/ops/x.c"
(cd "$planted" && grep -Hn '#include "comm/' src/ops/*.c) > /dev/null || fail "planted comm include in ops not found by grep"
rm -rf "$planted"
pass "src/ folders include only the layers below them; ops, models, optim, data, tasks, train include no MPI/NCCL header; comm/ only core/util.h"
