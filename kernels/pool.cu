// pool.cu: MaxPool2d (src/ops/pool.h) as two small kernels rather than cuDNN's pooling:
// cudnnPoolingBackward needs the forward's input and output, which maxpool2d_backward is not
// given (it has dy and the workspace only), and cuDNN does not document which input wins a
// tie, which after a ReLU (zeros everywhere) decides where every gradient goes. Here the
// workspace is what the CPU's oneDNN workspace is: the argmax of each output, one int32 per
// output element (its row-major offset in the input plane), and a tie goes to the first
// maximum in row-major window order, as oneDNN (and PyTorch) do. Backward gathers rather than
// scatters: each input sums the gradients of the windows whose maximum it is, in a fixed order,
// so overlapping windows (3x3/2) need no atomics and the result is the same on every run.
#include <cstdint>

#include "kernels/cuda_internal.cuh"
#include "kernels/cuda_ops.h"

static unsigned pool_blocks(size_t n) {
  size_t b = (n + 255) / 256;
  return (unsigned)(b > 65535 ? 65535 : (b ? b : 1));
}

// One thread per output element (plane, oh, ow) of N*C planes.
static __global__ void maxpool_fwd_kernel(float *y, int32_t *arg, const float *x, int H, int W,
                                          int Ho, int Wo, int K, int stride, size_t total) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
       i += (size_t)gridDim.x * blockDim.x) {
    int ow = (int)(i % Wo);
    size_t t = i / Wo;
    int oh = (int)(t % Ho);
    const float *p = x + (t / Ho) * (size_t)H * W;
    int at0 = oh * stride * W + ow * stride, best_at = at0;
    float best = p[at0];
    for (int kh = 0; kh < K; kh++)
      for (int kw = 0; kw < K; kw++) {
        int at = at0 + kh * W + kw;
        if (p[at] > best) {  // strictly greater: the first maximum wins a tie
          best = p[at];
          best_at = at;
        }
      }
    y[i] = best;
    if (arg) arg[i] = best_at;
  }
}

// One thread per input element (plane, h, w): the sum of dy over the windows that contain it
// and chose it, in increasing (oh, ow); 0 when none did.
static __global__ void maxpool_bwd_kernel(float *dx, const float *dy, const int32_t *arg, int H,
                                          int W, int Ho, int Wo, int K, int stride,
                                          size_t total) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
       i += (size_t)gridDim.x * blockDim.x) {
    int w = (int)(i % W);
    size_t t = i / W;
    int h = (int)(t % H);
    size_t out0 = (t / H) * (size_t)Ho * Wo;
    // Window oh covers rows [oh stride, oh stride + K): those holding h.
    int oh_lo = h < K ? 0 : (h - K) / stride + 1, oh_hi = min(h / stride, Ho - 1);
    int ow_lo = w < K ? 0 : (w - K) / stride + 1, ow_hi = min(w / stride, Wo - 1);
    int at = h * W + w;
    float s = 0.0f;
    for (int oh = oh_lo; oh <= oh_hi; oh++)
      for (int ow = ow_lo; ow <= ow_hi; ow++) {
        size_t o = out0 + (size_t)oh * Wo + ow;
        if (arg[o] == at) s += dy[o];
      }
    dx[i] = s;
  }
}

static void pool_dims(int H, int W, int K, int stride, int *Ho, int *Wo) {
  GENET_ASSERT(K > 0 && stride > 0 && H >= K && W >= K);
  *Ho = (H - K) / stride + 1;
  *Wo = (W - K) / stride + 1;
}

extern "C" size_t maxpool2d_workspace_size_cuda(CudaCtx *c, int N, int C, int H, int W, int K,
                                                int stride) {
  (void)c;
  int Ho, Wo;
  pool_dims(H, W, K, stride, &Ho, &Wo);
  return (size_t)N * C * Ho * Wo * sizeof(int32_t);
}

extern "C" void maxpool2d_forward_cuda(CudaCtx *c, float *y, void *ws, const float *x, int N,
                                       int C, int H, int W, int K, int stride) {
  int Ho, Wo;
  pool_dims(H, W, K, stride, &Ho, &Wo);
  size_t total = (size_t)N * C * Ho * Wo;
  maxpool_fwd_kernel<<<pool_blocks(total), 256, 0, c->stream>>>(y, (int32_t *)ws, x, H, W, Ho,
                                                                  Wo, K, stride, total);
  CUDA_CHECK_LAUNCH();
}

extern "C" void maxpool2d_backward_cuda(CudaCtx *c, float *dx, const float *dy, const void *ws,
                                        int N, int C, int H, int W, int K, int stride) {
  GENET_ASSERT(ws != NULL);
  int Ho, Wo;
  pool_dims(H, W, K, stride, &Ho, &Wo);
  size_t total = (size_t)N * C * H * W;
  maxpool_bwd_kernel<<<pool_blocks(total), 256, 0, c->stream>>>(
      dx, dy, (const int32_t *)ws, H, W, Ho, Wo, K, stride, total);
  CUDA_CHECK_LAUNCH();
}
