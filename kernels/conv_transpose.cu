// conv_transpose.cu: ConvTranspose2d (src/ops/conv_transpose.h) as the convolution it is the
// adjoint of. Take the Conv2d that maps the transposed convolution's output shape back to its
// input shape:  X (N, Cout, Ho, Wo)  *  w (Cin, Cout, K, K)  ->  Y (N, Cin, H, W),
// with the same K, stride and padding (Ho = (H - 1) stride - 2 pad + K, so that Conv2d gives H
// back exactly). Its filter is PyTorch's ConvTranspose2d weight as it lies in memory: Cin as
// the Conv2d's output channels, Cout as its input channels. Then
//   forward      y  = that Conv2d's backward data, fed x as its output gradient;
//   backward dx  = that Conv2d's forward, applied to dy;
//   backward dw += that Conv2d's backward filter with dy as its input and x as its output
//                  gradient (x and dy swap roles);
//   bias         over y's channels, which are the Conv2d's input channels (the plan's bx).
#include "kernels/cuda_internal.cuh"
#include "kernels/cuda_ops.h"
#include "kernels/cudnn_cache.cuh"

static const float kOne = 1.0f;

// The plan of the Conv2d above, for one direction.
static ConvPlan *adjoint_plan(CudaCtx *c, ConvDir dir, int N, int Cin, int H, int W,
                                    int Cout, int K, int stride, int pad) {
  int Ho = (H - 1) * stride - 2 * pad + K, Wo = (W - 1) * stride - 2 * pad + K;
  return conv_plan(c, dir, N, Cout, Ho, Wo, Cin, K, stride, pad);
}

extern "C" void conv_transpose2d_forward_cuda(CudaCtx *c, float *y, const float *x,
                                              const float *w, const float *b, int N, int Cin,
                                              int H, int W, int Cout, int K, int stride,
                                              int pad) {
  ConvPlan *p = adjoint_plan(c, CONV_BWD_DATA, N, Cin, H, W, Cout, K, stride, pad);
  // p->y describes x (N, Cin, H, W), p->x describes y (N, Cout, Ho, Wo).
  conv_run(c, p, w, x, 0.0f, y);
  if (b) CUDNN_CHECK(cudnnAddTensor(c->cudnn, &kOne, p->bx, b, &kOne, p->x, y));
}

extern "C" void conv_transpose2d_backward_cuda(CudaCtx *c, float *dx, float *dw, float *db,
                                               const float *dy, const float *x, const float *w,
                                               int N, int Cin, int H, int W, int Cout, int K,
                                               int stride, int pad) {
  GENET_ASSERT(dw || !db);  // as the CPU op: no bias gradient without the weight gradient
  if (dx) {
    ConvPlan *p = adjoint_plan(c, CONV_FWD, N, Cin, H, W, Cout, K, stride, pad);
    conv_run(c, p, dy, w, 0.0f, dx);
  }
  if (dw) {
    ConvPlan *p = adjoint_plan(c, CONV_BWD_FILTER, N, Cin, H, W, Cout, K, stride, pad);
    conv_run(c, p, dy, x, 1.0f, dw);
    if (db) CUDNN_CHECK(cudnnConvolutionBackwardBias(c->cudnn, &kOne, p->x, dy, &kOne, p->bx, db));
  }
}
