// batchnorm.c: BatchNorm2d on the CPU as OpenMP loops over channels. Statistics are summed in
// double in two passes (mean, then squared deviations), so large or offset activations lose
// nothing to cancellation. Hand-written rather than oneDNN's primitive: at DCGAN's shapes it
// measured faster, and the running-statistics update is ours either way.
#include "ops/batchnorm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/dispatch.h"
#include "core/util.h"

// Sum over the N planes of channel c of x, and of (x - m)^2.
static double bn_sum(const float *x, int N, int C, int c, size_t hw) {
  double s = 0.0;
  for (int n = 0; n < N; n++) {
    const float *p = x + ((size_t)n * C + c) * hw;
#pragma omp simd reduction(+ : s)
    for (size_t i = 0; i < hw; i++) s += p[i];
  }
  return s;
}

static double bn_sqdev(const float *x, double m, int N, int C, int c, size_t hw) {
  double s = 0.0;
  for (int n = 0; n < N; n++) {
    const float *p = x + ((size_t)n * C + c) * hw;
#pragma omp simd reduction(+ : s)
    for (size_t i = 0; i < hw; i++) {
      double d = (double)p[i] - m;
      s += d * d;
    }
  }
  return s;
}

// Channel c's statistics are known (mean, biased var, and the unbiased var for the running
// statistics, as PyTorch): moves the running statistics, saves mean and var for backward, writes
// y = (x - mean) * weight / sqrt(var + eps) + bias for the channel's N planes.
static void bn_normalize(float *y, float *save_mean, float *save_var, float *running_mean,
                         float *running_var, const float *x, const float *weight,
                         const float *bias, double mean, double var, double unbiased, int update,
                         int N, int C, int c, size_t hw, float momentum, float eps) {
  if (update && running_mean) {
    running_mean[c] = (float)((1.0 - momentum) * running_mean[c] + momentum * mean);
    running_var[c] = (float)((1.0 - momentum) * running_var[c] + momentum * unbiased);
  }
  save_mean[c] = (float)mean;
  save_var[c] = (float)var;
  // y = (x - mean) * a + b with a = weight / sqrt(var + eps); subtracting the mean first
  // keeps activations with a large offset from cancelling in float.
  double inv = 1.0 / sqrt(var + (double)eps);
  float af = (float)((weight ? weight[c] : 1.0) * inv), bf = bias ? bias[c] : 0.0f;
  // The mean in two floats (hi + lo): a large offset then cancels to full precision.
  float mf = (float)mean, ml = (float)(mean - (double)mf);
  for (int n = 0; n < N; n++) {
    const float *p = x + ((size_t)n * C + c) * hw;
    float *q = y + ((size_t)n * C + c) * hw;
#pragma omp simd
    for (size_t i = 0; i < hw; i++) q[i] = ((p[i] - mf) - ml) * af + bf;
  }
}

static void batchnorm_forward_cpu(Ctx *ctx, float *y, float *save_mean, float *save_var,
                                  float *running_mean, float *running_var, const float *x,
                                  const float *weight, const float *bias, int N, int C, int H,
                                  int W, int training, float momentum, float eps) {
  const size_t hw = (size_t)H * W;
  const size_t cnt = (size_t)N * hw;
  if (training) GENET_ASSERT(cnt > 1);  // PyTorch: "Expected more than 1 value per channel"
  else GENET_ASSERT(running_mean && running_var);
#pragma omp parallel for schedule(static) if ((size_t)C * cnt > 16384)
  for (int c = 0; c < C; c++) {
    double mean, var, unbiased = 0;
    if (training) {
      mean = bn_sum(x, N, C, c, hw) / (double)cnt;
      double ss = bn_sqdev(x, mean, N, C, c, hw);
      var = ss / (double)cnt;
      unbiased = ss / (double)(cnt - 1);
    } else {
      mean = running_mean[c];
      var = running_var[c];
    }
    bn_normalize(y, save_mean, save_var, running_mean, running_var, x, weight, bias, mean, var,
                 unbiased, training, N, C, c, hw, momentum, eps);
  }
}

