// batchnorm_blk.h: BatchNorm2d fused with a leaky ReLU on oneDNN's blocked layout (CPU only).
#pragma once
#include "core/ctx.h"

// The CPU's BatchNorm (ops/batchnorm.h) on oneDNN's blocked layout nChw{blk}c (blk 8 or 16, C % blk == 0;
// ConvShape.xblk in ops/convplan.h), fused with a leaky ReLU of negative slope `slope` (0: ReLU,
// 1: none): y = leaky_relu(batchnorm(x), slope), the same values as batchnorm_forward and
// act_forward in turn. In backward dy is the gradient at y (the activation's output) and y the
// forward's output (NULL when slope is 1): dx = batchnorm_backward of the gradient at the
// BatchNorm's output, leaky_relu_bwd(y, dy, slope). Other arguments as batchnorm_forward / batchnorm_backward; x must not
// alias y, nor dx dy.
void batchnorm_forward_blk(Ctx *ctx, float *y, float *save_mean, float *save_var,
                           float *running_mean, float *running_var, const float *x,
                           const float *weight, const float *bias, int N, int C, int H, int W,
                           int blk, int training, float momentum, float eps, float slope);
void batchnorm_backward_blk(Ctx *ctx, float *dx, float *dweight, float *dbias, const float *dy,
                            const float *y, const float *x, const float *save_mean,
                            const float *save_var, const float *weight, int N, int C, int H,
                            int W, int blk, int training, float eps, float slope);
