// activations.cu: the activation kernels, built on the same inline math as the CPU loops
// (src/base/elementwise.h). Kinds are ActKind's values (src/ops/activations.h).
#include "kernels/cuda_internal.cuh"
#include "kernels/cuda_ops.h"
#include "base/elementwise.h"

enum { K_RELU = 0, K_LEAKY = 1, K_TANH = 2, K_SIGMOID = 3 };

static __global__ void act_forward_kernel(int kind, float slope, float *y, const float *x, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    float v = x[i];
    y[i] = kind == K_RELU ? relu_fwd(v) : kind == K_LEAKY ? leaky_relu_fwd(v, slope)
         : kind == K_TANH ? tanh_fwd(v) : sigmoid_fwd(v);
  }
}

static __global__ void act_backward_kernel(int kind, float slope, float *dx, const float *dy,
                                           const float *y, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    float v = y[i], g = dy[i];
    dx[i] = kind == K_RELU ? relu_bwd(v, g) : kind == K_LEAKY ? leaky_relu_bwd(v, g, slope)
          : kind == K_TANH ? tanh_bwd(v, g) : sigmoid_bwd(v, g);
  }
}

static unsigned blocks_for(size_t n) {
  size_t b = (n + 255) / 256;
  return (unsigned)(b > 65535 ? 65535 : (b ? b : 1));
}

extern "C" void act_forward_cuda(CudaCtx *c, int kind, float slope, float *y, const float *x, size_t n) {
  act_forward_kernel<<<blocks_for(n), 256, 0, c->stream>>>(kind, slope, y, x, n);
  CUDA_CHECK_LAUNCH();
}

extern "C" void act_backward_cuda(CudaCtx *c, int kind, float slope, float *dx, const float *dy,
                                  const float *y, size_t n) {
  act_backward_kernel<<<blocks_for(n), 256, 0, c->stream>>>(kind, slope, dx, dy, y, n);
  CUDA_CHECK_LAUNCH();
}
