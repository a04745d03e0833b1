// linear.c: Linear as three GEMMs and a column sum.
#include "linear.h"

#include "gemm.h"
#include "util.h"

void linear_forward(Ctx *ctx, float *y, const float *x, const float *w, const float *b, int N,
                    int in, int out) {
  GENET_ASSERT(ctx->dev == DEV_CPU);  // the bias broadcast below is a CPU loop
  if (b) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++)
      for (int o = 0; o < out; o++) y[(size_t)n * out + o] = b[o];
  }
  gemm(ctx, 0, 1, N, out, in, 1.0f, x, in, w, in, b ? 1.0f : 0.0f, y, out);
}

void linear_backward(Ctx *ctx, float *dx, float *dw, float *db, const float *dy, const float *x,
                     const float *w, int N, int in, int out) {
  GENET_ASSERT(ctx->dev == DEV_CPU);
  if (dx) gemm(ctx, 0, 0, N, in, out, 1.0f, dy, out, w, in, 0.0f, dx, in);
  gemm(ctx, 1, 0, out, in, N, 1.0f, dy, out, x, in, 1.0f, dw, in);
  if (db) {
#pragma omp parallel for schedule(static)
    for (int o = 0; o < out; o++) {
      float s = 0.0f;
      for (int n = 0; n < N; n++) s += dy[(size_t)n * out + o];
      db[o] += s;
    }
  }
}