// Backward's per-channel sums over channel c: sdy = sum dy, sdyx = sum dy (x - ms) and
// sx = sum (x - ms), about the float save_mean ms (offset activations keep full precision).
static void bn_bwd_sums(const float *x, const float *dy, double ms, int N, int C, int c,
                        size_t hw, double *sdy_, double *sdyx_, double *sx_) {
  double sdy = 0.0, sdyx = 0.0, sx = 0.0;
  for (int n = 0; n < N; n++) {
    const float *p = x + ((size_t)n * C + c) * hw;
    const float *g = dy + ((size_t)n * C + c) * hw;
#pragma omp simd reduction(+ : sdy, sdyx, sx)
    for (size_t i = 0; i < hw; i++) {
      double d = (double)p[i] - ms;
      sdy += g[i];
      sdyx += (double)g[i] * d;
      sx += d;
    }
  }
  *sdy_ = sdy;
  *sdyx_ = sdyx;
  *sx_ = sx;
}

// Channel c of dx, the last pass of every backward, from the channel's sums (sdy = sum dy,
// sdyx = sum dy * (x - mean), over cnt values: this rank's, or every rank's with sync_bn):
//   training: dx = w * inv * (dy - sdy / cnt - xhat * sum(dy * xhat) / cnt)
//               = dy k + ((x - mf) - ml) kx + k0  (mf + ml: the mean in two floats)
//   eval:     dx = dy * w * inv
static void bn_dx_apply(float *dx, const float *dy, const float *x, int N, int C, int c,
                        size_t hw, double w, double inv, double mean, double sdy, double sdyx,
                        double cnt, int training) {
  float k = (float)(w * inv), kx = 0.0f, k0 = 0.0f;
  float mf = (float)mean, ml = (float)(mean - (double)mf);
  if (training) {
    kx = (float)(-w * inv * inv * inv * sdyx / cnt);
    k0 = (float)(-w * inv * sdy / cnt);
  }
  for (int n = 0; n < N; n++) {
    const float *p = x + ((size_t)n * C + c) * hw;
    const float *g = dy + ((size_t)n * C + c) * hw;
    float *q = dx + ((size_t)n * C + c) * hw;
#pragma omp simd
    for (size_t i = 0; i < hw; i++) q[i] = g[i] * k + ((p[i] - mf) - ml) * kx + k0;
  }
}

static void batchnorm_backward_cpu(Ctx *ctx, float *dx, float *dweight, float *dbias,
                                   const float *dy, const float *x, const float *save_mean,
                                   const float *save_var, const float *weight, int N, int C, int H,
                                   int W, int training, float eps) {
  const size_t hw = (size_t)H * W;
  const size_t cnt = (size_t)N * hw;
#pragma omp parallel for schedule(static) if ((size_t)C * cnt > 16384)
  for (int c = 0; c < C; c++) {
    const double inv = 1.0 / sqrt((double)save_var[c] + (double)eps);
    // sdy = sum dy, sdyx = sum dy * (x - mean); xhat = (x - mean) * inv.  Summed about the
    // float save_mean, then moved to the exact batch mean (training: sum x / cnt, recomputed
    // in the same pass), so offset activations keep full precision.
    const double ms = save_mean[c];
    double sdy, sdyx, sx;
    bn_bwd_sums(x, dy, ms, N, C, c, hw, &sdy, &sdyx, &sx);
    const double mean = training ? ms + sx / (double)cnt : ms;
    if (training) sdyx -= (mean - ms) * sdy;
    if (dweight) dweight[c] += (float)(sdyx * inv);
    if (dbias) dbias[c] += (float)sdy;
    if (!dx) continue;
    bn_dx_apply(dx, dy, x, N, C, c, hw, weight ? weight[c] : 1.0, inv, mean, sdy, sdyx,
                (double)cnt, training);
  }
}

