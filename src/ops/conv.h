// conv.h: Conv2d as torch.nn.Conv2d with groups = 1 and dilation = 1: square kernel K, the
// same stride and zero padding on both axes, optional bias. oneDNN primitives on the CPU,
// created once per shape (src/ops/convplan.c). Input gradients are written (=); parameter
// gradients are accumulated (+=).
#pragma once
#include "core/ctx.h"
#include "ops/convplan.h"

// Output size along one axis: floor((H + 2 pad - K) / stride) + 1.
int conv2d_out_size(int H, int K, int stride, int pad);

// y: (N, Cout, Ho, Wo)   x: (N, Cin, H, W)   w: (Cout, Cin, K, K)   b: (Cout) or NULL
void conv2d_forward(Ctx *ctx, float *y, const float *x, const float *w, const float *b, int N,
                    int Cin, int H, int W, int Cout, int K, int stride, int pad);
// dx (N, Cin, H, W) is written, NULL: not needed. dw (Cout, Cin, K, K) and db (Cout) are
// accumulated; dw NULL skips the weight gradients (frozen weights), db must then be NULL too;
// db NULL skips the bias gradient.
void conv2d_backward(Ctx *ctx, float *dx, float *dw, float *db, const float *dy, const float *x,
                     const float *w, int N, int Cin, int H, int W, int Cout, int K, int stride,
                     int pad);

// The convplan shape (ops/convplan.h) of this op on x (N, Cin, H, W): output sides as the
// forward's, both layouts NCHW, no post-op; a CPU caller may set the layouts (xblk, yblk) or
// the ReLU and run convplan_forward / convplan_backward on it.
ConvShape conv2d_plan_shape(int N, int Cin, int H, int W, int Cout, int K, int stride, int pad);
