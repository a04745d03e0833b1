// dropout.h: inverted dropout as torch.nn.Dropout: in training each element is kept with
// probability 1 - p and scaled by 1 / (1 - p); in evaluation (or p == 0) y = x.
#pragma once
#include <stddef.h>

#include "core/ctx.h"
#include "core/rng.h"

// mask (n): saved for backward, each 0 or 1 / (1 - p). y may equal x. Draws from rng.
void dropout_forward(Ctx *ctx, float *y, float *mask, const float *x, size_t n, float p, Rng *rng);
// The masks of a (T, Bg, D) tensor held in part: this call has columns [b0, b0 + B) of each of
// the T rows of Bg columns, as a data-parallel rank holds its batch columns; x, y and mask are
// (T, B, D). Every element gets the mask dropout_forward gives it over the whole tensor (the
// reservation covers T * Bg * D words), so ranks together draw exactly the single-process masks.
void dropout_forward_cols(Ctx *ctx, float *y, float *mask, const float *x, int T, int B, int Bg,
                          int b0, int D, float p, Rng *rng);
// dx (n) is written; dx may equal dy.
void dropout_backward(Ctx *ctx, float *dx, const float *dy, const float *mask, size_t n);
