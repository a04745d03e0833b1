// batchnorm.h: BatchNorm2d as torch.nn.BatchNorm2d on NCHW data (affine weight and bias).
// Training normalizes with the batch mean and the biased batch variance and moves the running
// statistics by `momentum` towards the batch mean and the *unbiased* batch variance
// (n/(n-1), n = N*H*W), as PyTorch does; evaluation normalizes with the running statistics.
// Input gradients are written (=); parameter gradients are accumulated (+=).
#pragma once
#include "core/ctx.h"

// y, x: (N, C, H, W); y may equal x.
// save_mean, save_var (C): written for backward: the mean and biased variance that normalized
//   x (the batch statistics in training, a copy of the running ones in evaluation).
// running_mean, running_var (C): updated in training (may be NULL: not tracked), read in eval.
// weight, bias (C): may be NULL (taken as 1 and 0).
// Training needs N*H*W > 1, as in PyTorch.
void batchnorm_forward(Ctx *ctx, float *y, float *save_mean, float *save_var, float *running_mean,
                       float *running_var, const float *x, const float *weight, const float *bias,
                       int N, int C, int H, int W, int training, float momentum, float eps);

// dx (N, C, H, W) is written (may be NULL); dweight, dbias (C) are accumulated (may be NULL).
// `training` must match the forward call: in training the batch statistics depend on x and
// dx carries their gradient; in evaluation dx = dy * weight / sqrt(var + eps).
void batchnorm_backward(Ctx *ctx, float *dx, float *dweight, float *dbias, const float *dy,
                        const float *x, const float *save_mean, const float *save_var,
                        const float *weight, int N, int C, int H, int W, int training, float eps);

// ---- Synchronized BatchNorm (sync_bn, as torch.nn.SyncBatchNorm): in training the statistics
// are those of the global batch, every rank holding a slice (N may differ between ranks, even
// be 0). Forward all-reduces per-channel sums (and the count) in double, then the squared
// deviations about the global mean (the same two passes as above); backward all-reduces the
// sums of dy and dy * (x - mean), so dx is this slice of the global batch's dx. dweight and
// dbias get this rank's share only (+=): the gradient averaging of data-parallel training
// combines them, so their sum over ranks is the whole batch's. Every rank must call these
// together (they are collectives); the sum over ranks is the context's (ctx->reduce, bound by
// the trainer): the count on the host, the per-channel sums where they are computed, on the
// context's device (ctx_sum_double_device: on a GPU with NCCL the host does not wait). They
// live in the context's statistics buffer (ctx_stats), so no call allocates once it is grown.
// Evaluation, or a world of one, is batchnorm_forward / batchnorm_backward exactly. Arguments
// as above.
void batchnorm_forward_sync(Ctx *ctx, float *y, float *save_mean, float *save_var,
                            float *running_mean, float *running_var, const float *x,
                            const float *weight, const float *bias, int N, int C, int H, int W,
                            int training, float momentum, float eps);
void batchnorm_backward_sync(Ctx *ctx, float *dx, float *dweight, float *dbias,
                             const float *dy, const float *x, const float *save_mean,
                             const float *save_var, const float *weight, int N, int C, int H,
                             int W, int training, float eps);

