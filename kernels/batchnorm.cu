// batchnorm.cu: BatchNorm2d (src/ops/batchnorm.h) as a few small kernels, the CPU op's
// arithmetic step for step: per-channel sums in double, two passes (the mean, then the squared
// deviations about it), the running statistics moved towards the unbiased variance, and
// save_var holding the biased batch variance that backward reads.
//
// Why not cuDNN's cudnnBatchNormalization*: it saves the inverse standard deviation where the
// CPU op's save_var holds the variance, needs weight, bias and both parameter gradients
// present (genet's may be NULL), has no backward for evaluation mode
// (dx = dy * w / sqrt(var + eps)), and its header (cudnn_ops.h, 9.x) does not say which
// variance, biased or unbiased, its running average takes. Each gap would need a kernel of
// its own around the call, and the result would still differ from the CPU op in rounding; the
// whole op is less code than that.
//
// A reduction over channel c runs as P blocks per channel, each summing a fixed slice of the
// channel's N*H*W values in a fixed tree order, then one thread per channel adding the P
// partial sums in order: no atomics, so every run gives the same bits. Partial sums and the
// per-channel coefficients live in the context's scratch (cudnn_cache.cuh).
#include "kernels/cuda_internal.cuh"
#include "kernels/cuda_ops.h"
#include "kernels/cudnn_cache.cuh"

enum { BN_THREADS = 256 };

// Slices per channel: about 32 values per thread, at most 64 slices (grid (P, C)).
static int bn_slices(size_t cnt) {
  size_t p = cnt / ((size_t)BN_THREADS * 32);
  return p < 1 ? 1 : p > 64 ? 64 : (int)p;
}

static unsigned bn_blocks(size_t n) {
  size_t b = (n + 255) / 256;
  return (unsigned)(b > 65535 ? 65535 : (b ? b : 1));
}

// Offset in x (N, C, H, W) of value j (0 <= j < N*hw) of channel c.
static __device__ size_t bn_at(size_t j, size_t hw, int C, int c) {
  size_t n = j / hw;
  return (n * C + c) * hw + (j - n * hw);
}

// The sum of v over the block's BN_THREADS threads, in a fixed tree order, returned to all.
static __device__ double block_sum(double v, double *sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int s = BN_THREADS / 2; s > 0; s >>= 1) {
    if ((int)threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
    __syncthreads();
  }
  double r = sh[0];
  __syncthreads();  // sh is reused by the next call
  return r;
}

// Block (p, c): part[c P + p] = the sum over slice p of channel c of x (mean NULL), or of
// (x - mean[c])^2.
static __global__ void bn_sum_kernel(double *part, const float *x, const double *mean, int C,
                                     size_t hw, size_t cnt) {
  __shared__ double sh[BN_THREADS];
  const int c = blockIdx.y, P = gridDim.x;
  const double m = mean ? mean[c] : 0.0;
  double s = 0.0;
  for (size_t j = blockIdx.x * (size_t)BN_THREADS + threadIdx.x; j < cnt;
       j += (size_t)P * BN_THREADS) {
    double v = x[bn_at(j, hw, C, c)];
    if (mean) v = (v - m) * (v - m);
    s += v;
  }
  s = block_sum(s, sh);
  if (threadIdx.x == 0) part[(size_t)c * P + blockIdx.x] = s;
}

// mean[c] = (sum of channel c's P partial sums) / cnt.
static __global__ void bn_mean_kernel(double *mean, const double *part, int P, int C, double cnt) {
  int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  double s = 0.0;
  for (int p = 0; p < P; p++) s += part[(size_t)c * P + p];
  mean[c] = s / cnt;
}

