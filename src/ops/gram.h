// gram.h: the Gram matrix of feature maps and the style loss of Gatys et al.
//   G[b] = F[b] F[b]^T / (h w)   with F[b] the (c, h*w) view of one image's features,
//   style loss = mean over (b, c, c) of (G - target)^2   (MSE of Grams; weights by the caller).
// Backward functions WRITE dF.
#pragma once
#include "core/ctx.h"

// G: (b, c, c)   F: (b, c, hw)
void gram_forward(Ctx *ctx, float *G, const float *F, int b, int c, int hw);
// dF (b, c, hw) = (dG + dG^T) F / hw     dG: (b, c, c)
void gram_backward(Ctx *ctx, float *dF, const float *dG, const float *F, int b, int c, int hw);

// Returns MSE(Gram(F), target); G (b, c, c) is written and saved for backward.
// target: (b, c, c)
float style_loss_forward(Ctx *ctx, float *G, const float *F, const float *target, int b, int c, int hw);
// dF (b, c, hw) = dloss * d loss / dF.  dG (b, c, c) is scratch (written).
void style_loss_backward(Ctx *ctx, float *dF, float *dG, const float *G, const float *target,
                         const float *F, int b, int c, int hw, float dloss);
