// loss.c: MSE and BCE. These run over a batch of scalars (DCGAN's 64 discriminator outputs)
// or one feature map, so the loops stay simple; sums are in double.
#include "ops/loss.h"

#include <math.h>

#include "core/dispatch.h"
#include "core/util.h"

static float mse_loss_forward_cpu(Ctx *ctx, const float *x, const float *t, size_t n) {
  GENET_ASSERT(n > 0);
  double s = 0.0;
  long long nn = (long long)n;
#pragma omp parallel for schedule(static) reduction(+ : s) if (nn > 65536)
  for (long long i = 0; i < nn; i++) {
    double d = (double)x[i] - t[i];
    s += d * d;
  }
  return (float)(s / (double)n);
}

static void mse_loss_backward_cpu(Ctx *ctx, float *dx, const float *x, const float *t, size_t n,
                                  float dloss) {
  const float k = (float)(2.0 * dloss / (double)n);
  long long nn = (long long)n;
#pragma omp parallel for schedule(static) if (nn > 65536)
  for (long long i = 0; i < nn; i++) dx[i] = k * (x[i] - t[i]);
}

// PyTorch clamps each log at -100 so that p = 0 or p = 1 gives a finite loss.
static double bce_log(double v) { return v > 0.0 ? fmax(log(v), -100.0) : -100.0; }

static float bce_loss_forward_cpu(Ctx *ctx, const float *p, const float *t, size_t n) {
  GENET_ASSERT(n > 0);
  double s = 0.0;
  for (size_t i = 0; i < n; i++) {
    if (!(p[i] >= 0.0f && p[i] <= 1.0f))  // as PyTorch: inputs must be probabilities (NaN too)
      genet_die("bce_loss: input %zu is %g, not a probability in [0, 1]", i, (double)p[i]);
    // 1 - p is exact in float for p >= 0.5 (Sterbenz), so compute it there, not in double.
    s += t[i] * bce_log(p[i]) + (1.0 - t[i]) * bce_log(1.0f - p[i]);
  }
  return (float)(-s / (double)n);
}

static void bce_loss_backward_cpu(Ctx *ctx, float *dp, const float *p, const float *t, size_t n,
                                  float dloss) {
  const double k = (double)dloss / (double)n;
  for (size_t i = 0; i < n; i++) {
    double pi = p[i];
    dp[i] = (float)(k * (pi - t[i]) / fmax((1.0 - pi) * pi, 1e-12));
  }
}

// ---- entries (core/dispatch.h)

float mse_loss_forward(Ctx *ctx, const float *x, const float *t, size_t n) {
  return DISPATCH_CPU(ctx, mse_loss_forward_cpu(ctx, x, t, n));
}

void mse_loss_backward(Ctx *ctx, float *dx, const float *x, const float *t, size_t n, float dloss) {
  DISPATCH_CPU(ctx, mse_loss_backward_cpu(ctx, dx, x, t, n, dloss));
}

float bce_loss_forward(Ctx *ctx, const float *p, const float *t, size_t n) {
  return DISPATCH_CPU(ctx, bce_loss_forward_cpu(ctx, p, t, n));
}

void bce_loss_backward(Ctx *ctx, float *dp, const float *p, const float *t, size_t n, float dloss) {
  DISPATCH_CPU(ctx, bce_loss_backward_cpu(ctx, dp, p, t, n, dloss));
}
