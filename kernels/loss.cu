// loss.cu: MSE and BCE with the CPU op's per-element terms (base/elementwise.h's mse_*, bce_*).
// Forward sums the terms in double on the device: each of up to RED_BLOCKS blocks a grid-
// stride share, folded in a fixed tree, then sum_partials; one copy brings back the sum and,
// for BCE, the first input outside [0, 1], reported with the CPU's message.
#include "kernels/cuda_internal.cuh"
#include "kernels/cuda_ops.h"
#include "kernels/cuda_reduce.cuh"
#include "base/elementwise.h"

enum { LOSS_MSE = 0, LOSS_BCE = 1 };

static __global__ void loss_forward_kernel(int kind, double *partials, const float *x,
                                           const float *t, size_t n, CudaScalars *s) {
  double acc = 0.0;
  for (size_t i = blockIdx.x * (size_t)EW_THREADS + threadIdx.x; i < n; i += (size_t)gridDim.x * EW_THREADS) {
    if (kind == LOSS_MSE) acc += mse_term(x[i], t[i]);
    else if (bce_prob_ok(x[i])) acc += bce_term(x[i], t[i]);
    else flag_bad(s, (unsigned)i);
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

static __global__ void mse_backward_kernel(float *dx, const float *x, const float *t, size_t n, float k) {
  for (size_t i = blockIdx.x * (size_t)EW_THREADS + threadIdx.x; i < n; i += (size_t)gridDim.x * EW_THREADS)
    dx[i] = mse_grad(x[i], t[i], k);
}

static __global__ void bce_backward_kernel(float *dp, const float *p, const float *t, size_t n, double k) {
  for (size_t i = blockIdx.x * (size_t)EW_THREADS + threadIdx.x; i < n; i += (size_t)gridDim.x * EW_THREADS)
    dp[i] = bce_grad(p[i], t[i], k);
}

// The sum of the n terms of `kind`; a BCE input outside [0, 1] dies naming it.
static double loss_sum(CudaCtx *c, int kind, const float *x, const float *t, size_t n) {
  GENET_ASSERT(n > 0 && n < 0xFFFFFFFFu);  // first_bad is 32-bit
  CudaScalars *s = cuda_scalars_begin(c);
  unsigned blocks = ew_blocks(n, RED_BLOCKS);
  loss_forward_kernel<<<blocks, EW_THREADS, 0, c->stream>>>(kind, cuda_partials(c), x, t, n, s);
  CUDA_CHECK_LAUNCH();
  sum_partials(c, s, (int)blocks);
  CudaScalars h = cuda_scalars_read(c);
  if (h.first_bad != 0xFFFFFFFFu) {
    float bad;
    cuda_read_back(c, &bad, x + h.first_bad, sizeof bad);
    genet_die("bce_loss: input %u is %g, not a probability in [0, 1]", h.first_bad, (double)bad);
  }
  return h.sum;
}

extern "C" float mse_loss_forward_cuda(CudaCtx *c, const float *x, const float *t, size_t n) {
  return (float)(loss_sum(c, LOSS_MSE, x, t, n) / (double)n);
}

extern "C" void mse_loss_backward_cuda(CudaCtx *c, float *dx, const float *x, const float *t,
                                       size_t n, float dloss) {
  if (n == 0) return;
  const float k = (float)(2.0 * dloss / (double)n);
  mse_backward_kernel<<<ew_blocks(n, 65535), EW_THREADS, 0, c->stream>>>(dx, x, t, n, k);
  CUDA_CHECK_LAUNCH();
}

extern "C" float bce_loss_forward_cuda(CudaCtx *c, const float *p, const float *t, size_t n) {
  return (float)(-loss_sum(c, LOSS_BCE, p, t, n) / (double)n);
}

extern "C" void bce_loss_backward_cuda(CudaCtx *c, float *dp, const float *p, const float *t,
                                       size_t n, float dloss) {
  if (n == 0) return;
  const double k = (double)dloss / (double)n;
  bce_backward_kernel<<<ew_blocks(n, 65535), EW_THREADS, 0, c->stream>>>(dp, p, t, n, k);
  CUDA_CHECK_LAUNCH();
}
