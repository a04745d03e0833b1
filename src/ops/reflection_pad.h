// reflection_pad.h: ReflectionPad2d as torch.nn.ReflectionPad2d(pad) on NCHW data, the padding
// of fast neural style's convolutions (pytorch/examples fast_neural_style's ConvLayer pads by
// kernel_size // 2): `pad` rows and columns on every side, each a mirror image of the input
// about its edge row or column, the edge itself not repeated (x[.., 1], x[.., 0], x[.., 1], ...).
// Backward adds into each input value the gradients of every output that copies it (up to three
// rows times three columns when pad is close to the size); dx is written (=).
#pragma once
#include "core/ctx.h"

// y: (N, C, H + 2 pad, W + 2 pad)   x: (N, C, H, W)   0 <= pad < H and pad < W, as PyTorch
void reflection_pad2d_forward(Ctx *ctx, float *y, const float *x, int N, int C, int H, int W,
                              int pad);
// dx: (N, C, H, W) written   dy: (N, C, H + 2 pad, W + 2 pad)
void reflection_pad2d_backward(Ctx *ctx, float *dx, const float *dy, int N, int C, int H, int W,
                               int pad);
