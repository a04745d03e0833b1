// dropout.c: the mask comes from a Philox reservation, so the loop runs in parallel and
// gives the same mask whatever the thread count; kernels/dropout.cu draws the same masks from
// the same inline functions (core/rng.h, base/elementwise.h).
#include "ops/dropout.h"

#include "core/dispatch.h"
#include "core/util.h"
#include "base/elementwise.h"

static void dropout_forward_cols_cpu(Ctx *ctx, float *y, float *mask, const float *x, int T, int B,
                                     int Bg, int b0, int D, float p, Rng *rng) {
  GENET_ASSERT(p >= 0.0f && p < 1.0f);
  GENET_ASSERT(T >= 0 && B >= 0 && D >= 0 && b0 >= 0 && b0 + B <= Bg);
  const float scale = dropout_scale(p);
  const uint32_t threshold = dropout_threshold(p);
  uint64_t first = rng_reserve(rng, (size_t)T * Bg * D);
  long long nn = (long long)T * B * D;
#pragma omp parallel for schedule(static) if (nn > 16384)
  for (long long i = 0; i < nn; i++) {
    uint64_t g = dropout_global_index((uint64_t)i, B, Bg, b0, D);
    float m = dropout_mask(rng_word_at(rng, first, g), threshold, scale);
    mask[i] = m;
    y[i] = x[i] * m;
  }
}

static void dropout_forward_any(Ctx *ctx, float *y, float *mask, const float *x, size_t n, float p,
                                Rng *rng) {
  GENET_ASSERT(n <= (size_t)1 << 31);  // one row of n columns of width 1: the whole tensor
  dropout_forward_cols(ctx, y, mask, x, 1, (int)n, (int)n, 0, 1, p, rng);
}

static void dropout_backward_cpu(Ctx *ctx, float *dx, const float *dy, const float *mask,
                                 size_t n) {
  long long nn = (long long)n;
#pragma omp parallel for schedule(static) if (nn > 32768)
  for (long long i = 0; i < nn; i++) dx[i] = dy[i] * mask[i];
}

// ---- entries (core/dispatch.h)

void dropout_forward_cols(Ctx *ctx, float *y, float *mask, const float *x, int T, int B, int Bg,
                          int b0, int D, float p, Rng *rng) {
  DISPATCH(ctx, dropout_forward_cols_cpu(ctx, y, mask, x, T, B, Bg, b0, D, p, rng),
           dropout_forward_cols_cuda(ctx->cuda, y, mask, x, T, B, Bg, b0, D, p, rng));
}

void dropout_forward(Ctx *ctx, float *y, float *mask, const float *x, size_t n, float p, Rng *rng) {
  DISPATCH_ANY(ctx, dropout_forward_any(ctx, y, mask, x, n, p, rng));
}

void dropout_backward(Ctx *ctx, float *dx, const float *dy, const float *mask, size_t n) {
  DISPATCH(ctx, dropout_backward_cpu(ctx, dx, dy, mask, n), dropout_backward_cuda(ctx->cuda, dx, dy, mask, n));
}
