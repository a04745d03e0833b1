// linear.h: y = x W^T + b, as torch.nn.Linear.
#pragma once
#include "core/ctx.h"

// y: (N, out)   x: (N, in)   w: (out, in)   b: (out) or NULL
void linear_forward(Ctx *ctx, float *y, const float *x, const float *w, const float *b, int N,
                    int in, int out);
// dx (N, in) is written (may be NULL: not needed); dw and db are accumulated (+=), db may be NULL.
void linear_backward(Ctx *ctx, float *dx, float *dw, float *db, const float *dy, const float *x,
                     const float *w, int N, int in, int out);
