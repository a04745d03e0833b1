// instancenorm.h: InstanceNorm2d as torch.nn.InstanceNorm2d(C, affine=True) on NCHW data, the
// normalization of fast neural style's transformer network (pytorch/examples
// fast_neural_style): each (sample, channel) plane is normalized by its own mean and biased
// variance over its H*W values, then scaled and shifted per channel. No running statistics
// (track_running_stats=False, PyTorch's default): training and evaluation compute the same.
// Input gradients are written (=); parameter gradients are accumulated (+=).
#pragma once
#include "core/ctx.h"

// y, x: (N, C, H, W); y may equal x (then backward needs a copy of x).
// save_mean, save_var (N, C): written for backward: each plane's mean and biased variance.
// weight, bias (C): may be NULL (taken as 1 and 0: affine=False).
// H*W > 1, as in PyTorch ("Expected more than 1 spatial element").
void instancenorm_forward(Ctx *ctx, float *y, float *save_mean, float *save_var, const float *x,
                          const float *weight, const float *bias, int N, int C, int H, int W,
                          float eps);

// dx (N, C, H, W) is written (may be NULL); dweight, dbias (C) are accumulated (may be NULL).
// x, save_mean, save_var, weight: as given to and written by the forward call.
void instancenorm_backward(Ctx *ctx, float *dx, float *dweight, float *dbias, const float *dy,
                           const float *x, const float *save_mean, const float *save_var,
                           const float *weight, int N, int C, int H, int W, float eps);
