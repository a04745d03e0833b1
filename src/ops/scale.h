// scale.h: x *= s in place (the mean over accumulated micro-batches, loss scaling).
#pragma once
#include <stddef.h>

#include "core/ctx.h"

void scale_inplace(Ctx *ctx, float *x, size_t n, float s);
