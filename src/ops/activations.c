// activations.c: CPU loops over the shared element-wise functions; CUDA in kernels/.
#include "ops/activations.h"

#include "base/elementwise.h"
#include "core/dispatch.h"

static void act_forward_cpu(Ctx *ctx, ActKind kind, float slope, float *y, const float *x,
                            size_t n) {
  long long nn = (long long)n;
  switch (kind) {
    case ACT_RELU:
#pragma omp parallel for schedule(static) if (nn > 32768)
      for (long long i = 0; i < nn; i++) y[i] = relu_fwd(x[i]);
      break;
    case ACT_LEAKY_RELU:
#pragma omp parallel for schedule(static) if (nn > 32768)
      for (long long i = 0; i < nn; i++) y[i] = leaky_relu_fwd(x[i], slope);
      break;
    case ACT_TANH:
#pragma omp parallel for schedule(static) if (nn > 4096)
      for (long long i = 0; i < nn; i++) y[i] = tanh_fwd(x[i]);
      break;
    case ACT_SIGMOID:
#pragma omp parallel for schedule(static) if (nn > 4096)
      for (long long i = 0; i < nn; i++) y[i] = sigmoid_fwd(x[i]);
      break;
  }
}

static void act_backward_cpu(Ctx *ctx, ActKind kind, float slope, float *dx, const float *dy,
                             const float *y, size_t n) {
  long long nn = (long long)n;
  switch (kind) {
    case ACT_RELU:
#pragma omp parallel for schedule(static) if (nn > 32768)
      for (long long i = 0; i < nn; i++) dx[i] = relu_bwd(y[i], dy[i]);
      break;
    case ACT_LEAKY_RELU:
#pragma omp parallel for schedule(static) if (nn > 32768)
      for (long long i = 0; i < nn; i++) dx[i] = leaky_relu_bwd(y[i], dy[i], slope);
      break;
    case ACT_TANH:
#pragma omp parallel for schedule(static) if (nn > 32768)
      for (long long i = 0; i < nn; i++) dx[i] = tanh_bwd(y[i], dy[i]);
      break;
    case ACT_SIGMOID:
#pragma omp parallel for schedule(static) if (nn > 32768)
      for (long long i = 0; i < nn; i++) dx[i] = sigmoid_bwd(y[i], dy[i]);
      break;
  }
}

// ---- entries (core/dispatch.h)

void act_forward(Ctx *ctx, ActKind kind, float slope, float *y, const float *x, size_t n) {
  DISPATCH(ctx, act_forward_cpu(ctx, kind, slope, y, x, n),
           act_forward_cuda(ctx->cuda, (int)kind, slope, y, x, n));
}

void act_backward(Ctx *ctx, ActKind kind, float slope, float *dx, const float *dy, const float *y,
                  size_t n) {
  DISPATCH(ctx, act_backward_cpu(ctx, kind, slope, dx, dy, y, n),
           act_backward_cuda(ctx->cuda, (int)kind, slope, dx, dy, y, n));
}
