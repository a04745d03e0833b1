// test_tv.c: total variation (ops/tv.h) against PyTorch (tests/fixtures/tv.h5 from
// scripts/fixtures/fx_tv.py: the value and the input gradient for four shapes, single rows and
// columns among them), by finite differences, and a planted wrong gradient (the horizontal
// neighbours left out) that both checks must catch. backward adds to dx: checked by starting
// dx at 7 and subtracting it.
// Bounds (testlib's rule): the value is a double sum of float64 squares of float32
// differences: K = its number of terms at RTOL_F32. A gradient element sums 4 float32
// differences: K = 4. Finite differences: tv is quadratic, so a central difference has no
// truncation error; what is left is the double rounding of a ~1e6 loss over a 0.5 step
// (~1e-10) and the float32 rounding of the analytic side (a few ulps of max|g|): 1e-5 of max|g|
// leaves a wide margin and still catches the planted bug by orders of magnitude.
#include <stdio.h>
#include <stdlib.h>

#include "ops/tv.h"
#include "testlib.h"

static Ctx ctx;
#define GC_H 0.25
#define GC_TOL 1e-5

typedef struct {
  float *x;
  int N, C, H, W;
} TvArg;

static double tv_fd_loss(void *p) {
  TvArg *a = p;
  return tv_loss_forward(&ctx, a->x, a->N, a->C, a->H, a->W);
}

static void run_case(Fixture *fx, int i) {
  char g[32], k[96], what[128], tag[64];
  snprintf(g, sizeof g, "case%d", i);
  int N = (int)fx_attr_int(fx, g, "N"), C = (int)fx_attr_int(fx, g, "C");
  int H = (int)fx_attr_int(fx, g, "H"), W = (int)fx_attr_int(fx, g, "W");
  double want = fx_attr_double(fx, g, "loss");
  snprintf(tag, sizeof tag, "tv %dx%dx%dx%d", N, C, H, W);
  snprintf(k, sizeof k, "%s/x", g);
  float *x = fx_read(fx, k, NULL, NULL, NULL);
  snprintf(k, sizeof k, "%s/dx", g);
  float *wdx = fx_read(fx, k, NULL, NULL, NULL);
  size_t n = (size_t)N * C * H * W;
  double terms = (double)N * C * ((double)(H - 1) * W + (double)H * (W - 1));
  snprintf(what, sizeof what, "%s value", tag);
  check_scalar(what, tv_loss_forward(&ctx, x, N, C, H, W), want, terms, RTOL_F32);
  float *dx = malloc(n * 4);
  for (size_t j = 0; j < n; j++) dx[j] = 7.0f;  // added to
  tv_loss_backward(&ctx, dx, x, N, C, H, W, 1.0f);
  for (size_t j = 0; j < n; j++) dx[j] -= 7.0f;
  snprintf(what, sizeof what, "%s dx (added to dx = 7)", tag);
  check_close(what, dx, wdx, n, 4 + 1, RTOL_F32);
  for (size_t j = 0; j < n; j++) dx[j] = 0.0f;
  tv_loss_backward(&ctx, dx, x, N, C, H, W, 1.0f);
  TvArg a = {x, N, C, H, W};
  snprintf(what, sizeof what, "%s d tv/dx", tag);
  gradcheck(what, tv_fd_loss, &a, x, dx, n, GC_H, 80, GC_TOL);
  if (W > 1) {  // planted: the horizontal neighbours left out of the gradient
    float *bad = malloc(n * 4);
    for (size_t j = 0; j < n; j++) bad[j] = 0.0f;
    for (int p = 0; p < N * C; p++)
      for (int r = 0; r < H; r++)
        for (int c = 0; c < W; c++) {
          float v = x[(size_t)p * H * W + r * W + c], s = 0;
          if (r > 0) s += v - x[(size_t)p * H * W + (r - 1) * W + c];
          if (r + 1 < H) s += v - x[(size_t)p * H * W + (r + 1) * W + c];
          bad[(size_t)p * H * W + r * W + c] = 2 * s;
        }
    double fd;
    size_t where;
    snprintf(what, sizeof what, "%s dx without horizontal terms: fixture", tag);
    check_planted(what, close_err(bad, wdx, n, 5, NULL), RTOL_F32);
    snprintf(what, sizeof what, "%s dx without horizontal terms: finite diff", tag);
    check_planted(what, gradcheck_worst(tv_fd_loss, &a, x, bad, n, GC_H, 80, &where, &fd), GC_TOL);
    free(bad);
  }
  // dloss scales the gradient: 0.5 gives half (exact in binary).
  float *half = calloc(n, 4);
  tv_loss_backward(&ctx, half, x, N, C, H, W, 0.5f);
  for (size_t j = 0; j < n; j++) half[j] *= 2.0f;
  snprintf(what, sizeof what, "%s dloss = 0.5 gives half the gradient", tag);
  check_close(what, half, dx, n, 1, 0.0);
  free(half);
  free(x); free(wdx); free(dx);
}

int main(void) {
  ctx_init(&ctx, DEV_CPU, 0);
  Fixture fx;
  fx_open(&fx, "tv.h5");
  for (int i = 0; i < 4; i++) run_case(&fx, i);
  fx_close(&fx);
  ctx_free(&ctx);
  return test_finish("tv");
}
