// reflection_pad.cu: ReflectionPad2d (src/ops/reflection_pad.h) as two element loops. Forward:
// one thread per output value, a copy of its mirrored input. Backward gathers, as the CPU op:
// one thread per input value adds the outputs that copy it (up to 3 rows times 3 columns), rows
// then columns in increasing order, the CPU's terms in the CPU's order, so the two agree bit
// for bit and no atomics are needed.
#include "kernels/cuda_internal.cuh"
#include "kernels/cuda_ops.h"
#include "kernels/cuda_reduce.cuh"  // EW_THREADS, ew_blocks

// The input index that output index o copies (src/ops/reflection_pad.c's pad_src).
static __device__ int pad_src(int o, int n, int pad) {
  int i = o - pad;
  return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i;
}

// The output indices that copy input index i, increasing (src/ops/reflection_pad.c's pad_dst).
static __device__ int pad_dst(int i, int n, int pad, int o[3]) {
  int k = 0;
  if (i >= 1 && i <= pad) o[k++] = pad - i;
  o[k++] = pad + i;
  if (i <= n - 2 && i >= n - 1 - pad) o[k++] = 2 * (n - 1) + pad - i;
  return k;
}

static __global__ void pad_fwd_kernel(float *y, const float *x, int H, int W, int pad,
                                      size_t total) {
  const int Ho = H + 2 * pad, Wo = W + 2 * pad;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
       i += (size_t)gridDim.x * blockDim.x) {
    int ow = (int)(i % Wo);
    size_t t = i / Wo;
    int oh = (int)(t % Ho);
    size_t p = t / Ho;
    y[i] = x[(p * H + pad_src(oh, H, pad)) * W + pad_src(ow, W, pad)];
  }
}

static __global__ void pad_bwd_kernel(float *dx, const float *dy, int H, int W, int pad,
                                      size_t total) {
  const int Ho = H + 2 * pad, Wo = W + 2 * pad;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
       i += (size_t)gridDim.x * blockDim.x) {
    int w = (int)(i % W);
    size_t t = i / W;
    int h = (int)(t % H);
    const float *g = dy + (t / H) * Ho * Wo;
    int rows[3], cols[3];
    int nr = pad_dst(h, H, pad, rows), nc = pad_dst(w, W, pad, cols);
    float s = 0.0f;
    for (int a = 0; a < nr; a++)
      for (int b = 0; b < nc; b++) s += g[(size_t)rows[a] * Wo + cols[b]];
    dx[i] = s;
  }
}

static void pad_check(int N, int C, int H, int W, int pad) {
  GENET_ASSERT(N >= 0 && C >= 0 && pad >= 0 && pad < H && pad < W);  // as the CPU op
}

extern "C" void reflection_pad2d_forward_cuda(CudaCtx *c, float *y, const float *x, int N, int C,
                                              int H, int W, int pad) {
  pad_check(N, C, H, W, pad);
  size_t total = (size_t)N * C * (H + 2 * pad) * (W + 2 * pad);
  if (total == 0) return;
  pad_fwd_kernel<<<ew_blocks(total, 65535), EW_THREADS, 0, c->stream>>>(y, x, H, W, pad, total);
  CUDA_CHECK_LAUNCH();
}

extern "C" void reflection_pad2d_backward_cuda(CudaCtx *c, float *dx, const float *dy, int N,
                                               int C, int H, int W, int pad) {
  pad_check(N, C, H, W, pad);
  size_t total = (size_t)N * C * H * W;
  if (total == 0) return;
  pad_bwd_kernel<<<ew_blocks(total, 65535), EW_THREADS, 0, c->stream>>>(dx, dy, H, W, pad, total);
  CUDA_CHECK_LAUNCH();
}
