// test_batchnorm.c: BatchNorm2d against PyTorch (two training steps with the running statistics
// after each, then evaluation) and finite differences of every gradient.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/activations.h"
#include "ops/batchnorm.h"
#include "ops/batchnorm_blk.h"
#include "testlib.h"

static Ctx ctx;
static const float EPS = 1e-5f, MOM = 0.1f;
// Finite differences: smooth in x (through the statistics), linear in weight and bias; h = 1e-2,
// measured worst 7.3e-5 of max|g| over ISAs and thread counts.
#define GC_H 1e-2
#define GC_TOL 1e-3

typedef struct {
  const float *x, *w, *b, *r;
  float *y, *mean, *var, *rm, *rv;
  int N, C, H, W, training;
} BnArg;

static double bn_loss(void *p) {
  BnArg *a = p;
  // Training: running statistics not tracked (NULL) so repeated passes change nothing.
  batchnorm_forward(&ctx, a->y, a->mean, a->var, a->training ? NULL : a->rm, a->training ? NULL : a->rv,
                    a->x, a->w, a->b, a->N, a->C, a->H, a->W, a->training, MOM, EPS);
  return dot_d(a->y, a->r, (size_t)a->N * a->C * a->H * a->W);
}

static void bn_gradchecks(const char *tag, BnArg *a, float *x, float *w, float *b, int training) {
  size_t n = (size_t)a->N * a->C * a->H * a->W, C = (size_t)a->C;
  float *dx = malloc(n * 4), *dw = calloc(C, 4), *db = calloc(C, 4);
  a->training = training;
  bn_loss(a);  // fills mean and var for backward
  batchnorm_backward(&ctx, dx, dw, db, a->r, x, a->mean, a->var, w, a->N, a->C, a->H, a->W,
                     training, EPS);
  char what[96];
  const char *mode = training ? "train" : "eval";
  snprintf(what, sizeof what, "bn %s %s dL/dx", tag, mode);
  gradcheck(what, bn_loss, a, x, dx, n, GC_H, 80, GC_TOL);
  snprintf(what, sizeof what, "bn %s %s dL/dweight", tag, mode);
  gradcheck(what, bn_loss, a, w, dw, C, GC_H, 80, GC_TOL);
  snprintf(what, sizeof what, "bn %s %s dL/dbias", tag, mode);
  gradcheck(what, bn_loss, a, b, db, C, GC_H, 80, GC_TOL);
  free(dx); free(dw); free(db);
}

static void bn_case(Fixture *fx, int c) {
  char g[32], k[160], tag[48], what[160];
  snprintf(g, sizeof g, "bn/case%d", c);
  int N = (int)fx_attr_int(fx, g, "N"), C = (int)fx_attr_int(fx, g, "C"),
      H = (int)fx_attr_int(fx, g, "H"), W = (int)fx_attr_int(fx, g, "W");
  size_t n = (size_t)N * C * H * W;
  snprintf(tag, sizeof tag, "(%d,%d,%d,%d)", N, C, H, W);
  double K = (double)N * H * W;  // every result goes through sums over a channel's N H W values
#define RD(name) (snprintf(k, sizeof k, "%s/%s", g, name), fx_read(fx, k, NULL, NULL, NULL))
  float *w = RD("weight"), *b = RD("bias");
  float *rm = malloc(C * 4), *rv = malloc(C * 4), *mean = malloc(C * 4), *var = malloc(C * 4);
  float *y = malloc(n * 4), *dx = malloc(n * 4), *dw = malloc(C * 4), *db = malloc(C * 4);
  for (int i = 0; i < C; i++) rm[i] = 0.0f, rv[i] = 1.0f;
  const char *steps[3] = {"train0", "train1", "eval"};
  for (int s = 0; s < 3; s++) {
    int training = s < 2;
    const char *sg = steps[s];
    float *x, *dy, *wy, *wdx, *wdw, *wdb;
    {
      char gg[64];
      snprintf(gg, sizeof gg, "%s/%s", g, sg);
#define RS(name) (snprintf(k, sizeof k, "%s/%s", gg, name), fx_read(fx, k, NULL, NULL, NULL))
      x = RS("x"); dy = RS("dy"); wy = RS("y"); wdx = RS("dx"); wdw = RS("dweight"); wdb = RS("dbias");
      batchnorm_forward(&ctx, y, mean, var, rm, rv, x, w, b, N, C, H, W, training, MOM, EPS);
      // Parameter gradients accumulate: start at 1 and take it off afterwards.
      for (int i = 0; i < C; i++) dw[i] = 1.0f, db[i] = 1.0f;
      batchnorm_backward(&ctx, dx, dw, db, dy, x, mean, var, w, N, C, H, W, training, EPS);
      for (int i = 0; i < C; i++) dw[i] -= 1.0f, db[i] -= 1.0f;
      snprintf(what, sizeof what, "bn %s %s y", tag, sg);
      check_close(what, y, wy, n, K, RTOL_F32);
      snprintf(what, sizeof what, "bn %s %s dx", tag, sg);
      check_close(what, dx, wdx, n, K, RTOL_F32);
      snprintf(what, sizeof what, "bn %s %s dweight (accumulated)", tag, sg);
      check_close(what, dw, wdw, C, K, RTOL_F32);
      snprintf(what, sizeof what, "bn %s %s dbias (accumulated)", tag, sg);
      check_close(what, db, wdb, C, K, RTOL_F32);
      if (training) {
        float *wrm = RS("running_mean"), *wrv = RS("running_var");
        snprintf(what, sizeof what, "bn %s %s running_mean", tag, sg);
        check_close(what, rm, wrm, C, K, RTOL_F32);
        snprintf(what, sizeof what, "bn %s %s running_var", tag, sg);
        check_close(what, rv, wrv, C, K, RTOL_F32);
        free(wrm); free(wrv);
      }
#undef RS
    }
    // In place (y == x), as a model may run it.
    float *yi = malloc(n * 4);
    memcpy(yi, x, n * 4);
    float *rm2 = malloc(C * 4), *rv2 = malloc(C * 4);
    memcpy(rm2, rm, C * 4);
    memcpy(rv2, rv, C * 4);
    batchnorm_forward(&ctx, yi, mean, var, rm2, rv2, yi, w, b, N, C, H, W, training, MOM, EPS);
    snprintf(what, sizeof what, "bn %s %s y in place", tag, sg);
    check_close(what, yi, wy, n, K, RTOL_F32);
    free(yi); free(rm2); free(rv2);
    if (s == 1 || s == 2) {
      BnArg a = {x, w, b, dy, y, mean, var, rm, rv, N, C, H, W, training};
      bn_gradchecks(tag, &a, x, w, b, training);
    }
    free(x); free(dy); free(wy); free(wdx); free(wdw); free(wdb);
  }
  free(w); free(b); free(rm); free(rv); free(mean); free(var); free(y); free(dx); free(dw); free(db);
#undef RD
}

