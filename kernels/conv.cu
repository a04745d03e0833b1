// conv.cu: Conv2d (src/ops/conv.h) on cuDNN's convolution API, with the plans (descriptors,
// algorithm, workspace size) of cudnn_cache.cu. Scaling follows cuDNN's rule
// out = alpha * result + beta * out: beta 0 writes the output without reading it (y, dx),
// beta 1 accumulates into it (dw, db: genet's parameter gradients are +=).
#include "kernels/cuda_internal.cuh"
#include "kernels/cuda_ops.h"
#include "kernels/cudnn_cache.cuh"

static const float kOne = 1.0f;

extern "C" void conv2d_forward_cuda(CudaCtx *c, float *y, const float *x, const float *w,
                                    const float *b, int N, int Cin, int H, int W, int Cout, int K,
                                    int stride, int pad) {
  ConvPlan *p = conv_plan(c, CONV_FWD, N, Cin, H, W, Cout, K, stride, pad);
  conv_run(c, p, x, w, 0.0f, y);
  if (b) CUDNN_CHECK(cudnnAddTensor(c->cudnn, &kOne, p->by, b, &kOne, p->y, y));
}

extern "C" void conv2d_backward_cuda(CudaCtx *c, float *dx, float *dw, float *db, const float *dy,
                                     const float *x, const float *w, int N, int Cin, int H, int W,
                                     int Cout, int K, int stride, int pad) {
  GENET_ASSERT(dw || !db);  // as the CPU op: no bias gradient without the weight gradient
  if (dx) {
    ConvPlan *p = conv_plan(c, CONV_BWD_DATA, N, Cin, H, W, Cout, K, stride, pad);
    conv_run(c, p, w, dy, 0.0f, dx);
  }
  if (dw) {
    ConvPlan *p = conv_plan(c, CONV_BWD_FILTER, N, Cin, H, W, Cout, K, stride, pad);
    conv_run(c, p, x, dy, 1.0f, dw);
    if (db) CUDNN_CHECK(cudnnConvolutionBackwardBias(c->cudnn, &kOne, p->y, dy, &kOne, p->by, db));
  }
}
