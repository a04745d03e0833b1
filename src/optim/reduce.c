// reduce.c: reductions over flat buffers (CPU, OpenMP) and gradient clipping (CPU, or CUDA
// through kernels/optim.cu and ops/scale.h).
#include "optim/reduce.h"

#include <math.h>

#include "core/dispatch.h"
#include "core/util.h"
#include "ops/scale.h"

// Reductions split n into OPTIM_BLOCKS blocks whatever the thread count; each block sums in
// double with four accumulators, then the block sums are added in order.
static double block_dot(const float *a, const float *b, size_t lo, size_t hi) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = lo;
  for (; i + 4 <= hi; i += 4) {
    s0 += (double)a[i] * b[i];
    s1 += (double)a[i + 1] * b[i + 1];
    s2 += (double)a[i + 2] * b[i + 2];
    s3 += (double)a[i + 3] * b[i + 3];
  }
  for (; i < hi; i++) s0 += (double)a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

static double block_asum(const float *a, size_t lo, size_t hi) {
  double s0 = 0, s1 = 0;
  size_t i = lo;
  for (; i + 2 <= hi; i += 2) {
    s0 += fabs((double)a[i]);
    s1 += fabs((double)a[i + 1]);
  }
  for (; i < hi; i++) s0 += fabs((double)a[i]);
  return s0 + s1;
}

double optim_dot(const float *a, const float *b, size_t n) {
  double part[OPTIM_BLOCKS];
  size_t chunk = (n + OPTIM_BLOCKS - 1) / OPTIM_BLOCKS;
#pragma omp parallel for schedule(static) if (n > OPTIM_PAR_MIN)
  for (int k = 0; k < OPTIM_BLOCKS; k++) {
    size_t lo = (size_t)k * chunk, hi = lo + chunk < n ? lo + chunk : n;
    part[k] = lo < hi ? block_dot(a, b, lo, hi) : 0.0;
  }
  double s = 0;
  for (int k = 0; k < OPTIM_BLOCKS; k++) s += part[k];
  return s;
}

double optim_asum(const float *a, size_t n) {
  double part[OPTIM_BLOCKS];
  size_t chunk = (n + OPTIM_BLOCKS - 1) / OPTIM_BLOCKS;
#pragma omp parallel for schedule(static) if (n > OPTIM_PAR_MIN)
  for (int k = 0; k < OPTIM_BLOCKS; k++) {
    size_t lo = (size_t)k * chunk, hi = lo + chunk < n ? lo + chunk : n;
    part[k] = lo < hi ? block_asum(a, lo, hi) : 0.0;
  }
  double s = 0;
  for (int k = 0; k < OPTIM_BLOCKS; k++) s += part[k];
  return s;
}

float optim_amax(const float *a, size_t n) {
  float m = 0.0f;
  long long nn = (long long)n;
  int nan = 0;
#pragma omp parallel for schedule(static) reduction(max : m) reduction(| : nan) if (nn > OPTIM_PAR_MIN)
  for (long long i = 0; i < nn; i++) {
    float v = fabsf(a[i]);
    m = v > m ? v : m;
    nan |= isnan(v);
  }
  return nan ? NAN : m;  // torch's max propagates NaN; a NaN gradient must not look optimal
}

// ---- the gradient norm: the sum of squares dispatched, the scaling by ops/scale.h, the host
// logic written once

static double optim_sumsq_cpu(Ctx *ctx, const float *x, size_t n) { return optim_dot(x, x, n); }

// sum x_i^2 in double: optim_dot on the CPU; on CUDA blockwise partial sums and one final pass
// (kernels/optim.cu), the one scalar copied back.
static double optim_sumsq(Ctx *ctx, const float *x, size_t n) {
  return DISPATCH(ctx, optim_sumsq_cpu(ctx, x, n), optim_sumsq_cuda(ctx->cuda, x, n));
}

static double clip_grad_norm_any(Ctx *ctx, float *grad, size_t n, double max_norm) {
  double total = sqrt(optim_sumsq(ctx, grad, n));
  double scale = max_norm / (total + 1e-6);
  if (scale < 1.0)  // PyTorch multiplies by min(scale, 1); times 1 changes nothing
    scale_inplace(ctx, grad, n, (float)scale);
  return total;
}

double clip_grad_norm(Ctx *ctx, float *grad, size_t n, double max_norm) {
  return DISPATCH_ANY(ctx, clip_grad_norm_any(ctx, grad, n, max_norm));
}
