#!/usr/bin/env bash
# The dispatch rule of src/core/dispatch.h, kept true as ops are added. Every function that a
# header in src/ops or src/optim (the optimizers' steps) declares with a Ctx * parameter is
# defined once in the .c files of those folders, and its body is exactly one statement:
#   [return] DISPATCH(ctx, NAME_cpu(ctx, ...), NAME_cuda(ctx->cuda, ...));
#   [return] DISPATCH_CPU(ctx, NAME_cpu(ctx, ...));
#   [return] DISPATCH_ANY(ctx, NAME_any(ctx, ...));
# and no file in those folders reads ctx->dev (the device is chosen in dispatch.h only).
# Then the same check runs on copies of them with planted violations, each of which must
# fail naming the op: so the check itself is known to catch what it is for.
# Usage: test_dispatch.sh SOURCE_ROOT
set -u
src=$(cd "$1" && pwd)
. "$(dirname "$0")/testlib.sh"

# The folders the rule covers, relative to the source root.
RULE_DIRS="src/ops src/optim"

# NAME HEADER for each function declared with a Ctx * parameter in the headers of RULE_DIRS
# under $1 (HEADER relative to $1). Comments and preprocessor lines are dropped; declarations
# are split at ; { and }.
ops_declared() {
  local dir h
  for dir in $RULE_DIRS; do for h in "$1/$dir"/*.h; do
    awk -v file="$dir/${h##*/}" '
      { sub(/\/\/.*/, "") }
      /^[ \t]*#/ { next }
      { buf = buf " " $0 }
      END {
        n = split(buf, decl, /[;{}]/)
        for (i = 1; i <= n; i++) {
          d = decl[i]
          if (d ~ /^[ \t]*typedef/ || d !~ /\(/) continue
          if (d !~ /[(,][ \t]*(const[ \t]+)?Ctx[ \t]*\*/) continue
          if (!match(d, /[A-Za-z_][A-Za-z_0-9]*[ \t]*\(/)) continue
          name = substr(d, RSTART, RLENGTH)
          sub(/[ \t]*\($/, "", name)
          print name, file
        }
      }' "$h"
  done; done
}

# FILE:LINE NAME BODY for each non-static function defined in the .c files of RULE_DIRS under
# $1, BODY with comments dropped and white space collapsed. genet's layout: a definition starts
# in column 0 and its body ends at the first line that is just "}".
ops_defined() {
  local dir c
  for dir in $RULE_DIRS; do for c in "$1/$dir"/*.c; do
    awk -v file="$dir/${c##*/}" '
      function squeeze(s) { gsub(/[ \t]+/, " ", s); sub(/^ /, "", s); sub(/ $/, "", s); return s }
      { sub(/\/\/.*/, "") }
      state == 0 && /^[A-Za-z_]/ && $0 !~ /^(static|typedef|struct|enum|union)[ \t]/ {
        state = 1; sig = ""; start = FNR
      }
      state == 1 {
        sig = sig " " $0
        if ($0 ~ /;[ \t]*$/) { state = 0; next }        # a declaration, not a definition
        if ($0 ~ /\{[ \t]*$/) { state = 2; body = "" }
        next
      }
      state == 2 {
        if ($0 == "}") {
          if (match(sig, /[A-Za-z_][A-Za-z_0-9]*[ \t]*\(/)) {
            name = substr(sig, RSTART, RLENGTH); sub(/[ \t]*\($/, "", name)
            print file ":" start, name, squeeze(body)
          }
          state = 0
        } else body = body " " $0
      }' "$c"
  done; done
}

# Prints one line per violation under root $1 and a count of the forms; returns 0 when there
# is no violation.
check_tree() {
  local root=$1
  awk '
    FNR == 1 { part++ }
    part == 1 { ops[++nops] = $1; hdr[$1] = $2; next }   # NAME HEADER
    {                                                    # FILE:LINE NAME BODY
      n = $2; ndef[n]++; loc[n] = $1
      b = $0; sub(/^[^ ]+ [^ ]+ ?/, "", b); body[n] = b
    }
    END {
      bad = 0
      for (i = 1; i <= nops; i++) {
        n = ops[i]
        if (ndef[n] != 1) {
          printf "  %s (%s): %d definitions in the .c files, want 1\n", n, hdr[n], ndef[n] + 0
          bad++; continue
        }
        b = body[n]; semis = gsub(/;/, ";", b)
        form = ""
        if (semis == 1) {
          if (b ~ ("^(return )?DISPATCH\\(ctx, " n "_cpu\\(ctx[,)].*, " n "_cuda\\(ctx->cuda[,)].*\\);$"))
            form = "DISPATCH"
          else if (b ~ ("^(return )?DISPATCH_CPU\\(ctx, " n "_cpu\\(ctx[,)].*\\);$"))
            form = "DISPATCH_CPU"
          else if (b ~ ("^(return )?DISPATCH_ANY\\(ctx, " n "_any\\(ctx[,)].*\\);$"))
            form = "DISPATCH_ANY"
        }
        if (form == "") {
          printf "  %s (%s): the body is not one dispatch line (src/core/dispatch.h): { %s }\n", n, loc[n], b
          bad++
        } else count[form]++
      }
      printf "  %d ops: %d DISPATCH, %d DISPATCH_CPU, %d DISPATCH_ANY; %d violations\n",
             count["DISPATCH"] + count["DISPATCH_CPU"] + count["DISPATCH_ANY"],
             count["DISPATCH"], count["DISPATCH_CPU"], count["DISPATCH_ANY"], bad
      exit (bad > 0)
    }' <(ops_declared "$root") <(ops_defined "$root")
  local rc=$? dev
  dev=$(cd "$root" && for d in $RULE_DIRS; do grep -Hn 'ctx->dev' "$d"/*.c "$d"/*.h; done)
  if [ -n "$dev" ]; then
    printf '  reads ctx->dev outside src/core/dispatch.h: %s\n' "$dev"; rc=1
  fi
  return $rc
}

echo "the tree:"
out=$(check_tree "$src") || { echo "$out"; fail "$RULE_DIRS break the dispatch rule"; }
echo "$out"
[ "$(ops_declared "$src" | grep -c .)" -ge 30 ] || fail "found too few ops: the header parsing is broken"
ops_declared "$src" | grep -q '^sgd_step src/optim/sgd.h$' || fail "src/optim is not covered"
pass "every op in src/ops and every optimizer step in src/optim goes through one dispatch line"

# plant NAME EXPECTED-PATTERN EDIT...: a fresh copy of RULE_DIRS, the EDIT run inside its
# src/ops, then the check must fail with a line matching the pattern.
plant() {
  local what=$1 pat=$2 d; shift 2
  rm -rf planted && mkdir -p planted/src
  for d in $RULE_DIRS; do cp -r "$src/$d" "planted/$d"; done
  (cd planted/src/ops && "$@") || fail "planting '$what' failed"
  local out
  if out=$(check_tree planted); then
    echo "$out"; fail "planted '$what' passed the check"
  fi
  printf '%s\n' "$out" | grep -qE "$pat" || { echo "$out"; fail "planted '$what': no line matches /$pat/"; }
  pass "planted '$what' fails: $(printf '%s\n' "$out" | grep -E "$pat" | head -1 | cut -c1-110)"
}

new_op() {  # a new op whose entry does the work itself
  echo 'void planted_zero(Ctx *ctx, float *y, size_t n);' >> loss.h
  printf '%s\n' 'void planted_zero(Ctx *ctx, float *y, size_t n) {' \
    '  for (size_t i = 0; i < n; i++) y[i] = 0.0f;' '}' >> loss.c
}
extra_stmt() {  # a device-independent shortcut slipped in before the dispatch line
  sed -i 's/^  DISPATCH[_A-Z]*(ctx, mse_loss_backward_cpu/  if (n == 0) return;\n&/' loss.c
}
ad_hoc_dev() {  # the old ad-hoc test inside an implementation
  sed -i 's/^static float mse_loss_forward_cpu(.*{$/&\n  if (ctx->dev == DEV_CUDA) return 0.0f;/' loss.c
}
decl_only() {  # declared with a Ctx * but never defined in src/ops
  echo 'float planted_norm(const float *x, Ctx *ctx, size_t n);' >> gemm.h
}
wrong_impl() {  # the entry runs another op's implementation
  sed -i 's/(ctx, bce_loss_backward_cpu(/(ctx, mse_loss_backward_cpu(/' loss.c
}
wrong_cuda() {  # the CUDA arm does not get the CUDA context
  sed -i 's/gemm_cuda(ctx->cuda, /gemm_cuda(NULL, /' gemm.c
}
optim_assert() {  # an optimizer step back to its old CPU-only assert
  sed -i 's/^  DISPATCH_ANY(ctx, sgd_step_any/  GENET_ASSERT(ctx->dev == DEV_CPU);\n&/' ../optim/sgd.c
}
plant "new op without dispatch" 'planted_zero \(src/ops/loss.c:[0-9]+\): the body is not one'  new_op
plant "statement before dispatch" 'mse_loss_backward \(src/ops/loss.c:[0-9]+\)'                 extra_stmt
plant "ad-hoc ctx->dev test"      'reads ctx->dev outside src/core/dispatch.h: .*loss.c'         ad_hoc_dev
plant "declared, not defined"     'planted_norm \(src/ops/gemm.h\): 0 definitions'             decl_only
plant "another op's body"         'bce_loss_backward \(src/ops/loss.c:[0-9]+\)'                 wrong_impl
plant "CUDA arm without ctx->cuda" 'gemm \(src/ops/gemm.c:[0-9]+\)'                             wrong_cuda
plant "optimizer step with an assert" 'sgd_step \(src/optim/sgd.c:[0-9]+\)'                   optim_assert
