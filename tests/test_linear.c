// test_linear.c: Linear and the activations against PyTorch fixtures and finite differences,
// and a planted wrong gradient that both checks must catch.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/activations.h"
#include "ops/linear.h"
#include "testlib.h"

static Ctx ctx;
// The activations are not linear: h^2/6 times the third derivative (truncation) against about
// 1e-7 / h (rounding of L); measured worst 2.5e-5 of max|g| (tanh, sigmoid).
#define ACT_H 1e-2
#define ACT_TOL 2e-4

typedef struct {
  const float *x, *w, *b, *r;
  float *y;
  int N, in, out;
} LinArg;

static double linear_loss(void *p) {
  LinArg *a = p;
  linear_forward(&ctx, a->y, a->x, a->w, a->b, a->N, a->in, a->out);
  return dot_d(a->y, a->r, (size_t)a->N * a->out);
}

static void linear_fixture(Fixture *fx, int c) {
  char g[64], k[96];
  snprintf(g, sizeof g, "linear/case%d", c);
  int N = (int)fx_attr_int(fx, g, "N"), in = (int)fx_attr_int(fx, g, "fin"),
      out = (int)fx_attr_int(fx, g, "fout"), bias = (int)fx_attr_int(fx, g, "bias");
#define RD(name) (snprintf(k, sizeof k, "%s/%s", g, name), fx_read(fx, k, NULL, NULL, NULL))
  float *x = RD("x"), *w = RD("w"), *y = RD("y"), *dy = RD("dy"), *dx = RD("dx"), *dw = RD("dw");
  float *b = bias ? RD("b") : NULL, *db = bias ? RD("db") : NULL;
  float *gy = calloc((size_t)N * out, 4), *gdx = calloc((size_t)N * in, 4);
  float *gdw = calloc((size_t)out * in, 4), *gdb = calloc((size_t)out, 4);
  // Gradients accumulate: start dw at 1 and subtract it afterwards.
  for (int i = 0; i < out * in; i++) gdw[i] = 1.0f;
  linear_forward(&ctx, gy, x, w, b, N, in, out);
  linear_backward(&ctx, gdx, gdw, bias ? gdb : NULL, dy, x, w, N, in, out);
  for (int i = 0; i < out * in; i++) gdw[i] -= 1.0f;
  char what[96];
  snprintf(what, sizeof what, "linear %dx%d->%d y", N, in, out);
  check_close(what, gy, y, (size_t)N * out, in + 1, RTOL_F32);  // K: in products + bias
  snprintf(what, sizeof what, "linear %dx%d->%d dx", N, in, out);
  check_close(what, gdx, dx, (size_t)N * in, out, RTOL_F32);
  snprintf(what, sizeof what, "linear %dx%d->%d dw (accumulated)", N, in, out);
  check_close(what, gdw, dw, (size_t)out * in, N, RTOL_F32);
  if (bias) {
    snprintf(what, sizeof what, "linear %dx%d->%d db", N, in, out);
    check_close(what, gdb, db, (size_t)out, N, RTOL_F32);
  }
  // Finite differences w.r.t. x and w on the same case; L is linear in each, so the step can be
  // large (no truncation error) and the rounding noise small (measured worst 2.2e-7).
  float *r = dy;
  LinArg a = {x, w, b, r, gy, N, in, out};
  snprintf(what, sizeof what, "linear %dx%d->%d dL/dx", N, in, out);
  gradcheck(what, linear_loss, &a, x, gdx, (size_t)N * in, 1.0, 60, 1e-5);
  memset(gdw, 0, sizeof(float) * out * in);
  linear_backward(&ctx, NULL, gdw, NULL, dy, x, w, N, in, out);
  snprintf(what, sizeof what, "linear %dx%d->%d dL/dw", N, in, out);
  gradcheck(what, linear_loss, &a, (float *)w, gdw, (size_t)out * in, 1.0, 60, 1e-5);
  free(x); free(w); free(y); free(dy); free(dx); free(dw); free(b); free(db);
  free(gy); free(gdx); free(gdw); free(gdb);
#undef RD
}

