// add.c: y += x / d, a loop on the CPU, a kernel on CUDA (kernels/add.cu).
#include "ops/add.h"

#include "core/dispatch.h"

static void add_inplace_cpu(Ctx *ctx, float *y, const float *x, size_t n, float d) {
  long long nn = (long long)n;
  if (d == 1.0f) {  // the plain sum, as vgg_model.c's and style_task.c's loops had it
#pragma omp parallel for schedule(static) if (nn > 65536)
    for (long long i = 0; i < nn; i++) y[i] += x[i];
  } else {
#pragma omp parallel for schedule(static) if (nn > 65536)
    for (long long i = 0; i < nn; i++) y[i] += x[i] / d;
  }
}

// ---- entries

void add_inplace(Ctx *ctx, float *y, const float *x, size_t n, float d) {
  DISPATCH(ctx, add_inplace_cpu(ctx, y, x, n, d), add_inplace_cuda(ctx->cuda, y, x, n, d));
}
