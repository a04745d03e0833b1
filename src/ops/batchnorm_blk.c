// batchnorm_blk.c: BatchNorm2d (training and evaluation) fused with a leaky ReLU, on oneDNN's
// blocked layout nChw{b}c (b = 8 or 16): what a CPU network that keeps its activations in the
// convolutions' layout (convplan_block) runs between two convolutions, so that neither the
// reorders to and from NCHW nor a separate activation pass touch the activations.
//
// Channel c of image n is lane c % b of the H*W vectors of block c / b; a block's b channels are
// reduced and normalized together, lane by lane. The arithmetic per channel is batchnorm.c's:
// two passes in double (mean, then squared deviations) in forward, the sums about the float
// save_mean in backward, the mean split into two floats where it is subtracted.
#include <math.h>
#include <stddef.h>

#include "base/elementwise.h"
#include "core/dispatch.h"
#include "core/util.h"
#include "ops/batchnorm.h"

#define BLK_MAX 16

// Per-lane sums of a block over the N images: s[j] = sum x, or sum (x - m[j])^2 when m.
static inline __attribute__((always_inline)) void blk_sums(double *s, const float *x,
                                                           const double *m, int N, size_t nb,
                                                           size_t cb, size_t hw, int B) {
  double a[BLK_MAX] = {0};
  for (int n = 0; n < N; n++) {
    const float *p = x + ((size_t)n * nb + cb) * hw * B;
    for (size_t i = 0; i < hw; i++)
#pragma omp simd
      for (int j = 0; j < B; j++) {
        double d = m ? (double)p[i * B + j] - m[j] : (double)p[i * B + j];
        a[j] += m ? d * d : d;
      }
  }
  for (int j = 0; j < B; j++) s[j] = a[j];
}

// y = leaky_relu((x - mean) * a + b, slope) for a block, lane by lane (mf + ml: the mean).
static inline __attribute__((always_inline)) void blk_normalize(
    float *y, const float *x, const float *mf, const float *ml, const float *af, const float *bf,
    float slope, int N, size_t nb, size_t cb, size_t hw, int B) {
  for (int n = 0; n < N; n++) {
    const float *p = x + ((size_t)n * nb + cb) * hw * B;
    float *q = y + ((size_t)n * nb + cb) * hw * B;
    for (size_t i = 0; i < hw; i++)
#pragma omp simd
      for (int j = 0; j < B; j++)
        q[i * B + j] = leaky_relu_fwd(((p[i * B + j] - mf[j]) - ml[j]) * af[j] + bf[j], slope);
  }
}

static inline __attribute__((always_inline)) void blk_forward(
    float *y, float *save_mean, float *save_var, float *running_mean, float *running_var,
    const float *x, const float *weight, const float *bias, int N, int C, size_t hw,
    int training, float momentum, float eps, float slope, int B) {
  const size_t nb = (size_t)C / B, cnt = (size_t)N * hw;
#pragma omp parallel for schedule(static) if ((size_t)C * cnt > 16384)
  for (size_t cb = 0; cb < nb; cb++) {
    double mean[BLK_MAX], ss[BLK_MAX];
    float mf[BLK_MAX], ml[BLK_MAX], af[BLK_MAX], bf[BLK_MAX];
    if (training) {
      blk_sums(mean, x, NULL, N, nb, cb, hw, B);
      for (int j = 0; j < B; j++) mean[j] /= (double)cnt;
      blk_sums(ss, x, mean, N, nb, cb, hw, B);
    }
    for (int j = 0; j < B; j++) {
      size_t c = cb * B + j;
      double var;
      if (training) {
        var = ss[j] / (double)cnt;
        if (running_mean) {
          running_mean[c] = (float)((1.0 - momentum) * running_mean[c] + momentum * mean[j]);
          running_var[c] = (float)((1.0 - momentum) * running_var[c] +
                                   momentum * (ss[j] / (double)(cnt - 1)));
        }
      } else {
        mean[j] = running_mean[c];
        var = running_var[c];
      }
      save_mean[c] = (float)mean[j];
      save_var[c] = (float)var;
      double inv = 1.0 / sqrt(var + (double)eps);
      af[j] = (float)((weight ? weight[c] : 1.0) * inv);
      bf[j] = bias ? bias[c] : 0.0f;
      mf[j] = (float)mean[j];
      ml[j] = (float)(mean[j] - (double)mf[j]);
    }
    blk_normalize(y, x, mf, ml, af, bf, slope, N, nb, cb, hw, B);
  }
}

// Backward's per-lane sums of a block (batchnorm.c's bn_bwd_sums) with g = the gradient at the
// BatchNorm's output: dy through the leaky ReLU whose output is y (y NULL: g = dy).
static inline __attribute__((always_inline)) void blk_bwd_sums(
    double *sdy_, double *sdyx_, double *sx_, const float *x, const float *dy, const float *y,
    const double *ms, float slope, int N, size_t nb, size_t cb, size_t hw, int B) {
  double sdy[BLK_MAX] = {0}, sdyx[BLK_MAX] = {0}, sx[BLK_MAX] = {0};
  for (int n = 0; n < N; n++) {
    size_t off = ((size_t)n * nb + cb) * hw * B;
    const float *p = x + off, *g = dy + off, *q = y ? y + off : NULL;
    for (size_t i = 0; i < hw; i++)
#pragma omp simd
      for (int j = 0; j < B; j++) {
        float gv = q ? leaky_relu_bwd(q[i * B + j], g[i * B + j], slope) : g[i * B + j];
        double d = (double)p[i * B + j] - ms[j];
        sdy[j] += gv;
        sdyx[j] += (double)gv * d;
        sx[j] += d;
      }
  }
  for (int j = 0; j < B; j++) {
    sdy_[j] = sdy[j];
    sdyx_[j] = sdyx[j];
    sx_[j] = sx[j];
  }
}

