// instancenorm.c: InstanceNorm2d on the CPU as OpenMP loops, BatchNorm's arithmetic
// (src/ops/batchnorm.c) with a plane, not a channel, as the set of values: statistics summed in
// double in two passes (the mean, then the squared deviations about it), so offset activations
// lose nothing to cancellation, and the mean carried in two floats where it is subtracted.
// Forward runs over the N*C planes; backward over the channels, each adding its N planes'
// parameter gradients in order of n (in double, rounded once), so dweight and dbias are the
// same on every run and at every thread count.
#include "ops/instancenorm.h"

#include <math.h>

#include "core/dispatch.h"
#include "core/util.h"

// More values than this: the loops split over OpenMP threads.
#define IN_PAR_MIN 16384

// Plane p (hw values): y = ((x - mf) - ml) * a + b with a = weight / sqrt(var + eps), after the
// two passes. y may equal x: every value is read before it is written.
static void in_plane_forward(float *y, float *save_mean, float *save_var, const float *x,
                             const float *weight, const float *bias, int C, size_t p, size_t hw,
                             float eps) {
  const int c = (int)(p % (size_t)C);
  const float *xp = x + p * hw;
  float *yp = y + p * hw;
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (size_t i = 0; i < hw; i++) s += xp[i];
  const double mean = s / (double)hw;
  double ss = 0.0;
#pragma omp simd reduction(+ : ss)
  for (size_t i = 0; i < hw; i++) {
    double d = (double)xp[i] - mean;
    ss += d * d;
  }
  const double var = ss / (double)hw;
  save_mean[p] = (float)mean;
  save_var[p] = (float)var;
  const double inv = 1.0 / sqrt(var + (double)eps);
  const float af = (float)((weight ? weight[c] : 1.0) * inv), bf = bias ? bias[c] : 0.0f;
  const float mf = (float)mean, ml = (float)(mean - (double)mf);
#pragma omp simd
  for (size_t i = 0; i < hw; i++) yp[i] = ((xp[i] - mf) - ml) * af + bf;
}

static void instancenorm_forward_cpu(Ctx *ctx, float *y, float *save_mean, float *save_var,
                                     const float *x, const float *weight, const float *bias,
                                     int N, int C, int H, int W, float eps) {
  (void)ctx;
  const size_t hw = (size_t)H * W, planes = (size_t)N * C;
  GENET_ASSERT(N >= 0 && C >= 0 && hw > 1);  // PyTorch: "Expected more than 1 spatial element"
#pragma omp parallel for schedule(static) if (planes * hw > IN_PAR_MIN)
  for (size_t p = 0; p < planes; p++)
    in_plane_forward(y, save_mean, save_var, x, weight, bias, C, p, hw, eps);
}

// Plane p's backward, its statistics known (ms = save_mean[p], inv = 1 / sqrt(var + eps)):
// sums sdy = sum dy and sdyx = sum dy (x - mean) about the plane's exact mean (summed about the
// float ms, then moved: ms + sum (x - ms) / hw), and, when dx is wanted,
//   dx = w inv (dy - sdy / hw - xhat sum(dy xhat) / hw),  xhat = (x - mean) inv
//      = dy k + ((x - mf) - ml) kx + k0                    (mf + ml: the mean in two floats)
static void in_plane_backward(float *dx, double *sdy_, double *sdyx_, const float *dy,
                              const float *x, double ms, double inv, double w, size_t p,
                              size_t hw) {
  const float *xp = x + p * hw, *gp = dy + p * hw;
  double sdy = 0.0, sdyx = 0.0, sx = 0.0;
#pragma omp simd reduction(+ : sdy, sdyx, sx)
  for (size_t i = 0; i < hw; i++) {
    double d = (double)xp[i] - ms;
    sdy += gp[i];
    sdyx += (double)gp[i] * d;
    sx += d;
  }
  const double mean = ms + sx / (double)hw;
  sdyx -= (mean - ms) * sdy;
  *sdy_ = sdy;
  *sdyx_ = sdyx;
  if (!dx) return;
  const float k = (float)(w * inv), kx = (float)(-w * inv * inv * inv * sdyx / (double)hw),
              k0 = (float)(-w * inv * sdy / (double)hw);
  const float mf = (float)mean, ml = (float)(mean - (double)mf);
  float *q = dx + p * hw;
#pragma omp simd
  for (size_t i = 0; i < hw; i++) q[i] = gp[i] * k + ((xp[i] - mf) - ml) * kx + k0;
}

static void instancenorm_backward_cpu(Ctx *ctx, float *dx, float *dweight, float *dbias,
                                      const float *dy, const float *x, const float *save_mean,
                                      const float *save_var, const float *weight, int N, int C,
                                      int H, int W, float eps) {
  (void)ctx;
  const size_t hw = (size_t)H * W;
  GENET_ASSERT(N >= 0 && C >= 0 && hw > 1);
#pragma omp parallel for schedule(static) if ((size_t)N * C * hw > IN_PAR_MIN)
  for (int c = 0; c < C; c++) {
    const double w = weight ? weight[c] : 1.0;
    double dw = 0.0, db = 0.0;  // this channel's parameter gradients over its N planes
    for (int n = 0; n < N; n++) {
      const size_t p = (size_t)n * C + c;
      const double inv = 1.0 / sqrt((double)save_var[p] + (double)eps);
      double sdy, sdyx;
      in_plane_backward(dx, &sdy, &sdyx, dy, x, save_mean[p], inv, w, p, hw);
      dw += sdyx * inv;  // sum dy xhat
      db += sdy;
    }
    if (dweight) dweight[c] += (float)dw;
    if (dbias) dbias[c] += (float)db;
  }
}

// ---- entries (core/dispatch.h)

void instancenorm_forward(Ctx *ctx, float *y, float *save_mean, float *save_var, const float *x,
                          const float *weight, const float *bias, int N, int C, int H, int W,
                          float eps) {
  DISPATCH(ctx,
           instancenorm_forward_cpu(ctx, y, save_mean, save_var, x, weight, bias, N, C, H, W, eps),
           instancenorm_forward_cuda(ctx->cuda, y, save_mean, save_var, x, weight, bias, N, C, H,
                                     W, eps));
}

void instancenorm_backward(Ctx *ctx, float *dx, float *dweight, float *dbias, const float *dy,
                           const float *x, const float *save_mean, const float *save_var,
                           const float *weight, int N, int C, int H, int W, float eps) {
  DISPATCH(ctx,
           instancenorm_backward_cpu(ctx, dx, dweight, dbias, dy, x, save_mean, save_var, weight,
                                     N, C, H, W, eps),
           instancenorm_backward_cuda(ctx->cuda, dx, dweight, dbias, dy, x, save_mean, save_var,
                                      weight, N, C, H, W, eps));
}