// A shape that takes the OpenMP path (C * N*H*W > 16384) against a serial double-precision
// evaluation of the textbook formulas, so the parallel split is checked too.
static void bn_parallel_shape(void) {
  int N = 8, C = 6, H = 19, W = 21;
  size_t hw = (size_t)H * W, n = (size_t)N * C * hw, cnt = (size_t)N * hw;
  float *x = malloc(n * 4), *dy = malloc(n * 4), *y = malloc(n * 4), *dx = malloc(n * 4);
  float *wy = malloc(n * 4), *wdx = malloc(n * 4);
  float w[6], b[6], mean[6], var[6], dw[6] = {0}, db[6] = {0}, wdw[6], wdb[6];
  fill_uniform(x, n, -3.0f, 5.0f, 1);
  fill_uniform(dy, n, -1.0f, 1.0f, 2);
  fill_uniform(w, 6, 0.5f, 1.5f, 3);
  fill_uniform(b, 6, -1.0f, 1.0f, 4);
  for (int c = 0; c < C; c++) {
    double m = 0, v = 0, sdy = 0, sdyh = 0;
    for (int i = 0; i < N; i++)
      for (size_t j = 0; j < hw; j++) m += x[(i * C + c) * hw + j];
    m /= (double)cnt;
    for (int i = 0; i < N; i++)
      for (size_t j = 0; j < hw; j++) v += (x[(i * C + c) * hw + j] - m) * (x[(i * C + c) * hw + j] - m);
    v /= (double)cnt;
    double inv = 1.0 / sqrt(v + EPS);
    for (int i = 0; i < N; i++)
      for (size_t j = 0; j < hw; j++) {
        size_t o = (i * C + c) * hw + j;
        double h = (x[o] - m) * inv;
        wy[o] = (float)(h * w[c] + b[c]);
        sdy += dy[o];
        sdyh += dy[o] * h;
      }
    wdw[c] = (float)sdyh;
    wdb[c] = (float)sdy;
    for (int i = 0; i < N; i++)
      for (size_t j = 0; j < hw; j++) {
        size_t o = (i * C + c) * hw + j;
        double h = (x[o] - m) * inv;
        wdx[o] = (float)(w[c] * inv * (dy[o] - sdy / (double)cnt - h * sdyh / (double)cnt));
      }
  }
  batchnorm_forward(&ctx, y, mean, var, NULL, NULL, x, w, b, N, C, H, W, 1, MOM, EPS);
  batchnorm_backward(&ctx, dx, dw, db, dy, x, mean, var, w, N, C, H, W, 1, EPS);
  check_close("bn (8,6,19,21) parallel y vs double formula", y, wy, n, (double)cnt, RTOL_F32);
  check_close("bn (8,6,19,21) parallel dx vs double formula", dx, wdx, n, (double)cnt, RTOL_F32);
  check_close("bn (8,6,19,21) parallel dweight vs double formula", dw, wdw, 6, (double)cnt, RTOL_F32);
  check_close("bn (8,6,19,21) parallel dbias vs double formula", db, wdb, 6, (double)cnt, RTOL_F32);
  free(x); free(dy); free(y); free(dx); free(wy); free(wdx);
}


