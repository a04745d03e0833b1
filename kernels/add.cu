// add.cu: y += x / d on the context's stream (src/ops/add.c is the CPU loop; x / 1 is x, so
// d = 1 rounds as the CPU's plain sum).
#include "kernels/cuda_internal.cuh"
#include "kernels/cuda_ops.h"
#include "kernels/cuda_reduce.cuh"

static __global__ void add_kernel(float *y, const float *x, size_t n, float d) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)gridDim.x * blockDim.x)
    y[i] += x[i] / d;
}

extern "C" void add_inplace_cuda(CudaCtx *c, float *y, const float *x, size_t n, float d) {
  if (n == 0) return;
  add_kernel<<<ew_blocks(n, 65535), EW_THREADS, 0, c->stream>>>(y, x, n, d);
  CUDA_CHECK_LAUNCH();
}
