// loss.c: MSE and BCE. These run over a batch of scalars (DCGAN's 64 discriminator outputs)
// or one feature map, so the loops stay simple; sums are in double. The per-element terms are
// base/elementwise.h's mse_* and bce_*, which kernels/loss.cu runs too.
#include "ops/loss.h"

#include <math.h>

#include "core/dispatch.h"
#include "core/util.h"
#include "base/elementwise.h"  // the per-element terms, shared with kernels/loss.cu

static float mse_loss_forward_cpu(Ctx *ctx, const float *x, const float *t, size_t n) {
  GENET_ASSERT(n > 0);
  double s = 0.0;
  long long nn = (long long)n;
#pragma omp parallel for schedule(static) reduction(+ : s) if (nn > 65536)
  for (long long i = 0; i < nn; i++) {
    s += mse_term(x[i], t[i]);
  }
  return (float)(s / (double)n);
}

static void mse_loss_backward_cpu(Ctx *ctx, float *dx, const float *x, const float *t, size_t n,
                                  float dloss) {
  const float k = (float)(2.0 * dloss / (double)n);
  long long nn = (long long)n;
#pragma omp parallel for schedule(static) if (nn > 65536)
  for (long long i = 0; i < nn; i++) dx[i] = mse_grad(x[i], t[i], k);
}

static float bce_loss_forward_cpu(Ctx *ctx, const float *p, const float *t, size_t n) {
  GENET_ASSERT(n > 0);
  double s = 0.0;
  for (size_t i = 0; i < n; i++) {
    if (!bce_prob_ok(p[i]))
      genet_die("bce_loss: input %zu is %g, not a probability in [0, 1]", i, (double)p[i]);
    s += bce_term(p[i], t[i]);
  }
  return (float)(-s / (double)n);
}

static void bce_loss_backward_cpu(Ctx *ctx, float *dp, const float *p, const float *t, size_t n,
                                  float dloss) {
  const double k = (double)dloss / (double)n;
  for (size_t i = 0; i < n; i++) dp[i] = bce_grad(p[i], t[i], k);
}

// ---- entries (core/dispatch.h)

float mse_loss_forward(Ctx *ctx, const float *x, const float *t, size_t n) {
  return DISPATCH(ctx, mse_loss_forward_cpu(ctx, x, t, n), mse_loss_forward_cuda(ctx->cuda, x, t, n));
}

void mse_loss_backward(Ctx *ctx, float *dx, const float *x, const float *t, size_t n, float dloss) {
  DISPATCH(ctx, mse_loss_backward_cpu(ctx, dx, x, t, n, dloss),
           mse_loss_backward_cuda(ctx->cuda, dx, x, t, n, dloss));
}

float bce_loss_forward(Ctx *ctx, const float *p, const float *t, size_t n) {
  return DISPATCH(ctx, bce_loss_forward_cpu(ctx, p, t, n), bce_loss_forward_cuda(ctx->cuda, p, t, n));
}

void bce_loss_backward(Ctx *ctx, float *dp, const float *p, const float *t, size_t n, float dloss) {
  DISPATCH(ctx, bce_loss_backward_cpu(ctx, dp, p, t, n, dloss),
           bce_loss_backward_cuda(ctx->cuda, dp, p, t, n, dloss));
}
