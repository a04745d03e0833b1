// reflection_pad.c: ReflectionPad2d on the CPU, an OpenMP loop over planes. Forward copies each
// output row from its mirrored input row (the middle W values in one memcpy). Backward gathers
// rather than scatters: each input value adds the outputs that copy it, rows then columns in
// increasing order, so the sum has one order on every run, at every thread count, and in the
// CUDA kernel (kernels/reflection_pad.cu), which adds the same terms in the same order.
#include "ops/reflection_pad.h"

#include <string.h>

#include "core/dispatch.h"
#include "core/util.h"

// More values than this: the planes split over OpenMP threads.
#define PAD_PAR_MIN 32768

static void pad_check(int N, int C, int H, int W, int pad) {
  // PyTorch: "Padding size should be less than the corresponding input dimension"
  GENET_ASSERT(N >= 0 && C >= 0 && pad >= 0 && pad < H && pad < W);
}

// The input index that output index o (0 <= o < n + 2 pad) copies: its mirror about the edge.
static int pad_src(int o, int n, int pad) {
  int i = o - pad;
  return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i;
}

// The output indices that copy input index i (0 <= i < n), in increasing order: the mirror in
// the leading pad (1 <= i <= pad), i itself shifted by pad, the mirror in the trailing pad
// (n - 1 - pad <= i <= n - 2). Returns how many (1 to 3).
static int pad_dst(int i, int n, int pad, int o[3]) {
  int k = 0;
  if (i >= 1 && i <= pad) o[k++] = pad - i;
  o[k++] = pad + i;
  if (i <= n - 2 && i >= n - 1 - pad) o[k++] = 2 * (n - 1) + pad - i;
  return k;
}

static void reflection_pad2d_forward_cpu(Ctx *ctx, float *y, const float *x, int N, int C, int H,
                                         int W, int pad) {
  (void)ctx;
  pad_check(N, C, H, W, pad);
  const int Ho = H + 2 * pad, Wo = W + 2 * pad;
  const long planes = (long)N * C;
#pragma omp parallel for schedule(static) if ((size_t)planes * Ho * Wo > PAD_PAR_MIN)
  for (long p = 0; p < planes; p++) {
    for (int oh = 0; oh < Ho; oh++) {
      const float *xr = x + ((size_t)p * H + pad_src(oh, H, pad)) * W;
      float *yr = y + ((size_t)p * Ho + oh) * Wo;
      for (int j = 0; j < pad; j++) {
        yr[j] = xr[pad - j];
        yr[pad + W + j] = xr[W - 2 - j];
      }
      memcpy(yr + pad, xr, sizeof(float) * (size_t)W);
    }
  }
}

static void reflection_pad2d_backward_cpu(Ctx *ctx, float *dx, const float *dy, int N, int C,
                                          int H, int W, int pad) {
  (void)ctx;
  pad_check(N, C, H, W, pad);
  const int Ho = H + 2 * pad, Wo = W + 2 * pad;
  const long planes = (long)N * C;
#pragma omp parallel for schedule(static) if ((size_t)planes * Ho * Wo > PAD_PAR_MIN)
  for (long p = 0; p < planes; p++) {
    const float *g = dy + (size_t)p * Ho * Wo;
    for (int h = 0; h < H; h++) {
      int rows[3], nr = pad_dst(h, H, pad, rows);
      float *q = dx + ((size_t)p * H + h) * W;
      for (int w = 0; w < W; w++) {
        int cols[3], nc = pad_dst(w, W, pad, cols);
        float s = 0.0f;
        for (int a = 0; a < nr; a++)
          for (int b = 0; b < nc; b++) s += g[(size_t)rows[a] * Wo + cols[b]];
        q[w] = s;
      }
    }
  }
}

// ---- entries (core/dispatch.h)

void reflection_pad2d_forward(Ctx *ctx, float *y, const float *x, int N, int C, int H, int W,
                              int pad) {
  DISPATCH(ctx, reflection_pad2d_forward_cpu(ctx, y, x, N, C, H, W, pad),
           reflection_pad2d_forward_cuda(ctx->cuda, y, x, N, C, H, W, pad));
}

void reflection_pad2d_backward(Ctx *ctx, float *dx, const float *dy, int N, int C, int H, int W,
                               int pad) {
  DISPATCH(ctx, reflection_pad2d_backward_cpu(ctx, dx, dy, N, C, H, W, pad),
           reflection_pad2d_backward_cuda(ctx->cuda, dx, dy, N, C, H, W, pad));
}
