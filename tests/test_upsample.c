// test_upsample.c: nearest-neighbour upsampling against PyTorch (y and dx), a shape that takes
// the OpenMP path against a serial evaluation in double, and finite differences of dx; each
// block's mean in place of its sum, planted, must fail both checks.
// Bounds (testlib's rule): y is a copy of x, exact (rtol 0); dx sums a scale x scale block,
// K = scale^2 at RTOL_F32.
#include <stdio.h>
#include <stdlib.h>

#include "ops/upsample.h"
#include "testlib.h"

static Ctx ctx;
// Finite differences: as test_reflection_pad.c's (L linear in x, y a copy of x): no truncation,
// rounding ~1e-16 of the loss; the analytic side float sums of scale^2 terms.
#define GC_H 0.25
#define GC_TOL 1e-5

typedef struct {
  const float *x, *r;
  float *y;
  int N, C, H, W, s;
} UpArg;

static double up_loss(void *p) {
  UpArg *a = p;
  upsample_nearest2d_forward(&ctx, a->y, a->x, a->N, a->C, a->H, a->W, a->s);
  return dot_d(a->y, a->r, (size_t)a->N * a->C * a->H * a->s * a->W * a->s);
}

static void run_case(Fixture *fx, int i) {
  char g[32], k[96], what[128], tag[64];
  snprintf(g, sizeof g, "up/case%d", i);
  int N = (int)fx_attr_int(fx, g, "N"), C = (int)fx_attr_int(fx, g, "C");
  int H = (int)fx_attr_int(fx, g, "H"), W = (int)fx_attr_int(fx, g, "W");
  int s = (int)fx_attr_int(fx, g, "scale");
  snprintf(tag, sizeof tag, "upsample %dx%dx%dx%d scale %d", N, C, H, W, s);
#define RD(name) (snprintf(k, sizeof k, "%s/%s", g, name), fx_read(fx, k, NULL, NULL, NULL))
  float *x = RD("x"), *wy = RD("y"), *dy = RD("dy"), *wdx = RD("dx");
#undef RD
  size_t nx = (size_t)N * C * H * W, ny = nx * s * s;
  float *y = malloc(ny * 4), *dx = malloc(nx * 4);
  for (size_t j = 0; j < nx; j++) dx[j] = 7.0f;  // dx is written, not added to
  upsample_nearest2d_forward(&ctx, y, x, N, C, H, W, s);
  upsample_nearest2d_backward(&ctx, dx, dy, N, C, H, W, s);
  snprintf(what, sizeof what, "%s y", tag);
  check_close(what, y, wy, ny, 1, 0.0);
  snprintf(what, sizeof what, "%s dx", tag);
  check_close(what, dx, wdx, nx, (double)s * s, RTOL_F32);
  UpArg a = {x, dy, y, N, C, H, W, s};
  snprintf(what, sizeof what, "%s dL/dx", tag);
  gradcheck(what, up_loss, &a, x, dx, nx, GC_H, 60, GC_TOL);
  if (s > 1) {
    // Planted: each block's mean instead of its sum (average pooling's adjoint) must fail both.
    float *bad = malloc(nx * 4);
    double fd;
    size_t where;
    for (size_t j = 0; j < nx; j++) bad[j] = dx[j] / (float)(s * s);
    snprintf(what, sizeof what, "%s dx as the block mean: fixture", tag);
    check_planted(what, close_err(bad, wdx, nx, (double)s * s, NULL), RTOL_F32);
    snprintf(what, sizeof what, "%s dx as the block mean: finite diff", tag);
    check_planted(what, gradcheck_worst(up_loss, &a, x, bad, nx, GC_H, 60, &where, &fd), GC_TOL);
    free(bad);
  }
  free(x), free(wy), free(dy), free(wdx), free(y), free(dx);
}

// Past the OpenMP threshold (fast style's second upsampling at a small image) against the
// definition: y(oh, ow) = x(oh / s, ow / s), dx the scatter of dy through it, in double.
static void parallel_case(void) {
  enum { N = 2, C = 5, H = 37, W = 43, S = 2 };
  const int Ho = H * S, Wo = W * S;
  size_t nx = (size_t)N * C * H * W, ny = nx * S * S;
  float *x = uniform_floats(nx, -1, 1, 7), *dy = uniform_floats(ny, -1, 1, 8);
  float *y = malloc(ny * 4), *dx = malloc(nx * 4), *wy = malloc(ny * 4), *wdx = malloc(nx * 4);
  double *acc = calloc(nx, sizeof(double));
  for (size_t p = 0; p < (size_t)N * C; p++)
    for (int oh = 0; oh < Ho; oh++)
      for (int ow = 0; ow < Wo; ow++) {
        size_t o = (p * Ho + oh) * Wo + ow, i = (p * H + oh / S) * W + ow / S;
        wy[o] = x[i];
        acc[i] += dy[o];
      }
  for (size_t i = 0; i < nx; i++) wdx[i] = (float)acc[i];
  upsample_nearest2d_forward(&ctx, y, x, N, C, H, W, S);
  upsample_nearest2d_backward(&ctx, dx, dy, N, C, H, W, S);
  check_close("upsample 2x5x37x43 scale 2 parallel y vs definition", y, wy, ny, 1, 0.0);
  check_close("upsample 2x5x37x43 scale 2 parallel dx vs definition", dx, wdx, nx, S * S, RTOL_F32);
  free(x), free(dy), free(y), free(dx), free(wy), free(wdx), free(acc);
}

int main(void) {
  ctx_init(&ctx, DEV_CPU, 0);
  Fixture fx;
  fx_open(&fx, "upsample.h5");
  for (int i = 0; i < 5; i++) run_case(&fx, i);
  fx_close(&fx);
  parallel_case();
  ctx_free(&ctx);
  return test_finish("upsample");
}
