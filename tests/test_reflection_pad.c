// test_reflection_pad.c: ReflectionPad2d against PyTorch (y and dx), a shape that takes the
// OpenMP path against a serial scatter in double, and finite differences of dx; the gradient of
// padding that repeats the edge, planted, must fail both checks.
// Bounds (testlib's rule): y is a copy of x, exact (rtol 0); dx sums up to 3 x 3 gradients,
// K = 9 at RTOL_F32.
#include <stdio.h>
#include <stdlib.h>

#include "ops/reflection_pad.h"
#include "testlib.h"

static Ctx ctx;
// Finite differences: L = sum y r is linear in x and y copies x, so the difference has no
// truncation error and its rounding is the double loss's, ~1e-16 of sum |y r|; the analytic
// side is float sums of up to 9 terms (~5e-7 of their size). A large step (0.25) and a bound of
// 1e-5 of max|g| leave both far below; a wrong or missing term moves a coordinate by O(1).
#define GC_H 0.25
#define GC_TOL 1e-5

typedef struct {
  const float *x, *r;
  float *y;
  int N, C, H, W, pad;
} PadArg;

static double pad_loss(void *p) {
  PadArg *a = p;
  reflection_pad2d_forward(&ctx, a->y, a->x, a->N, a->C, a->H, a->W, a->pad);
  return dot_d(a->y, a->r, (size_t)a->N * a->C * (a->H + 2 * a->pad) * (a->W + 2 * a->pad));
}

// The reference by its definition: output (oh, ow) copies input (mirror(oh), mirror(ow)); dx is
// the scatter of dy through the same map, summed in double.
// edge 1 repeats the edge row or column (numpy's 'symmetric', a planted bug), 0 does not.
static int mirror_edge(int o, int n, int pad, int edge) {
  int i = o - pad;
  if (i < 0) i = -i - edge;
  if (i >= n) i = 2 * (n - 1) - i + edge;
  return i;
}
static int mirror(int o, int n, int pad) { return mirror_edge(o, n, pad, 0); }

static void pad_reference(float *y, float *dx, const float *x, const float *dy, int N, int C,
                          int H, int W, int pad) {
  int Ho = H + 2 * pad, Wo = W + 2 * pad;
  size_t planes = (size_t)N * C, hw = (size_t)H * W;
  double *acc = calloc(planes * hw, sizeof(double));
  for (size_t p = 0; p < planes; p++)
    for (int oh = 0; oh < Ho; oh++)
      for (int ow = 0; ow < Wo; ow++) {
        size_t o = (p * Ho + oh) * Wo + ow;
        size_t i = p * hw + (size_t)mirror(oh, H, pad) * W + mirror(ow, W, pad);
        y[o] = x[i];
        acc[i] += dy[o];
      }
  for (size_t i = 0; i < planes * hw; i++) dx[i] = (float)acc[i];
  free(acc);
}

static void run_case(Fixture *fx, int i) {
  char g[32], k[96], what[128], tag[64];
  snprintf(g, sizeof g, "pad/case%d", i);
  int N = (int)fx_attr_int(fx, g, "N"), C = (int)fx_attr_int(fx, g, "C");
  int H = (int)fx_attr_int(fx, g, "H"), W = (int)fx_attr_int(fx, g, "W");
  int pad = (int)fx_attr_int(fx, g, "pad");
  snprintf(tag, sizeof tag, "reflpad %dx%dx%dx%d pad %d", N, C, H, W, pad);
#define RD(name) (snprintf(k, sizeof k, "%s/%s", g, name), fx_read(fx, k, NULL, NULL, NULL))
  float *x = RD("x"), *wy = RD("y"), *dy = RD("dy"), *wdx = RD("dx");
#undef RD
  size_t nx = (size_t)N * C * H * W, ny = (size_t)N * C * (H + 2 * pad) * (W + 2 * pad);
  float *y = malloc(ny * 4), *dx = malloc(nx * 4);
  for (size_t j = 0; j < nx; j++) dx[j] = 7.0f;  // dx is written, not added to
  reflection_pad2d_forward(&ctx, y, x, N, C, H, W, pad);
  reflection_pad2d_backward(&ctx, dx, dy, N, C, H, W, pad);
  snprintf(what, sizeof what, "%s y", tag);
  check_close(what, y, wy, ny, 1, 0.0);
  snprintf(what, sizeof what, "%s dx", tag);
  check_close(what, dx, wdx, nx, 9, RTOL_F32);
  PadArg a = {x, dy, y, N, C, H, W, pad};
  snprintf(what, sizeof what, "%s dL/dx", tag);
  gradcheck(what, pad_loss, &a, x, dx, nx, GC_H, 60, GC_TOL);
  if (pad > 0) {
    // Planted: the gradient of padding that repeats the edge ('symmetric'), an off-by-one of
    // the mirror, must fail both checks.
    float *bad = malloc(nx * 4);
    double *acc = calloc(nx, sizeof(double)), fd;
    size_t where;
    int Ho = H + 2 * pad, Wo = W + 2 * pad;
    for (size_t p = 0; p < (size_t)N * C; p++)
      for (int oh = 0; oh < Ho; oh++)
        for (int ow = 0; ow < Wo; ow++)
          acc[(p * H + mirror_edge(oh, H, pad, 1)) * W + mirror_edge(ow, W, pad, 1)] +=
              dy[(p * Ho + oh) * Wo + ow];
    for (size_t j = 0; j < nx; j++) bad[j] = (float)acc[j];
    snprintf(what, sizeof what, "%s dx repeating the edge: fixture", tag);
    check_planted(what, close_err(bad, wdx, nx, 9, NULL), RTOL_F32);
    snprintf(what, sizeof what, "%s dx repeating the edge: finite diff", tag);
    check_planted(what, gradcheck_worst(pad_loss, &a, x, bad, nx, GC_H, 60, &where, &fd), GC_TOL);
    free(bad), free(acc);
  }
  free(x), free(wy), free(dy), free(wdx), free(y), free(dx);
}

// Past the OpenMP threshold, fast style's first layer (pad 4 of a 9x9 convolution) at a small
// image, against the definition.
static void parallel_case(void) {
  enum { N = 2, C = 4, H = 61, W = 67, PAD = 4 };
  size_t nx = (size_t)N * C * H * W, ny = (size_t)N * C * (H + 2 * PAD) * (W + 2 * PAD);
  float *x = uniform_floats(nx, -1, 1, 5), *dy = uniform_floats(ny, -1, 1, 6);
  float *y = malloc(ny * 4), *dx = malloc(nx * 4), *wy = malloc(ny * 4), *wdx = malloc(nx * 4);
  pad_reference(wy, wdx, x, dy, N, C, H, W, PAD);
  reflection_pad2d_forward(&ctx, y, x, N, C, H, W, PAD);
  reflection_pad2d_backward(&ctx, dx, dy, N, C, H, W, PAD);
  check_close("reflpad 2x4x61x67 pad 4 parallel y vs definition", y, wy, ny, 1, 0.0);
  check_close("reflpad 2x4x61x67 pad 4 parallel dx vs definition", dx, wdx, nx, 9, RTOL_F32);
  free(x), free(dy), free(y), free(dx), free(wy), free(wdx);
}

int main(void) {
  ctx_init(&ctx, DEV_CPU, 0);
  Fixture fx;
  fx_open(&fx, "reflection_pad.h5");
  for (int i = 0; i < 6; i++) run_case(&fx, i);
  fx_close(&fx);
  parallel_case();
  ctx_free(&ctx);
  return test_finish("reflection_pad");
}
