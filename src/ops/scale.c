// scale.c: x *= s, a loop on the CPU, a kernel on CUDA (kernels/scale.cu).
#include "ops/scale.h"

#include "core/dispatch.h"

static void scale_inplace_cpu(Ctx *ctx, float *x, size_t n, float s) {
  long long nn = (long long)n;
#pragma omp parallel for schedule(static) if (nn > 65536)
  for (long long i = 0; i < nn; i++) x[i] *= s;
}

// ---- entries

void scale_inplace(Ctx *ctx, float *x, size_t n, float s) {
  DISPATCH(ctx, scale_inplace_cpu(ctx, x, n, s), scale_inplace_cuda(ctx->cuda, x, n, s));
}
