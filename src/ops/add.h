// add.h: y += x / d in place (VGG's backward joining a tap's gradient to the one flowing down,
// the style task's per-tap gradients and its mean of the style images' Grams).
#pragma once
#include <stddef.h>

#include "core/ctx.h"

// y (n) += x (n) / d. d = 1 adds x exactly (x / 1 is x in IEEE arithmetic).
void add_inplace(Ctx *ctx, float *y, const float *x, size_t n, float d);