// ---- synchronized statistics (sync_bn)
//
// The host logic (batchnorm_{forward,backward}_sync_any) is written once for both devices. The
// per-channel sums stay on the context's device (host memory on the CPU), in the context's
// statistics buffer (ctx_stats: no allocation per call): a dispatched piece writes this rank's
// there, ctx_sum_double_device sums them over the ranks in place (on a GPU with NCCL, queued on
// the stream: the host never waits for the device), and a dispatched piece normalizes (or forms
// the gradients) from them. Only the count, host data, is summed on the host (one double over
// MPI, which does not wait for the GPU either), so the `more than 1 value` check stays here.

// The number of values per channel over all ranks (each rank's N H W).
static double bn_sync_count(Ctx *ctx, size_t cnt) {
  double gcnt = (double)cnt;
  ctx_sum_double(ctx, &gcnt, 1);
  return gcnt;
}

// s[c] = the sum over channel c of x (mean NULL), or of (x - mean[c])^2.
static void bn_sync_sums_cpu(Ctx *ctx, double *s, const float *x, const double *mean, int N,
                             int C, int H, int W) {
  const size_t hw = (size_t)H * W;
  const size_t cnt = (size_t)N * hw;
#pragma omp parallel for schedule(static) if ((size_t)C * cnt > 16384)
  for (int c = 0; c < C; c++)
    s[c] = mean ? bn_sqdev(x, mean[c], N, C, c, hw) : bn_sum(x, N, C, c, hw);
}

static void bn_sync_sums(Ctx *ctx, double *s, const float *x, const double *mean, int N, int C,
                         int H, int W) {
  DISPATCH(ctx, bn_sync_sums_cpu(ctx, s, x, mean, N, C, H, W),
           batchnorm_sync_sums_cuda(ctx->cuda, s, x, mean, N, C, H, W));
}

// s[c] /= gcnt in place: the global sums become the global means where they are.
static void bn_sync_div_cpu(Ctx *ctx, double *s, int C, double gcnt) {
  for (int c = 0; c < C; c++) s[c] /= gcnt;
}

static void bn_sync_div(Ctx *ctx, double *s, int C, double gcnt) {
  DISPATCH(ctx, bn_sync_div_cpu(ctx, s, C, gcnt), batchnorm_sync_div_cuda(ctx->cuda, s, C, gcnt));
}

// The global statistics known (mean[c] and ss[c], the summed squared deviations, over gcnt
// values): y, save_mean, save_var and the running statistics, as bn_normalize.
static void bn_sync_normalize_cpu(Ctx *ctx, float *y, float *save_mean, float *save_var,
                                  float *running_mean, float *running_var, const float *x,
                                  const float *weight, const float *bias, const double *mean,
                                  const double *ss, double gcnt, int N, int C, int H, int W,
                                  float momentum, float eps) {
  const size_t hw = (size_t)H * W;
  const size_t cnt = (size_t)N * hw;
#pragma omp parallel for schedule(static) if ((size_t)C * cnt > 16384)
  for (int c = 0; c < C; c++)
    bn_normalize(y, save_mean, save_var, running_mean, running_var, x, weight, bias, mean[c],
                 ss[c] / gcnt, ss[c] / (gcnt - 1.0), 1, N, C, c, hw, momentum, eps);
}

static void bn_sync_normalize(Ctx *ctx, float *y, float *save_mean, float *save_var,
                              float *running_mean, float *running_var, const float *x,
                              const float *weight, const float *bias, const double *mean,
                              const double *ss, double gcnt, int N, int C, int H, int W,
                              float momentum, float eps) {
  DISPATCH(ctx,
           bn_sync_normalize_cpu(ctx, y, save_mean, save_var, running_mean, running_var, x,
                                 weight, bias, mean, ss, gcnt, N, C, H, W, momentum, eps),
           batchnorm_sync_normalize_cuda(ctx->cuda, y, save_mean, save_var, running_mean,
                                         running_var, x, weight, bias, mean, ss, gcnt, N, C, H,
                                         W, momentum, eps));
}

