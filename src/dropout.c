// dropout.c: the mask comes from a Philox reservation, so the loop runs in parallel and
// gives the same mask whatever the thread count.
#include "dropout.h"

#include "util.h"

void dropout_forward(Ctx *ctx, float *y, float *mask, const float *x, size_t n, float p, Rng *rng) {
  GENET_ASSERT(ctx->dev == DEV_CPU);
  GENET_ASSERT(p >= 0.0f && p < 1.0f);
  const float scale = 1.0f / (1.0f - p);
  // keep when the 24-bit uniform u satisfies u >= p, i.e. with probability 1 - p
  const uint32_t threshold = (uint32_t)((double)p * 16777216.0);
  uint64_t first = rng_reserve(rng, n);
  long long nn = (long long)n;
#pragma omp parallel for schedule(static) if (nn > 16384)
  for (long long i = 0; i < nn; i++) {
    float m = (rng_word_at(rng, first, (size_t)i) >> 8) >= threshold ? scale : 0.0f;
    mask[i] = m;
    y[i] = x[i] * m;
  }
}

void dropout_backward(Ctx *ctx, float *dx, const float *dy, const float *mask, size_t n) {
  GENET_ASSERT(ctx->dev == DEV_CPU);
  long long nn = (long long)n;
#pragma omp parallel for schedule(static) if (nn > 32768)
  for (long long i = 0; i < nn; i++) dx[i] = dy[i] * mask[i];
}
