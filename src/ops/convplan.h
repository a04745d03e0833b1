// convplan.h: the oneDNN machinery Conv2d and ConvTranspose2d share. A plan is one shape's
// forward, backward-data and backward-weights primitives plus the scratch buffers that hold
// activations and weights in the layouts those primitives chose; it lives in ctx->prims.
// conv.c and conv_transpose.c only fill a ConvShape; the caller's buffers stay plain NCHW.
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
} ConvShape;

// y (N, Cout, Ho, Wo) = op(x (N, Cin, H, W); w; b (Cout) or NULL). w is PyTorch's layout:
// (Cout, Cin, K, K) for CONVPLAN_CONV, (Cin, Cout, K, K) for CONVPLAN_DECONV.
void convplan_forward(Ctx *ctx, const ConvShape *s, float *y, const float *x, const float *w,
                      const float *b);
// dx written (NULL: skipped); dw and db accumulated (+=), NULL: skipped (db needs dw).
// b / db non-NULL selects the primitive with a bias; both variants share one plan.
void convplan_backward(Ctx *ctx, const ConvShape *s, float *dx, float *dw, float *db,
                       const float *dy, const float *x, const float *w);
