// tv.c: total variation (tv.h): plain loops on the CPU, one (n, c) plane per iteration.
#include "ops/tv.h"

#include "core/dispatch.h"

static double tv_loss_forward_cpu(Ctx *ctx, const float *x, int N, int C, int H, int W) {
  (void)ctx;
  long long planes = (long long)N * C;
  double total = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : total) if (planes * H * W > 65536)
  for (long long p = 0; p < planes; p++) {
    const float *xp = x + p * H * W;
    double s = 0.0;
    for (int i = 0; i < H; i++)
      for (int j = 0; j < W; j++) {
        double v = xp[i * W + j];
        if (i + 1 < H) {
          double d = (double)xp[(i + 1) * W + j] - v;
          s += d * d;
        }
        if (j + 1 < W) {
          double d = (double)xp[i * W + j + 1] - v;
          s += d * d;
        }
      }
    total += s;
  }
  return total;
}

// d tv / dx[i,j] = 2 (2 or fewer neighbours' differences): for each existing neighbour q of p,
// 2 (x[p] - x[q]).
static void tv_loss_backward_cpu(Ctx *ctx, float *dx, const float *x, int N, int C, int H, int W,
                                 float dloss) {
  (void)ctx;
  long long planes = (long long)N * C;
  float g2 = 2.0f * dloss;
#pragma omp parallel for schedule(static) if (planes * H * W > 65536)
  for (long long p = 0; p < planes; p++) {
    const float *xp = x + p * H * W;
    float *dp = dx + p * H * W;
    for (int i = 0; i < H; i++)
      for (int j = 0; j < W; j++) {
        float v = xp[i * W + j], s = 0.0f;
        if (i > 0) s += v - xp[(i - 1) * W + j];
        if (i + 1 < H) s += v - xp[(i + 1) * W + j];
        if (j > 0) s += v - xp[i * W + j - 1];
        if (j + 1 < W) s += v - xp[i * W + j + 1];
        dp[i * W + j] += g2 * s;
      }
  }
}

double tv_loss_forward(Ctx *ctx, const float *x, int N, int C, int H, int W) {
  return DISPATCH_CPU(ctx, tv_loss_forward_cpu(ctx, x, N, C, H, W));
}

void tv_loss_backward(Ctx *ctx, float *dx, const float *x, int N, int C, int H, int W,
                      float dloss) {
  DISPATCH_CPU(ctx, tv_loss_backward_cpu(ctx, dx, x, N, C, H, W, dloss));
}