typedef struct {
  ActKind kind;
  const float *x, *r;
  float *y;
  size_t n;
} ActArg;

static double act_loss(void *p) {
  ActArg *a = p;
  act_forward(&ctx, a->kind, 0.2f, a->y, a->x, a->n);
  return dot_d(a->y, a->r, a->n);
}

static void act_fixture(Fixture *fx, const char *name, ActKind kind) {
  char k[96], what[96];
  size_t n;
  snprintf(k, sizeof k, "act/%s/x", name);
  float *x = fx_read(fx, k, NULL, NULL, &n);
  snprintf(k, sizeof k, "act/%s/y", name);
  float *y = fx_read(fx, k, NULL, NULL, NULL);
  snprintf(k, sizeof k, "act/%s/dy", name);
  float *dy = fx_read(fx, k, NULL, NULL, NULL);
  snprintf(k, sizeof k, "act/%s/dx", name);
  float *dx = fx_read(fx, k, NULL, NULL, NULL);
  float *gy = malloc(n * 4), *gdx = malloc(n * 4);
  act_forward(&ctx, kind, 0.2f, gy, x, n);
  act_backward(&ctx, kind, 0.2f, gdx, dy, gy, n);
  snprintf(what, sizeof what, "%s y", name);
  check_close(what, gy, y, n, 1, RTOL_F32);
  snprintf(what, sizeof what, "%s dx", name);
  check_close(what, gdx, dx, n, 1, RTOL_F32);
  ActArg a = {kind, x, dy, gy, n};
  snprintf(what, sizeof what, "%s dL/dx", name);
  gradcheck(what, act_loss, &a, x, gdx, n, ACT_H, 100, ACT_TOL);
  // In place, as the models run it.
  memcpy(gy, x, n * 4);
  act_forward(&ctx, kind, 0.2f, gy, gy, n);
  snprintf(what, sizeof what, "%s y in place", name);
  check_close(what, gy, y, n, 1, RTOL_F32);
  free(x); free(y); free(dy); free(dx); free(gy); free(gdx);
}

// A wrong gradient, planted on purpose: a copy of the right one with one sign flipped.
// Both the fixture comparison and the finite-difference check must reject it.
static void planted_wrong_gradient(Fixture *fx) {
  size_t n;
  float *x = fx_read(fx, "act/tanh/x", NULL, NULL, &n);
  float *dy = fx_read(fx, "act/tanh/dy", NULL, NULL, NULL);
  float *dx = fx_read(fx, "act/tanh/dx", NULL, NULL, NULL);
  float *y = malloc(n * 4), *bad = malloc(n * 4);
  act_forward(&ctx, ACT_TANH, 0, y, x, n);
  act_backward(&ctx, ACT_TANH, 0, bad, dy, y, n);
  size_t i = n / 3;
  while (fabsf(bad[i]) < 1e-2f) i++;
  bad[i] = -bad[i];
  size_t where, fd_where;
  double fd_val;
  double e_fix = close_err(bad, dx, n, 1, &where);
  ActArg a = {ACT_TANH, x, dy, y, n};
  double e_fd = gradcheck_worst(act_loss, &a, x, bad, n, ACT_H, (int)n, &fd_where, &fd_val);
  check_planted("tanh dx, one sign flipped: fixture check", where == i ? e_fix : 0, RTOL_F32);
  check_planted("tanh dx, one sign flipped: finite differences", fd_where == i ? e_fd : 0,
                ACT_TOL);
  free(x); free(dy); free(dx); free(y); free(bad);
}

int main(void) {
  ctx_init(&ctx, DEV_CPU, 0);
  Fixture fx;
  fx_open(&fx, "linear.h5");
  for (int c = 0; c < 3; c++) linear_fixture(&fx, c);
  act_fixture(&fx, "relu", ACT_RELU);
  act_fixture(&fx, "leaky_relu", ACT_LEAKY_RELU);
  act_fixture(&fx, "tanh", ACT_TANH);
  act_fixture(&fx, "sigmoid", ACT_SIGMOID);
  planted_wrong_gradient(&fx);
  fx_close(&fx);
  ctx_free(&ctx);
  return test_finish("linear");
}
