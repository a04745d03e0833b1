// test_instancenorm.c: InstanceNorm2d against PyTorch (y and the gradients of x, weight and
// bias, the parameter gradients accumulated; dx not on a 2-value plane, where it is all
// cancellation: see in_case), the saved statistics against a double evaluation,
// weight and bias left out (NULL) against ones and zeros, in place, a shape that takes the
// OpenMP path against a serial double evaluation, and finite differences of every gradient;
// BatchNorm's dx, planted, must fail both checks.
// Bounds (testlib's rule, RTOL_F32): y, dx and the saved statistics come from sums over one
// plane, K = H W; dweight and dbias from sums over a channel's N planes, K = N H W.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/batchnorm.h"
#include "ops/instancenorm.h"
#include "testlib.h"

static Ctx ctx;
static const float EPS = 1e-5f;
// Finite differences: smooth in x (through the statistics), linear in weight and bias. h = 3e-3,
// not BatchNorm's 1e-2: a plane of 3 values has a small variance and a large third derivative
// (h = 1e-2 gave 2.2e-3 on case (2,4,3,1)); at 3e-3 truncation and rounding measured at most
// 2.1e-4 of max|g| over the ISAs and thread counts. Not on 2-value planes, where y does not
// depend on x but through eps (dx ~ 1e-3 of the terms, see in_case).
#define GC_H 3e-3
#define GC_TOL 1e-3

typedef struct {
  const float *x, *w, *b, *r;
  float *y, *mean, *var;
  int N, C, H, W;
} InArg;

static double in_loss(void *p) {
  InArg *a = p;
  instancenorm_forward(&ctx, a->y, a->mean, a->var, a->x, a->w, a->b, a->N, a->C, a->H, a->W, EPS);
  return dot_d(a->y, a->r, (size_t)a->N * a->C * a->H * a->W);
}

static void in_gradchecks(const char *tag, InArg *a, float *x, float *w, float *b) {
  size_t n = (size_t)a->N * a->C * a->H * a->W, C = (size_t)a->C;
  float *dx = malloc(n * 4), *dw = calloc(C, 4), *db = calloc(C, 4);
  in_loss(a);  // fills mean and var for backward
  instancenorm_backward(&ctx, dx, dw, db, a->r, x, a->mean, a->var, w, a->N, a->C, a->H, a->W,
                        EPS);
  char what[96];
  snprintf(what, sizeof what, "in %s dL/dx", tag);
  gradcheck(what, in_loss, a, x, dx, n, GC_H, 80, GC_TOL);
  snprintf(what, sizeof what, "in %s dL/dweight", tag);
  gradcheck(what, in_loss, a, w, dw, C, GC_H, 80, GC_TOL);
  snprintf(what, sizeof what, "in %s dL/dbias", tag);
  gradcheck(what, in_loss, a, b, db, C, GC_H, 80, GC_TOL);
  free(dx), free(dw), free(db);
}

// Each plane's mean and biased variance in double (two passes), rounded to float.
static void plane_stats(float *mean, float *var, const float *x, size_t planes, size_t hw) {
  for (size_t p = 0; p < planes; p++) {
    double m = 0, v = 0;
    for (size_t i = 0; i < hw; i++) m += x[p * hw + i];
    m /= (double)hw;
    for (size_t i = 0; i < hw; i++) v += (x[p * hw + i] - m) * (x[p * hw + i] - m);
    mean[p] = (float)m;
    var[p] = (float)(v / (double)hw);
  }
}