// x (N, C, hw) NCHW into nChw{b}c (to = 1) or back (to = 0).
static void to_blocked(float *dst, const float *src, int N, int C, size_t hw, int b, int to) {
  for (int n = 0; n < N; n++)
    for (int c = 0; c < C; c++)
      for (size_t i = 0; i < hw; i++) {
        size_t plain = ((size_t)n * C + c) * hw + i;
        size_t blk = (((size_t)n * (C / b) + c / b) * hw + i) * b + c % b;
        if (to) dst[blk] = src[plain];
        else dst[plain] = src[blk];
      }
}

// batchnorm_{forward,backward}_blk (nChw{b}c, fused leaky ReLU) against batchnorm_forward and
// act_forward, act_backward and batchnorm_backward on NCHW: training and evaluation, slopes 0
// (ReLU), 0.2 and 1 (none), blocks 8 and 16, on offset activations.
static void bn_blocked_case(int b, int training, float slope) {
  int N = 3, C = 32, H = 5, W = 7;
  size_t hw = (size_t)H * W, n = (size_t)N * C * hw;
  float *x = malloc(n * 4), *dy = malloc(n * 4), *y = malloc(n * 4), *dx = malloc(n * 4);
  float *g = malloc(n * 4), *xb = malloc(n * 4), *dyb = malloc(n * 4), *yb = malloc(n * 4);
  float *dxb = malloc(n * 4), *yp = malloc(n * 4), *dxp = malloc(n * 4);
  float w[32], bb[32], mean[32], var[32], rm[32], rv[32], mb[32], vb[32], rmb[32], rvb[32];
  float dw[32] = {0}, db[32] = {0}, dwb[32] = {0}, dbb[32] = {0};
  fill_uniform(x, n, 2.0f, 6.0f, 11);
  fill_uniform(dy, n, -1.0f, 1.0f, 12);
  fill_uniform(w, 32, 0.5f, 1.5f, 13);
  fill_uniform(bb, 32, -1.0f, 1.0f, 14);
  fill_uniform(rm, 32, 3.0f, 5.0f, 15);
  fill_uniform(rv, 32, 0.5f, 2.0f, 16);
  memcpy(rmb, rm, sizeof rm);
  memcpy(rvb, rv, sizeof rv);
  batchnorm_forward(&ctx, y, mean, var, rm, rv, x, w, bb, N, C, H, W, training, MOM, EPS);
  act_forward(&ctx, ACT_LEAKY_RELU, slope, y, y, n);
  act_backward(&ctx, ACT_LEAKY_RELU, slope, g, dy, y, n);
  batchnorm_backward(&ctx, dx, dw, db, g, x, mean, var, w, N, C, H, W, training, EPS);
  to_blocked(xb, x, N, C, hw, b, 1);
  to_blocked(dyb, dy, N, C, hw, b, 1);
  batchnorm_forward_blk(&ctx, yb, mb, vb, rmb, rvb, xb, w, bb, N, C, H, W, b, training, MOM, EPS,
                        slope);
  batchnorm_backward_blk(&ctx, dxb, dwb, dbb, dyb, slope == 1.0f ? NULL : yb, xb, mb, vb, w, N, C,
                         H, W, b, training, EPS, slope);
  to_blocked(yp, yb, N, C, hw, b, 0);
  to_blocked(dxp, dxb, N, C, hw, b, 0);
  char what[96];
  const char *mode = training ? "training" : "eval";
#define BLK_CHECK(name, got, want, cnt)                                                \
  snprintf(what, sizeof what, "bn nChw%dc %s slope %.1f: %s", b, mode, slope, name); \
  check_close(what, got, want, cnt, (double)N * hw, RTOL_F32)
  BLK_CHECK("y", yp, y, n);
  BLK_CHECK("dx", dxp, dx, n);
  BLK_CHECK("save_mean", mb, mean, 32);
  BLK_CHECK("save_var", vb, var, 32);
  BLK_CHECK("running_mean", rmb, rm, 32);
  BLK_CHECK("running_var", rvb, rv, 32);
  BLK_CHECK("dweight", dwb, dw, 32);
  BLK_CHECK("dbias", dbb, db, 32);
#undef BLK_CHECK
  free(x); free(dy); free(y); free(dx); free(g); free(xb); free(dyb); free(yb); free(dxb);
  free(yp); free(dxp);
}

int main(void) {
  ctx_init(&ctx, DEV_CPU, 0);
  Fixture fx;
  fx_open(&fx, "batchnorm.h5");
  for (int c = 0; c < 4; c++) bn_case(&fx, c);
  fx_close(&fx);
  bn_parallel_shape();
  const float slopes[3] = {0.0f, 0.2f, 1.0f};
  for (int b = 8; b <= 16; b *= 2)
    for (int t = 0; t <= 1; t++)
      for (int k = 0; k < 3; k++) bn_blocked_case(b, t, slopes[k]);
  ctx_free(&ctx);
  return test_finish("batchnorm");
}
