// dropout.cu: inverted dropout with the CPU's exact masks. The host reserves the Philox blocks
// as ops/dropout.c does (rng_reserve, so the stream moves identically) and passes the key and
// the first block by value; each thread then draws word g of that reservation for its element
// with the same inline functions the CPU loop calls (base/philox.h, base/elementwise.h).
#include "kernels/cuda_internal.cuh"
#include "kernels/cuda_ops.h"
#include "kernels/cuda_reduce.cuh"
#include "base/elementwise.h"

static __global__ void dropout_cols_kernel(float *y, float *mask, const float *x, uint64_t n, int B,
                                           int Bg, int b0, int D, uint32_t k0, uint32_t k1,
                                           uint64_t first, uint32_t threshold, float scale) {
  for (uint64_t i = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x; i < n;
       i += (uint64_t)gridDim.x * blockDim.x) {
    uint64_t g = dropout_global_index(i, B, Bg, b0, D);
    float m = dropout_mask(rng_key_word_at(k0, k1, first, g), threshold, scale);
    mask[i] = m;
    y[i] = x[i] * m;  // y may be x: read before written, by the same thread
  }
}

static __global__ void dropout_backward_kernel(float *dx, const float *dy, const float *mask, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    dx[i] = dy[i] * mask[i];
}

extern "C" void dropout_forward_cols_cuda(CudaCtx *c, float *y, float *mask, const float *x, int T,
                                          int B, int Bg, int b0, int D, float p, Rng *rng) {
  GENET_ASSERT(p >= 0.0f && p < 1.0f);
  GENET_ASSERT(T >= 0 && B >= 0 && D >= 0 && b0 >= 0 && b0 + B <= Bg);
  const float scale = dropout_scale(p);
  const uint32_t threshold = dropout_threshold(p);
  uint64_t first = rng_reserve(rng, (size_t)T * Bg * D);  // the host moves the stream, as the CPU
  uint64_t n = (uint64_t)T * B * D;
  if (n == 0) return;
  dropout_cols_kernel<<<ew_blocks(n, 65535), EW_THREADS, 0, c->stream>>>(
      y, mask, x, n, B, Bg, b0, D, rng->key[0], rng->key[1], first, threshold, scale);
  CUDA_CHECK_LAUNCH();
}

extern "C" void dropout_backward_cuda(CudaCtx *c, float *dx, const float *dy, const float *mask,
                                      size_t n) {
  if (n == 0) return;
  dropout_backward_kernel<<<ew_blocks(n, 65535), EW_THREADS, 0, c->stream>>>(dx, dy, mask, n);
  CUDA_CHECK_LAUNCH();
}
