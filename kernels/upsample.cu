// upsample.cu: nearest-neighbour upsampling (src/ops/upsample.h) as two element loops. Forward:
// one thread per output value, a copy of input (oh / scale, ow / scale). Backward gathers, as
// the CPU op: one thread per input value adds its scale x scale block of gradients, rows then
// columns in increasing order (the CPU's order: the two agree bit for bit, no atomics).
#include "kernels/cuda_internal.cuh"
#include "kernels/cuda_ops.h"
#include "kernels/cuda_reduce.cuh"  // EW_THREADS, ew_blocks

static __global__ void up_fwd_kernel(float *y, const float *x, int H, int W, int scale,
                                     size_t total) {
  const int Ho = H * scale, Wo = W * scale;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
       i += (size_t)gridDim.x * blockDim.x) {
    int ow = (int)(i % Wo);
    size_t t = i / Wo;
    int oh = (int)(t % Ho);
    y[i] = x[((t / Ho) * H + oh / scale) * W + ow / scale];
  }
}

static __global__ void up_bwd_kernel(float *dx, const float *dy, int H, int W, int scale,
                                     size_t total) {
  const size_t Wo = (size_t)W * scale;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
       i += (size_t)gridDim.x * blockDim.x) {
    int w = (int)(i % W);
    size_t t = i / W;
    int h = (int)(t % H);
    const float *g = dy + ((t / H) * H * scale + (size_t)h * scale) * Wo + (size_t)w * scale;
    float s = 0.0f;
    for (int a = 0; a < scale; a++)
      for (int b = 0; b < scale; b++) s += g[(size_t)a * Wo + b];
    dx[i] = s;
  }
}

extern "C" void upsample_nearest2d_forward_cuda(CudaCtx *c, float *y, const float *x, int N,
                                                int C, int H, int W, int scale) {
  GENET_ASSERT(N >= 0 && C >= 0 && H >= 0 && W >= 0 && scale >= 1);  // as the CPU op
  size_t total = (size_t)N * C * H * scale * W * scale;
  if (total == 0) return;
  up_fwd_kernel<<<ew_blocks(total, 65535), EW_THREADS, 0, c->stream>>>(y, x, H, W, scale, total);
  CUDA_CHECK_LAUNCH();
}

extern "C" void upsample_nearest2d_backward_cuda(CudaCtx *c, float *dx, const float *dy, int N,
                                                 int C, int H, int W, int scale) {
  GENET_ASSERT(N >= 0 && C >= 0 && H >= 0 && W >= 0 && scale >= 1);
  size_t total = (size_t)N * C * H * W;
  if (total == 0) return;
  up_bwd_kernel<<<ew_blocks(total, 65535), EW_THREADS, 0, c->stream>>>(dx, dy, H, W, scale,
                                                                       total);
  CUDA_CHECK_LAUNCH();
}
