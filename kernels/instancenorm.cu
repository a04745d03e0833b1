// instancenorm.cu: InstanceNorm2d (src/ops/instancenorm.h), the CPU op's arithmetic step for
// step: each plane's statistics summed in double in two passes (the mean, then the squared
// deviations about it), the mean carried in two floats where it is subtracted, backward's sums
// taken about the float save_mean and moved to the exact mean.
//
// One block per (sample, channel) plane does the whole plane: its sums in a fixed tree order
// (cuda_reduce.cuh's block_sum), then its outputs, so forward is one kernel and dx needs no
// second pass over the statistics. The parameter gradients add the N planes of a channel in
// order of n, one thread per channel, from per-plane sums in the context's scratch: no atomics,
// so every run gives the same bits. Not tuned: at fast style's shapes (batch 4, 32 to 128
// channels) the grid is 128 to 512 blocks of 256 threads.
#include "kernels/cuda_internal.cuh"
#include "kernels/cuda_ops.h"
#include "kernels/cuda_reduce.cuh"
#include "kernels/cudnn_cache.cuh"

// Block p: plane p of x (hw values) normalized into y (y may equal x: every thread's reads of a
// pass end at the block sum before any write), save_mean[p] and save_var[p] written.
static __global__ void in_fwd_kernel(float *y, float *save_mean, float *save_var, const float *x,
                                     const float *weight, const float *bias, int C, size_t hw,
                                     float eps) {
  const size_t p = blockIdx.x;
  const int c = (int)(p % (size_t)C);
  const float *xp = x + p * hw;
  float *yp = y + p * hw;
  double s = 0.0;
  for (size_t i = threadIdx.x; i < hw; i += EW_THREADS) s += xp[i];
  const double mean = block_sum(s) / (double)hw;
  double ss = 0.0;
  for (size_t i = threadIdx.x; i < hw; i += EW_THREADS) {
    double d = (double)xp[i] - mean;
    ss += d * d;
  }
  const double var = block_sum(ss) / (double)hw;
  if (threadIdx.x == 0) {
    save_mean[p] = (float)mean;
    save_var[p] = (float)var;
  }
  const double inv = 1.0 / sqrt(var + (double)eps);
  const float af = (float)((weight ? weight[c] : 1.0) * inv), bf = bias ? bias[c] : 0.0f;
  const float mf = (float)mean, ml = (float)(mean - (double)mf);
  for (size_t i = threadIdx.x; i < hw; i += EW_THREADS) yp[i] = ((xp[i] - mf) - ml) * af + bf;
}

// Block p: plane p's sums about ms = save_mean[p], moved to the exact mean; part[p] = sum dy xhat
// and part[P + p] = sum dy (P planes); dx (when wanted) as the CPU's in_plane_backward:
//   dx = dy k + ((x - mf) - ml) kx + k0.
static __global__ void in_bwd_kernel(float *dx, double *part, const float *dy, const float *x,
                                     const float *save_mean, const float *save_var,
                                     const float *weight, int C, size_t hw, float eps) {
  const size_t p = blockIdx.x, P = gridDim.x;
  const int c = (int)(p % (size_t)C);
  const float *xp = x + p * hw, *gp = dy + p * hw;
  const double ms = save_mean[p], inv = 1.0 / sqrt((double)save_var[p] + (double)eps);
  double sdy = 0.0, sdyx = 0.0, sx = 0.0;
  for (size_t i = threadIdx.x; i < hw; i += EW_THREADS) {
    double d = (double)xp[i] - ms, g = gp[i];
    sdy += g;
    sdyx += g * d;
    sx += d;
  }
  sdy = block_sum(sdy);
  sdyx = block_sum(sdyx);
  sx = block_sum(sx);
  const double mean = ms + sx / (double)hw;
  sdyx -= (mean - ms) * sdy;
  if (threadIdx.x == 0) {
    part[p] = sdyx * inv;
    part[P + p] = sdy;
  }
  if (!dx) return;
  const double w = weight ? weight[c] : 1.0;
  const float k = (float)(w * inv), kx = (float)(-w * inv * inv * inv * sdyx / (double)hw),
              k0 = (float)(-w * inv * sdy / (double)hw);
  const float mf = (float)mean, ml = (float)(mean - (double)mf);
  float *q = dx + p * hw;
  for (size_t i = threadIdx.x; i < hw; i += EW_THREADS)
    q[i] = gp[i] * k + ((xp[i] - mf) - ml) * kx + k0;
}

// Thread c: dweight[c] += sum over n of part[n C + c], dbias[c] likewise from the second half,
// each summed in double in order of n and rounded once (as the CPU).
static __global__ void in_dparam_kernel(float *dweight, float *dbias, const double *part, int N,
                                        int C) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  const size_t P = (size_t)N * C;
  double dw = 0.0, db = 0.0;
  for (int n = 0; n < N; n++) {
    dw += part[(size_t)n * C + c];
    db += part[P + (size_t)n * C + c];
  }
  if (dweight) dweight[c] += (float)dw;
  if (dbias) dbias[c] += (float)db;
}

static void in_check(int N, int C, int H, int W) {
  GENET_ASSERT(N >= 0 && C >= 0 && (size_t)H * W > 1);  // as the CPU op (and PyTorch)
  GENET_ASSERT((size_t)N * C <= 0x7FFFFFFFu);           // one block per plane
}

extern "C" void instancenorm_forward_cuda(CudaCtx *c, float *y, float *save_mean,
                                          float *save_var, const float *x, const float *weight,
                                          const float *bias, int N, int C, int H, int W,
                                          float eps) {
  in_check(N, C, H, W);
  const size_t planes = (size_t)N * C;
  if (planes == 0) return;
  in_fwd_kernel<<<(unsigned)planes, EW_THREADS, 0, c->stream>>>(y, save_mean, save_var, x, weight,
                                                                bias, C, (size_t)H * W, eps);
  CUDA_CHECK_LAUNCH();
}

extern "C" void instancenorm_backward_cuda(CudaCtx *c, float *dx, float *dweight, float *dbias,
                                           const float *dy, const float *x,
                                           const float *save_mean, const float *save_var,
                                           const float *weight, int N, int C, int H, int W,
                                           float eps) {
  in_check(N, C, H, W);
  const size_t planes = (size_t)N * C;
  if (planes == 0) return;
  // scratch: part (2 N C doubles): each plane's sum dy xhat, then each plane's sum dy
  double *part = (double *)dnncache_scratch(c, sizeof(double) * 2 * planes);
  in_bwd_kernel<<<(unsigned)planes, EW_THREADS, 0, c->stream>>>(dx, part, dy, x, save_mean,
                                                                save_var, weight, C,
                                                                (size_t)H * W, eps);
  CUDA_CHECK_LAUNCH();
  if (!dweight && !dbias) return;
  in_dparam_kernel<<<(unsigned)((C + 127) / 128), 128, 0, c->stream>>>(dweight, dbias, part, N, C);
  CUDA_CHECK_LAUNCH();
}
