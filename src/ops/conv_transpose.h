// conv_transpose.h: ConvTranspose2d as torch.nn.ConvTranspose2d with groups = 1,
// dilation = 1 and output_padding = 0: square kernel K, the same stride and padding on both
// axes, optional bias. oneDNN deconvolution primitives on the CPU, created once per shape
// (src/ops/convplan.c). Input gradients are written (=); parameter gradients are accumulated (+=).
#pragma once
#include "core/ctx.h"
#include "ops/convplan.h"

// Output size along one axis: (H - 1) stride - 2 pad + K.
int conv_transpose2d_out_size(int H, int K, int stride, int pad);

// y: (N, Cout, Ho, Wo)   x: (N, Cin, H, W)   w: (Cin, Cout, K, K) as PyTorch   b: (Cout) or NULL
void conv_transpose2d_forward(Ctx *ctx, float *y, const float *x, const float *w, const float *b,
                              int N, int Cin, int H, int W, int Cout, int K, int stride, int pad);
// dx (N, Cin, H, W) is written, NULL: not needed. dw (Cin, Cout, K, K) and db (Cout) are
// accumulated; dw NULL skips the weight gradients, db must then be NULL too; db NULL
// skips the bias gradient.
void conv_transpose2d_backward(Ctx *ctx, float *dx, float *dw, float *db, const float *dy,
                               const float *x, const float *w, int N, int Cin, int H, int W,
                               int Cout, int K, int stride, int pad);

// The convplan shape (ops/convplan.h) of this op on x (N, Cin, H, W): output sides as the
// forward's, both layouts NCHW, no post-op; a CPU caller may set the layouts (xblk, yblk) or
// the ReLU and run convplan_forward / convplan_backward on it.
ConvShape conv_transpose2d_plan_shape(int N, int Cin, int H, int W, int Cout, int K, int stride, int pad);