// Channel c's statistics (training: the batch's, from mean and the squared-deviation partial
// sums; evaluation: the running ones), the running update, save_mean and save_var, and the
// coefficients of y = ((x - mf) - ml) * a + b: coef = [a | b | mf | ml], C each (mf + ml is the
// mean in two floats, so a large offset cancels to full precision, as on the CPU).
static __global__ void bn_stats_kernel(float *coef, float *save_mean, float *save_var,
                                       float *running_mean, float *running_var,
                                       const double *batch_mean, const double *part, int P, int C,
                                       double cnt, const float *weight, const float *bias,
                                       int training, float momentum, float eps) {
  int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  double mean, var;
  if (training) {
    double ss = 0.0;
    for (int p = 0; p < P; p++) ss += part[(size_t)c * P + p];
    mean = batch_mean[c];
    var = ss / cnt;
    if (running_mean) {
      running_mean[c] = (float)((1.0 - momentum) * running_mean[c] + momentum * mean);
      running_var[c] = (float)((1.0 - momentum) * running_var[c] + momentum * (ss / (cnt - 1.0)));
    }
  } else {
    mean = running_mean[c];
    var = running_var[c];
  }
  save_mean[c] = (float)mean;
  save_var[c] = (float)var;
  double inv = 1.0 / sqrt(var + (double)eps);
  float mf = (float)mean;
  coef[c] = (float)((weight ? weight[c] : 1.0) * inv);
  coef[C + c] = bias ? bias[c] : 0.0f;
  coef[2 * C + c] = mf;
  coef[3 * C + c] = (float)(mean - (double)mf);
}

static __global__ void bn_apply_kernel(float *y, const float *x, const float *coef, int C,
                                       size_t hw, size_t total) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
       i += (size_t)gridDim.x * blockDim.x) {
    int c = (int)((i / hw) % C);
    y[i] = ((x[i] - coef[2 * C + c]) - coef[3 * C + c]) * coef[c] + coef[C + c];
  }
}

// Block (p, c): backward's partial sums over slice p of channel c about the float save_mean
// ms: part = [sum dy | sum dy (x - ms) | sum (x - ms)], C P each.
static __global__ void bn_bwd_sum_kernel(double *part, const float *x, const float *dy,
                                         const float *save_mean, int C, size_t hw, size_t cnt) {
  __shared__ double sh[BN_THREADS];
  const int c = blockIdx.y, P = gridDim.x;
  const double ms = save_mean[c];
  double sdy = 0.0, sdyx = 0.0, sx = 0.0;
  for (size_t j = blockIdx.x * (size_t)BN_THREADS + threadIdx.x; j < cnt;
       j += (size_t)P * BN_THREADS) {
    size_t at = bn_at(j, hw, C, c);
    double d = (double)x[at] - ms, g = dy[at];
    sdy += g;
    sdyx += g * d;
    sx += d;
  }
  sdy = block_sum(sdy, sh);
  sdyx = block_sum(sdyx, sh);
  sx = block_sum(sx, sh);
  if (threadIdx.x == 0) {
    size_t o = (size_t)c * P + blockIdx.x, cp = (size_t)C * P;
    part[o] = sdy;
    part[cp + o] = sdyx;
    part[2 * cp + o] = sx;
  }
}

// Channel c: the parameter gradients (+=) and the coefficients of
// dx = dy k + ((x - mf) - ml) kx + k0: coef = [k | kx | k0 | mf | ml], C each. As the CPU op:
// the sums about ms move to the exact batch mean (training), and in evaluation kx = k0 = 0.
static __global__ void bn_bwd_coef_kernel(float *coef, float *dweight, float *dbias,
                                          const double *part, int P, int C, double cnt,
                                          const float *save_mean, const float *save_var,
                                          const float *weight, int training, float eps) {
  int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  const size_t cp = (size_t)C * P;
  double sdy = 0.0, sdyx = 0.0, sx = 0.0;
  for (int p = 0; p < P; p++) {
    size_t o = (size_t)c * P + p;
    sdy += part[o];
    sdyx += part[cp + o];
    sx += part[2 * cp + o];
  }
  const double inv = 1.0 / sqrt((double)save_var[c] + (double)eps);
  const double ms = save_mean[c];
  const double mean = training ? ms + sx / cnt : ms;
  if (training) sdyx -= (mean - ms) * sdy;
  if (dweight) dweight[c] += (float)(sdyx * inv);
  if (dbias) dbias[c] += (float)sdy;
  const double w = weight ? weight[c] : 1.0;
  float mf = (float)mean;
  coef[c] = (float)(w * inv);
  coef[C + c] = training ? (float)(-w * inv * inv * inv * sdyx / cnt) : 0.0f;
  coef[2 * C + c] = training ? (float)(-w * inv * sdy / cnt) : 0.0f;
  coef[3 * C + c] = mf;
  coef[4 * C + c] = (float)(mean - (double)mf);
}