static void in_case(Fixture *fx, int c) {
  char g[32], k[96], tag[48], what[160];
  snprintf(g, sizeof g, "in/case%d", c);
  int N = (int)fx_attr_int(fx, g, "N"), C = (int)fx_attr_int(fx, g, "C"),
      H = (int)fx_attr_int(fx, g, "H"), W = (int)fx_attr_int(fx, g, "W");
  size_t hw = (size_t)H * W, n = (size_t)N * C * hw, P = (size_t)N * C;
  snprintf(tag, sizeof tag, "(%d,%d,%d,%d)", N, C, H, W);
#define RD(name) (snprintf(k, sizeof k, "%s/%s", g, name), fx_read(fx, k, NULL, NULL, NULL))
  float *w = RD("weight"), *b = RD("bias"), *x = RD("x"), *dy = RD("dy"), *wy = RD("y"),
        *wdx = RD("dx"), *wdw = RD("dweight"), *wdb = RD("dbias");
#undef RD
  float *y = malloc(n * 4), *dx = malloc(n * 4), *mean = malloc(P * 4), *var = malloc(P * 4);
  float *dw = malloc(C * 4), *db = malloc(C * 4), *wm = malloc(P * 4), *wv = malloc(P * 4);
  for (size_t i = 0; i < n; i++) dx[i] = 7.0f;  // dx is written, not added to
  instancenorm_forward(&ctx, y, mean, var, x, w, b, N, C, H, W, EPS);
  // Parameter gradients accumulate: start at 1 and take it off afterwards.
  for (int i = 0; i < C; i++) dw[i] = 1.0f, db[i] = 1.0f;
  instancenorm_backward(&ctx, dx, dw, db, dy, x, mean, var, w, N, C, H, W, EPS);
  for (int i = 0; i < C; i++) dw[i] -= 1.0f, db[i] -= 1.0f;
  const double K = (double)hw, KC = (double)N * hw;
  snprintf(what, sizeof what, "in %s y", tag);
  check_close(what, y, wy, n, K, RTOL_F32);
  if (hw > 2) {
    snprintf(what, sizeof what, "in %s dx", tag);
    check_close(what, dx, wdx, n, K, RTOL_F32);
  } else {
    // Two values a plane: xhat = +-a, a^2 = var / (var + eps), so the three terms of dx cancel
    // to dx = +-w inv (dy_0 - dy_1) / 2 * eps / (var + eps), ~1e-3 of the terms here. The rule's
    // scale (max|want|) assumes the partial sums are no larger than the result; here they are
    // ~1e3 times larger, and float32 cannot hold the bound: PyTorch's own float32 op measured
    // 3.6e-4 on this case. Printed, not counted; y, the statistics and dweight, dbias are.
    size_t wi;
    double e = close_err(dx, wdx, n, K, &wi);
    printf("note in %s dx: all cancellation, not held to the bound: worst err %.2e at [%zu] "
           "(got %.7g, want %.7g)\n", tag, e, wi, dx[wi], wdx[wi]);
  }
  snprintf(what, sizeof what, "in %s dweight (accumulated)", tag);
  check_close(what, dw, wdw, C, KC, RTOL_F32);
  snprintf(what, sizeof what, "in %s dbias (accumulated)", tag);
  check_close(what, db, wdb, C, KC, RTOL_F32);
  plane_stats(wm, wv, x, P, hw);
  snprintf(what, sizeof what, "in %s save_mean", tag);
  check_close(what, mean, wm, P, K, RTOL_F32);
  snprintf(what, sizeof what, "in %s save_var", tag);
  check_close(what, var, wv, P, K, RTOL_F32);

  // Without weight and bias (affine=False): the same arithmetic as weight 1, bias 0, exactly.
  float *one = malloc(C * 4), *zero = calloc(C, 4), *y1 = malloc(n * 4), *y0 = malloc(n * 4);
  float *dx1 = malloc(n * 4), *dx0 = malloc(n * 4);
  for (int i = 0; i < C; i++) one[i] = 1.0f;
  instancenorm_forward(&ctx, y1, mean, var, x, one, zero, N, C, H, W, EPS);
  instancenorm_backward(&ctx, dx1, NULL, NULL, dy, x, mean, var, one, N, C, H, W, EPS);
  instancenorm_forward(&ctx, y0, mean, var, x, NULL, NULL, N, C, H, W, EPS);
  instancenorm_backward(&ctx, dx0, NULL, NULL, dy, x, mean, var, NULL, N, C, H, W, EPS);
  snprintf(what, sizeof what, "in %s no affine y == weight 1, bias 0", tag);
  check_close(what, y0, y1, n, 1, 0.0);
  snprintf(what, sizeof what, "in %s no affine dx == weight 1", tag);
  check_close(what, dx0, dx1, n, 1, 0.0);

  // In place (y == x), and backward without dx: the same bits.
  memcpy(y1, x, n * 4);
  instancenorm_forward(&ctx, y1, mean, var, y1, w, b, N, C, H, W, EPS);
  snprintf(what, sizeof what, "in %s y in place", tag);
  check_close(what, y1, y, n, 1, 0.0);
  instancenorm_forward(&ctx, y, mean, var, x, w, b, N, C, H, W, EPS);
  float *dw2 = malloc(C * 4), *db2 = malloc(C * 4);
  for (int i = 0; i < C; i++) dw2[i] = 1.0f, db2[i] = 1.0f;
  instancenorm_backward(&ctx, NULL, dw2, db2, dy, x, mean, var, w, N, C, H, W, EPS);
  for (int i = 0; i < C; i++) dw2[i] -= 1.0f, db2[i] -= 1.0f;
  snprintf(what, sizeof what, "in %s dweight, dbias without dx", tag);
  test_check(!memcmp(dw2, dw, C * 4) && !memcmp(db2, db, C * 4), "%-44s the same bits", what);

  if (hw > 2) {  // H W = 2: y is +-weight + bias whatever x, its gradient ~0 (nothing to check)
    InArg a = {x, w, b, dy, y1, mean, var, N, C, H, W};
    in_gradchecks(tag, &a, x, w, b);
    if (N > 1) {
      // Planted: BatchNorm's dx (statistics over the channel's N planes, not each plane's)
      // must fail both the fixture check and the finite differences.
      float *bm = malloc(C * 4), *bv = malloc(C * 4), *bdx = malloc(n * 4);
      batchnorm_forward(&ctx, y0, bm, bv, NULL, NULL, x, w, b, N, C, H, W, 1, 0.1f, EPS);
      batchnorm_backward(&ctx, bdx, NULL, NULL, dy, x, bm, bv, w, N, C, H, W, 1, EPS);
      size_t where;
      double fd;
      snprintf(what, sizeof what, "in %s dx of BatchNorm: fixture check", tag);
      check_planted(what, close_err(bdx, wdx, n, K, NULL), RTOL_F32);
      snprintf(what, sizeof what, "in %s dx of BatchNorm: finite differences", tag);
      check_planted(what, gradcheck_worst(in_loss, &a, x, bdx, n, GC_H, 80, &where, &fd), GC_TOL);
      free(bm), free(bv), free(bdx);
    }
  }
  free(w), free(b), free(x), free(dy), free(wy), free(wdx), free(wdw), free(wdb);
  free(y), free(dx), free(mean), free(var), free(dw), free(db), free(wm), free(wv);
  free(one), free(zero), free(y1), free(y0), free(dx1), free(dx0), free(dw2), free(db2);
}