// loc (3 C) = [sdy | sdyx | sx]: backward's sums over each channel about the float save_mean
// (bn_bwd_sums), and glob a copy (to be summed over the ranks), written by the piece in the
// same pass.
static void bn_sync_bwd_sums_cpu(Ctx *ctx, double *loc, double *glob, const float *x,
                                 const float *dy, const float *save_mean, int N, int C, int H,
                                 int W) {
  const size_t hw = (size_t)H * W;
  const size_t cnt = (size_t)N * hw;
#pragma omp parallel for schedule(static) if ((size_t)C * cnt > 16384)
  for (int c = 0; c < C; c++) {
    const double ms = save_mean[c];
    double sdy, sdyx, sx;
    bn_bwd_sums(x, dy, ms, N, C, c, hw, &sdy, &sdyx, &sx);
    loc[c] = sdy;
    loc[C + c] = sdyx;
    loc[2 * C + c] = sx;
  }
  memcpy(glob, loc, sizeof(double) * 3 * (size_t)C);
}

static void bn_sync_bwd_sums(Ctx *ctx, double *loc, double *glob, const float *x,
                             const float *dy, const float *save_mean, int N, int C, int H,
                             int W) {
  DISPATCH(ctx, bn_sync_bwd_sums_cpu(ctx, loc, glob, x, dy, save_mean, N, C, H, W),
           batchnorm_sync_bwd_sums_cuda(ctx->cuda, loc, glob, x, dy, save_mean, N, C, H, W));
}

// The sums known ([sdy | sdyx | sx], 3 C each: loc this rank's, glob over the ranks, of gcnt
// values): dweight and dbias (+=) from loc about the global mean, dx from glob.
static void bn_sync_bwd_apply_cpu(Ctx *ctx, float *dx, float *dweight, float *dbias,
                                  const float *dy, const float *x, const float *save_mean,
                                  const float *save_var, const float *weight, const double *loc,
                                  const double *glob, double gcnt, int N, int C, int H, int W,
                                  float eps) {
  const size_t hw = (size_t)H * W;
  const size_t cnt = (size_t)N * hw;
#pragma omp parallel for schedule(static) if ((size_t)C * cnt > 16384)
  for (int c = 0; c < C; c++) {
    const double inv = 1.0 / sqrt((double)save_var[c] + (double)eps);
    const double ms = save_mean[c];
    const double mean = ms + glob[2 * C + c] / gcnt;  // the exact global batch mean
    const double sdy = glob[c], sdyx = glob[C + c] - (mean - ms) * sdy;
    if (dweight) dweight[c] += (float)((loc[C + c] - (mean - ms) * loc[c]) * inv);
    if (dbias) dbias[c] += (float)loc[c];
    if (!dx) continue;
    bn_dx_apply(dx, dy, x, N, C, c, hw, weight ? weight[c] : 1.0, inv, mean, sdy, sdyx, gcnt, 1);
  }
}

static void bn_sync_bwd_apply(Ctx *ctx, float *dx, float *dweight, float *dbias, const float *dy,
                              const float *x, const float *save_mean, const float *save_var,
                              const float *weight, const double *loc, const double *glob,
                              double gcnt, int N, int C, int H, int W, float eps) {
  DISPATCH(ctx,
           bn_sync_bwd_apply_cpu(ctx, dx, dweight, dbias, dy, x, save_mean, save_var, weight, loc,
                                 glob, gcnt, N, C, H, W, eps),
           batchnorm_sync_bwd_apply_cuda(ctx->cuda, dx, dweight, dbias, dy, x, save_mean,
                                         save_var, weight, loc, glob, gcnt, N, C, H, W, eps));
}

static void batchnorm_forward_sync_any(Ctx *ctx, float *y, float *save_mean, float *save_var,
                                       float *running_mean, float *running_var, const float *x,
                                       const float *weight, const float *bias, int N, int C, int H,
                                       int W, int training, float momentum, float eps) {
  if (!training || ctx->reduce.ranks == 1) {
    batchnorm_forward(ctx, y, save_mean, save_var, running_mean, running_var, x, weight, bias, N,
                      C, H, W, training, momentum, eps);
    return;
  }
  const double gcnt = bn_sync_count(ctx, (size_t)N * H * W);
  if (!(gcnt > 1)) genet_die("batchnorm_forward_sync: expected more than 1 value per channel");
  // [s | ss], C each: the sums, then the global means in place; the squared deviations.
  double *s = ctx_stats(ctx, sizeof(double) * 2 * (size_t)C), *ss = s + C;
  bn_sync_sums(ctx, s, x, NULL, N, C, H, W);
  ctx_sum_double_device(ctx, s, (size_t)C);
  bn_sync_div(ctx, s, C, gcnt);
  bn_sync_sums(ctx, ss, x, s, N, C, H, W);
  ctx_sum_double_device(ctx, ss, (size_t)C);
  bn_sync_normalize(ctx, y, save_mean, save_var, running_mean, running_var, x, weight, bias, s, ss,
                    gcnt, N, C, H, W, momentum, eps);
}