static __global__ void bn_bwd_apply_kernel(float *dx, const float *x, const float *dy,
                                           const float *coef, int C, size_t hw, size_t total) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
       i += (size_t)gridDim.x * blockDim.x) {
    int c = (int)((i / hw) % C);
    dx[i] = dy[i] * coef[c] + ((x[i] - coef[3 * C + c]) - coef[4 * C + c]) * coef[C + c] +
            coef[2 * C + c];
  }
}

extern "C" void batchnorm_forward_cuda(CudaCtx *c, float *y, float *save_mean, float *save_var,
                                       float *running_mean, float *running_var, const float *x,
                                       const float *weight, const float *bias, int N, int C,
                                       int H, int W, int training, float momentum, float eps) {
  const size_t hw = (size_t)H * W, cnt = (size_t)N * hw;
  GENET_ASSERT(C <= 65535);  // the channel is a grid's y index
  if (C == 0) return;
  if (training) GENET_ASSERT(cnt > 1);  // PyTorch: "Expected more than 1 value per channel"
  else GENET_ASSERT(running_mean && running_var);
  const int P = bn_slices(cnt);
  // scratch: part (C P doubles) | batch mean (C doubles) | coef (4 C floats)
  double *part = (double *)dnncache_scratch(
      c, sizeof(double) * ((size_t)C * P + C) + sizeof(float) * 4 * (size_t)C);
  double *mean = part + (size_t)C * P;
  float *coef = (float *)(mean + C);
  const unsigned cb = (unsigned)((C + 127) / 128);
  if (training) {
    dim3 grid((unsigned)P, (unsigned)C);
    bn_sum_kernel<<<grid, BN_THREADS, 0, c->stream>>>(part, x, nullptr, C, hw, cnt);
    CUDA_CHECK_LAUNCH();
    bn_mean_kernel<<<cb, 128, 0, c->stream>>>(mean, part, P, C, (double)cnt);
    CUDA_CHECK_LAUNCH();
    bn_sum_kernel<<<grid, BN_THREADS, 0, c->stream>>>(part, x, mean, C, hw, cnt);
    CUDA_CHECK_LAUNCH();
  }
  bn_stats_kernel<<<cb, 128, 0, c->stream>>>(coef, save_mean, save_var, running_mean,
                                             running_var, mean, part, P, C, (double)cnt, weight,
                                             bias, training, momentum, eps);
  CUDA_CHECK_LAUNCH();
  bn_apply_kernel<<<bn_blocks(cnt * C), 256, 0, c->stream>>>(y, x, coef, C, hw, cnt * C);
  CUDA_CHECK_LAUNCH();
}

extern "C" void batchnorm_backward_cuda(CudaCtx *c, float *dx, float *dweight, float *dbias,
                                        const float *dy, const float *x, const float *save_mean,
                                        const float *save_var, const float *weight, int N, int C,
                                        int H, int W, int training, float eps) {
  const size_t hw = (size_t)H * W, cnt = (size_t)N * hw;
  GENET_ASSERT(C <= 65535);  // the channel is a grid's y index
  if (C == 0) return;
  const int P = bn_slices(cnt);
  // scratch: part (3 C P doubles) | coef (5 C floats)
  double *part = (double *)dnncache_scratch(
      c, sizeof(double) * 3 * (size_t)C * P + sizeof(float) * 5 * (size_t)C);
  float *coef = (float *)(part + 3 * (size_t)C * P);
  bn_bwd_sum_kernel<<<dim3((unsigned)P, (unsigned)C), BN_THREADS, 0, c->stream>>>(
      part, x, dy, save_mean, C, hw, cnt);
  CUDA_CHECK_LAUNCH();
  bn_bwd_coef_kernel<<<(unsigned)((C + 127) / 128), 128, 0, c->stream>>>(
      coef, dweight, dbias, part, P, C, (double)cnt, save_mean, save_var, weight, training, eps);
  CUDA_CHECK_LAUNCH();
  if (!dx) return;
  bn_bwd_apply_kernel<<<bn_blocks(cnt * C), 256, 0, c->stream>>>(dx, x, dy, coef, C, hw, cnt * C);
  CUDA_CHECK_LAUNCH();
}