// A shape that takes the OpenMP path (N C H W > 16384) against a serial double-precision
// evaluation of the textbook formulas, so the parallel split is checked too.
static void in_parallel_shape(void) {
  enum { N = 4, C = 6, H = 25, W = 31 };
  const size_t hw = (size_t)H * W, n = (size_t)N * C * hw;
  float *x = uniform_floats(n, -3.0f, 5.0f, 1), *dy = uniform_floats(n, -1.0f, 1.0f, 2);
  float *w = uniform_floats(C, 0.5f, 1.5f, 3), *b = uniform_floats(C, -1.0f, 1.0f, 4);
  float *y = malloc(n * 4), *dx = malloc(n * 4), *wy = malloc(n * 4), *wdx = malloc(n * 4);
  float mean[N * C], var[N * C], dw[C] = {0}, db[C] = {0}, wdw[C], wdb[C];
  double sw[C] = {0}, sb[C] = {0};
  for (int s = 0; s < N; s++)
    for (int c = 0; c < C; c++) {
      const float *xp = x + ((size_t)s * C + c) * hw, *gp = dy + ((size_t)s * C + c) * hw;
      double m = 0, v = 0, sdy = 0, sdyh = 0;
      for (size_t i = 0; i < hw; i++) m += xp[i];
      m /= (double)hw;
      for (size_t i = 0; i < hw; i++) v += (xp[i] - m) * (xp[i] - m);
      v /= (double)hw;
      double inv = 1.0 / sqrt(v + EPS);
      for (size_t i = 0; i < hw; i++) {
        double h = (xp[i] - m) * inv;
        wy[((size_t)s * C + c) * hw + i] = (float)(h * w[c] + b[c]);
        sdy += gp[i];
        sdyh += gp[i] * h;
      }
      sw[c] += sdyh;
      sb[c] += sdy;
      for (size_t i = 0; i < hw; i++) {
        double h = (xp[i] - m) * inv;
        wdx[((size_t)s * C + c) * hw + i] =
            (float)(w[c] * inv * (gp[i] - sdy / (double)hw - h * sdyh / (double)hw));
      }
    }
  for (int c = 0; c < C; c++) wdw[c] = (float)sw[c], wdb[c] = (float)sb[c];
  instancenorm_forward(&ctx, y, mean, var, x, w, b, N, C, H, W, EPS);
  instancenorm_backward(&ctx, dx, dw, db, dy, x, mean, var, w, N, C, H, W, EPS);
  check_close("in (4,6,25,31) parallel y vs double formula", y, wy, n, (double)hw, RTOL_F32);
  check_close("in (4,6,25,31) parallel dx vs double formula", dx, wdx, n, (double)hw, RTOL_F32);
  check_close("in (4,6,25,31) parallel dweight vs double", dw, wdw, C, (double)N * hw, RTOL_F32);
  check_close("in (4,6,25,31) parallel dbias vs double", db, wdb, C, (double)N * hw, RTOL_F32);
  free(x), free(dy), free(w), free(b), free(y), free(dx), free(wy), free(wdx);
}

int main(void) {
  ctx_init(&ctx, DEV_CPU, 0);
  Fixture fx;
  fx_open(&fx, "instancenorm.h5");
  for (int c = 0; c < 6; c++) in_case(&fx, c);
  fx_close(&fx);
  in_parallel_shape();
  ctx_free(&ctx);
  return test_finish("instancenorm");
}
