// loss.h: the small losses, each the mean over all n elements as in PyTorch (reduction
// 'mean'). Forward returns the scalar loss (summed in double); backward WRITES d(input),
// scaled by the upstream gradient dloss (1 when the loss is the final output).
#pragma once
#include <stddef.h>

#include "core/ctx.h"

// nn.MSELoss: mean((x - t)^2).   x, t: (n)
float mse_loss_forward(Ctx *ctx, const float *x, const float *t, size_t n);
// dx (n) = dloss * 2 (x - t) / n
void mse_loss_backward(Ctx *ctx, float *dx, const float *x, const float *t, size_t n, float dloss);

// nn.BCELoss on probabilities p in [0, 1] and targets t in [0, 1]:
//   -mean(t log p + (1 - t) log(1 - p)), each log clamped below at -100 (so p = 0 or 1 is finite).
float bce_loss_forward(Ctx *ctx, const float *p, const float *t, size_t n);
// dp (n) = dloss * (p - t) / max(p (1 - p), 1e-12) / n, PyTorch's guard at the ends.
void bce_loss_backward(Ctx *ctx, float *dp, const float *p, const float *t, size_t n, float dloss);
