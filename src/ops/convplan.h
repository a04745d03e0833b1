// convplan.h: the oneDNN machinery Conv2d and ConvTranspose2d share. A plan is one shape's
// forward, backward-data and backward-weights primitives plus the scratch buffers that hold
// activations and weights in the layouts those primitives chose; it lives in ctx->prims.
// conv.c and conv_transpose.c only fill a ConvShape (conv2d_plan_shape,
// conv_transpose2d_plan_shape); the caller's buffers are plain NCHW unless
// the shape says its activations are in oneDNN's blocked layout (xblk, yblk below).
// CPU only: it is what conv2d_* and conv_transpose2d_* run on the CPU (their CUDA versions
// are cuDNN's, in kernels/conv.cu and kernels/conv_transpose.cu).
#pragma once
#include "core/ctx.h"

typedef enum { CONVPLAN_CONV = 1, CONVPLAN_DECONV = 2 } ConvPlanKind;

typedef struct {
  ConvPlanKind kind;
  int N, Cin, H, W;     // input (N, Cin, H, W)
  int Cout, Ho, Wo;     // output (N, Cout, Ho, Wo)
  int K, stride, pad;   // square kernel, same stride and padding on both axes
  // The caller's layout of x / dx (xblk) and y / dy (yblk): 0 plain NCHW, b (8 or 16) oneDNN's
  // nChw{b}c, channels in blocks of b innermost (C % b == 0): element (n, c, h, w) at
  // (((n * C/b + c/b) * H + h) * W + w) * b + c % b. A network that keeps its activations in
  // the layout the primitives pick (convplan_block) saves two reorders per call and layer.
  int xblk, yblk;
  // Forward only: relu != 0 applies y = leaky_relu(y, slope) (slope 0: ReLU) inside the
  // convolution (a oneDNN post-op: the same values as act_forward after it, one pass fewer).
  int relu;
  float slope;
} ConvShape;

// The channel block of the activation layout oneDNN's convolutions pick on this CPU (16 on
// AVX-512, 8 on AVX2), 0 where they take plain NCHW; asked once per context.
int convplan_block(Ctx *ctx);

// y (N, Cout, Ho, Wo) = op(x (N, Cin, H, W); w; b (Cout) or NULL). w is PyTorch's layout:
// (Cout, Cin, K, K) for CONVPLAN_CONV, (Cin, Cout, K, K) for CONVPLAN_DECONV.
void convplan_forward(Ctx *ctx, const ConvShape *s, float *y, const float *x, const float *w,
                      const float *b);
// dx written (NULL: skipped); dw and db accumulated (+=), NULL: skipped (db needs dw).
// b / db non-NULL selects the primitive with a bias; both variants share one plan.
void convplan_backward(Ctx *ctx, const ConvShape *s, float *dx, float *dw, float *db,
                       const float *dy, const float *x, const float *w);
