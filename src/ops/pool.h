// pool.h: MaxPool2d as torch.nn.MaxPool2d with padding 0, dilation 1 and floor mode: square
// window K, the same stride on both axes (VGG's 2x2/2, or odd sizes such as 3x3/2). oneDNN's
// pooling primitive on the CPU on the caller's NCHW buffers, created once per shape.
// Training saves oneDNN's workspace (where each maximum came from) for the backward pass;
// the caller allocates it with maxpool2d_workspace_size bytes. dx is written (=).
#pragma once
#include <stddef.h>

#include "core/ctx.h"

// floor((H - K) / stride) + 1
int maxpool2d_out_size(int H, int K, int stride);
// Bytes of the workspace forward writes and backward reads, for this shape.
size_t maxpool2d_workspace_size(Ctx *ctx, int N, int C, int H, int W, int K, int stride);

// y: (N, C, Ho, Wo)   ws: workspace_size bytes, or NULL for inference (no backward)
// x: (N, C, H, W)
void maxpool2d_forward(Ctx *ctx, float *y, void *ws, const float *x, int N, int C, int H, int W,
                       int K, int stride);
// dx: (N, C, H, W) written   dy: (N, C, Ho, Wo)   ws: as written by the training forward
void maxpool2d_backward(Ctx *ctx, float *dx, const float *dy, const void *ws, int N, int C, int H,
                        int W, int K, int stride);

// AvgPool2d as torch.nn.AvgPool2d(K, stride) with padding 0 and floor mode (each window's mean
// over its K*K inputs; VGG19 with `pooling = avg`, as Gatys et al. and neural-style's -pooling
// avg). Plain loops on the CPU, one plane per thread; no CUDA version yet (DISPATCH_CPU).
// y: (N, C, Ho, Wo) written   x: (N, C, H, W)
void avgpool2d_forward(Ctx *ctx, float *y, const float *x, int N, int C, int H, int W, int K,
                       int stride);
// dx: (N, C, H, W) written (windows that overlap, stride < K, add their shares)   dy: (N, C, Ho, Wo)
void avgpool2d_backward(Ctx *ctx, float *dx, const float *dy, int N, int C, int H, int W, int K,
                        int stride);
