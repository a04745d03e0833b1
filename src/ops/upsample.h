// upsample.h: nearest-neighbour upsampling by an integer factor, as
// torch.nn.functional.interpolate(x, scale_factor=scale, mode='nearest') on NCHW data (fast
// neural style's UpsampleConvLayer, scale 2): output (oh, ow) copies input (oh / scale,
// ow / scale), so each input value fills a scale x scale block. Backward sums each block's
// gradients into its input value; dx is written (=).
#pragma once
#include "core/ctx.h"

// y: (N, C, H scale, W scale)   x: (N, C, H, W)   scale >= 1
void upsample_nearest2d_forward(Ctx *ctx, float *y, const float *x, int N, int C, int H, int W,
                                int scale);
// dx: (N, C, H, W) written   dy: (N, C, H scale, W scale)
void upsample_nearest2d_backward(Ctx *ctx, float *dx, const float *dy, int N, int C, int H, int W,
                                 int scale);
