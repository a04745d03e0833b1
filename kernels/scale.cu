// scale.cu: x *= s on the context's stream (src/ops/scale.c is the CPU loop).
#include "kernels/cuda_internal.cuh"
#include "kernels/cuda_ops.h"

static __global__ void scale_kernel(float *x, size_t n, float s) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    x[i] *= s;
}

extern "C" void scale_inplace_cuda(CudaCtx *c, float *x, size_t n, float s) {
  if (n == 0) return;
  size_t b = (n + 255) / 256;
  scale_kernel<<<(unsigned)(b > 65535 ? 65535 : b), 256, 0, c->stream>>>(x, n, s);
  CUDA_CHECK_LAUNCH();
}
