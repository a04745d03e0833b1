// batchnorm_blk.c: BatchNorm2d (training and evaluation) fused with a leaky ReLU, on oneDNN's
// blocked layout nChw{b}c (b = 8 or 16): what a CPU network that keeps its activations in the
// convolutions' layout (convplan_block) runs between two convolutions, so that neither the
// reorders to and from NCHW nor a separate activation pass touch the activations.
//
// Channel c of image n is lane c % b of the H*W vectors of block c / b; eight channels are
// reduced and normalized together, lane by lane. The arithmetic per channel is batchnorm.c's:
// two passes in double (mean, then squared deviations) in forward, the sums about the float
// save_mean in backward, the mean split into two floats where it is subtracted.
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "core/dispatch.h"
#include "core/util.h"
#include "ops/batchnorm_blk.h"

// Eight channels at a time in GCC's vector extension (one AVX register; SSE pairs elsewhere):
// a block of b channels is b / 8 such groups, each a stream of 8-float vectors with stride b.
typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));
typedef double v4d __attribute__((vector_size(32)));

static inline v8f ld8(const float *p) {
  v8f v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline void st8(float *p, v8f v) { memcpy(p, &v, sizeof v); }

static inline v8f splat8(float a) { return (v8f){a, a, a, a, a, a, a, a}; }

// The 8 floats of v as two vectors of 4 doubles.
static inline void widen(v8f v, v4d *lo, v4d *hi) {
  *lo = __builtin_convertvector(__builtin_shufflevector(v, v, 0, 1, 2, 3), v4d);
  *hi = __builtin_convertvector(__builtin_shufflevector(v, v, 4, 5, 6, 7), v4d);
}

// leaky_relu_fwd and leaky_relu_bwd (base/elementwise.h) on 8 lanes.
static inline v8f leaky8(v8f t, v8f slope) {
  v8i pos = t > splat8(0.0f);
  return (v8f)(((v8i)t & pos) | ((v8i)(t * slope) & ~pos));
}

static inline v8f leaky8_bwd(v8f y, v8f dy, v8f slope) {
  v8i pos = y > splat8(0.0f);
  return (v8f)(((v8i)dy & pos) | ((v8i)(dy * slope) & ~pos));
}

// Group g (channels 8g .. 8g + 7) of nChw{B}c data with C channels: the offset of image n's
// first vector; consecutive pixels are B floats apart.
static inline size_t grp_off(size_t g, int n, int C, size_t hw, int B) {
  size_t per = (size_t)B / 8, nb = (size_t)C / B;
  return ((size_t)n * nb + g / per) * hw * B + (g % per) * 8;
}

// Forward of group g: the lanes' statistics (two passes in double), then the normalization.
static void grp_forward(float *y, float *save_mean, float *save_var, float *running_mean,
                        float *running_var, const float *x, const float *weight,
                        const float *bias, int N, int C, size_t hw, int B, int training,
                        float momentum, float eps, float slope, size_t g) {
  const size_t cnt = (size_t)N * hw;
  double mean[8], ss[8];
  if (training) {
    v4d s0 = {0}, s1 = {0};
    for (int n = 0; n < N; n++) {
      const float *p = x + grp_off(g, n, C, hw, B);
      for (size_t i = 0; i < hw; i++) {
        v4d lo, hi;
        widen(ld8(p + i * B), &lo, &hi);
        s0 += lo;
        s1 += hi;
      }
    }
    for (int j = 0; j < 4; j++) {
      mean[j] = s0[j] / (double)cnt;
      mean[j + 4] = s1[j] / (double)cnt;
    }
    v4d m0 = {mean[0], mean[1], mean[2], mean[3]}, m1 = {mean[4], mean[5], mean[6], mean[7]};
    v4d q0 = {0}, q1 = {0};
    for (int n = 0; n < N; n++) {
      const float *p = x + grp_off(g, n, C, hw, B);
      for (size_t i = 0; i < hw; i++) {
        v4d lo, hi;
        widen(ld8(p + i * B), &lo, &hi);
        lo -= m0;
        hi -= m1;
        q0 += lo * lo;
        q1 += hi * hi;
      }
    }
    for (int j = 0; j < 4; j++) {
      ss[j] = q0[j];
      ss[j + 4] = q1[j];
    }
  }
  v8f mf, ml, af, bf;
  for (int j = 0; j < 8; j++) {
    size_t c = 8 * g + j;
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
  const v8f sl = splat8(slope);
  for (int n = 0; n < N; n++) {
    size_t off = grp_off(g, n, C, hw, B);
    const float *p = x + off;
    float *q = y + off;
    for (size_t i = 0; i < hw; i++) st8(q + i * B, leaky8(((ld8(p + i * B) - mf) - ml) * af + bf, sl));
  }
}

// Backward of group g: the sums of batchnorm.c's bn_bwd_sums over the gradient at the
// BatchNorm's output (dy through the leaky ReLU whose output is y), then dx as bn_dx_apply.
static void grp_backward(float *dx, float *dweight, float *dbias, const float *dy,
                         const float *y, const float *x, const float *save_mean,
                         const float *save_var, const float *weight, int N, int C, size_t hw,
                         int B, int training, float eps, float slope, size_t g) {
  const size_t cnt = (size_t)N * hw;
  const v8f sl = splat8(slope);
  double ms[8], sdy[8], sdyx[8], sx[8];
  for (int j = 0; j < 8; j++) ms[j] = save_mean[8 * g + j];
  v4d m0 = {ms[0], ms[1], ms[2], ms[3]}, m1 = {ms[4], ms[5], ms[6], ms[7]};
  v4d a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0}, c0 = {0}, c1 = {0};
  for (int n = 0; n < N; n++) {
    size_t off = grp_off(g, n, C, hw, B);
    const float *p = x + off, *gp = dy + off, *q = y + off;
    for (size_t i = 0; i < hw; i++) {
      v4d g0, g1, d0, d1;
      widen(leaky8_bwd(ld8(q + i * B), ld8(gp + i * B), sl), &g0, &g1);
      widen(ld8(p + i * B), &d0, &d1);
      d0 -= m0;
      d1 -= m1;
      a0 += g0;
      a1 += g1;
      b0 += g0 * d0;
      b1 += g1 * d1;
      c0 += d0;
      c1 += d1;
    }
  }
  for (int j = 0; j < 4; j++) {
    sdy[j] = a0[j], sdy[j + 4] = a1[j];
    sdyx[j] = b0[j], sdyx[j + 4] = b1[j];
    sx[j] = c0[j], sx[j + 4] = c1[j];
  }
  v8f k, kx, k0, mf, ml;
  for (int j = 0; j < 8; j++) {
    size_t c = 8 * g + j;
    const double inv = 1.0 / sqrt((double)save_var[c] + (double)eps);
    const double mean = training ? ms[j] + sx[j] / (double)cnt : ms[j];
    if (training) sdyx[j] -= (mean - ms[j]) * sdy[j];
    if (dweight) dweight[c] += (float)(sdyx[j] * inv);
    if (dbias) dbias[c] += (float)sdy[j];
    double w = weight ? weight[c] : 1.0;
    k[j] = (float)(w * inv);
    kx[j] = training ? (float)(-w * inv * inv * inv * sdyx[j] / (double)cnt) : 0.0f;
    k0[j] = training ? (float)(-w * inv * sdy[j] / (double)cnt) : 0.0f;
    mf[j] = (float)mean;
    ml[j] = (float)(mean - (double)mf[j]);
  }
  if (!dx) return;
  // dx = g k + ((x - mf) - ml) kx + k0
  for (int n = 0; n < N; n++) {
    size_t off = grp_off(g, n, C, hw, B);
    const float *p = x + off, *gp = dy + off, *q = y + off;
    float *o = dx + off;
    for (size_t i = 0; i < hw; i++) {
      v8f gv = leaky8_bwd(ld8(q + i * B), ld8(gp + i * B), sl);
      st8(o + i * B, gv * k + ((ld8(p + i * B) - mf) - ml) * kx + k0);
    }
  }
}

static void batchnorm_forward_blk_cpu(Ctx *ctx, float *y, float *save_mean, float *save_var,
                                      float *running_mean, float *running_var, const float *x,
                                      const float *weight, const float *bias, int N, int C, int H,
                                      int W, int blk, int training, float momentum, float eps,
                                      float slope) {
  GENET_ASSERT((blk == 8 || blk == 16) && C % blk == 0);
  const size_t hw = (size_t)H * W, groups = (size_t)C / 8;
  if (training) GENET_ASSERT((size_t)N * hw > 1);
  else GENET_ASSERT(running_mean && running_var);
#pragma omp parallel for schedule(static) if ((size_t)C * N * hw > 16384)
  for (size_t g = 0; g < groups; g++)
    grp_forward(y, save_mean, save_var, running_mean, running_var, x, weight, bias, N, C, hw, blk,
                training, momentum, eps, slope, g);
}

static void batchnorm_backward_blk_cpu(Ctx *ctx, float *dx, float *dweight, float *dbias,
                                       const float *dy, const float *y, const float *x,
                                       const float *save_mean, const float *save_var,
                                       const float *weight, int N, int C, int H, int W, int blk,
                                       int training, float eps, float slope) {
  GENET_ASSERT((blk == 8 || blk == 16) && C % blk == 0);
  const size_t hw = (size_t)H * W, groups = (size_t)C / 8;
  // No activation (y NULL, slope 1): leaky_relu_bwd(dy, dy, 1) = dy, one loop for both.
  if (!y) {
    y = dy;
    slope = 1.0f;
  }
#pragma omp parallel for schedule(static) if ((size_t)C * N * hw > 16384)
  for (size_t g = 0; g < groups; g++)
    grp_backward(dx, dweight, dbias, dy, y, x, save_mean, save_var, weight, N, C, hw, blk,
                 training, eps, slope, g);
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
