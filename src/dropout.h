// dropout.h: inverted dropout as torch.nn.Dropout: in training each element is kept with
// probability 1 - p and scaled by 1 / (1 - p); in evaluation (or p == 0) y = x.
#pragma once
#include <stddef.h>

#include "ctx.h"
#include "rng.h"

// mask (n): saved for backward, each 0 or 1 / (1 - p). y may equal x. Draws from rng.
void dropout_forward(Ctx *ctx, float *y, float *mask, const float *x, size_t n, float p, Rng *rng);
// dx (n) is written; dx may equal dy.
void dropout_backward(Ctx *ctx, float *dx, const float *dy, const float *mask, size_t n);