// ---- synchronized BatchNorm's pieces (cuda_ops.h; the host logic is src/ops/batchnorm.c's):
// the same partial-sum kernels, with per-channel totals in device memory the caller owns (the
// context's statistics buffer, which the ranks' all-reduce sums in place between the pieces),
// so no piece waits for the device. bn_mean_kernel with cnt = 1 folds a channel's partial sums
// in order (dividing by 1 is exact); bn_stats_kernel and bn_bwd_coef_kernel take the global
// sums as a single slice (P = 1), so the coefficients are the non-synchronized op's. The
// partial sums and coefficients live in the shared scratch, which the next op may reuse: only
// the totals must outlive a piece.

// dweight[c] += sum dy (x - mean) / sqrt(var + eps) and dbias[c] += sum dy, from this rank's
// sums loc about the float save_mean moved to the global mean ms + glob sx / gcnt (as the CPU).
static __global__ void bn_sync_dparam_kernel(float *dweight, float *dbias, const double *loc,
                                             const double *glob, int C, double gcnt,
                                             const float *save_mean, const float *save_var,
                                             float eps) {
  int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  const double inv = 1.0 / sqrt((double)save_var[c] + (double)eps);
  const double ms = save_mean[c];
  const double mean = ms + glob[2 * C + c] / gcnt;
  if (dweight) dweight[c] += (float)((loc[C + c] - (mean - ms) * loc[c]) * inv);
  if (dbias) dbias[c] += (float)loc[c];
}

// s[c] /= gcnt, the CPU's division (IEEE double, correctly rounded on both).
static __global__ void bn_sync_div_kernel(double *s, int C, double gcnt) {
  int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c < C) s[c] /= gcnt;
}

extern "C" void batchnorm_sync_sums_cuda(CudaCtx *c, double *s, const float *x,
                                         const double *mean, int N, int C, int H, int W) {
  const size_t hw = (size_t)H * W, cnt = (size_t)N * hw;
  GENET_ASSERT(C <= 65535);  // the channel is a grid's y index
  if (C == 0) return;
  const int P = bn_slices(cnt);
  // scratch: part (C P doubles); the totals go to s
  double *part = (double *)dnncache_scratch(c, sizeof(double) * (size_t)C * P);
  bn_sum_kernel<<<dim3((unsigned)P, (unsigned)C), BN_THREADS, 0, c->stream>>>(part, x, mean, C,
                                                                               hw, cnt);
  CUDA_CHECK_LAUNCH();
  bn_mean_kernel<<<(unsigned)((C + 127) / 128), 128, 0, c->stream>>>(s, part, P, C, 1.0);
  CUDA_CHECK_LAUNCH();
}

extern "C" void batchnorm_sync_div_cuda(CudaCtx *c, double *s, int C, double gcnt) {
  if (C == 0) return;
  bn_sync_div_kernel<<<(unsigned)((C + 127) / 128), 128, 0, c->stream>>>(s, C, gcnt);
  CUDA_CHECK_LAUNCH();
}

