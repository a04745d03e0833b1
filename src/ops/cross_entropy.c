// cross_entropy.c: rows in parallel; forward reads each row twice (max, then sum of exp; the
// second read hits the cache), backward reads and writes it once. exp is src/base/fastmath.h's,
// which vectorizes where expf does not; the per-element steps are base/elementwise.h's ce_*.
// GCC keeps fastmath's selects as branches (no vectorization) when float operations may trap;
// genet never enables FP traps.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "ops/cross_entropy.h"

#include <math.h>

#include "core/dispatch.h"
#include "core/util.h"
#include "base/elementwise.h"  // the per-row arithmetic, shared with kernels/cross_entropy.cu

static void ce_check_targets(const int32_t *targets, int N, int V) {
  for (int n = 0; n < N; n++)
    if (!index_in_range(targets[n], V))
      genet_die("%s:%d: cross_entropy: target %d at row %d is outside the vocabulary [0, %d)",
                __FILE__, __LINE__, (int)targets[n], n, V);
}

static double cross_entropy_forward_cpu(Ctx *ctx, float *lse, const float *logits,
                                        const int32_t *targets, int N, int V) {
  GENET_ASSERT(N > 0 && V > 0);
  ce_check_targets(targets, N, V);
  double total = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : total)
  for (int n = 0; n < N; n++) {
    const float *x = logits + (size_t)n * V;
    float m = -INFINITY;
#pragma omp simd reduction(max : m)
    for (int j = 0; j < V; j++) m = ce_max(m, x[j]);
    // Summed in double: then a change of one logit moves lse by that term alone (the finite-
    // difference check relies on it), and lse - x_t keeps its digits when both are large.
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (int j = 0; j < V; j++) s += ce_exp_term(x[j], m);
    double l = ce_lse(m, s);
    lse[n] = (float)l;
    total += ce_row_loss(l, x[targets[n]]);
  }
  return total / N;
}

static void cross_entropy_backward_cpu(Ctx *ctx, float *dlogits, const float *logits,
                                       const float *lse, const int32_t *targets, float dloss, int N,
                                       int V) {
  ce_check_targets(targets, N, V);
  const float scale = dloss / (float)N;
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; n++) {
    const float *x = logits + (size_t)n * V;
    float *d = dlogits + (size_t)n * V;
    const float l = lse[n];
    // No restrict: d may be x; each element is read before it is written.
#pragma omp simd
    for (int j = 0; j < V; j++) d[j] = ce_grad(x[j], l, scale);
    d[targets[n]] -= scale;
  }
}

// ---- entries (core/dispatch.h)

double cross_entropy_forward(Ctx *ctx, float *lse, const float *logits, const int32_t *targets,
                             int N, int V) {
  return DISPATCH(ctx, cross_entropy_forward_cpu(ctx, lse, logits, targets, N, V),
                  cross_entropy_forward_cuda(ctx->cuda, lse, logits, targets, N, V));
}

void cross_entropy_backward(Ctx *ctx, float *dlogits, const float *logits, const float *lse,
                            const int32_t *targets, float dloss, int N, int V) {
  DISPATCH(ctx, cross_entropy_backward_cpu(ctx, dlogits, logits, lse, targets, dloss, N, V),
           cross_entropy_backward_cuda(ctx->cuda, dlogits, logits, lse, targets, dloss, N, V));
}
