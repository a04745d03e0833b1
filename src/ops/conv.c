// conv.c: Conv2d; the oneDNN work is in convplan.c.
#include "ops/conv.h"

#include "ops/convplan.h"
#include "core/dispatch.h"
#include "core/util.h"

int conv2d_out_size(int H, int K, int stride, int pad) {
  GENET_ASSERT(K > 0 && stride > 0 && pad >= 0 && H + 2 * pad >= K);
  return (H + 2 * pad - K) / stride + 1;
}

ConvShape conv2d_plan_shape(int N, int Cin, int H, int W, int Cout, int K, int stride, int pad) {
  ConvShape s = {CONVPLAN_CONV, N, Cin, H, W, Cout, conv2d_out_size(H, K, stride, pad), conv2d_out_size(W, K, stride, pad),
                 K, stride, pad, 0, 0, 0, 0.0f};
  return s;
}

static void conv2d_forward_cpu(Ctx *ctx, float *y, const float *x, const float *w, const float *b,
                               int N, int Cin, int H, int W, int Cout, int K, int stride, int pad) {
  ConvShape s = conv2d_plan_shape(N, Cin, H, W, Cout, K, stride, pad);
  convplan_forward(ctx, &s, y, x, w, b);
}

static void conv2d_backward_cpu(Ctx *ctx, float *dx, float *dw, float *db, const float *dy,
                                const float *x, const float *w, int N, int Cin, int H, int W,
                                int Cout, int K, int stride, int pad) {
  ConvShape s = conv2d_plan_shape(N, Cin, H, W, Cout, K, stride, pad);
  convplan_backward(ctx, &s, dx, dw, db, dy, x, w);
}

// ---- entries (core/dispatch.h)

void conv2d_forward(Ctx *ctx, float *y, const float *x, const float *w, const float *b, int N,
                    int Cin, int H, int W, int Cout, int K, int stride, int pad) {
  DISPATCH(ctx, conv2d_forward_cpu(ctx, y, x, w, b, N, Cin, H, W, Cout, K, stride, pad),
           conv2d_forward_cuda(ctx->cuda, y, x, w, b, N, Cin, H, W, Cout, K, stride, pad));
}

void conv2d_backward(Ctx *ctx, float *dx, float *dw, float *db, const float *dy, const float *x,
                     const float *w, int N, int Cin, int H, int W, int Cout, int K, int stride,
                     int pad) {
  DISPATCH(ctx, conv2d_backward_cpu(ctx, dx, dw, db, dy, x, w, N, Cin, H, W, Cout, K, stride, pad),
           conv2d_backward_cuda(ctx->cuda, dx, dw, db, dy, x, w, N, Cin, H, W, Cout, K, stride,
                                pad));
}