static void batchnorm_backward_sync_any(Ctx *ctx, float *dx, float *dweight, float *dbias,
                                        const float *dy, const float *x, const float *save_mean,
                                        const float *save_var, const float *weight, int N, int C,
                                        int H, int W, int training, float eps) {
  if (!training || ctx->reduce.ranks == 1) {
    batchnorm_backward(ctx, dx, dweight, dbias, dy, x, save_mean, save_var, weight, N, C, H, W,
                       training, eps);
    return;
  }
  const double gcnt = bn_sync_count(ctx, (size_t)N * H * W);
  // Local sums about the float save_mean (as batchnorm_backward), [sdy | sdyx | sx]: loc kept
  // for this rank's parameter gradients, glob a copy summed over the ranks.
  const size_t n3 = 3 * (size_t)C;
  double *loc = ctx_stats(ctx, sizeof(double) * 2 * n3), *glob = loc + n3;
  bn_sync_bwd_sums(ctx, loc, glob, x, dy, save_mean, N, C, H, W);
  ctx_sum_double_device(ctx, glob, n3);
  bn_sync_bwd_apply(ctx, dx, dweight, dbias, dy, x, save_mean, save_var, weight, loc, glob, gcnt,
                    N, C, H, W, eps);
}

// ---- entries (core/dispatch.h)

void batchnorm_forward(Ctx *ctx, float *y, float *save_mean, float *save_var, float *running_mean,
                       float *running_var, const float *x, const float *weight, const float *bias,
                       int N, int C, int H, int W, int training, float momentum, float eps) {
  DISPATCH(ctx,
           batchnorm_forward_cpu(ctx, y, save_mean, save_var, running_mean, running_var, x,
                                 weight, bias, N, C, H, W, training, momentum, eps),
           batchnorm_forward_cuda(ctx->cuda, y, save_mean, save_var, running_mean, running_var, x,
                                  weight, bias, N, C, H, W, training, momentum, eps));
}

void batchnorm_backward(Ctx *ctx, float *dx, float *dweight, float *dbias, const float *dy,
                        const float *x, const float *save_mean, const float *save_var,
                        const float *weight, int N, int C, int H, int W, int training, float eps) {
  DISPATCH(ctx,
           batchnorm_backward_cpu(ctx, dx, dweight, dbias, dy, x, save_mean, save_var, weight, N,
                                  C, H, W, training, eps),
           batchnorm_backward_cuda(ctx->cuda, dx, dweight, dbias, dy, x, save_mean, save_var,
                                   weight, N, C, H, W, training, eps));
}

void batchnorm_forward_sync(Ctx *ctx, float *y, float *save_mean, float *save_var,
                            float *running_mean, float *running_var, const float *x,
                            const float *weight, const float *bias, int N, int C, int H, int W,
                            int training, float momentum, float eps) {
  DISPATCH_ANY(ctx, batchnorm_forward_sync_any(ctx, y, save_mean, save_var, running_mean,
                                               running_var, x, weight, bias, N, C, H, W, training,
                                               momentum, eps));
}

void batchnorm_backward_sync(Ctx *ctx, float *dx, float *dweight, float *dbias,
                             const float *dy, const float *x, const float *save_mean,
                             const float *save_var, const float *weight, int N, int C, int H,
                             int W, int training, float eps) {
  DISPATCH_ANY(ctx, batchnorm_backward_sync_any(ctx, dx, dweight, dbias, dy, x, save_mean,
                                                save_var, weight, N, C, H, W, training, eps));
}
