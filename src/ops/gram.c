// gram.c: Gram matrices as one GEMM per image, and their gradient as two.
#include "ops/gram.h"

#include "ops/gemm.h"
#include "ops/loss.h"
#include "core/util.h"

void gram_forward(Ctx *ctx, float *G, const float *F, int b, int c, int hw) {
  const float k = 1.0f / (float)hw;
  for (int i = 0; i < b; i++)
    gemm(ctx, 0, 1, c, c, hw, k, F + (size_t)i * c * hw, hw, F + (size_t)i * c * hw, hw, 0.0f,
         G + (size_t)i * c * c, c);
}

void gram_backward(Ctx *ctx, float *dF, const float *dG, const float *F, int b, int c, int hw) {
  const float k = 1.0f / (float)hw;
  for (int i = 0; i < b; i++) {
    const float *g = dG + (size_t)i * c * c, *f = F + (size_t)i * c * hw;
    float *d = dF + (size_t)i * c * hw;
    gemm(ctx, 0, 0, c, hw, c, k, g, c, f, hw, 0.0f, d, hw);  // dG F
    gemm(ctx, 1, 0, c, hw, c, k, g, c, f, hw, 1.0f, d, hw);  // + dG^T F
  }
}

float style_loss_forward(Ctx *ctx, float *G, const float *F, const float *target, int b, int c, int hw) {
  gram_forward(ctx, G, F, b, c, hw);
  return mse_loss_forward(ctx, G, target, (size_t)b * c * c);
}

void style_loss_backward(Ctx *ctx, float *dF, float *dG, const float *G, const float *target,
                         const float *F, int b, int c, int hw, float dloss) {
  mse_loss_backward(ctx, dG, G, target, (size_t)b * c * c, dloss);
  gram_backward(ctx, dF, dG, F, b, c, hw);
}