static inline __attribute__((always_inline)) void blk_backward(
    float *dx, float *dweight, float *dbias, const float *dy, const float *y, const float *x,
    const float *save_mean, const float *save_var, const float *weight, int N, int C, size_t hw,
    int training, float eps, float slope, int B) {
  const size_t nb = (size_t)C / B, cnt = (size_t)N * hw;
#pragma omp parallel for schedule(static) if ((size_t)C * cnt > 16384)
  for (size_t cb = 0; cb < nb; cb++) {
    double ms[BLK_MAX], sdy[BLK_MAX], sdyx[BLK_MAX], sx[BLK_MAX];
    float k[BLK_MAX], kx[BLK_MAX], k0[BLK_MAX], mf[BLK_MAX], ml[BLK_MAX];
    for (int j = 0; j < B; j++) ms[j] = save_mean[cb * B + j];
    blk_bwd_sums(sdy, sdyx, sx, x, dy, y, ms, slope, N, nb, cb, hw, B);
    for (int j = 0; j < B; j++) {
      size_t c = cb * B + j;
      const double inv = 1.0 / sqrt((double)save_var[c] + (double)eps);
      const double mean = training ? ms[j] + sx[j] / (double)cnt : ms[j];
      if (training) sdyx[j] -= (mean - ms[j]) * sdy[j];
      if (dweight) dweight[c] += (float)(sdyx[j] * inv);
      if (dbias) dbias[c] += (float)sdy[j];
      // dx = g k + ((x - mf) - ml) kx + k0, as batchnorm.c's bn_dx_apply.
      double w = weight ? weight[c] : 1.0;
      k[j] = (float)(w * inv);
      kx[j] = training ? (float)(-w * inv * inv * inv * sdyx[j] / (double)cnt) : 0.0f;
      k0[j] = training ? (float)(-w * inv * sdy[j] / (double)cnt) : 0.0f;
      mf[j] = (float)mean;
      ml[j] = (float)(mean - (double)mf[j]);
    }
    if (!dx) continue;
    for (int n = 0; n < N; n++) {
      size_t off = ((size_t)n * nb + cb) * hw * B;
      const float *p = x + off, *g = dy + off, *q = y ? y + off : NULL;
      float *o = dx + off;
      for (size_t i = 0; i < hw; i++)
#pragma omp simd
        for (int j = 0; j < B; j++) {
          float gv = q ? leaky_relu_bwd(q[i * B + j], g[i * B + j], slope) : g[i * B + j];
          o[i * B + j] = gv * k[j] + ((p[i * B + j] - mf[j]) - ml[j]) * kx[j] + k0[j];
        }
    }
  }
}

static void batchnorm_forward_blk_cpu(Ctx *ctx, float *y, float *save_mean, float *save_var,
                                      float *running_mean, float *running_var, const float *x,
                                      const float *weight, const float *bias, int N, int C, int H,
                                      int W, int blk, int training, float momentum, float eps,
                                      float slope) {
  GENET_ASSERT((blk == 8 || blk == 16) && C % blk == 0);
  const size_t hw = (size_t)H * W;
  if (training) GENET_ASSERT((size_t)N * hw > 1);
  else GENET_ASSERT(running_mean && running_var);
  if (blk == 16)
    blk_forward(y, save_mean, save_var, running_mean, running_var, x, weight, bias, N, C, hw,
                training, momentum, eps, slope, 16);
  else
    blk_forward(y, save_mean, save_var, running_mean, running_var, x, weight, bias, N, C, hw,
                training, momentum, eps, slope, 8);
}

static void batchnorm_backward_blk_cpu(Ctx *ctx, float *dx, float *dweight, float *dbias,
                                       const float *dy, const float *y, const float *x,
                                       const float *save_mean, const float *save_var,
                                       const float *weight, int N, int C, int H, int W, int blk,
                                       int training, float eps, float slope) {
  GENET_ASSERT((blk == 8 || blk == 16) && C % blk == 0);
  const size_t hw = (size_t)H * W;
  if (blk == 16)
    blk_backward(dx, dweight, dbias, dy, y, x, save_mean, save_var, weight, N, C, hw, training,
                 eps, slope, 16);
  else
    blk_backward(dx, dweight, dbias, dy, y, x, save_mean, save_var, weight, N, C, hw, training,
                 eps, slope, 8);
}

// ---- entries (core/dispatch.h)

void batchnorm_forward_blk(Ctx *ctx, float *y, float *save_mean, float *save_var,
                           float *running_mean, float *running_var, const float *x,
                           const float *weight, const float *bias, int N, int C, int H, int W,
                           int blk, int training, float momentum, float eps, float slope) {
  DISPATCH_CPU(ctx, batchnorm_forward_blk_cpu(ctx, y, save_mean, save_var, running_mean,
                                              running_var, x, weight, bias, N, C, H, W, blk,
                                              training, momentum, eps, slope));
}

void batchnorm_backward_blk(Ctx *ctx, float *dx, float *dweight, float *dbias, const float *dy,
                            const float *y, const float *x, const float *save_mean,
                            const float *save_var, const float *weight, int N, int C, int H,
                            int W, int blk, int training, float eps, float slope) {
  DISPATCH_CPU(ctx, batchnorm_backward_blk_cpu(ctx, dx, dweight, dbias, dy, y, x, save_mean,
                                               save_var, weight, N, C, H, W, blk, training, eps,
                                               slope));
}
