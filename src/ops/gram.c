// gram.c: Gram matrices as one GEMM per image, and their gradient as two.
#include "ops/gram.h"

#include "ops/gemm.h"
#include "ops/loss.h"
#include "core/dispatch.h"
#include "core/util.h"

static void gram_forward_any(Ctx *ctx, float *G, const float *F, int b, int c, int hw) {
  const float k = 1.0f / (float)hw;
  for (int i = 0; i < b; i++)
    gemm(ctx, 0, 1, c, c, hw, k, F + (size_t)i * c * hw, hw, F + (size_t)i * c * hw, hw, 0.0f,
         G + (size_t)i * c * c, c);
}

static void gram_backward_any(Ctx *ctx, float *dF, const float *dG, const float *F, int b, int c,
                              int hw) {
  const float k = 1.0f / (float)hw;
  for (int i = 0; i < b; i++) {
    const float *g = dG + (size_t)i * c * c, *f = F + (size_t)i * c * hw;
    float *d = dF + (size_t)i * c * hw;
    gemm(ctx, 0, 0, c, hw, c, k, g, c, f, hw, 0.0f, d, hw);  // dG F
    gemm(ctx, 1, 0, c, hw, c, k, g, c, f, hw, 1.0f, d, hw);  // + dG^T F
  }
}

static float style_loss_forward_any(Ctx *ctx, float *G, const float *F, const float *target, int b,
                                    int c, int hw) {
  gram_forward(ctx, G, F, b, c, hw);
  return mse_loss_forward(ctx, G, target, (size_t)b * c * c);
}

static void style_loss_backward_any(Ctx *ctx, float *dF, float *dG, const float *G,
                                    const float *target, const float *F, int b, int c, int hw,
                                    float dloss) {
  mse_loss_backward(ctx, dG, G, target, (size_t)b * c * c, dloss);
  gram_backward(ctx, dF, dG, F, b, c, hw);
}

// ---- entries (core/dispatch.h): GEMMs and the MSE loss only, so any device they run on.

void gram_forward(Ctx *ctx, float *G, const float *F, int b, int c, int hw) {
  DISPATCH_ANY(ctx, gram_forward_any(ctx, G, F, b, c, hw));
}

void gram_backward(Ctx *ctx, float *dF, const float *dG, const float *F, int b, int c, int hw) {
  DISPATCH_ANY(ctx, gram_backward_any(ctx, dF, dG, F, b, c, hw));
}

float style_loss_forward(Ctx *ctx, float *G, const float *F, const float *target, int b, int c,
                         int hw) {
  return DISPATCH_ANY(ctx, style_loss_forward_any(ctx, G, F, target, b, c, hw));
}

void style_loss_backward(Ctx *ctx, float *dF, float *dG, const float *G, const float *target,
                         const float *F, int b, int c, int hw, float dloss) {
  DISPATCH_ANY(ctx, style_loss_backward_any(ctx, dF, dG, G, target, F, b, c, hw, dloss));
}
