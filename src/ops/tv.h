// tv.h: total variation of an image batch, the squared form neural-style's TVLoss
// differentiates: the sum over every channel of the squared differences between vertical and
// horizontal neighbours,
//     tv(x) = sum_{n,c,i,j} (x[i+1,j] - x[i,j])^2 + (x[i,j+1] - x[i,j])^2
// (each term where both pixels exist). The style task weighs it tv_weight / 2, so that its
// gradient is neural-style's tv_weight * (differences). Plain loops on the CPU, one plane per
// thread, sums in double; no CUDA version yet (DISPATCH_CPU).
#pragma once
#include <stddef.h>

#include "core/ctx.h"

// x: (N, C, H, W); returns tv(x)
double tv_loss_forward(Ctx *ctx, const float *x, int N, int C, int H, int W);
// dx: (N, C, H, W), ADDED to (+=): dloss * d tv / dx   x: (N, C, H, W)
void tv_loss_backward(Ctx *ctx, float *dx, const float *x, int N, int C, int H, int W,
                      float dloss);
