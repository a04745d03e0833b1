// upsample.c: nearest-neighbour upsampling on the CPU, an OpenMP loop over planes. Backward
// gathers: each input value adds its scale x scale block, rows then columns in increasing
// order, the order of the CUDA kernel (kernels/upsample.cu) too.
#include "ops/upsample.h"

#include "core/dispatch.h"
#include "core/util.h"

// More values than this: the planes split over OpenMP threads.
#define UP_PAR_MIN 32768

static void upsample_nearest2d_forward_cpu(Ctx *ctx, float *y, const float *x, int N, int C,
                                           int H, int W, int scale) {
  (void)ctx;
  GENET_ASSERT(N >= 0 && C >= 0 && H >= 0 && W >= 0 && scale >= 1);
  const int Ho = H * scale, Wo = W * scale;
  const long planes = (long)N * C;
#pragma omp parallel for schedule(static) if ((size_t)planes * Ho * Wo > UP_PAR_MIN)
  for (long p = 0; p < planes; p++)
    for (int oh = 0; oh < Ho; oh++) {
      const float *xr = x + ((size_t)p * H + oh / scale) * W;
      float *yr = y + ((size_t)p * Ho + oh) * Wo;
      for (int ow = 0; ow < Wo; ow++) yr[ow] = xr[ow / scale];
    }
}

static void upsample_nearest2d_backward_cpu(Ctx *ctx, float *dx, const float *dy, int N, int C,
                                            int H, int W, int scale) {
  (void)ctx;
  GENET_ASSERT(N >= 0 && C >= 0 && H >= 0 && W >= 0 && scale >= 1);
  const int Wo = W * scale;
  const long planes = (long)N * C;
#pragma omp parallel for schedule(static) if ((size_t)planes * H * W * scale * scale > UP_PAR_MIN)
  for (long p = 0; p < planes; p++)
    for (int h = 0; h < H; h++) {
      float *q = dx + ((size_t)p * H + h) * W;
      for (int w = 0; w < W; w++) {
        const float *g = dy + ((size_t)p * H * scale + (size_t)h * scale) * Wo + (size_t)w * scale;
        float s = 0.0f;
        for (int i = 0; i < scale; i++)
          for (int j = 0; j < scale; j++) s += g[(size_t)i * Wo + j];
        q[w] = s;
      }
    }
}

// ---- entries (core/dispatch.h)

void upsample_nearest2d_forward(Ctx *ctx, float *y, const float *x, int N, int C, int H, int W,
                                int scale) {
  DISPATCH(ctx, upsample_nearest2d_forward_cpu(ctx, y, x, N, C, H, W, scale),
           upsample_nearest2d_forward_cuda(ctx->cuda, y, x, N, C, H, W, scale));
}

void upsample_nearest2d_backward(Ctx *ctx, float *dx, const float *dy, int N, int C, int H, int W,
                                 int scale) {
  DISPATCH(ctx, upsample_nearest2d_backward_cpu(ctx, dx, dy, N, C, H, W, scale),
           upsample_nearest2d_backward_cuda(ctx->cuda, dx, dy, N, C, H, W, scale));
}