extern "C" void batchnorm_sync_normalize_cuda(CudaCtx *c, float *y, float *save_mean,
                                              float *save_var, float *running_mean,
                                              float *running_var, const float *x,
                                              const float *weight, const float *bias,
                                              const double *mean, const double *ss, double gcnt,
                                              int N, int C, int H, int W, float momentum,
                                              float eps) {
  const size_t hw = (size_t)H * W, cnt = (size_t)N * hw;
  if (C == 0) return;
  // scratch: coef (4 C floats)
  float *coef = (float *)dnncache_scratch(c, sizeof(float) * 4 * (size_t)C);
  bn_stats_kernel<<<(unsigned)((C + 127) / 128), 128, 0, c->stream>>>(
      coef, save_mean, save_var, running_mean, running_var, mean, ss, 1, C, gcnt, weight, bias,
      1, momentum, eps);
  CUDA_CHECK_LAUNCH();
  bn_apply_kernel<<<bn_blocks(cnt * C), 256, 0, c->stream>>>(y, x, coef, C, hw, cnt * C);
  CUDA_CHECK_LAUNCH();
}

extern "C" void batchnorm_sync_bwd_sums_cuda(CudaCtx *c, double *loc, double *glob,
                                             const float *x, const float *dy,
                                             const float *save_mean, int N, int C, int H, int W) {
  const size_t hw = (size_t)H * W, cnt = (size_t)N * hw;
  GENET_ASSERT(C <= 65535);  // the channel is a grid's y index
  if (C == 0) return;
  const int P = bn_slices(cnt);
  const size_t cp = (size_t)C * P;
  // scratch: part (3 C P doubles); the totals go to loc
  double *part = (double *)dnncache_scratch(c, sizeof(double) * 3 * cp);
  bn_bwd_sum_kernel<<<dim3((unsigned)P, (unsigned)C), BN_THREADS, 0, c->stream>>>(
      part, x, dy, save_mean, C, hw, cnt);
  CUDA_CHECK_LAUNCH();
  for (int k = 0; k < 3; k++) {  // [sdy | sdyx | sx], each C P partial sums -> C totals
    bn_mean_kernel<<<(unsigned)((C + 127) / 128), 128, 0, c->stream>>>(
        loc + (size_t)k * C, part + (size_t)k * cp, P, C, 1.0);
    CUDA_CHECK_LAUNCH();
  }
  // Queued, not waited for (ctx_copy would wait): the copy the ranks' all-reduce sums in place.
  CUDA_CHECK(cudaMemcpyAsync(glob, loc, sizeof(double) * 3 * (size_t)C, cudaMemcpyDeviceToDevice,
                             c->stream));
}

extern "C" void batchnorm_sync_bwd_apply_cuda(CudaCtx *c, float *dx, float *dweight,
                                              float *dbias, const float *dy, const float *x,
                                              const float *save_mean, const float *save_var,
                                              const float *weight, const double *loc,
                                              const double *glob, double gcnt, int N, int C,
                                              int H, int W, float eps) {
  const size_t hw = (size_t)H * W, cnt = (size_t)N * hw;
  if (C == 0) return;
  const unsigned cb = (unsigned)((C + 127) / 128);
  if (dweight || dbias) {
    bn_sync_dparam_kernel<<<cb, 128, 0, c->stream>>>(dweight, dbias, loc, glob, C, gcnt,
                                                     save_mean, save_var, eps);
    CUDA_CHECK_LAUNCH();
  }
  if (!dx) return;
  // scratch: coef (5 C floats)
  float *coef = (float *)dnncache_scratch(c, sizeof(float) * 5 * (size_t)C);
  // The global sums as one slice (P = 1, [sdy | sdyx | sx] C each): dx's coefficients.
  bn_bwd_coef_kernel<<<cb, 128, 0, c->stream>>>(coef, nullptr, nullptr, glob, 1, C, gcnt,
                                                save_mean, save_var, weight, 1, eps);
  CUDA_CHECK_LAUNCH();
  bn_bwd_apply_kernel<<<bn_blocks(cnt * C), 256, 0, c->stream>>>(dx, x, dy, coef, C, hw, cnt * C);
  CUDA_CHECK_LAUNCH();
}
